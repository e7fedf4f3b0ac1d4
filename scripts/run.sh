#!/usr/bin/env bash
# make run: Redis, migrations, tenants + demo data, one RQ worker with its scheduler, the web
# server. Ctrl-C stops every process started here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
[ -f .env ] && { set -a; source .env; set +a; }
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-5000}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6390/0}
export FLASK_APP=wsgi
mkdir -p instance
pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  # Newest first: web, cron, worker, and Redis last so the others can finish cleanly.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  echo "stopped."
}
trap cleanup INT TERM EXIT

command -v curl >/dev/null || apt_install curl
if curl -s -o /dev/null "http://$HOST:$PORT/" 2>/dev/null; then
  echo "Something already answers on http://$HOST:$PORT/ — stop it or set PORT." >&2
  exit 1
fi
command -v redis-server >/dev/null || apt_install redis-server
apt_install fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0  # PDF letters and certificates
redis_port=$(python3 -c "import urllib.parse,os;print(urllib.parse.urlparse(os.environ['REDIS_URL']).port or 6379)")
if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
  start_redis "$redis_port" instance/redis
  pids+=("$REDIS_PID")
fi

.venv/bin/flask db upgrade
accounts=$(.venv/bin/flask demo load)
# Before the worker starts: closes missed while nothing ran are queued now, oldest first (the
# worker takes them in that order); future ones wait in RQ's scheduled registry for the
# worker's scheduler. `rq cron` runs the same schedule when it starts and every hour.
.venv/bin/flask jobs schedule >/dev/null
.venv/bin/rq worker --with-scheduler --url "$REDIS_URL" "${RQ_QUEUE:-zhicheng}" -q \
  >instance/worker.log 2>&1 &
pids+=($!)
.venv/bin/rq cron --url "$REDIS_URL" app/jobs/cron.py >instance/cron.log 2>&1 &
pids+=($!)
.venv/bin/gunicorn --bind "$HOST:$PORT" --workers 2 --access-logfile - wsgi:app \
  >instance/web.log 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf "http://$HOST:$PORT/" >/dev/null 2>&1 && break; sleep 0.2; done
cat <<MSG

  职称评审服务平台 is running:  http://$HOST:$PORT/
  (worker log: instance/worker.log, web log: instance/web.log; Ctrl-C stops everything)

  Demo accounts, one per role and tenant:
$accounts
MSG
wait -n "${pids[@]}" || true
