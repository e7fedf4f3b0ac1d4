#!/usr/bin/env bash
# make test: install what the tests need (Redis, PostgreSQL, Chromium, a CJK font), start a
# private Redis and PostgreSQL, run the suite on SQLite and then on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
apt_install redis-server postgresql chromium fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0

work=$(mktemp -d /tmp/zhicheng-test.XXXXXX)
chmod 755 "$work"
redis_port=${TEST_REDIS_PORT:-6391}
pg_port=${TEST_PG_PORT:-5439}
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  stop_postgres "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

start_redis "$redis_port" "$work/redis"
redis_pid=$REDIS_PID
start_postgres "$pg_port" "$work/pg"

export TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"
export CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}

echo "== suite on SQLite"
.venv/bin/pytest -n 2 -q -p no:cacheprovider --durations=15 "$@"
echo "== suite on PostgreSQL (database tests)"
TEST_DATABASE=postgres .venv/bin/pytest -n 2 -q -p no:cacheprovider --durations=15 -m "not browser" "$@"
