"""`rq cron app/jobs/cron.py`: periodic jobs. The correction sweep is idempotent, so running it
every hour is enough to abandon files on the first hour after their correction deadline."""
import os

from rq import cron

from .deadlines import run_corrections

cron.register(run_corrections, os.environ.get("RQ_QUEUE", "zhicheng"), interval=3600)
