"""RQ job: seal the audit rows a large change left for later (a close of many files)."""
from __future__ import annotations

from . import worker_app


def seal_audit() -> int:
    """Seal every tenant's unsealed audit rows; returns how many were sealed."""
    from ..workflow.audit import seal_all
    with worker_app().app_context():
        return seal_all()
