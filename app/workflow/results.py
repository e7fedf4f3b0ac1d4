"""Acceptance, public notice, objections and re-checks (BJ-ACC-1, BJ23-PUB-1, BJ23-OBJ-1,
CF-OBJ-1, CF-RESULT-1, CF-RESULT-2, AE-RECHECK-1)."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    Application, Committee, Org, ReviewSession, Role, SessionStatus, Status, utcnow,
)
from ..models.results import Acceptance, Objection, ObjectionStatus, Publication, Recheck
from ..models.review import SessionItem
from ..tenancy import label
from ..tenancy.schema import OrgKind, Tier
from .actors import Actor
from .bulk import Change, move_set
from .calendar import WorkCalendar, now_local
from .errors import Forbidden, Invalid
from .sessions import review_stage
from .transitions import Ctx, Rule, audit, register, transition

SENIOR_RANK = 4  # 副高级 and 正高级: published by the city HR bureau (BJ23-PUB-1)


def certifiable_ids(tenant_id: int, today: date) -> list[int]:
    """Files whose result passed, whose public notice has ended (ends_on < today), with no
    open objection: the certificate batch may issue them (BJ-CERT-1)."""
    return list(db.session.scalars(
        _awaiting_certificate(tenant_id, Application.id)
        .where(Publication.ends_on < today).order_by(Application.id)))


def notice_end_days(tenant_id: int) -> list[date]:
    """The last days of the public notices whose passed files still await their certificate,
    earliest first: the batch is due at 00:00 the day after each."""
    return list(db.session.scalars(
        _awaiting_certificate(tenant_id, Publication.ends_on).order_by(Publication.ends_on)))


def _awaiting_certificate(tenant_id: int, column):
    open_objection = sa.select(Objection.id).where(
        Objection.application_id == Application.id,
        Objection.status == ObjectionStatus.open.value).exists()
    return (sa.select(column).distinct().select_from(Application)
            .join(SessionItem, SessionItem.application_id == Application.id)
            .join(Publication, Publication.session_id == SessionItem.session_id)
            .where(Application.tenant_id == tenant_id, Application.status == Status.passed.value,
                   Publication.status == Acceptance.accepted.value,
                   Publication.ends_on.is_not(None), ~open_objection))


def city_hr(tenant_id: int) -> Org | None:
    return db.session.scalar(sa.select(Org).filter_by(
        tenant_id=tenant_id, kind=OrgKind.hr_bureau.value, tier=Tier.city.value).order_by(Org.id))


def _publisher(cfg, session: ReviewSession) -> Org:
    senior = cfg.level(session.level).rank >= SENIOR_RANK
    return (city_hr(session.tenant_id) if senior else None) or session.committee.agency


# -- acceptance ------------------------------------------------------------------------------

def request_acceptance(cfg, actor: Actor, session: ReviewSession, report: str) -> Publication:
    """The agency reports a closed session's results and asks for acceptance (验收). Where the
    tenant lets the committee office file results of this level itself, they are filed at once."""
    if actor.role != Role.agency_clerk.value or actor.org_id != session.committee.agency_org_id:
        raise Forbidden(_l("无权进行此操作。"))
    if session.status != SessionStatus.closed.value:
        raise Invalid(_l("评审会表决结束后方可报送结果。"))
    days = cfg.policies.result_report_days
    today = now_local().date()
    if days and today > session.held_on + timedelta(days=days):
        raise Invalid(_l("评审结束后%(n)d日内须报送结果，已逾期，请联系人社部门。", n=days))
    pub = db.session.scalar(sa.select(Publication).filter_by(session_id=session.id))
    if pub is None:
        pub = Publication(tenant_id=session.tenant_id, session_id=session.id,
                          publisher_org_id=_publisher(cfg, session).id)
        db.session.add(pub)
        db.session.commit()
    transition(cfg, pub, "request", actor, report=report)
    if cfg.level(session.level).rank <= cfg.policies.self_filed_max_rank:
        transition(cfg, pub, "file", actor)
    return pub


def _is_reporting_agency(actor: Actor, pub: Publication) -> bool:
    return (actor.role == Role.agency_clerk.value
            and actor.org_id == pub.session.committee.agency_org_id)


def _is_city_hr(actor: Actor, pub: Publication) -> bool:
    hr = city_hr(pub.tenant_id)
    return actor.role in (Role.hr_officer.value, Role.tenant_admin.value) and hr is not None \
        and actor.org_id == hr.id


def _request(pub: Publication, ctx: Ctx) -> dict:
    report = (ctx.params.get("report") or "").strip()
    if not report:
        raise Invalid(_l("请填写评审情况报告（评审情况、公示安排、评委会承诺）。"))
    return {"status": Acceptance.requested.value, "report": report[:4000], "decision_note": ""}


def _open_notice(pub: Publication, ctx: Ctx) -> dict:
    start = ctx.now.date()
    end = WorkCalendar(ctx.cfg).nth_workday_after(start, ctx.cfg.policies.public_notice_working_days)
    return {"status": Acceptance.accepted.value, "starts_on": start, "ends_on": end,
            "decided_by": ctx.actor.user_id,
            "decision_note": (ctx.params.get("opinion") or "").strip()[:2000]}


def _send_back(pub: Publication, ctx: Ctx) -> dict:
    note = (ctx.params.get("opinion") or "").strip()
    if not note:
        raise Invalid(_l("请写明退回理由。"))
    return {"status": Acceptance.sent_back.value, "decision_note": note[:2000],
            "decided_by": ctx.actor.user_id}


_requestable = (Acceptance.none.value, Acceptance.sent_back.value)
register(Publication, {
    "request": Rule(_requestable, _is_reporting_agency, review_stage, _request),
    # CF-RESULT-2: results the committee office files itself open their notice on filing.
    "file": Rule((Acceptance.requested.value,), _is_reporting_agency, review_stage, _open_notice),
    "accept": Rule((Acceptance.requested.value,), _is_city_hr, lambda p: None, _open_notice),
    "send_back": Rule((Acceptance.requested.value,), _is_city_hr, lambda p: None, _send_back),
}, labels={"none": _l("未报送"), "requested": _l("待验收"), "accepted": _l("已验收"),
           "sent_back": _l("已退回")})


def pending_acceptance(tenant_id: int) -> list[Publication]:
    return db.session.scalars(sa.select(Publication).filter_by(
        tenant_id=tenant_id, status=Acceptance.requested.value).order_by(Publication.id)).all()


# -- public notice -----------------------------------------------------------------------------

def notices(tenant_id: int, publisher_id: int | None, today: date) -> list[Publication]:
    """Accepted publications whose notice is running (or ended within 30 days), newest first."""
    q = sa.select(Publication).where(
        Publication.tenant_id == tenant_id, Publication.status == Acceptance.accepted.value,
        Publication.ends_on >= today - timedelta(days=30))
    if publisher_id:
        q = q.where(Publication.publisher_org_id == publisher_id)
    return db.session.scalars(q.order_by(Publication.starts_on.desc(), Publication.id)).all()


def notice_rows(pub: Publication) -> list[dict]:
    """What the notice needs of each passed file: name, employer, series, specialty, level —
    never an ID number, a phone number or a birth date."""
    out = []
    for it in pub.session.items:
        if it.result != "passed":
            continue
        a = it.application
        out.append({"application_id": a.id, "code": it.code, "name": a.applicant.name,
                    "employer": label(a.employer or a.association),
                    "series": a.series, "specialty": a.specialty, "level": a.level})
    return out


def in_notice(pub: Publication, today: date) -> bool:
    return pub.starts_on is not None and pub.starts_on <= today <= pub.ends_on


# -- objections ----------------------------------------------------------------------------------

OBJECTION_KINDS = {"review": _l("评审程序、评审工作"), "material": _l("申报材料真实性")}


# Characters per field: the columns' lengths (complainant, contact, target), a bound for the rest.
OBJECTION_LIMITS = {"complainant": 60, "contact": 60, "target": 200, "facts": 4000,
                    "evidence": 4000, "lead": 4000}
OBJECTION_LABELS = {"complainant": _l("姓名"), "contact": _l("联系方式"),
                    "target": _l("举报对象"), "facts": _l("违规事实"),
                    "evidence": _l("客观证据材料"), "lead": _l("可查证的线索")}


def lodge_objection(cfg, tenant_id: int, pub: Publication, application_id: int, form: dict,
                    ip: str = "") -> Objection:
    """Anyone may lodge an objection while the notice runs. One lacking evidence, a verifiable
    lead, a named target or the facts is refused with that reason (BJ23-OBJ-1); an accepted one
    goes to the committee office (review) or to the employer or county HR (material, CF-OBJ-1)
    and holds the applicant's certificate until resolved."""
    today = now_local().date()
    if pub.tenant_id != tenant_id or not in_notice(pub, today):
        raise Invalid(_l("不在公示期内，不受理异议。"))
    item = next((i for i in pub.session.items if i.application_id == application_id
                 and i.result == "passed"), None)
    if item is None:
        raise Invalid(_l("该人员不在本次公示名单中。"))
    kind = form.get("kind")
    if kind not in OBJECTION_KINDS:
        raise Invalid(_l("请选择异议类别。"))
    text = {k: (form.get(k) or "").strip() for k in OBJECTION_LIMITS}
    too_long = [_l("%(f)s过长（最多%(n)d字）", f=OBJECTION_LABELS[k], n=most)
                for k, most in OBJECTION_LIMITS.items() if len(text[k]) > most]
    if too_long:  # refused, not cut: a cut name or lead could point at someone else
        raise Invalid(too_long[0], problems=too_long[1:])
    missing = [label for key, label in (
        ("evidence", _l("客观证据材料")), ("lead", _l("可查证的线索")),
        ("target", _l("具体的举报对象")), ("facts", _l("违规事实"))) if not text[key]]
    app = item.application
    obj = Objection(tenant_id=tenant_id, application_id=app.id, kind=kind, **text)
    if missing:
        obj.status = ObjectionStatus.refused.value
        obj.refusal_reason = str(_l("不予受理：缺少%(m)s。", m="、".join(map(str, missing))))
    else:
        obj.status = ObjectionStatus.open.value
        obj.routed_org_id = _route_objection(cfg, app, kind).id
    db.session.add(obj)
    db.session.flush()
    audit(Actor(tenant_id, None, text["complainant"] or "anonymous", "public", None, ip),
          "objections", obj.id, "lodge", to_state=obj.status)
    db.session.commit()
    return obj


def _route_objection(cfg, app: Application, kind: str) -> Org:
    if kind == "review":
        return app.committee.agency
    # Material truth: the employer answers for what it recommended (CF-OBJ-1); a freelancer's
    # recommending association likewise (BJ-UNIT-1).
    return app.employer or app.association or app.committee.agency


def _is_routed_office(actor: Actor, obj: Objection) -> bool:
    return actor.org_id is not None and actor.org_id == obj.routed_org_id and actor.role in (
        Role.agency_clerk.value, Role.employer_clerk.value, Role.hr_officer.value,
        Role.department_clerk.value)


def _resolve(outcome: ObjectionStatus):
    def apply(obj: Objection, ctx: Ctx) -> dict:
        note = (ctx.params.get("opinion") or "").strip()
        if not note:
            raise Invalid(_l("请写明核查结论。"))
        if outcome == ObjectionStatus.upheld:
            # The result stands annulled; the file's certificate is never issued.
            ctx.after.append(lambda: move_set(
                ctx.actor, [Application.id == obj.application_id],
                Change(Status.passed.value, Status.annulled.value, "annul",
                       f"objection {obj.id}: {note[:2000]}"), at=ctx.now))
        return {"status": outcome.value, "resolution": note[:4000],
                "resolved_by": ctx.actor.user_id, "resolved_at": utcnow()}
    return apply


register(Objection, {
    "uphold": Rule((ObjectionStatus.open.value,), _is_routed_office, lambda o: None,
                   _resolve(ObjectionStatus.upheld)),
    "reject": Rule((ObjectionStatus.open.value,), _is_routed_office, lambda o: None,
                   _resolve(ObjectionStatus.rejected)),
}, labels={"refused": _l("不予受理"), "open": _l("核查中"), "upheld": _l("异议成立"),
           "rejected": _l("异议不成立")})


def objections_for(actor: Actor) -> list[Objection]:
    return db.session.scalars(sa.select(Objection).filter_by(
        tenant_id=actor.tenant_id, routed_org_id=actor.org_id).order_by(Objection.id.desc())).all()


# -- re-check (AE-RECHECK-1) ---------------------------------------------------------------------

def request_recheck(actor: Actor, app: Application, reason: str) -> Recheck:
    if actor.user_id != app.applicant_id:
        raise Forbidden(_l("无权进行此操作。"))
    if session_item(app) is None or session_item(app).session.tally is None:
        raise Invalid(_l("评审结果产生后方可申请复查。"))
    if not reason.strip():
        raise Invalid(_l("请写明申请复查的理由。"))
    r = Recheck(tenant_id=app.tenant_id, application_id=app.id, reason=reason.strip()[:4000])
    db.session.add(r)
    db.session.flush()
    audit(actor, "rechecks", r.id, "request")
    db.session.commit()
    return r


def session_item(app: Application) -> SessionItem | None:
    return db.session.scalar(sa.select(SessionItem).filter_by(application_id=app.id)
                             .order_by(SessionItem.id.desc()))


def session_items_of(app_ids: list[int]) -> dict[int, SessionItem]:
    """Each file's latest session item, in one query."""
    rows = db.session.scalars(sa.select(SessionItem).where(SessionItem.application_id.in_(app_ids))
                              .order_by(SessionItem.id)).all()
    return {it.application_id: it for it in rows}  # later items overwrite earlier ones


def answer_recheck(actor: Actor, r: Recheck) -> Recheck:
    """The agency answers from the sealed tally: procedure (attendance, quorum) and the vote
    count recounted from the stored ballots."""
    from .sessions import recount
    item = session_item(r.application)
    session = item.session
    if actor.role != Role.agency_clerk.value or actor.org_id != session.committee.agency_org_id:
        raise Forbidden(_l("无权进行此操作。"))
    again, matches = recount(session)
    sealed = session.tally["items"][item.code]
    members = sum(1 for m in session.members if m.status == "active")
    r.tally_matches = matches
    r.answer = str(_l(
        "评审委员会应到%(m)d人，实到%(a)d人，超过半数，程序合规。同意%(y)d票，不同意%(n)d票，"
        "弃权%(x)d票，需同意票不少于出席委员的三分之二。按存储的选票重新计票：%(res)s。",
        m=members, a=session.tally["attending"], y=sealed["yes"], n=sealed["no"],
        x=sealed["abstain"], res=_l("与封存结果一致，无漏计、错计") if matches
        else _l("与封存结果不一致，已转人社部门核查")))
    r.answered_by, r.answered_at = actor.user_id, utcnow()
    audit(actor, "rechecks", r.id, "answer", reason="match" if matches else "mismatch")
    db.session.commit()
    return r


def rechecks_for_agency(actor: Actor) -> list[Recheck]:
    mine = sa.select(Committee.id).where(Committee.agency_org_id == actor.org_id)
    return db.session.scalars(
        sa.select(Recheck).join(SessionItem, SessionItem.application_id == Recheck.application_id)
        .join(ReviewSession, ReviewSession.id == SessionItem.session_id)
        .where(Recheck.tenant_id == actor.tenant_id, ReviewSession.committee_id.in_(mine))
        .order_by(Recheck.id.desc())).all()
