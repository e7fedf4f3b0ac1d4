"""Paper files of directed evaluation (定向评价) reaching city HR inside the plan's own window
`paper_to_city` (CF-WIN-4); after its close nothing more is received."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, AuditEvent, Role, Status
from .actors import Actor
from .calendar import now_local
from .errors import Forbidden, Invalid
from .transitions import _refuse_closed, audit

PAPER_STAGE = "paper_to_city"
RECEIVE = "paper_received"


def paper_received(app: Application) -> bool:
    return db.session.scalar(sa.select(AuditEvent.id).filter_by(
        tenant_id=app.tenant_id, subject_type="applications", subject_id=app.id,
        action=RECEIVE).limit(1)) is not None


def receive_paper(cfg, app: Application, actor: Actor, now: datetime | None = None) -> None:
    """City HR records that the paper file of a submitted directed-evaluation application
    arrived; refused outside the plan's `paper_to_city` window or for any other plan."""
    now = now_local(now)
    if actor.role != Role.hr_officer.value or actor.tenant_id != app.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    if app.plan.window(PAPER_STAGE) is None:
        raise Invalid(_l("本计划不需要报送定向评价纸质材料。"))
    if app.status in (Status.draft.value, Status.abandoned.value):
        raise Invalid(_l("申报尚未提交，不能登记纸质材料。"))
    _refuse_closed(app.plan, PAPER_STAGE, now)
    if paper_received(app):
        raise Invalid(_l("该申报的纸质材料已登记接收。"))
    audit(actor, "applications", app.id, RECEIVE, reason="定向评价纸质材料报送至市人社局", now=now)
    db.session.commit()
