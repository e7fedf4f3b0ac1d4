"""`rq cron app/jobs/cron.py`: periodic jobs. The correction sweep is idempotent, so running it
every hour is enough to abandon files on the first hour after their correction deadline. The
outbox sweep runs every minute: a notice whose enqueue was lost waits at most about two."""
import os

from rq import cron

from .certificates import run_certificates
from .deadlines import run_corrections, run_fee_closes
from .notify import sweep_outbox

cron.register(run_corrections, os.environ.get("RQ_QUEUE", "zhicheng"), interval=3600)
# Unpaid files are abandoned within the hour after their fee window closes (BJ-FEE-1).
cron.register(run_fee_closes, os.environ.get("RQ_QUEUE", "zhicheng"), interval=3600)
cron.register(sweep_outbox, os.environ.get("RQ_QUEUE", "zhicheng"), interval=60)
# Certificates go out in batches (BJ-CERT-1): four runs a day issue each file within hours of its
# notice ending; a run with nothing certifiable changes nothing.
cron.register(run_certificates, os.environ.get("RQ_QUEUE", "zhicheng"), interval=6 * 3600)
