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

pg_as() {
  # pg_as COMMAND — run a shell command as the cluster's owner: the postgres user when we are
  # root (PostgreSQL refuses to run as root), else ourselves.
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$1"; else bash -c "$1"; fi
}

start_pg_cluster() {
  # start_pg_cluster PORT DIR PASSWORD — a lasting cluster in DIR: created on the first run
  # (superuser over the socket by peer, password logins over TCP), reused afterwards; started
  # unless it already runs. Server log in DIR/server.log. Durable settings (fsync on).
  local port=$1 dir=$2 password=$3 bin; bin=$(pg_bin)
  [ -n "$bin" ] || { echo "PostgreSQL's server is not installed" >&2; return 1; }
  mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres:postgres "$dir" && chmod 700 "$dir"
    su postgres -s /bin/bash -c "test -x '$dir'" || {
      echo "the postgres user cannot reach $dir: give its parent folders o+x" >&2; return 1; }
  fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    local pwfile; pwfile=$(mktemp); printf '%s\n' "$password" >"$pwfile"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pwfile"
    pg_as "$bin/initdb -D '$dir' -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=peer \
      --auth-host=scram-sha-256 --pwfile='$pwfile'" >"$dir.init.log" 2>&1 ||
      { rm -f "$pwfile"; echo "initdb failed; see $dir.init.log" >&2; return 1; }
    rm -f "$pwfile"
    pg_as "printf '%s\n' \"listen_addresses = '127.0.0.1'\" \"unix_socket_directories = '$dir'\" \
      >>'$dir/postgresql.conf'"
  fi
  if ! pg_as "$bin/pg_ctl -D '$dir' status" >/dev/null 2>&1; then
    # In a session of its own: a Ctrl-C at the terminal never reaches the server; the caller
    # stops it last, after everything that uses it.
    local start="$bin/pg_ctl -D '$dir' -o '-p $port' -l '$dir/server.log' -w -t 60 start"
    local as=(bash -c); [ "$(id -u)" -eq 0 ] && as=(su postgres -s /bin/bash -c)
    setsid -w "${as[@]}" "$start" >/dev/null ||
      { echo "PostgreSQL did not start; see $dir/server.log" >&2; return 1; }
  fi
}

pg_psql() {
  # pg_psql PORT DIR SQL — run SQL (on standard input, so no quoting) as the superuser over the
  # cluster's socket; prints the rows, unaligned.
  printf '%s\n' "$3" | pg_as "$(pg_bin)/psql -X -q -v ON_ERROR_STOP=1 -h '$2' -p '$1' -U postgres -d postgres -tA -f -"
}

stop_pg_cluster() {
  # stop_pg_cluster DIR — a fast shutdown (sessions ended, data safe) if it runs.
  local dir=$1 bin; bin=$(pg_bin)
  [ -f "$dir/PG_VERSION" ] && pg_as "$bin/pg_ctl -D '$dir' status" >/dev/null 2>&1 &&
    pg_as "$bin/pg_ctl -D '$dir' -m fast -w stop >/dev/null" || true
}

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
