#!/usr/bin/env bash
# make bench: the stage-close benchmark (bench/close_bench.py), the office-list benchmark
# (bench/office_bench.py, gunicorn measured with wrk) on SQLite and on a private PostgreSQL
# started here, then the tier-report benchmark (bench/report_bench.py), the page weights
# (bench/page_weight.py), the upload benchmark (bench/upload_bench.py) and the photo benchmark
# (bench/photo_bench.py, headless Chromium); every figure is printed and written to
# bench/results.json.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
apt_install postgresql redis-server wrk chromium

work=$(mktemp -d /tmp/zhicheng-bench.XXXXXX)
chmod 755 "$work"
pg_port=${BENCH_PG_PORT:-5459}
redis_port=${BENCH_REDIS_PORT:-6459}
redis_pid=""
cleanup() {
  [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
  stop_postgres "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

# The closes and reports raise the lists' data generation in Redis, as they do when deployed.
start_redis "$redis_port" "$work/redis"
redis_pid=$REDIS_PID
export REDIS_URL="redis://127.0.0.1:$redis_port/0"
start_postgres "$pg_port" "$work/pg"
pg_url="postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"
.venv/bin/python bench/close_bench.py --pg "$pg_url" "$@"
.venv/bin/python bench/office_bench.py --pg "$pg_url"
# The tier-report job (rosters, report PDF, statistics) for 5,000 / 50,000 / 200,000 forwarded
# files, each in a fresh process on a throwaway SQLite database: seconds and peak RSS.
.venv/bin/python bench/report_bench.py
# The largest first visit (HTML + CSS, gzip and brotli) over every page each demo account reaches
# in both tenants, against the 14 KB budget.
.venv/bin/python bench/page_weight.py
# Resumable uploads under gunicorn: 10 MB at the slow profile (200 kbps up, 400 ms per request,
# about seven minutes), the worker's memory during 50 MB, the bytes resent after a cut in 20 MB.
.venv/bin/python bench/upload_bench.py
# The bytes a browser sends for a ~10 MB phone photo of a page after static/js/downscale.js.
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)} .venv/bin/python bench/photo_bench.py
# Every figure of this run, by its stable name.
.venv/bin/python -c 'import json; from bench.results import RESULTS, show; show(json.loads(RESULTS.read_text()))'
