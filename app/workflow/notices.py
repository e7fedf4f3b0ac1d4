"""Yearly review notices (CF-NOTICE-1, seed 004 三(一)1): each county HR bureau, committee
office and self-review unit issues its own notice within the city's schedule and files it with
the city HR bureau, which acknowledges it; acknowledged notices are listed publicly."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from .. import uploads
from ..extensions import db
from ..models import Org, Role, utcnow
from ..models.agencies import NoticeStatus, YearlyNotice
from ..tenancy.schema import OrgKind, Tier
from .actors import Actor
from .agencies import _require_city_hr
from .errors import Forbidden, Invalid
from .transitions import audit

STATUS_LABELS = {NoticeStatus.submitted.value: _l("待确认"),
                 NoticeStatus.acknowledged.value: _l("已备案")}
MAX_BODY = 20000


def may_file(actor, org: Org | None) -> bool:
    """A county HR bureau's officer, a committee office (review service agency) or a
    self-review unit's staff."""
    if org is None or org.tenant_id != actor.tenant_id:
        return False
    if actor.role == Role.hr_officer.value:
        return org.kind == OrgKind.hr_bureau.value and org.tier == Tier.county.value
    if actor.role == Role.agency_clerk.value:
        return org.kind in (OrgKind.agency.value, OrgKind.self_review_unit.value)
    return (actor.role in (Role.employer_clerk.value, Role.department_clerk.value)
            and org.kind == OrgKind.self_review_unit.value)


def file_notice(cfg, actor: Actor, *, year: int | None, title: str, body: str,
                issued_on: date | None, opens_on: date | None, closes_on: date | None,
                filename: str = "", data: bytes | None = None) -> YearlyNotice:
    """File a notice: title, issue date and the text or a PDF of it (checked and rebuilt like
    every upload). On any problem nothing is saved."""
    org = db.session.get(Org, actor.org_id) if actor.org_id else None
    if not may_file(actor, org):
        raise Forbidden(_l("只有旗县区人力资源社会保障部门、评委会办事机构和自主评审单位报备年度评审工作通知。"))
    title, body = (title or "").strip(), (body or "").strip()
    problems = []
    if not title:
        problems.append(_l("请填写通知标题。"))
    elif len(title) > 200:
        problems.append(_l("通知标题不超过200字。"))
    if year is None or not 2000 <= year <= 2100:
        problems.append(_l("请填写年度。"))
    if issued_on is None:
        problems.append(_l("请填写印发日期。"))
    if opens_on and closes_on and closes_on < opens_on:
        problems.append(_l("申报截止日期不能早于开始日期。"))
    if len(body) > MAX_BODY:
        problems.append(_l("通知正文过长。"))
    if not body and not data:
        problems.append(_l("请填写通知正文或上传通知PDF文件。"))
    stored = mime = digest = None
    if data and not problems:
        try:
            content, mime = uploads.accept_scan(data, cfg)
            if mime != "application/pdf":
                raise Invalid(_l("通知文件请上传PDF格式。"))
        except Invalid as e:
            problems.append(e.message)
        else:
            stored, digest = uploads.store(cfg.slug, content, mime)
    if problems:
        raise Invalid(_l("未报备："), problems=problems)
    try:
        n = YearlyNotice(tenant_id=actor.tenant_id, org_id=org.id, year=year, title=title,
                         body=body, issued_on=issued_on, opens_on=opens_on, closes_on=closes_on,
                         filename=(filename or "notice.pdf")[:200] if stored else "",
                         stored_name=stored, mime=mime or "",
                         size=len(content) if stored else 0, sha256=digest or "",
                         status=NoticeStatus.submitted.value, submitted_by=actor.user_id,
                         submitted_at=utcnow())
        db.session.add(n)
        db.session.flush()
        audit(actor, "yearly_notices", n.id, "submit", reason=title[:200],
              to_state=NoticeStatus.submitted.value)
        db.session.commit()
    except Exception:
        db.session.rollback()
        if stored:
            uploads.remove(cfg.slug, stored)
        raise
    return n


def acknowledge(cfg, actor: Actor, notice: YearlyNotice) -> None:
    _require_city_hr(actor)
    if notice.tenant_id != actor.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    if notice.status != NoticeStatus.submitted.value:
        raise Invalid(_l("该通知已确认备案。"))
    notice.status = NoticeStatus.acknowledged.value
    notice.acknowledged_by, notice.acknowledged_at = actor.user_id, utcnow()
    audit(actor, "yearly_notices", notice.id, "acknowledge",
          from_state=NoticeStatus.submitted.value, to_state=notice.status)
    db.session.commit()


def listed(tenant_id: int, *, org_id: int | None = None, public: bool = False):
    q = sa.select(YearlyNotice).filter_by(tenant_id=tenant_id)
    if org_id is not None:
        q = q.filter_by(org_id=org_id)
    if public:
        q = q.filter_by(status=NoticeStatus.acknowledged.value)
    from sqlalchemy.orm import selectinload
    return db.session.scalars(q.options(selectinload(YearlyNotice.org)).order_by(
        YearlyNotice.year.desc(), YearlyNotice.issued_on.desc(), YearlyNotice.id.desc())).all()
