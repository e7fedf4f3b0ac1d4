"""Certificate batches on RQ: one job issues, in every tenant, what has become certifiable."""
from __future__ import annotations

from flask import current_app, g
from rq import get_current_job

from ..tenancy import tenant_scope, tenants
from .deadlines import _worker_app


def run_certificates() -> int:
    """RQ job: issue certificates and result letters in every tenant (BJ-CERT-1). Returns how
    many were issued; a run with nothing certifiable issues none."""
    from ..workflow.certificates import issue_batch

    app = current_app._get_current_object() if current_app else _worker_app()
    job = get_current_job()
    issued = 0
    with app.app_context():
        for slug in tenants():
            with tenant_scope(slug):
                issued += issue_batch(g.tenant_id, rq_job_id=job.id if job else None).rows_changed
    return issued
