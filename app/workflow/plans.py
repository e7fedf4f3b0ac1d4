"""A plan's stage windows as a tenant admin sees and changes them: each stage's label, and a
window's closing date moved in the portal — validated, audited with the old and the new date,
and only while the stage's close has not run."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import JobRun, Plan, PlanWindow, Role
from .actors import Actor
from .calendar import now_local
from .deadlines import close_key
from .errors import Conflict, Forbidden, Invalid
from .transitions import audit

STAGE_LABELS = {
    "apply": _l("个人申报"),
    "employer_review": _l("单位审核推荐"),
    "tier_report": _l("逐级审核上报"),
    "agency_check": _l("评审机构（评委会）审核"),
    "paper_to_city": _l("纸质材料报送市人社局"),
    "review": _l("评审及结果公示"),
}


def stage_label(stage: str):
    return STAGE_LABELS.get(stage, stage)


def plan_by_code(tenant_id: int, code: str) -> Plan | None:
    return db.session.scalar(sa.select(Plan).filter_by(tenant_id=tenant_id, code=code))


def _close_done(plan: Plan, stage: str):
    """SQL: the stage's close at its current date has finished."""
    return sa.select(JobRun.id).where(JobRun.tenant_id == plan.tenant_id,
                                      JobRun.key == close_key(plan, stage),
                                      JobRun.status == "finished").exists()


def close_has_run(plan: Plan, stage: str) -> bool:
    return bool(db.session.scalar(sa.select(_close_done(plan, stage))))


def change_close(actor: Actor, plan: Plan, stage: str, closes_on: date | None,
                 now: datetime | None = None) -> PlanWindow:
    """Move the (inclusive) closing date of `stage` of `plan` to `closes_on`. Only a tenant admin
    of the plan's tenant may, only before the close has run, and only to today or later. The
    caller reschedules the close's job once this has committed."""
    if actor.role != Role.tenant_admin.value or actor.tenant_id != plan.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    window = plan.window(stage)
    if window is None:
        raise Invalid(_l("本计划没有此阶段。"))
    if close_has_run(plan, stage):
        raise Conflict(_l("该阶段已截止并已处理，不能再修改截止日期。"))
    now = now_local(now)
    old = window.closes_on
    _check_date(window, closes_on, now.date())
    changed = db.session.execute(
        sa.update(PlanWindow)
        .where(PlanWindow.id == window.id, PlanWindow.closes_on == old,
               ~_close_done(plan, stage))
        .values(closes_on=closes_on, closes_set_by=actor.user_id)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        db.session.rollback()
        raise Conflict(_l("该记录已被他人处理，请刷新后查看最新状态。"))
    audit(actor, "plan_windows", window.id, "change_close", reason=f"{plan.code} {stage}",
          from_state=old.isoformat(), to_state=closes_on.isoformat(), now=now)
    db.session.commit()
    db.session.refresh(window)
    return window


def _check_date(window: PlanWindow, closes_on: date | None, today: date) -> None:
    if closes_on is None:
        raise Invalid(_l("请填写新的截止日期。"))
    if closes_on == window.closes_on:
        raise Invalid(_l("新的截止日期与原截止日期相同。"))
    if closes_on < window.opens_on:
        raise Invalid(_l("截止日期不能早于本阶段开始日期%(d)s。",
                         d=format_date(window.opens_on, "yyyy-MM-dd")))
    if closes_on < today:
        raise Invalid(_l("截止日期不能早于今天。"))
