"""RQ entry points: thin wrappers that build the app once per worker, open a tenant scope and call
the workflow services."""
from __future__ import annotations

import os
from typing import Callable

_app = None
built_by: int | None = None  # the process that built _app (a work horse inherits it by fork)


def worker_app():
    """The app of this process: the current one, or one built on first use in a worker (never
    at import time)."""
    global _app, built_by
    from flask import current_app
    if current_app:
        return current_app._get_current_object()
    if _app is None:
        from .. import create_app
        _app, built_by = create_app(), os.getpid()
    return _app


def current_job_id() -> str | None:
    """The id of the RQ job running this code; None outside a job."""
    from rq import get_current_job
    job = get_current_job()
    return job.id if job else None


def for_each_tenant(work: Callable[[int, str | None], int]) -> int:
    """Run `work(tenant_id, rq_job_id)` inside each tenant's scope; return the sum of what the
    calls return (rows changed)."""
    from flask import g

    from ..tenancy import tenant_scope, tenants
    job_id = current_job_id()
    total = 0
    with worker_app().app_context():
        for slug in tenants():
            with tenant_scope(slug):
                total += work(g.tenant_id, job_id)
    return total


def report_progress(done: int, total: int | None = None) -> None:
    """Rows done (and the total, when known) in the current RQ job's meta, for the job console;
    nothing outside a job."""
    from rq import get_current_job
    job = get_current_job()
    if job is None:
        return
    job.meta["done"] = done
    if total is not None:
        job.meta["total"] = total
    job.save_meta()
