#!/usr/bin/env bash
# make flask ARGS="…" / make rehearse: the flask command with the secrets and key ring `make run`
# keeps in instance/ (made on first use), so commands run against the same instance.
# INSTANCE=prod: the instance `make run-prod` serves (its PostgreSQL, Redis and storage
# directory, from instance/prod.env); run-prod must be running.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p instance
[ -f .env ] && set -a && source .env && set +a
if [ "${INSTANCE:-}" = prod ]; then
  [ -f instance/prod.env ] || { echo "no instance/prod.env: start make run-prod first" >&2; exit 1; }
  set -a && source instance/prod.env && set +a
fi
source scripts/secrets.sh
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-5000}}
exec .venv/bin/flask "$@"
