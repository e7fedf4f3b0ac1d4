"""`rq cron app/jobs/cron.py`: periodic jobs. Closes run from their own jobs at their instant
(app/jobs/deadlines.py); `run_schedule` runs when `rq cron` starts and every hour after, so
overdue closes are caught up (oldest first) and a lost or moved job is scheduled again. The
correction and fee sweeps are idempotent safety nets behind the exact jobs. The outbox sweep
runs every minute: a notice whose enqueue was lost waits at most about two."""
from rq import cron

from ..config import Config
from .audit import seal_audit
from .certificates import run_certificates
from .complaints import run_complaint_reminders
from .deadlines import run_corrections, run_fee_closes, run_schedule
from .notify import sweep_outbox
from .reminders import run_reminder_schedule, run_reminder_sweep
from .uploads import remove_stale_uploads

QUEUE = Config.RQ_QUEUE

cron.register(run_schedule, QUEUE, interval=3600)
cron.register(run_corrections, QUEUE, interval=3600)
# Unpaid files are abandoned within the hour after their fee window closes (BJ-FEE-1).
cron.register(run_fee_closes, QUEUE, interval=3600)
cron.register(sweep_outbox, QUEUE, interval=60)
# Certificates go out in batches (BJ-CERT-1): four runs a day issue each file within hours of its
# notice ending; a run with nothing certifiable changes nothing.
cron.register(run_certificates, QUEUE, interval=6 * 3600)
# Reminders run from their own jobs at their instant, scheduled again every hour so they follow a
# moved close; the daily sweep sends any a lost or late job missed, and every correction-deadline
# reminder. Cron fields are the `rq cron` process's local time: run it with TZ=Asia/Shanghai for
# 09:30 there (the sweep is correct at any hour).
cron.register(run_reminder_schedule, QUEUE, interval=3600)
cron.register(run_reminder_sweep, QUEUE, cron="30 9 * * *")
# Audit rows a large close wrote beyond what its own commit sealed are chained within a minute.
cron.register(seal_audit, QUEUE, interval=60)
# Complaints due today or overdue are reminded to the office holding them (AE-COMPLAIN-1);
# each notice goes once, so the hour it runs at only decides when it arrives.
cron.register(run_complaint_reminders, QUEUE, cron="0 9 * * *")
# Partial uploads untouched for a day (PARTIAL_UPLOAD_HOURS) are removed with their bytes; hourly,
# so none outlives its day by more than an hour.
cron.register(remove_stale_uploads, QUEUE, interval=3600)
