# Helpers to install and start the services the project needs (sourced by run.sh and test.sh).

apt_install() {
  # apt_install PACKAGE... — install Debian packages that are missing (root, non-interactive).
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null; }
}

start_redis() {
  # start_redis PORT DIR — a private redis-server, a child of this shell; its pid in REDIS_PID.
  local port=$1 dir=$2
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)  # redis resolves paths after moving into --dir
  # In a session of its own: a Ctrl-C at the terminal reaches the others first, and the caller
  # stops Redis last.
  setsid redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save 60 1 --appendonly no \
    --daemonize no --logfile "$dir/redis.log" >/dev/null 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "redis-server did not start; see $dir/redis.log" >&2
  return 1
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

start_postgres() {
  # start_postgres PORT DIR — a throwaway cluster owned by the postgres user; trust on a socket dir.
  local port=$1 dir=$2 bin; bin=$(pg_bin)
  mkdir -p "$dir" && chown postgres:postgres "$dir" 2>/dev/null || true
  local run="bash -c"; [ "$(id -u)" -eq 0 ] && run="su postgres -s /bin/bash -c"
  $run "$bin/initdb -D '$dir/data' -A trust -U postgres -E UTF8 >/dev/null" &&
  $run "$bin/pg_ctl -D '$dir/data' -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off\" -l '$dir/pg.log' -w start >/dev/null"
}

stop_postgres() {
  local dir=$1 bin; bin=$(pg_bin)
  local run="bash -c"; [ "$(id -u)" -eq 0 ] && run="su postgres -s /bin/bash -c"
  [ -d "$dir/data" ] && $run "$bin/pg_ctl -D '$dir/data' -m fast -w stop >/dev/null" || true
}
