"""Certificate batches on RQ: one job issues, in every tenant, what has become certifiable."""
from __future__ import annotations

from . import for_each_tenant


def run_certificates() -> int:
    """RQ job: issue certificates and result letters in every tenant (BJ-CERT-1). Returns how
    many were issued; a run with nothing certifiable issues none."""
    from ..workflow.certificates import issue_batch
    return for_each_tenant(
        lambda tenant_id, job_id: issue_batch(tenant_id, rq_job_id=job_id).rows_changed)
