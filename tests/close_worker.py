"""An RQ worker for tests that stops a close in the middle of its transaction.

`rq worker -w tests.close_worker.PausingWorker` runs jobs like the deployed worker, except that
a job about to write audit events (a close has moved its rows, uncommitted) first creates the
file named by CLOSE_PAUSED_FILE and sleeps, so a test can kill it at exactly that point."""
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
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", _pause_before_audit)


def _pause_before_audit(conn, cursor, statement, *args) -> None:
    if statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS"):
        Path(os.environ["CLOSE_PAUSED_FILE"]).touch()
        time.sleep(PAUSE_SECONDS)
