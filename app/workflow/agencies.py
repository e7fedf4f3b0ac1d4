"""Review service agencies (seed 003): an organisation applies with what 第十条 lists, the city HR
bureau files it for at most three years or returns it with reasons (第十二条, AE-AGENCY-1); the
bureau assesses each agency yearly on its acceptance results and complaints and may suspend it
(第三十一条, AE-SUPERV-1). Only a filed, unexpired, unsuspended agency opens review sessions."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Committee, Org, ReviewSession, Role, utcnow
from ..models.agencies import (
    AgencyAssessment, AgencyFiling, AgencySuspension, FilingStatus, NoticeStatus, YearlyNotice,
)
from ..models.applications import Application
from ..models.plans import Plan
from ..models.results import Objection, ObjectionStatus, Publication, Recheck
from ..tenancy.schema import OrgKind
from .abilities import at_city_hr
from .actors import Actor
from .errors import Conflict, Forbidden, Invalid
from .transitions import audit

AGENCY_KINDS = (OrgKind.agency.value, OrgKind.self_review_unit.value)
STATUS_LABELS = {FilingStatus.submitted.value: _l("待备案"),
                 FilingStatus.returned.value: _l("已退回"),
                 FilingStatus.filed.value: _l("已备案")}
RESULT_LABELS = {"pass": _l("合格"), "fail": _l("不合格")}

# 第十条, in its order: (field, label, required).
FIELDS = (
    ("profile", _l("单位简介"), True),
    ("head", _l("负责人"), True),
    ("head_title", _l("负责人职务"), True),
    ("scope", _l("专业领域范围"), True),
    ("purpose", _l("开展目的"), True),
    ("address", _l("办公地址"), True),
    ("phone", _l("联系电话"), True),
    ("hours", _l("受理时间"), True),
    ("staff_count", _l("专职工作人员人数"), True),
    ("staff", _l("专职工作人员情况"), True),
    ("facilities", _l("配套设备设施"), True),
    ("strengths", _l("自身优势和能够提供的服务"), False),
    ("committees", _l("拟开展评委会的备案内容"), True),
)
LIMITS = {"head": 60, "head_title": 60, "address": 200, "phone": 40, "hours": 200}
MAX_TEXT = 4000


# -- who is who ----------------------------------------------------------------------------------

def is_city_hr(actor) -> bool:
    """The city HR bureau's officers (and the tenant administrator seated there): the one check
    of app/workflow/abilities.py."""
    return at_city_hr(actor.role, actor.org_id, actor.tenant_id)


def _require_city_hr(actor: Actor) -> None:
    if not is_city_hr(actor):
        raise Forbidden(_l("只有市人力资源社会保障部门可以办理。"))


# -- standing: may the agency open review sessions? --------------------------------------------

def standing(tenant_id: int, org_ids, day: date) -> dict[int, object]:
    """For each agency, None when it may open sessions on `day`, else the reason: not filed,
    filing expired, suspended, closed. Three queries whatever the number of agencies."""
    ids = list(set(org_ids))
    filings = {f.org_id: f for f in db.session.scalars(sa.select(AgencyFiling).where(
        AgencyFiling.tenant_id == tenant_id, AgencyFiling.org_id.in_(ids or [0])))}
    suspended = set(db.session.scalars(sa.select(AgencySuspension.org_id).where(
        AgencySuspension.tenant_id == tenant_id, AgencySuspension.org_id.in_(ids or [0]),
        AgencySuspension.lifted_at.is_(None))))
    closed = set(db.session.scalars(sa.select(Org.id).where(
        Org.id.in_(ids or [0]), Org.closed_on.is_not(None))))
    # A self-review unit stands on the city HR bureau's approval of its rule documents
    # (seed 002 第九条(二)) rather than on an agency filing.
    from ..models.self_review_run import SelfReviewSetup
    units = set(db.session.scalars(sa.select(SelfReviewSetup.org_id).where(
        SelfReviewSetup.tenant_id == tenant_id, SelfReviewSetup.org_id.in_(ids or [0]),
        SelfReviewSetup.status == "approved")))
    out = {}
    for oid in ids:
        f = filings.get(oid)
        if oid in closed:  # closed in the org tree (app/workflow/orgtree.py)
            out[oid] = _l("该机构已撤销。")
        elif oid in suspended:
            out[oid] = _l("评审服务机构已被暂停评审工作。")
        elif oid in units and not filed_valid(f, day):
            out[oid] = None
        elif f is None or f.filed_on is None or f.valid_until is None or day < f.filed_on:
            out[oid] = _l("评审服务机构尚未经市人力资源社会保障部门备案。")
        elif day > f.valid_until:
            out[oid] = _l("评审服务机构备案已于%(d)s到期，请重新备案。", d=f.valid_until.isoformat())
        else:
            out[oid] = None
    return out


def refusal(tenant_id: int, org_id: int, day: date):
    """Why the agency may not open a review session on `day` (None: it may)."""
    return standing(tenant_id, [org_id], day)[org_id]


def filed_valid(filing: AgencyFiling | None, day: date) -> bool:
    return bool(filing and filing.filed_on and filing.valid_until
                and filing.filed_on <= day <= filing.valid_until)


# -- the application and the decision ------------------------------------------------------------

def filing_of(tenant_id: int, org_id: int) -> AgencyFiling | None:
    return db.session.scalar(sa.select(AgencyFiling).filter_by(tenant_id=tenant_id, org_id=org_id))


def _clean(data: dict) -> tuple[dict, list]:
    values, problems = {}, []
    for name, title, required in FIELDS:
        raw = data.get(name)
        if name == "staff_count":
            try:
                n = int(raw) if raw not in (None, "") else None
            except (TypeError, ValueError):
                n = -1
            if n is None or n < 1 or n > 10000:
                problems.append(_l("请填写专职工作人员人数（1人以上）。"))
            values[name] = n if n and n > 0 else 0
            continue
        text = (raw or "").strip()
        if required and not text:
            problems.append(_l("请填写“%(f)s”。", f=title))
        if len(text) > LIMITS.get(name, MAX_TEXT):
            problems.append(_l("“%(f)s”过长（不超过%(n)d字）。", f=title,
                               n=LIMITS.get(name, MAX_TEXT)))
        values[name] = text
    return values, problems


def submit_filing(cfg, actor: Actor, data: dict, expected_version: int | None = None) -> AgencyFiling:
    """The agency applies (or corrects a returned application, or re-files before expiry);
    every item of 第十条 is required. On any problem nothing is saved."""
    org = db.session.get(Org, actor.org_id) if actor.org_id else None
    if (actor.role != Role.agency_clerk.value or org is None or org.tenant_id != actor.tenant_id
            or org.kind not in AGENCY_KINDS):
        raise Forbidden(_l("只有评审服务机构可以申请备案。"))
    filing = filing_of(actor.tenant_id, org.id)
    if filing is not None and filing.version != expected_version:
        raise Conflict(_l("备案申请已被他人更新，请刷新后重试。"))
    values, problems = _clean(data)
    if problems:
        raise Invalid(_l("未提交："), problems=problems)
    before = filing.status if filing else None
    if filing is None:
        filing = AgencyFiling(tenant_id=actor.tenant_id, org_id=org.id, version=0,
                              return_reason="")
        db.session.add(filing)
    for k, v in values.items():
        setattr(filing, k, v)
    filing.status = FilingStatus.submitted.value
    filing.submitted_at = utcnow()
    filing.version += 1
    db.session.flush()
    audit(actor, "agency_filings", filing.id, "resubmit" if before else "submit",
          from_state=before, to_state=FilingStatus.submitted.value)
    db.session.commit()
    return filing


def decide_filing(cfg, actor: Actor, filing: AgencyFiling, action: str, *,
                  expected_version: int | None, filed_on: date | None = None,
                  valid_until: date | None = None, reason: str = "") -> None:
    """The city HR bureau files the agency (valid ≤ the tenant's years, at most 3) or returns the
    application with its reasons."""
    _require_city_hr(actor)
    if filing.tenant_id != actor.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    if expected_version is None or filing.version != expected_version:
        raise Conflict(_l("备案申请已被他人更新，请刷新后重试。"))
    if filing.status != FilingStatus.submitted.value:
        raise Invalid(_l("该备案申请不在待备案状态。"))
    reason = (reason or "").strip()
    if action == "return":
        if not reason:
            raise Invalid(_l("退回须写明理由。"))
        filing.status, filing.return_reason = FilingStatus.returned.value, reason[:MAX_TEXT]
        detail = reason[:MAX_TEXT]
    elif action == "file":
        years = cfg.policies.agencies.filing_years
        if filed_on is None or valid_until is None or not 2000 <= filed_on.year <= 2100:
            raise Invalid(_l("请填写备案日期和有效期。"))
        limit = date(filed_on.year + years, filed_on.month, min(filed_on.day, 28))
        if valid_until <= filed_on or valid_until > limit:
            raise Invalid(_l("备案有效期不超过%(n)d年。", n=years))
        filing.status, filing.return_reason = FilingStatus.filed.value, ""
        filing.filed_on, filing.valid_until = filed_on, valid_until
        detail = f"{filed_on.isoformat()}..{valid_until.isoformat()}"
    else:
        raise Invalid(_l("无效的操作。"))
    filing.decided_by, filing.decided_at = actor.user_id, utcnow()
    filing.version += 1
    audit(actor, "agency_filings", filing.id, action, reason=detail,
          from_state=FilingStatus.submitted.value, to_state=filing.status)
    db.session.commit()


# -- suspension and the yearly assessment ---------------------------------------------------------

def active_suspension(tenant_id: int, org_id: int) -> AgencySuspension | None:
    return db.session.scalar(sa.select(AgencySuspension).filter_by(
        tenant_id=tenant_id, org_id=org_id, lifted_at=None))


def suspend(cfg, actor: Actor, org: Org, reason: str, *, commit: bool = True) -> AgencySuspension:
    _require_city_hr(actor)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("暂停评审工作须写明理由。"))
    if active_suspension(actor.tenant_id, org.id) is not None:
        raise Invalid(_l("该评审服务机构已被暂停评审工作。"))
    s = AgencySuspension(tenant_id=actor.tenant_id, org_id=org.id, reason=reason[:MAX_TEXT],
                         suspended_by=actor.user_id, suspended_at=utcnow(), lift_reason="")
    db.session.add(s)
    db.session.flush()
    audit(actor, "agency_suspensions", s.id, "suspend", reason=reason[:MAX_TEXT],
          to_state="suspended")
    if commit:
        db.session.commit()
    return s


def lift(cfg, actor: Actor, org: Org, reason: str) -> None:
    _require_city_hr(actor)
    s = active_suspension(actor.tenant_id, org.id)
    if s is None:
        raise Invalid(_l("该评审服务机构未被暂停。"))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("恢复评审工作须写明理由。"))
    s.lift_reason, s.lifted_by, s.lifted_at = reason[:MAX_TEXT], actor.user_id, utcnow()
    audit(actor, "agency_suspensions", s.id, "lift", reason=reason[:MAX_TEXT],
          from_state="suspended", to_state="active")
    db.session.commit()


FIGURE_LABELS = {"sessions": _l("评审会"), "accepted": _l("验收通过"),
                 "sent_back": _l("验收退回"), "awaiting": _l("待验收"),
                 "objections": _l("异议（已处理/共）"), "rechecks": _l("复查申请（已答复/共）")}


def figures(tenant_id: int, year: int, org_ids) -> dict[int, dict]:
    """What the data says of each agency's year (第三十一条 验收结果、接诉即办情况): its sessions,
    their acceptance results, objections routed to it and re-check requests on its committees,
    each with how many were handled. Four grouped queries whatever the number of agencies."""
    ids = list(set(org_ids)) or [0]
    out = {oid: {"sessions": 0, "accepted": 0, "sent_back": 0, "awaiting": 0,
                 "objections": 0, "objections_handled": 0, "rechecks": 0,
                 "rechecks_answered": 0} for oid in ids}
    in_year = sa.and_(ReviewSession.plan_id == Plan.id, Plan.year == year)
    for oid, n in db.session.execute(
            sa.select(Committee.agency_org_id, sa.func.count(ReviewSession.id))
            .join(ReviewSession, ReviewSession.committee_id == Committee.id).join(Plan, in_year)
            .where(ReviewSession.tenant_id == tenant_id, Committee.agency_org_id.in_(ids))
            .group_by(Committee.agency_org_id)):
        out[oid]["sessions"] = n
    for oid, status, n in db.session.execute(
            sa.select(Committee.agency_org_id, Publication.status, sa.func.count(Publication.id))
            .join(ReviewSession, ReviewSession.committee_id == Committee.id).join(Plan, in_year)
            .join(Publication, Publication.session_id == ReviewSession.id)
            .where(Publication.tenant_id == tenant_id, Committee.agency_org_id.in_(ids))
            .group_by(Committee.agency_org_id, Publication.status)):
        key = {"accepted": "accepted", "sent_back": "sent_back", "requested": "awaiting"}.get(status)
        if key:
            out[oid][key] += n
    apps_in_year = sa.and_(Application.plan_id == Plan.id, Plan.year == year)
    for oid, status, n in db.session.execute(
            sa.select(Objection.routed_org_id, Objection.status, sa.func.count(Objection.id))
            .join(Application, Application.id == Objection.application_id)
            .join(Plan, apps_in_year)
            .where(Objection.tenant_id == tenant_id, Objection.routed_org_id.in_(ids))
            .group_by(Objection.routed_org_id, Objection.status)):
        out[oid]["objections"] += n
        if status in (ObjectionStatus.upheld.value, ObjectionStatus.rejected.value):
            out[oid]["objections_handled"] += n
    for oid, answered, n in db.session.execute(
            sa.select(Committee.agency_org_id, Recheck.answered_at.is_not(None),
                      sa.func.count(Recheck.id))
            .join(Application, Application.id == Recheck.application_id)
            .join(Plan, apps_in_year)
            .join(Committee, Committee.id == Application.committee_id)
            .where(Recheck.tenant_id == tenant_id, Committee.agency_org_id.in_(ids))
            .group_by(Committee.agency_org_id, Recheck.answered_at.is_not(None))):
        out[oid]["rechecks"] += n
        if answered:
            out[oid]["rechecks_answered"] += n
    return out


def assess(cfg, actor: Actor, org: Org, year: int, result: str, note: str) -> AgencyAssessment:
    """Record (or correct) the year's assessment with the figures as they stand; a failing
    agency no longer reviews (第三十一条): it is suspended with that reason."""
    _require_city_hr(actor)
    if org.tenant_id != actor.tenant_id or org.kind not in AGENCY_KINDS:
        raise Forbidden(_l("无权进行此操作。"))
    if result not in RESULT_LABELS:
        raise Invalid(_l("请选择考核结果。"))
    if not 2000 <= year <= 2100:
        raise Invalid(_l("请填写考核年度。"))
    note = (note or "").strip()[:MAX_TEXT]
    if result == "fail" and not note:
        raise Invalid(_l("考核不合格须写明理由。"))
    row = db.session.scalar(sa.select(AgencyAssessment).filter_by(
        tenant_id=actor.tenant_id, org_id=org.id, year=year))
    if row is None:
        row = AgencyAssessment(tenant_id=actor.tenant_id, org_id=org.id, year=year)
        db.session.add(row)
    row.result, row.note = result, note
    row.figures = figures(actor.tenant_id, year, [org.id])[org.id]
    row.assessed_by, row.assessed_at = actor.user_id, utcnow()
    db.session.flush()
    audit(actor, "agency_assessments", row.id, "assess", reason=f"{year} {result} {note}"[:500],
          to_state=result)
    if result == "fail" and active_suspension(actor.tenant_id, org.id) is None:
        suspend(cfg, actor, org, str(_l("%(y)d年度考核不合格：%(n)s", y=year, n=note)),
                commit=False)
    db.session.commit()
    return row


def overview(tenant_id: int, year: int, day: date) -> list[dict]:
    """Every agency of the tenant with its filing, standing, suspension, the year's assessment
    and figures: a constant number of queries."""
    orgs = db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id, Org.kind.in_(AGENCY_KINDS)).order_by(Org.id)).all()
    ids = [o.id for o in orgs]
    filings = {f.org_id: f for f in db.session.scalars(sa.select(AgencyFiling).where(
        AgencyFiling.tenant_id == tenant_id))}
    suspensions = {s.org_id: s for s in db.session.scalars(sa.select(AgencySuspension).where(
        AgencySuspension.tenant_id == tenant_id, AgencySuspension.lifted_at.is_(None)))}
    assessments = {a.org_id: a for a in db.session.scalars(sa.select(AgencyAssessment).where(
        AgencyAssessment.tenant_id == tenant_id, AgencyAssessment.year == year))}
    stand = standing(tenant_id, ids, day)
    figs = figures(tenant_id, year, ids)
    return [{"org": o, "filing": filings.get(o.id), "standing": stand[o.id],
             "suspension": suspensions.get(o.id), "assessment": assessments.get(o.id),
             "figures": figs[o.id]} for o in orgs]


# -- what is waiting, for the home pages ---------------------------------------------------------

def waiting(user, today: date) -> list[dict]:
    """Work this part of the portal leaves for `user`: for the city HR bureau, agency filings to
    decide, yearly notices to acknowledge and committee or agency filings running out within the
    tenant's warning days; for an agency, its own committees and filing running out, and a
    returned filing to correct. A constant number of queries."""
    from ..tenancy import tenants
    from ..models import Tenant
    slug = db.session.scalar(sa.select(Tenant.slug).filter_by(id=user.tenant_id))
    cfg = tenants().get(slug)
    days = cfg.policies.agencies.expiry_warning_days if cfg else 60
    horizon = today + timedelta(days=days)
    out: list[dict] = []
    if user.role == Role.agency_clerk.value and user.org_id:
        c_n, c_due = db.session.execute(
            sa.select(sa.func.count(Committee.id), sa.func.min(Committee.valid_until)).where(
                Committee.tenant_id == user.tenant_id, Committee.agency_org_id == user.org_id,
                Committee.valid_until.is_not(None), Committee.valid_until >= today,
                Committee.valid_until <= horizon)).one()
        if c_n:
            out.append({"label": _l("评委会备案即将到期"), "count": c_n, "due": c_due,
                        "endpoint": "agency.committee_list", "args": {}})
        f = filing_of(user.tenant_id, user.org_id)
        if f is not None and f.status == FilingStatus.returned.value:
            out.append({"label": _l("机构备案申请被退回，待修改后重新提交"), "count": 1,
                        "due": None, "endpoint": "agencies.my_filing", "args": {}})
        elif f is not None and f.valid_until and today <= f.valid_until <= horizon \
                and f.status == FilingStatus.filed.value:
            out.append({"label": _l("机构备案即将到期"), "count": 1, "due": f.valid_until,
                        "endpoint": "agencies.my_filing", "args": {}})
        return out
    actor_like = Actor(user.tenant_id, user.id, user.name, user.role, user.org_id)
    if not is_city_hr(actor_like):
        return out
    pending = db.session.scalar(sa.select(sa.func.count(AgencyFiling.id)).where(
        AgencyFiling.tenant_id == user.tenant_id,
        AgencyFiling.status == FilingStatus.submitted.value))
    if pending:
        out.append({"label": _l("待备案的评审服务机构"), "count": pending, "due": None,
                    "endpoint": "agencies.filings", "args": {}})
    c_n, c_due = db.session.execute(
        sa.select(sa.func.count(Committee.id), sa.func.min(Committee.valid_until)).where(
            Committee.tenant_id == user.tenant_id, Committee.valid_until.is_not(None),
            Committee.valid_until >= today, Committee.valid_until <= horizon)).one()
    if c_n:
        out.append({"label": _l("评委会备案即将到期"), "count": c_n, "due": c_due,
                    "endpoint": "agencies.filings", "args": {}})
    a_n, a_due = db.session.execute(
        sa.select(sa.func.count(AgencyFiling.id), sa.func.min(AgencyFiling.valid_until)).where(
            AgencyFiling.tenant_id == user.tenant_id, AgencyFiling.valid_until.is_not(None),
            AgencyFiling.valid_until >= today, AgencyFiling.valid_until <= horizon)).one()
    if a_n:
        out.append({"label": _l("评审服务机构备案即将到期"), "count": a_n, "due": a_due,
                    "endpoint": "agencies.filings", "args": {}})
    notices = db.session.scalar(sa.select(sa.func.count(YearlyNotice.id)).where(
        YearlyNotice.tenant_id == user.tenant_id,
        YearlyNotice.status == NoticeStatus.submitted.value))
    if notices:
        out.append({"label": _l("待确认备案的年度评审工作通知"), "count": notices, "due": None,
                    "endpoint": "agencies.notices_page", "args": {}})
    return out


# -- committees of a filed agency (第十二条: name, qualification and specialty scope) -------------

def create_committee(cfg, actor: Actor, org: Org, *, name: str, name_en: str, series: str,
                     levels: list[str], specialties: list[str]) -> Committee:
    """The city HR bureau sets up a committee for a filed agency: its name, the series and
    levels it reviews and its specialty scope. The agency then files its scope of applicants,
    standard, procedure and roster (AE-COMM-1) before it can review."""
    _require_city_hr(actor)
    if org.tenant_id != actor.tenant_id or org.kind not in AGENCY_KINDS:
        raise Forbidden(_l("无权进行此操作。"))
    f = filing_of(actor.tenant_id, org.id)
    problems = []
    if f is None or f.filed_on is None:
        problems.append(_l("评审服务机构备案后才能设立评委会。"))
    name, name_en = (name or "").strip(), (name_en or "").strip()
    if not name or len(name) > 200:
        problems.append(_l("请填写评委会名称（不超过200字）。"))
    if len(name_en) > 200:
        problems.append(_l("英文名称不超过200字。"))
    s = cfg.series(series or "")
    levels = sorted(set(levels or []), key=lambda lv: cfg.level(lv).rank if cfg.level(lv) else 0)
    specialties = sorted(set(specialties or []))
    if s is None:
        problems.append(_l("请选择系列。"))
    else:
        if not levels or not set(levels) <= set(s.levels):
            problems.append(_l("请选择该系列的评审级别。"))
        if not set(specialties) <= {sp.code for sp in s.specialties}:
            problems.append(_l("所选专业不属于该系列。"))
    if problems:
        raise Invalid(_l("未设立："), problems=problems)
    taken = set(db.session.scalars(sa.select(Committee.code).filter_by(tenant_id=actor.tenant_id)))
    n = 1
    while f"{org.code}-{s.code}-{n}" in taken:
        n += 1
    c = Committee(tenant_id=actor.tenant_id, code=f"{org.code}-{s.code}-{n}"[:60], name=name,
                  name_en=name_en, agency_org_id=org.id, series=[s.code], levels=levels,
                  specialties=specialties, district_only=False, private_share=0.0, scope="",
                  standard=[], procedure="", roster=[], conditions="", materials="")
    db.session.add(c)
    db.session.flush()
    audit(actor, "committees", c.id, "create", reason=name[:200])
    db.session.commit()
    return c
