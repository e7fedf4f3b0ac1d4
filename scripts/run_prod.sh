#!/usr/bin/env bash
# make run-prod: the production shape on one machine — PostgreSQL (a lasting cluster in
# instance/pgdata, created on the first run), Redis, gunicorn (deploy/gunicorn.conf.py: several
# gthread workers), two RQ workers (the first with RQ's scheduler) and `rq cron`, files in a
# storage directory; migrations, tenants and the demo as `make run` loads them. The same
# processes run on separate hosts in production (README, "Deployment"). Ctrl-C stops all of it.
#
# Settings (environment or .env): PORT (5080), HOST, PG_PORT (5442), REDIS_PORT (6394),
# STORAGE_DIR (instance/storage), WEB_WORKERS (3), WEB_THREADS (4), RQ_WORKERS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
source scripts/stack.sh
[ -f .env ] && { set -a; source .env; set +a; }
REDIS_PORT=${REDIS_PORT:-6394}
PG_PORT=${PG_PORT:-5442}
export SECRETS_EXTRA="PG_PASSWORD"  # the database role's password, kept in instance/secrets.env
stack_env 5080 "redis://127.0.0.1:$REDIS_PORT/0"
mkdir -p "${STORAGE_DIR:-instance/storage}"
export UPLOAD_DIR; UPLOAD_DIR=$(cd "${STORAGE_DIR:-instance/storage}" && pwd)
export WEB_WORKERS=${WEB_WORKERS:-3} WEB_THREADS=${WEB_THREADS:-4}
pgdata=instance/pgdata
export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg://zhicheng:$PG_PASSWORD@127.0.0.1:$PG_PORT/zhicheng}

stack_traps
stack_check_port
apt_install postgresql redis-server
# The cluster's superuser gets the same password as the app's role (logins over TCP need one).
start_pg_cluster "$PG_PORT" "$pgdata" "$PG_PASSWORD"
stop_hooks+=("stop_pg_cluster '$pgdata'")
# The app's role and database (owner: the role, so migrations create its tables and trigger).
pg_psql "$PG_PORT" "$(cd "$pgdata" && pwd)" "
SELECT 'CREATE ROLE zhicheng LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'zhicheng')\gexec
ALTER ROLE zhicheng PASSWORD '$PG_PASSWORD';
SELECT 'CREATE DATABASE zhicheng OWNER zhicheng' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'zhicheng')\gexec
" >/dev/null
# What `make flask INSTANCE=prod ARGS=…` needs to reach this instance (no secret but the URL's).
(umask 077 && printf '%s\n' "DATABASE_URL=$DATABASE_URL" "REDIS_URL=$REDIS_URL" \
  "UPLOAD_DIR=$UPLOAD_DIR" "PUBLIC_BASE_URL=$PUBLIC_BASE_URL" >instance/prod.env)

stack_redis instance/redis-prod
stack_prepare
stack_workers "${RQ_WORKERS:-2}" instance/prod-worker
stack_cron instance/prod-cron.log
stack_web instance/prod-web.log \
  .venv/bin/gunicorn -c deploy/gunicorn.conf.py --bind "$HOST:$PORT" wsgi:app
cat <<MSG

  职称评审服务平台 (production shape) is running:  http://$HOST:$PORT/
    PostgreSQL  127.0.0.1:$PG_PORT, cluster $pgdata (log $pgdata/server.log)
    Redis       $REDIS_URL
    web         gunicorn, $WEB_WORKERS gthread workers × $WEB_THREADS threads (instance/prod-web.log)
    jobs        ${RQ_WORKERS:-2} RQ workers (instance/prod-worker-*.log), rq cron (instance/prod-cron.log)
    files       $UPLOAD_DIR
  Ctrl-C stops everything; the database and files stay for the next run.
  flask commands on this instance while it runs: make flask INSTANCE=prod ARGS="backup /tmp/zc.tar"

  Demo accounts, one per role and tenant:
$accounts
MSG
stack_wait
