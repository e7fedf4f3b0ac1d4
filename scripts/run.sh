#!/usr/bin/env bash
# make run: Redis, migrations, tenants + demo data, one RQ worker with its scheduler, rq cron,
# the web server (gunicorn with deploy/gunicorn.conf.py, as in production). A worker or cron
# that dies is restarted; the web server dying stops the run.
# Ctrl-C stops every process started here. (make run-prod: the production shape, run_prod.sh.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
source scripts/stack.sh
stack_env 5000 redis://127.0.0.1:6390/0
stack_traps
stack_check_port
stack_redis instance/redis
stack_prepare
stack_workers 1 instance/worker
stack_cron instance/cron.log
# The web server as production runs it (deploy/gunicorn.conf.py: gthread workers), with no nginx
# in front: a slow upload or reader holds one of the threads, never a whole process.
export WEB_WORKERS=${WEB_WORKERS:-2} WEB_THREADS=${WEB_THREADS:-8}
stack_web instance/web.log \
  .venv/bin/gunicorn -c deploy/gunicorn.conf.py --bind "$HOST:$PORT" wsgi:app
cat <<MSG

  职称评审服务平台 is running:  http://$HOST:$PORT/
  (worker log: instance/worker.log, web log: instance/web.log; Ctrl-C stops everything)

  Demo accounts, one per role and tenant:
$accounts
MSG
stack_wait
