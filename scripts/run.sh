#!/usr/bin/env bash
# make run: Redis, migrations, tenants + demo data, one RQ worker with its scheduler, rq cron,
# the web server. A worker or cron that dies is restarted; the web server dying stops the run.
# Ctrl-C stops every process started here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
[ -f .env ] && { set -a; source .env; set +a; }
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-5000}
# The address printed in QR codes and letters; behind a proxy set it to the public one.
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://$HOST:$PORT}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6390/0}
export FLASK_APP=wsgi
mkdir -p instance

source scripts/secrets.sh

supervise() {
  # supervise NAME LOG COMMAND... — run COMMAND in a session of its own (a Ctrl-C reaches it
  # only through cleanup) and start it again whenever it exits, after 1, 2, 4 … 30 s; a run
  # that lasted a minute starts the back-off over. TERM stops the command and the loop.
  local name=$1 log=$2 child="" nap="" delay=1 started rc
  shift 2
  set +e
  trap '' INT  # Ctrl-C is the run's to handle: its cleanup stops us with TERM
  trap 'kill -TERM $child $nap 2>/dev/null; [ -n "$child" ] && wait "$child"; exit 0' TERM
  while true; do
    started=$SECONDS
    setsid "$@" >>"$log" 2>&1 &
    child=$!
    wait "$child"; rc=$?
    child=""
    (( SECONDS - started >= 60 )) && delay=1
    echo "$(date '+%F %T') $name exited with status $rc; restarting in ${delay}s" \
      | tee -a "$log" >&2
    sleep "$delay" & nap=$!
    wait "$nap"; nap=""
    delay=$(( delay * 2 > 30 ? 30 : delay * 2 ))
  done
}

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
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT

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
: >instance/worker.log; : >instance/cron.log
supervise worker instance/worker.log \
  .venv/bin/rq worker --with-scheduler --url "$REDIS_URL" "${RQ_QUEUE:-zhicheng}" -q &
pids+=($!)
supervise cron instance/cron.log .venv/bin/rq cron --url "$REDIS_URL" app/jobs/cron.py &
pids+=($!)
# In a session of its own too: Ctrl-C stops it through cleanup, so only a real failure of the
# web server ends the wait below.
setsid .venv/bin/gunicorn --bind "$HOST:$PORT" --workers 2 --access-logfile - wsgi:app \
  >instance/web.log 2>&1 &
web_pid=$!
pids+=($web_pid)
for _ in $(seq 50); do curl -sf "http://$HOST:$PORT/" >/dev/null 2>&1 && break; sleep 0.2; done
cat <<MSG

  职称评审服务平台 is running:  http://$HOST:$PORT/
  (worker log: instance/worker.log, web log: instance/web.log; Ctrl-C stops everything)

  Demo accounts, one per role and tenant:
$accounts
MSG
# Only the web server (or the Redis started here) ending stops the run; the worker and cron
# are restarted by their supervisors.
wait -n "$web_pid" ${REDIS_PID:+"$REDIS_PID"} || true
if ! kill -0 "$web_pid" 2>/dev/null; then
  echo "The web server stopped (see instance/web.log); stopping everything." >&2
else
  echo "Redis stopped (see instance/redis/redis.log); stopping everything." >&2
fi
