"""Deadline jobs on RQ: one job per stage close, enqueued for its instant; overdue ones at once."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from redis import Redis
from rq import Queue, get_current_job
from rq.job import JobStatus

from ..extensions import db
from ..models import Plan
from ..tenancy import tenant_scope, tenants
from ..workflow.calendar import now_local
from ..workflow.deadlines import close_key, close_stage, due_closes, finished_keys
from . import for_each_tenant, worker_app

def run_close(slug: str, plan_code: str, stage: str) -> int:
    """RQ job: close one stage of one plan. Returns the number of applications moved."""
    with worker_app().app_context(), tenant_scope(slug):
        from flask import g
        plan = db.session.scalar(sa.select(Plan).filter_by(tenant_id=g.tenant_id, code=plan_code))
        job = get_current_job()
        run = close_stage(plan, stage, rq_job_id=job.id if job else None)
        return run.rows_changed


def run_corrections() -> int:
    """RQ job: abandon, in every tenant, files whose agency correction deadline has passed."""
    from ..workflow.deadlines import close_corrections
    return for_each_tenant(lambda tenant_id, _job: close_corrections(tenant_id).rows_changed)


def run_fee_closes() -> int:
    """RQ job: abandon, in every tenant, files still unpaid when their fee window has closed
    (BJ-FEE-1). Each window's close runs once; windows not yet closed are left alone."""
    from ..workflow.fees import close_fee_windows
    return for_each_tenant(lambda tenant_id, job_id: sum(
        r.rows_changed for r in close_fee_windows(tenant_id, rq_job_id=job_id)))


def queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"],
                 connection=Redis.from_url(current_app.config["REDIS_URL"]))


def _pending(q: Queue, job_id: str) -> bool:
    job = q.fetch_job(job_id)
    return job is not None and job.get_status(refresh=True) in (
        JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)


def schedule_all(now: datetime | None = None) -> list[tuple[str, str, str]]:
    """Enqueue every close: future ones at their instant, overdue unfinished ones now (catch-up,
    oldest first). Job ids are stable, so scheduling twice does not duplicate a job."""
    now = now_local(now)
    inline = current_app.config["JOBS_INLINE"]
    q = None if inline else queue()
    done = []
    for slug in tenants():
        with tenant_scope(slug):
            from flask import g
            finished = finished_keys(g.tenant_id)
            for plan, stage, at in due_closes(g.tenant_id):
                key = close_key(plan, stage)
                job_id = key.replace(":", "-")
                if q is not None and _pending(q, job_id):
                    continue  # already queued or scheduled: the close runs once
                if at <= now:
                    if key in finished:
                        continue
                    if inline:
                        run_close(slug, plan.code, stage)
                    else:
                        q.enqueue(run_close, slug, plan.code, stage, job_id=job_id)
                    done.append((key, "now", at.isoformat()))
                elif not inline:
                    q.enqueue_at(at, run_close, slug, plan.code, stage, job_id=job_id)
                    done.append((key, "at", at.isoformat()))
    return done
