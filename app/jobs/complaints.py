"""The daily complaint reminder (AE-COMPLAIN-1): offices holding a complaint due today or
overdue are told by SMS (the outbox), once per complaint, person and kind."""
from __future__ import annotations

from ..workflow import complaints
from . import for_each_tenant
from .notify import dispatch


def run_complaint_reminders() -> int:
    """RQ cron job: every tenant's complaint reminders. Returns notices written."""
    def one(tenant_id: int, rq_job_id: str | None) -> int:
        _run, ids = complaints.remind(tenant_id, rq_job_id=rq_job_id)
        dispatch(ids)
        return len(ids)
    return for_each_tenant(one)
