"""Academic review entrusted by a self-review university or party school (2026 notice 三(三),
2023 notice 三(二); BJ-SELF-1, BJ23-SELF-1).

A self-review unit approved as a public institution that is a university or a party school, and
that lacks the capacity for academic review (学术评议), files an entrustment for a year's series
and levels with one of the bodies the tenant names (policies.toml [self_review]
academic_review_bodies: the education commission, the municipal party school). The body accepts
it; its clerk then sees only the unit's files of that year in those series and levels and
records one academic review opinion per file through the transition service. The unit's session
does not open its ballot on an entrusted file without that opinion."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Application, Org, Plan, Role, Status
from ..models.self_review import SelfReviewApplication
from ..models.unit_runs import AcademicEntrustment, AcademicOpinion
from ..tenancy import label
from ..tenancy.schema import OrgKind
from .actors import Actor
from .errors import Forbidden, Invalid
from .transitions import ACTION_LABELS, Ctx, Rule, _record, audit, register

FILED, ACCEPTED, DECLINED = "filed", "accepted", "declined"
STATUS_LABELS = {FILED: _l("待受托单位接受"), ACCEPTED: _l("已接受委托"),
                 DECLINED: _l("不予接受")}
UNIVERSITY, PARTY_SCHOOL = "university", "party_school"
INSTITUTION_KINDS = {UNIVERSITY: _l("高等学校"), PARTY_SCHOOL: _l("党校")}
# The clerk of an entrusted body (both are kept as city-level departments).
ENTRUSTED_ROLES = (Role.department_clerk.value,)
UNIT_ROLES = (Role.employer_clerk.value, Role.agency_clerk.value)
# Files an entrusted body reviews: held by the unit as committee office, before the vote.
REVIEWABLE = (Status.recommended.value, Status.checked.value, Status.paid.value,
              Status.in_review.value)
SHOWN = REVIEWABLE + (Status.passed.value, Status.failed.value, Status.certified.value,
                      Status.annulled.value)
MAX_TEXT = 2000
ACTION_LABELS["academic_opinion"] = _l("学术评议")


# -- who may entrust, and to whom ------------------------------------------------------------------

def bodies(cfg, tenant_id: int) -> list[Org]:
    codes = cfg.policies.self_review.academic_review_bodies
    if not codes:
        return []
    return db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id, Org.code.in_(codes), Org.closed_on.is_(None))
        .order_by(Org.id)).all()


def unit_of(actor: Actor) -> Org | None:
    """The self-review unit an actor works for, or None."""
    if actor.role not in UNIT_ROLES or not actor.org_id:
        return None
    org = db.session.get(Org, actor.org_id)
    if org is None or org.tenant_id != actor.tenant_id or \
            org.kind != OrgKind.self_review_unit.value:
        return None
    return org


def approval(tenant_id: int, org_id: int) -> SelfReviewApplication | None:
    from .self_review import APPROVED
    return db.session.scalar(sa.select(SelfReviewApplication).where(
        SelfReviewApplication.tenant_id == tenant_id, SelfReviewApplication.org_id == org_id,
        SelfReviewApplication.status == APPROVED)
        .order_by(SelfReviewApplication.decided_on.desc(), SelfReviewApplication.id.desc())
        .limit(1))


def may_entrust(cfg, actor: Actor):
    """(unit, approval, None) or (unit or None, approval or None, the reason it may not)."""
    from .self_review import INSTITUTION
    unit = unit_of(actor)
    if unit is None:
        return None, None, _l("只有自主评审单位可以委托学术评议。")
    if not cfg.policies.self_review.academic_review_bodies:
        return unit, None, _l("本地区未规定可受托开展学术评议的单位。")
    found = approval(actor.tenant_id, unit.id)
    if found is None:
        return unit, None, _l("本单位尚未经市人力资源社会保障局确定为自主评审单位。")
    if found.unit_type != INSTITUTION or found.institution_kind not in INSTITUTION_KINDS:
        return unit, found, _l("只有实行自主评聘的高等学校（党校）可以委托学术评议。")
    # 2023 notice 三(二): "在完成本单位自主评聘工作方案的基础上" — the unit's own plan and
    # standards come first, approved by the city HR bureau (seed 002 第九条(二)).
    from .self_review_run import setup_of
    setup = setup_of(actor.tenant_id, unit.id)
    if setup is None or setup.status != "approved":
        return unit, found, _l("本单位的评审工作方案、评价标准经市人力资源社会保障局审定后，"
                               "方可委托学术评议。")
    return unit, found, None


def _key(pair) -> str:
    return f"{pair['series']}:{pair['level']}"


def file(cfg, actor: Actor, *, entrusted_org_id, year, scope: list[str],
         note: str = "") -> AcademicEntrustment:
    """The unit files an entrustment; every problem at once, nothing saved on any."""
    unit, found, why = may_entrust(cfg, actor)
    if why is not None:
        raise Forbidden(why) if unit is None else Invalid(why)
    problems = []
    try:
        body_id = int(entrusted_org_id or 0)
    except (TypeError, ValueError):
        body_id = 0
    if body_id not in {b.id for b in bodies(cfg, actor.tenant_id)}:
        problems.append(_l("请选择受托开展学术评议的单位。"))
    try:
        year = int(year)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        problems.append(_l("请填写评审年度（四位年份）。"))
    approved = {_key(p): p for p in found.approved_scope}
    keys = [k for k in dict.fromkeys(scope or []) if k]
    if not keys:
        problems.append(_l("请选择委托学术评议的系列和级别。"))
    elif any(k not in approved for k in keys):
        problems.append(_l("委托的系列和级别须在本单位批准自主评审的范围内。"))
    if not problems and db.session.scalar(sa.select(AcademicEntrustment.id).where(
            AcademicEntrustment.tenant_id == actor.tenant_id,
            AcademicEntrustment.unit_org_id == unit.id, AcademicEntrustment.year == year,
            AcademicEntrustment.status != DECLINED).limit(1)):
        problems.append(_l("本单位该年度已有学术评议委托。"))
    if problems:
        raise Invalid(_l("委托未提交："), problems=problems)
    row = AcademicEntrustment(
        tenant_id=actor.tenant_id, unit_org_id=unit.id, entrusted_org_id=body_id, year=year,
        scope=[{"series": approved[k]["series"], "level": approved[k]["level"]} for k in keys],
        status=FILED, version=1, note=(note or "").strip()[:MAX_TEXT], decision_note="",
        filed_by=actor.user_id)
    db.session.add(row)
    db.session.flush()
    audit(actor, AcademicEntrustment.__tablename__, row.id, "file", to_state=FILED)
    db.session.commit()
    return row


# -- the entrusted body accepts or declines, through the transition service ----------------------

def _is_entrusted(actor: Actor, e: AcademicEntrustment) -> bool:
    return actor.role in ENTRUSTED_ROLES and actor.org_id == e.entrusted_org_id


def _accept(e, ctx: Ctx) -> dict:
    return {"status": ACCEPTED, "decided_on": ctx.now.date(),
            "decision_note": (ctx.params.get("opinion") or "").strip()[:MAX_TEXT]}


def _decline(e, ctx: Ctx) -> dict:
    note = (ctx.params.get("opinion") or "").strip()
    if not note:
        raise Invalid(_l("请填写不予接受委托的理由。"))
    return {"status": DECLINED, "decided_on": ctx.now.date(), "decision_note": note[:MAX_TEXT]}


register(AcademicEntrustment, {
    "accept": Rule((FILED,), _is_entrusted, lambda e: None, _accept),
    "decline": Rule((FILED,), _is_entrusted, lambda e: None, _decline),
}, labels=STATUS_LABELS)
ACTIONS = ("accept", "decline")


def visible(actor: Actor) -> list[AcademicEntrustment]:
    """The unit's own entrustments, or those filed with the actor's body."""
    q = sa.select(AcademicEntrustment).where(AcademicEntrustment.tenant_id == actor.tenant_id)
    if actor.role in UNIT_ROLES:
        q = q.where(AcademicEntrustment.unit_org_id == actor.org_id)
    elif actor.role in ENTRUSTED_ROLES:
        q = q.where(AcademicEntrustment.entrusted_org_id == actor.org_id)
    else:
        return []
    return db.session.scalars(q.options(joinedload(AcademicEntrustment.unit),
                                        joinedload(AcademicEntrustment.entrusted))
                              .order_by(AcademicEntrustment.id.desc()).limit(200)).all()


def entrustment_for(actor: Actor, en_id: int) -> AcademicEntrustment | None:
    e = db.session.get(AcademicEntrustment, en_id)
    if e is None or e.tenant_id != actor.tenant_id:
        return None
    if e.unit_org_id == actor.org_id and actor.role in UNIT_ROLES:
        return e
    return e if _is_entrusted(actor, e) else None


# -- the files an entrusted body sees --------------------------------------------------------------

def _covering(e: AcademicEntrustment):
    """Files of the unit's committees in the entrustment's year, series and levels."""
    from ..models import Committee
    pairs = [sa.and_(Application.series == p["series"], Application.level == p["level"])
             for p in e.scope] or [sa.false()]
    return [Application.tenant_id == e.tenant_id,
            Application.committee_id.in_(sa.select(Committee.id).where(
                Committee.tenant_id == e.tenant_id, Committee.agency_org_id == e.unit_org_id)),
            Application.plan_id.in_(sa.select(Plan.id).where(Plan.tenant_id == e.tenant_id,
                                                              Plan.year == e.year)),
            sa.or_(*pairs), Application.status.in_(SHOWN)]


def files_of(e: AcademicEntrustment) -> list[Application]:
    return db.session.scalars(sa.select(Application).where(*_covering(e))
                              .options(joinedload(Application.applicant))
                              .order_by(Application.id)).all()


def opinions_of(app_ids) -> dict[int, AcademicOpinion]:
    ids = list(app_ids)
    if not ids:
        return {}
    return {o.application_id: o for o in db.session.scalars(
        sa.select(AcademicOpinion).where(AcademicOpinion.application_id.in_(ids)))}


def entrustment_of_file(actor: Actor, app: Application) -> AcademicEntrustment | None:
    """The accepted entrustment through which the actor's body sees this file, or None."""
    if actor.role not in ENTRUSTED_ROLES or app.tenant_id != actor.tenant_id:
        return None
    accepted = db.session.scalars(sa.select(AcademicEntrustment).where(
        AcademicEntrustment.tenant_id == actor.tenant_id,
        AcademicEntrustment.entrusted_org_id == actor.org_id,
        AcademicEntrustment.status == ACCEPTED)).all()
    for e in accepted:
        if db.session.scalar(sa.select(Application.id).where(
                Application.id == app.id, *_covering(e))) is not None:
            return e
    return None


def entrusted_file(actor: Actor, app_id: int):
    """(file, entrustment) for the entrusted body's clerk, or None (the page answers 404)."""
    app = db.session.get(Application, app_id)
    if app is None:
        return None
    e = entrustment_of_file(actor, app)
    return (app, e) if e is not None else None


# -- the opinion, through the transition service ---------------------------------------------------

def _may_give_opinion(actor: Actor, app: Application) -> bool:
    return entrustment_of_file(actor, app) is not None


def _opinion(app: Application, ctx: Ctx) -> dict:
    verdict = ctx.params.get("verdict")
    if verdict not in ("pass", "fail"):
        raise Invalid(_l("请选择学术评议结论（通过或不通过）。"))
    comments = (ctx.params.get("opinion") or "").strip()
    if not comments:
        raise Invalid(_l("请填写学术评议意见。"))
    if db.session.scalar(sa.select(AcademicOpinion.id).filter_by(application_id=app.id)):
        raise Invalid(_l("该申报的学术评议意见已记录，不能重复记录。"))
    e = entrustment_of_file(ctx.actor, app)
    row = {"tenant_id": app.tenant_id, "entrustment_id": e.id, "application_id": app.id,
           "passed": verdict == "pass", "comments": comments[:MAX_TEXT],
           "reviewer_id": ctx.actor.user_id, "reviewer_name": ctx.actor.name or "",
           "at": ctx.now}
    ctx.after.append(sa.insert(AcademicOpinion).values(**row))
    outcome = _l("学术评议通过") if verdict == "pass" else _l("学术评议未通过")
    ctx.step = {"action": "academic_opinion",
                "opinion": _record(_l("受托学术评议（%(body)s）：%(v)s。%(c)s",
                                      body=label(e.entrusted), v=outcome, c=comments[:MAX_TEXT]))}
    return {}


register(Application, {
    "academic_opinion": Rule(REVIEWABLE, _may_give_opinion, lambda a: None, _opinion),
})


# -- the unit's ballot waits for the opinions --------------------------------------------------

def vote_blockers(session) -> list:
    """Files of a unit's session entrusted for academic review whose opinion is not recorded."""
    unit = session.committee.agency
    if unit is None or unit.kind != OrgKind.self_review_unit.value:
        return []
    year = session.plan.year
    live = db.session.scalars(sa.select(AcademicEntrustment).where(
        AcademicEntrustment.tenant_id == session.tenant_id,
        AcademicEntrustment.unit_org_id == unit.id, AcademicEntrustment.year == year,
        AcademicEntrustment.status.in_((FILED, ACCEPTED)))).all()
    if not any(p["series"] == session.series and p["level"] == session.level
               for e in live for p in e.scope):
        return []
    have = opinions_of(i.application_id for i in session.items)
    return [_l("%(code)s：受托单位的学术评议意见尚未记录", code=i.code)
            for i in session.items if i.application_id not in have]


def waiting(user, today) -> list[dict]:
    """For an entrusted body's clerk: entrustments awaiting its answer (one query)."""
    if user is None or getattr(user, "role", None) not in ENTRUSTED_ROLES or not user.org_id:
        return []
    n = db.session.scalar(sa.select(sa.func.count(AcademicEntrustment.id)).where(
        AcademicEntrustment.tenant_id == user.tenant_id,
        AcademicEntrustment.entrusted_org_id == user.org_id,
        AcademicEntrustment.status == FILED)) or 0
    return [{"label": _l("待接受的学术评议委托"), "count": n,
             "endpoint": "selfreview.entrustments", "args": {}}] if n else []


def may_see_page(actor: Actor) -> bool:
    return actor.role in ENTRUSTED_ROLES or unit_of(actor) is not None

