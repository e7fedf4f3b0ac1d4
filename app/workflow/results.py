"""Acceptance, public notice, objections and re-checks (BJ-ACC-1, BJ23-PUB-1, BJ23-OBJ-1,
CF-OBJ-1, AE-RECHECK-1)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, Status
from ..models.results import Objection, ObjectionStatus, Publication
from ..models.review import SessionItem


def certifiable_ids(tenant_id: int, today: date) -> list[int]:
    """Files whose result passed, whose public notice has ended (ends_on < today), with no
    open objection: the certificate batch may issue them (BJ-CERT-1)."""
    open_objection = sa.select(Objection.id).where(
        Objection.application_id == Application.id,
        Objection.status == ObjectionStatus.open.value).exists()
    return list(db.session.scalars(
        sa.select(Application.id)
        .join(SessionItem, SessionItem.application_id == Application.id)
        .join(Publication, Publication.session_id == SessionItem.session_id)
        .where(Application.tenant_id == tenant_id, Application.status == Status.passed.value,
               Publication.ends_on.is_not(None), Publication.ends_on < today, ~open_objection)
        .order_by(Application.id)))
