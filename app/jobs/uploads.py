"""RQ job: remove resumable uploads untouched for a day (PARTIAL_UPLOAD_HOURS), with the bytes
they collected (app/uploads/resumable.py)."""
from __future__ import annotations

from . import worker_app


def remove_stale_uploads() -> int:
    """Remove every tenant's abandoned partial uploads; returns how many."""
    from ..uploads.resumable import remove_stale
    with worker_app().app_context():
        return remove_stale()
