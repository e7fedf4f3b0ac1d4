"""An RQ worker for tests that stops a close in the middle of its transaction.

`rq worker -w tests.close_worker.PausingWorker` runs jobs like the deployed worker, except that
a job that has just moved applications (a close's UPDATE has run, its transaction still open
and uncommitted) creates the file named by CLOSE_PAUSED_FILE and sleeps, so a test can kill it at
exactly that point."""
from __future__ import annotations

import os
import time
from pathlib import Path

import sqlalchemy as sa

from app.jobs.worker import Worker

PAUSE_SECONDS = 120


class PausingWorker(Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Registered in the worker; the work horse forked for each job inherits it.
        sa.event.listen(sa.engine.Engine, "after_cursor_execute", _pause_after_move)


def _pause_after_move(conn, cursor, statement, *args) -> None:
    # On SQLite the UPDATE itself; on PostgreSQL the WITH statement that also audits.
    if "UPDATE APPLICATIONS" in statement.upper():
        Path(os.environ["CLOSE_PAUSED_FILE"]).touch()
        time.sleep(PAUSE_SECONDS)
