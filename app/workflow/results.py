"""Acceptance, public notice, objections and re-checks (BJ-ACC-1, BJ23-PUB-1, BJ23-OBJ-1,
CF-OBJ-1, CF-RESULT-1, CF-RESULT-2, CF-WIN-3, AE-RECHECK-1).

Two orders, chosen by the tenant (policies.result_order):
* accept_then_notice (Beijing): the agency reports, the city HR bureau accepts, the notice opens.
* notice_then_confirm (Chifeng): the committee office opens the notice, which must end by the
  close of the review window; after it, within the tenant's days of the review, the office
  reports those passed without objection with the required documents; senior results are
  confirmed by the city HR bureau, lower ones filed by the office itself."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import (
    Application, Committee, Org, ReviewSession, Role, SessionStatus, Status, utcnow,
)
from ..models.results import (
    Acceptance, Objection, ObjectionStatus, Publication, PublicationFile, Recheck,
)
from ..models.review import SessionItem
from ..tenancy import label
from ..tenancy.schema import OrgKind, ResultDocument, Tier
from .. import uploads
from .actors import Actor
from .bulk import Change, move_set
from .calendar import WorkCalendar, now_local
from .errors import Forbidden, Invalid
from .sessions import review_stage
from .transitions import Ctx, Rule, audit, register, transition


def certifiable_ids(tenant_id: int, today: date) -> list[int]:
    """Files whose result passed, whose public notice has ended (ends_on < today), with no
    open objection: the certificate batch may issue them (BJ-CERT-1)."""
    return list(db.session.scalars(
        _awaiting_certificate(tenant_id, Application.id)
        .where(_certificate_day < today).order_by(Application.id)))


# The notice's last day, or the day of confirmation where that came later (CF-RESULT-1: the
# notice runs first, the results are confirmed after it).
_certificate_day = sa.case(
    (Publication.confirmed_on > Publication.ends_on, Publication.confirmed_on),
    else_=Publication.ends_on)


def notice_end_days(tenant_id: int) -> list[date]:
    """The last days of the public notices (or the days of confirmation, where later) whose
    passed files still await their certificate, earliest first: the batch is due at 00:00 the
    day after each."""
    day = _certificate_day.label("day")
    return list(db.session.scalars(
        _awaiting_certificate(tenant_id, day).order_by(day)))


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


def notice_first(cfg) -> bool:
    return cfg.policies.result_order == "notice_then_confirm"


def _publisher(cfg, session: ReviewSession) -> Org:
    if notice_first(cfg):  # the committee office publicises its own results (CF-WIN-3)
        return session.committee.agency
    # A self-review unit publicises its own results once the city HR bureau accepted them
    # (seed 002 第九条(七), SR-RUN-2).
    if session.committee.agency is not None and \
            session.committee.agency.kind == OrgKind.self_review_unit.value:
        return session.committee.agency
    # 副高级 and 正高级 are published by the city HR bureau: the tenant's rank (BJ23-PUB-1).
    senior = cfg.level(session.level).rank >= cfg.policies.city_publishes_min_rank
    return (city_hr(session.tenant_id) if senior else None) or session.committee.agency


def self_filed(cfg, session: ReviewSession) -> bool:
    """CF-RESULT-2: results the committee office files itself (备案) rather than reports for the
    city HR bureau's acceptance or confirmation."""
    return cfg.level(session.level).rank <= cfg.policies.self_filed_max_rank


def report_due(cfg, session: ReviewSession) -> date | None:
    """The last day results are reported on time: the tenant's days after the review."""
    days = cfg.policies.result_report_days
    return session.held_on + timedelta(days=days) if days else None


def days_late(cfg, pub: Publication) -> int:
    """Days past the due day the results were reported (or, unreported, are now): 0 if on time.
    A late report is taken and shown as late: the seed sets the month without barring a late
    report, unlike the tiers' reports (三(三) 不再补报)."""
    due = report_due(cfg, pub.session)
    if due is None or (pub.reported_on is None and pub.status != Acceptance.noticed.value):
        return 0
    return max(0, ((pub.reported_on or now_local().date()) - due).days)


def _publication(cfg, session: ReviewSession) -> Publication:
    pub = db.session.scalar(sa.select(Publication).filter_by(session_id=session.id))
    if pub is None:
        pub = Publication(tenant_id=session.tenant_id, session_id=session.id,
                          publisher_org_id=_publisher(cfg, session).id)
        db.session.add(pub)
        db.session.commit()
    return pub


# -- acceptance ------------------------------------------------------------------------------

def _check_reporting(actor: Actor, session: ReviewSession) -> None:
    if actor.role != Role.agency_clerk.value or actor.org_id != session.committee.agency_org_id:
        raise Forbidden(_l("无权进行此操作。"))
    if session.status != SessionStatus.closed.value:
        raise Invalid(_l("评审会表决结束后方可报送结果。"))


def request_acceptance(cfg, actor: Actor, session: ReviewSession, report: str) -> Publication:
    """The agency reports a closed session's results: for acceptance (验收) before the notice,
    or, where the notice comes first, for confirmation after it (report_results). Where the
    tenant lets the committee office file results of this level itself, they are filed at once."""
    if notice_first(cfg):
        return report_results(cfg, actor, session, report)
    _check_reporting(actor, session)
    pub = _publication(cfg, session)
    transition(cfg, pub, "request", actor, report=report)
    if self_filed(cfg, session):
        transition(cfg, pub, "file", actor)
    return pub


def publicise(cfg, actor: Actor, session: ReviewSession) -> Publication:
    """CF-WIN-3: the committee office opens the public notice of a closed session's results;
    refused when the notice would end after the close of the review window."""
    if not notice_first(cfg):
        raise Invalid(_l("本地区评审结果须先报送验收，验收通过后公示。"))
    _check_reporting(actor, session)
    pub = _publication(cfg, session)
    transition(cfg, pub, "publicise", actor)
    return pub


def report_results(cfg, actor: Actor, session: ReviewSession, report: str) -> Publication:
    """CF-RESULT-1, CF-RESULT-2: after the notice, the office reports the results with every
    required document; senior results await the city HR bureau's confirmation, the others are
    filed at once. A report after the tenant's days is taken and marked late."""
    _check_reporting(actor, session)
    pub = db.session.scalar(sa.select(Publication).filter_by(session_id=session.id))
    if pub is None or pub.ends_on is None:
        raise Invalid(_l("评审结果须先公示，公示期满后方可报送。"))
    transition(cfg, pub, "report", actor, report=report)
    if self_filed(cfg, session):
        transition(cfg, pub, "file", actor)
    return pub


def _is_reporting_agency(actor: Actor, pub: Publication) -> bool:
    return (actor.role == Role.agency_clerk.value
            and actor.org_id == pub.session.committee.agency_org_id)


def _is_city_hr(actor: Actor, pub: Publication) -> bool:
    from .abilities import at_city_hr
    return at_city_hr(actor.role, actor.org_id, pub.tenant_id)


def _request(pub: Publication, ctx: Ctx) -> dict:
    if notice_first(ctx.cfg):
        raise Invalid(_l("本地区评审结果须先公示，公示期满后报送。"))
    report = (ctx.params.get("report") or "").strip()
    if not report:
        raise Invalid(_l("请填写评审情况报告（评审情况、公示安排、评委会承诺）。"))
    return {"status": Acceptance.requested.value, "report": report[:4000], "decision_note": "",
            "reported_on": ctx.now.date()}


def last_notice_start(cfg, close: date, days: int) -> date:
    """The last day a notice of `days` working days can open and still end by `close`."""
    cal, start = WorkCalendar(cfg), close - timedelta(days=1)
    while cal.nth_workday_after(start, days) > close:
        start -= timedelta(days=1)
    return start


def _publicise(pub: Publication, ctx: Ctx) -> dict:
    """CF-WIN-3: committees review and publicise by the close of the review window: the notice
    must end by then."""
    days = ctx.cfg.policies.public_notice_working_days
    start = ctx.now.date()
    end = WorkCalendar(ctx.cfg).nth_workday_after(start, days)
    review = pub.plan.window("review")
    if review is not None and end > review.closes_on:
        raise Invalid(_l(
            "公示期至%(end)s 24:00止，晚于评审和公示截止日%(close)s，不能公示。"
            "%(n)d个工作日的公示最迟须于%(last)s开始。",
            end=format_date(end, "long"), close=format_date(review.closes_on, "long"), n=days,
            last=format_date(last_notice_start(ctx.cfg, review.closes_on, days), "long")))
    return {"status": Acceptance.noticed.value, "starts_on": start, "ends_on": end,
            "decision_note": ""}


def open_objections(pub: Publication) -> int:
    return db.session.scalar(sa.select(sa.func.count(Objection.id)).where(
        Objection.application_id.in_(
            sa.select(SessionItem.application_id).filter_by(session_id=pub.session_id)),
        Objection.status == ObjectionStatus.open.value))


def missing_documents(cfg, pub: Publication) -> list[str]:
    """The tenant's required result documents (in its order) not yet uploaded."""
    have = {f.kind for f in pub.files}
    return [d.value for d in cfg.policies.result_documents if d.value not in have]


def _report(pub: Publication, ctx: Ctx) -> dict:
    """CF-RESULT-1: the notice has ended, every objection lodged during it is answered, every
    required document is there, and the office states how the notice went."""
    today = ctx.now.date()
    problems = []
    if pub.ends_on is None or today <= pub.ends_on:
        problems.append(_l("公示期至%(d)s止，公示期满后方可报送。",
                           d=format_date(pub.ends_on, "long") if pub.ends_on else "—"))
    if open_objections(pub):
        problems.append(_l("公示期间受理的异议尚有%(n)d件未办结，须核查处理后一并报送处理结果。",
                           n=open_objections(pub)))
    problems += [_l("缺少%(doc)s。", doc=DOCUMENT_LABELS[d])
                 for d in missing_documents(ctx.cfg, pub)]
    report = (ctx.params.get("report") or "").strip()
    if not report:
        problems.append(_l("请填写公示情况说明（公示时间、方式，收到的举报及处理结果）。"))
    if problems:
        raise Invalid(problems[0], problems=problems[1:])
    return {"status": Acceptance.requested.value, "report": report[:4000], "decision_note": "",
            "reported_on": today}


def _open_notice(pub: Publication, ctx: Ctx) -> dict:
    """Accepted or filed. Where the notice already ran (CF-RESULT-1), this confirms the results;
    otherwise the notice opens now (BJ-ACC-1)."""
    decided = {"status": Acceptance.accepted.value, "decided_by": ctx.actor.user_id,
               "confirmed_on": ctx.now.date(),
               "decision_note": (ctx.params.get("opinion") or "").strip()[:2000]}
    if pub.ends_on is not None:
        return decided
    start = ctx.now.date()
    end = WorkCalendar(ctx.cfg).nth_workday_after(start, notice_days(ctx.cfg, pub.session))
    return {**decided, "starts_on": start, "ends_on": end}


def notice_days(cfg, session: ReviewSession) -> int:
    """Working days of the public notice: the tenant's, and for a self-review unit's results at
    least its self-review figure (SR-RUN-2: 不少于5个工作日)."""
    days = cfg.policies.public_notice_working_days
    agency = session.committee.agency
    if agency is not None and agency.kind == OrgKind.self_review_unit.value:
        days = max(days, cfg.policies.self_review.notice_working_days)
    return days


def _send_back(pub: Publication, ctx: Ctx) -> dict:
    note = (ctx.params.get("opinion") or "").strip()
    if not note:
        raise Invalid(_l("请写明退回理由。"))
    return {"status": Acceptance.sent_back.value, "decision_note": note[:2000],
            "decided_by": ctx.actor.user_id}


def _is_filing_office(actor: Actor, pub: Publication) -> bool:
    from ..tenancy import config_for
    return _is_reporting_agency(actor, pub) and self_filed(config_for(pub.tenant_id), pub.session)


def _filing_window(pub: Publication):
    # Filed with the report: after the notice, not bound to the review window (CF-RESULT-1).
    return None if pub.ends_on is not None else review_stage(pub)


_requestable = (Acceptance.none.value, Acceptance.sent_back.value)
register(Publication, {
    "request": Rule(_requestable, _is_reporting_agency, review_stage, _request),
    # CF-WIN-3: the notice opens within the review window and ends by its close.
    "publicise": Rule((Acceptance.none.value,), _is_reporting_agency, review_stage, _publicise),
    # CF-RESULT-1: after the notice; a month after the review it is late, not refused.
    "report": Rule((Acceptance.noticed.value, Acceptance.sent_back.value), _is_reporting_agency,
                   lambda p: None, _report),
    # CF-RESULT-2: results the committee office files itself open their notice on filing, or,
    # where the notice came first, stand confirmed.
    "file": Rule((Acceptance.requested.value,), _is_filing_office, _filing_window, _open_notice),
    "accept": Rule((Acceptance.requested.value,), _is_city_hr, lambda p: None, _open_notice),
    "send_back": Rule((Acceptance.requested.value,), _is_city_hr, lambda p: None, _send_back),
}, labels={"none": _l("未报送"), "requested": _l("待验收"), "accepted": _l("已验收"),
           "sent_back": _l("已退回"), "noticed": _l("公示中")})


# -- result documents (CF-RESULT-1) ------------------------------------------------------------

DOCUMENT_LABELS = {
    ResultDocument.approval_report.value: _l("评审结果审批报告"),
    ResultDocument.publicity_record.value: _l("公示情况（含公示期间举报事项处理结果）"),
    ResultDocument.passed_roster.value: _l("职称评审通过人员花名册"),
    ResultDocument.committee_pledge.value: _l("评委会书面承诺书"),
}


def add_document(cfg, actor: Actor, pub: Publication, kind: str, filename: str,
                 data: bytes) -> PublicationFile:
    """Upload one required result document (a scan, checked by content like every upload); a
    new upload of the same kind replaces the earlier one. Only before the results are reported."""
    if not _is_reporting_agency(actor, pub):
        raise Forbidden(_l("无权进行此操作。"))
    if kind not in {d.value for d in cfg.policies.result_documents}:
        raise Invalid(_l("请选择材料类别。"))
    if pub.status not in (Acceptance.noticed.value, Acceptance.sent_back.value):
        raise Invalid(_l("评审结果已报送，不能再更换材料。"))
    body, mime = uploads.accept_scan(data, cfg)
    stored, digest = uploads.store(cfg.slug, body, mime)
    old = next((f for f in pub.files if f.kind == kind), None)
    try:
        if old is not None:
            db.session.delete(old)
            db.session.flush()
        row = PublicationFile(publication_id=pub.id, kind=kind,
                              filename=(filename or kind)[:200], stored_name=stored, mime=mime,
                              size=len(body), sha256=digest, uploaded_by=actor.user_id)
        db.session.add(row)
        db.session.flush()
        audit(actor, "publication_files", row.id, "upload", reason=kind)
        db.session.commit()
    except Exception:
        db.session.rollback()
        uploads.remove(cfg.slug, stored)
        raise
    if old is not None:
        uploads.remove(cfg.slug, old.stored_name)
    db.session.refresh(pub)
    return row


def notice_objections(pub: Publication) -> list[Objection]:
    """Objections lodged against the session's files, with how each was handled: part of the
    publicity record (公示情况及公示期间举报事项处理结果)."""
    return db.session.scalars(sa.select(Objection).where(
        Objection.application_id.in_(
            sa.select(SessionItem.application_id).filter_by(session_id=pub.session_id)))
        .order_by(Objection.id)).all()


def pending_acceptance(tenant_id: int) -> list[Publication]:
    return db.session.scalars(sa.select(Publication).filter_by(
        tenant_id=tenant_id, status=Acceptance.requested.value).order_by(Publication.id)).all()


# -- public notice -----------------------------------------------------------------------------

def notices(tenant_id: int, publisher_id: int | None, today: date) -> list[Publication]:
    """Publications whose notice is running (or ended within 30 days), newest first."""
    q = sa.select(Publication).where(
        Publication.tenant_id == tenant_id, Publication.ends_on.is_not(None),
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
    agency = app.committee.agency
    if agency is not None and agency.kind == OrgKind.self_review_unit.value:
        # SR-RUN-2 (自主评审办法第九条(七)): leads found during a self-review unit's notice are
        # re-checked by the city HR bureau with the supervising department and district bureau.
        return city_hr(app.tenant_id) or agency
    if kind == "review":
        return app.committee.agency
    # Material truth (CF-OBJ-1): the first office on the file's own route of the kinds the
    # tenant lists (routing.toml `material_objection`), e.g. the county HR bureau for a county
    # file, the supervising department for a city file; else the employer, which answers for
    # what it recommended, or a freelancer's recommending association (BJ-UNIT-1).
    for kind_wanted in cfg.routing.material_objection:
        step = next((s for s in app.route or () if s["kind"] == kind_wanted.value), None)
        if step is not None:
            return db.session.get(Org, step["org_id"])
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


# -- what the committee office's session page shows -----------------------------------------------

OBJECTION_STATES = {"refused": _l("不予受理"), "open": _l("核查中"), "upheld": _l("异议成立"),
                    "rejected": _l("异议不成立")}


def panel(cfg, session: ReviewSession, pub: Publication | None) -> dict:
    """The results part of the session page: the order, the notice, documents, lateness."""
    review = session.plan.window("review")
    due = report_due(cfg, session)
    return {
        "notice_first": notice_first(cfg),
        "notice_days": cfg.policies.public_notice_working_days,
        "review_close": review.closes_on if review is not None else None,
        "self_filed": self_filed(cfg, session),
        "status_label": _PUB_LABELS.get(pub.status, pub.status) if pub else "",
        "due": due, "report_days": cfg.policies.result_report_days, "late": days_late(cfg, pub) if pub else 0,
        "documents": [(d.value, DOCUMENT_LABELS[d.value]) for d in cfg.policies.result_documents],
        "files": {f.kind: f for f in pub.files} if pub else {},
        "objections": notice_objections(pub) if pub and pub.starts_on else [],
        "objection_states": OBJECTION_STATES,
    }


_PUB_LABELS = {"none": _l("未报送"), "noticed": _l("公示中"), "requested": _l("待确认"),
               "accepted": _l("已确认（备案）"), "sent_back": _l("已退回")}
