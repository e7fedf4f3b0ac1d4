"""The rehearsal of a tenant's year as an RQ job (see app/rehearsal): the job's meta carries the
simulated days done / total for the page, its JobRun row the state, and the report is kept as
JSON beside the tenant's uploads. The rehearsal moves the process's clock, so it runs in the RQ
work-horse, or — when jobs run inline — in a child process spawned for it, never in the web
process that enqueued it."""
from __future__ import annotations

import json
import multiprocessing
import secrets
from pathlib import Path

from flask import current_app
from redis import Redis
from rq import Queue, get_current_job

from ..extensions import db
from ..models import JobRun, utcnow
from ..uploads.storage import storage
from . import report_progress, worker_app

NAME = "rehearsal"


def report_key(slug: str, run_id: int) -> str:
    """Where a run's report is kept in the file store."""
    return f"{slug}/rehearsals/{run_id}.json"


def load_report(slug: str, run_id: int) -> dict | None:
    try:
        return json.loads(storage().read(report_key(slug, run_id)).decode("utf-8"))
    except FileNotFoundError:
        return None


def _rehearse_to(slug: str, year: int, tenant_dir: str, config: dict, size: str, out: str,
                 progress: bool) -> None:
    """Run the rehearsal and write its report to `out` (in whichever process calls it)."""
    from ..rehearsal import rehearse
    report = rehearse(slug, year, Path(tenant_dir), config, size,
                      progress=report_progress if progress else None)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")


def run_rehearsal(slug: str, year: int, size: str, run_id: int, spawn: bool = False) -> int:
    """RQ job (or inline with `spawn`): rehearse and record the run; returns the files made."""
    from ..rehearsal.sandbox import portable_config
    from ..tenancy import tenants
    with worker_app().app_context():
        job = get_current_job()
        run = db.session.get(JobRun, run_id)
        run.status, run.rq_job_id, run.started_at = "running", job.id if job else None, utcnow()
        db.session.commit()
        out = storage().incoming(report_key(slug, run_id))  # written here, then stored
        args = (slug, year, str(tenants()[slug].path), portable_config(current_app.config),
                size, str(out))
        try:
            if spawn:
                child = multiprocessing.get_context("spawn").Process(
                    target=_rehearse_to, args=(*args, False))
                child.start()
                child.join()
                if child.exitcode != 0:
                    raise RuntimeError(f"rehearsal process exited with {child.exitcode}")
            else:
                _rehearse_to(*args, True)
            report = json.loads(out.read_text(encoding="utf-8"))
            storage().put_file(report_key(slug, run_id), out)
            run.rows_changed, run.status, run.finished_at = report["files"], "finished", utcnow()
            db.session.commit()
        except Exception as e:
            db.session.rollback()
            run = db.session.get(JobRun, run_id)
            run.status, run.finished_at, run.error = "failed", utcnow(), repr(e)[:2000]
            db.session.commit()
            raise
        return run.rows_changed


def enqueue(slug: str, year: int, size: str, run: JobRun) -> None:
    """Start the rehearsal: on the RQ queue, or inline in a spawned process (JOBS_INLINE)."""
    if current_app.config["JOBS_INLINE"]:
        try:
            run_rehearsal(slug, year, size, run.id, spawn=True)
        except Exception:  # recorded on the run; the page shows it as failed
            current_app.logger.exception("rehearsal failed")
        return
    q = Queue(current_app.config["RQ_QUEUE"],
              connection=Redis.from_url(current_app.config["REDIS_URL"]))
    job = q.enqueue(run_rehearsal, slug, year, size, run.id,
                    job_id=f"rehearsal-{slug}-{run.id}-{secrets.token_hex(4)}",
                    job_timeout=3600)
    run.rq_job_id = job.id
    db.session.commit()
