# The pieces `make run` (scripts/run.sh) and `make run-prod` (scripts/run_prod.sh) share: the
# environment and secrets, supervised workers and cron, the web server, a clean stop on Ctrl-C.
# Sourced from the project root, after services.sh.

stack_env() {
  # stack_env DEFAULT_PORT DEFAULT_REDIS_URL — .env, HOST/PORT, the public address, Redis, the
  # instance's secrets and key ring (scripts/secrets.sh).
  [ -f .env ] && { set -a; source .env; set +a; }
  export HOST=${HOST:-127.0.0.1} PORT=${PORT:-$1}
  # The address printed in QR codes and letters; behind a proxy set it to the public one.
  export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://$HOST:$PORT}
  export REDIS_URL=${REDIS_URL:-$2}
  export FLASK_APP=wsgi
  mkdir -p instance
  source scripts/secrets.sh
}

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

pids=()        # processes started here, stopped newest first
stop_hooks=()  # commands run after every process has stopped (e.g. stopping PostgreSQL)
cleanup() {
  # A second Ctrl-C while stopping must not cut the stop short and leave processes behind.
  trap '' INT TERM
  trap - EXIT
  echo; echo "stopping..."
  # Newest first: web, cron, workers, and Redis last so the others can finish cleanly.
  for ((i=${#pids[@]}-1; i>=0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
    wait "${pids[i]}" 2>/dev/null || true
  done
  for hook in "${stop_hooks[@]}"; do eval "$hook" || true; done
  echo "stopped."
}

stack_traps() {
  trap 'cleanup; exit 130' INT TERM
  trap cleanup EXIT
}

stack_check_port() {
  command -v curl >/dev/null || apt_install curl
  if curl -s -o /dev/null "http://$HOST:$PORT/" 2>/dev/null; then
    echo "Something already answers on http://$HOST:$PORT/ — stop it or set PORT." >&2
    exit 1
  fi
}

stack_redis() {
  # stack_redis DIR — a private Redis on REDIS_URL's port unless one answers there already.
  command -v redis-server >/dev/null || apt_install redis-server
  redis_port=$(python3 -c "import urllib.parse,os;print(urllib.parse.urlparse(os.environ['REDIS_URL']).port or 6379)")
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1; then
    start_redis "$redis_port" "$1"
    pids+=("$REDIS_PID")
  fi
}

stack_prepare() {
  # Migrations, tenants and the demo (accounts in $accounts), then the schedule.
  apt_install fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0  # PDF letters and certificates
  .venv/bin/flask db upgrade
  accounts=$(.venv/bin/flask demo load)
  # Before the workers start: closes missed while nothing ran are queued now, oldest first (a
  # worker takes them in that order); future ones wait in RQ's scheduled registry for the
  # scheduler. `rq cron` runs the same schedule when it starts and every hour.
  .venv/bin/flask jobs schedule >/dev/null
}

stack_workers() {
  # stack_workers N LOG_PREFIX — N supervised RQ workers on one queue; the first also runs RQ's
  # scheduler (jobs queued for an instant). Logs LOG_PREFIX.log, or LOG_PREFIX-1.log … when N > 1.
  local n=$1 prefix=$2 i log scheduler
  for ((i=1; i<=n; i++)); do
    log=$prefix.log; (( n > 1 )) && log=$prefix-$i.log
    scheduler=""; (( i == 1 )) && scheduler=--with-scheduler
    : >"$log"
    supervise "worker $i" "$log" \
      .venv/bin/rq worker -w app.jobs.worker.Worker $scheduler --url "$REDIS_URL" \
        "${RQ_QUEUE:-zhicheng}" -q &
    pids+=($!)
  done
}

stack_cron() {
  # stack_cron LOG — `rq cron` (app/jobs/cron.py), supervised.
  : >"$1"
  supervise cron "$1" .venv/bin/rq cron --url "$REDIS_URL" app/jobs/cron.py &
  pids+=($!)
}

stack_web() {
  # stack_web LOG COMMAND... — the web server, in a session of its own too: Ctrl-C stops it
  # through cleanup, so only a real failure ends stack_wait. Waits until it answers.
  local log=$1; shift
  setsid "$@" >"$log" 2>&1 &
  web_pid=$!
  pids+=($web_pid)
  for _ in $(seq 100); do curl -sf "http://$HOST:$PORT/" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "The web server does not answer yet (see $log)." >&2
}

stack_wait() {
  # Only the web server (or the Redis started here) ending stops the run; workers and cron are
  # restarted by their supervisors.
  wait -n "$web_pid" ${REDIS_PID:+"$REDIS_PID"} || true
  if ! kill -0 "$web_pid" 2>/dev/null; then
    echo "The web server stopped (see its log in instance/); stopping everything." >&2
  else
    echo "Redis stopped (see its log in instance/); stopping everything." >&2
  fi
}
