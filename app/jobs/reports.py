"""Tier reports on RQ (CF-REPORT-1): one job writes an office's report and spreadsheets for one
plan, reporting rows done / total in the job's meta and in its JobRun row."""
from __future__ import annotations

import secrets

from flask import current_app
from redis import Redis
from rq import Queue, get_current_job

from ..extensions import db
from ..models import JobRun, utcnow
from ..tenancy import tenant_scope
from . import worker_app


def build_tier_report(slug: str, org_id: int, plan_id: int, run_id: int | None = None) -> int:
    """RQ job: generate the report, rosters and statistics table; returns the rows written."""
    with worker_app().app_context(), tenant_scope(slug):
        from flask import g

        from ..workflow.reports import generate, run_key
        job = get_current_job()
        run = db.session.get(JobRun, run_id) if run_id else None
        if run is None:
            run = JobRun(tenant_id=g.tenant_id, name="tier_report", key=run_key(org_id, plan_id))
            db.session.add(run)
        run.status, run.rq_job_id, run.started_at = "running", job.id if job else None, utcnow()
        db.session.commit()

        def progress(done: int, total: int) -> None:
            """Called with the total before the first row, then once per chunk of rows."""
            if job is not None:
                job.meta.update(done=done, total=total)
                job.save_meta()
            run.rows_changed = done
            db.session.commit()
        try:
            made = generate(g.tenant, slug, g.tenant_id, org_id, plan_id, run=run,
                            progress=progress)
            run.status, run.finished_at = "done", utcnow()
            db.session.commit()
        except Exception as e:
            db.session.rollback()
            run = db.session.get(JobRun, run.id)
            run.status, run.finished_at, run.error = "failed", utcnow(), repr(e)[:2000]
            db.session.commit()
            raise
        return sum(r.rows for r in made if r.kind == "statistics")


def enqueue(slug: str, org_id: int, plan_id: int, run: JobRun) -> None:
    """Start the job: inline with JOBS_INLINE, else on the RQ queue."""
    if current_app.config["JOBS_INLINE"]:
        try:
            build_tier_report(slug, org_id, plan_id, run.id)
        except Exception:  # recorded on the run; the page shows it as failed
            current_app.logger.exception("tier report failed")
        return
    q = Queue(current_app.config["RQ_QUEUE"],
              connection=Redis.from_url(current_app.config["REDIS_URL"]))
    job = q.enqueue(build_tier_report, slug, org_id, plan_id, run.id,
                    job_id=f"report-{slug}-{run.id}-{secrets.token_hex(4)}", job_timeout=1800)
    run.rq_job_id = job.id
    db.session.commit()


def progress_of(run: JobRun) -> tuple[int, int | None]:
    """(rows done, total or None) of a run, from the RQ job's meta when it can be read."""
    if run.rq_job_id and not current_app.config["JOBS_INLINE"]:
        try:
            from rq.job import Job
            job = Job.fetch(run.rq_job_id,
                            connection=Redis.from_url(current_app.config["REDIS_URL"]))
            return job.meta.get("done", run.rows_changed), job.meta.get("total")
        except Exception:  # Redis unreachable or the job expired: fall back on the row
            pass
    return run.rows_changed, None
