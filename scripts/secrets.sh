#!/usr/bin/env bash
# Sourced by run.sh and flask.sh: the instance's secrets and personal-data key ring.
# Secrets: made once, kept in instance/ readable by this user only (umask 077 from the first
# byte), and reused on every later run so sessions and the demo's data stay valid. Values set
# in the environment or .env win.
secrets_file=instance/secrets.env
# Adds only what the file lacks (a secret introduced by a later version), never replaces one.
(umask 077 && python3 - "$secrets_file" "${SECRETS_EXTRA:-}" <<'PY'
import base64, os, secrets, sys
path = sys.argv[1]
have = {}
if os.path.exists(path):
    with open(path) as f:
        have = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
wanted = {name: secrets.token_urlsafe(48)
          for name in ("SECRET_KEY", "PAYMENT_GATEWAY_SECRET", "AUDIT_KEY")}
wanted["AUDIT_SIGNING_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
# More a script needs (run_prod.sh: the database password), named in SECRETS_EXTRA.
wanted.update({name: secrets.token_urlsafe(32) for name in sys.argv[2].split()})
missing = {k: v for k, v in wanted.items() if k not in have}
if missing:
    with open(path + ".tmp", "w") as f:
        f.writelines(f"{k}={v}\n" for k, v in {**have, **missing}.items())
    os.replace(path + ".tmp", path)
    print(f"{path}: created {', '.join(missing)} (mode 0600)")
PY
) || { rm -f "$secrets_file.tmp"; echo "could not write $secrets_file" >&2; exit 1; }
while IFS= read -r line; do  # NAME=VALUE; a value may end in "=" (base64 padding)
  name=${line%%=*} value=${line#*=}
  [ -n "$name" ] && [ -z "${!name:-}" ] && export "$name=$value"
done <"$secrets_file"
# The personal-data key ring (unless DATA_KEYS comes from the environment).
if [ -z "${DATA_KEYS:-}" ]; then
  keyring=${KEYRING_FILE:-instance/keyring.json}
  [ -f "$keyring" ] || (umask 077 && .venv/bin/python -c \
    "import sys; from app.workflow.crypto import create_file; create_file(sys.argv[1])" \
    "$keyring") && [ -f "$keyring" ] || { echo "could not write $keyring" >&2; exit 1; }
fi
