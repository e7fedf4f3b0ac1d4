#!/usr/bin/env bash
# make flask ARGS="…" / make rehearse: the flask command with the secrets and key ring `make run`
# keeps in instance/ (made on first use), so commands run against the same instance.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p instance
[ -f .env ] && set -a && source .env && set +a
source scripts/secrets.sh
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:${PORT:-5000}}
exec .venv/bin/flask "$@"
