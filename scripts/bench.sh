#!/usr/bin/env bash
# make bench: the stage-close benchmark (bench/close_bench.py) and the office-list benchmark
# (bench/office_bench.py, gunicorn measured with wrk) on SQLite and on a private PostgreSQL
# started here; the figures are printed and written to bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
apt_install postgresql wrk

work=$(mktemp -d /tmp/zhicheng-bench.XXXXXX)
chmod 755 "$work"
pg_port=${BENCH_PG_PORT:-5459}
cleanup() {
  stop_postgres "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

start_postgres "$pg_port" "$work/pg"
pg_url="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"
.venv/bin/python bench/close_bench.py --pg "$pg_url" "$@"
.venv/bin/python bench/office_bench.py --pg "$pg_url"
