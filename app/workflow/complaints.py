"""Complaints and reports (投诉、举报, AE-COMPLAIN-1; 办法 第九条(七), 第二十八条).

Anyone may lodge one, signed in or not, against an agency's procedure or an applicant's
material. One without objective evidence (an uploaded scan or a described piece of evidence), a
verifiable lead, a named target and the facts is not accepted, and the complainant is told which
is missing. An accepted one is routed — procedure to the agency (the city HR bureau sees every
complaint), material to the office holding the file or, once no office holds it, to the office
that answers for its material (routing.toml `material_objection`, as for objections) — and is
answered within the tenant's working days (policies.toml `complaint_answer_working_days`).
The complainant reads the answer with the reference code, without an account.
"""
from __future__ import annotations

import secrets
from datetime import date
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from .. import uploads
from ..extensions import db
from ..models import Application, Org, Role, User, utcnow
from ..models.oversight import Complaint, ComplaintKind, ComplaintOutcome, ComplaintStatus
from ..tenancy.schema import OrgKind
from . import notify
from .actors import Actor
from .calendar import WorkCalendar, now_local
from .errors import Invalid
from .ids import clean_mobile, decrypt_id, encrypt_id, mask_mobile
from .results import _route_objection, city_hr
from .transitions import Ctx, Rule, audit, register

KINDS = {ComplaintKind.procedure.value: _l("评审机构的评审程序、评审工作"),
         ComplaintKind.material.value: _l("申报人的申报材料")}
STATUS_LABELS = {ComplaintStatus.refused.value: _l("不予受理"),
                 ComplaintStatus.open.value: _l("办理中"),
                 ComplaintStatus.answered.value: _l("已答复")}
OUTCOME_LABELS = {ComplaintOutcome.founded.value: _l("情况属实"),
                  ComplaintOutcome.unfounded.value: _l("情况不属实")}

# Characters per field: the columns' lengths, a bound for the rest.
LIMITS = {"complainant": 60, "target": 200, "facts": 4000, "evidence": 4000, "lead": 4000}
FIELD_LABELS = {"complainant": _l("姓名"), "target": _l("举报对象"), "facts": _l("违规事实"),
                "evidence": _l("证据材料"), "lead": _l("可查证的线索")}
# Staff who answer for the office a complaint is routed to.
ANSWERING_ROLES = (Role.agency_clerk.value, Role.employer_clerk.value, Role.hr_officer.value,
                   Role.department_clerk.value, Role.association_clerk.value)
# Units whose staff apply (a freelancer's: the recommending association).
EMPLOYING_KINDS = (OrgKind.employer.value, OrgKind.self_review_unit.value,
                   OrgKind.association.value)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


def new_code() -> str:
    """A reference code nobody can guess (16 characters, 80 bits), grouped for reading."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def normal_code(value: str) -> str:
    raw = "".join(ch for ch in (value or "").upper() if ch in CODE_ALPHABET)
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def agencies(tenant_id: int) -> list[Org]:
    """The review service agencies and self-review units a procedure complaint may name."""
    return db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id,
        Org.kind.in_((OrgKind.agency.value, OrgKind.self_review_unit.value)))
        .order_by(Org.id)).all()


def employers(tenant_id: int) -> list[Org]:
    """Units whose staff apply: the employer a material complaint names."""
    return db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id, Org.kind.in_(EMPLOYING_KINDS), Org.status == "approved")
        .order_by(Org.name)).all()


def lodge(cfg, tenant_id: int, form: dict, upload: tuple[str, bytes] | None = None, *,
          user=None, ip: str = "") -> Complaint:
    """File a complaint: refused (kept, with the reason) or accepted and routed with its due
    day. Bad input (an unknown agency, a too-long field, an unreadable upload) is refused with a
    message and nothing is kept."""
    kind = form.get("kind")
    if kind not in KINDS:
        raise Invalid(_l("请选择投诉举报类别。"))
    text = {k: (form.get(k) or "").strip() for k in LIMITS}
    too_long = [_l("%(f)s过长（最多%(n)d字）", f=FIELD_LABELS[k], n=most)
                for k, most in LIMITS.items() if len(text[k]) > most]
    if too_long:
        raise Invalid(too_long[0], problems=too_long[1:])
    raw_mobile = (form.get("mobile") or "").strip()
    mobile = clean_mobile(raw_mobile) if raw_mobile else None
    if raw_mobile and mobile is None:
        raise Invalid(_l("手机号码格式不正确。"))
    c = Complaint(tenant_id=tenant_id, code=new_code(), kind=kind, **text,
                  user_id=user.id if user is not None else None,
                  contact_enc=encrypt_id(mobile) if mobile else None,
                  contact_masked=mask_mobile(mobile) if mobile else None)
    _subject(c, tenant_id, form)
    stored = None
    if upload is not None and upload[1]:
        if len(upload[1]) > current_app.config["MAX_UPLOAD_BYTES"]:
            raise Invalid(_l("文件过大。"))
        body, mime = uploads.accept_scan(upload[1], cfg)
        stored, _digest = uploads.store(cfg.slug, body, mime)
        c.evidence_filename, c.evidence_stored, c.evidence_mime = \
            (upload[0] or "evidence")[:200], stored, mime
    missing = [label for ok, label in (
        (text["evidence"] or stored, _l("客观、明确的证据材料")),
        (text["lead"], _l("可查证的线索")),
        (text["target"], _l("具体的举报对象")),
        (text["facts"], _l("违规事实"))) if not ok]
    today = now_local().date()
    if missing:
        c.status = ComplaintStatus.refused.value
        with force_locale("zh_Hans_CN"):
            c.refusal_reason = str(_l("不予受理：缺少%(m)s。", m="、".join(map(str, missing))))
    else:
        c.status = ComplaintStatus.open.value
        c.routed_org_id = _route(cfg, c)
        c.due_on = due_day(cfg, today)
    try:
        db.session.add(c)
        db.session.flush()
        who = Actor.of(user, ip) if user is not None else Actor(
            tenant_id, None, text["complainant"] or "anonymous", "public", None, ip)
        audit(who, "complaints", c.id, "lodge", to_state=c.status,
              reason=c.refusal_reason or f"{kind} → org {c.routed_org_id}")
        db.session.commit()
    except Exception:
        db.session.rollback()
        if stored:
            uploads.remove(cfg.slug, stored)
        raise
    return c


def _subject(c: Complaint, tenant_id: int, form: dict) -> None:
    """What the complaint is about: the agency named, or the employer (and the file of the
    applicant named there, where one matches)."""
    def org_of(field: str, kinds) -> Org | None:
        try:
            org_id = int(form.get(field) or 0)
        except (TypeError, ValueError):
            org_id = 0
        org = db.session.get(Org, org_id) if org_id else None
        if org is None or org.tenant_id != tenant_id or org.kind not in kinds:
            return None
        return org

    if c.kind == ComplaintKind.procedure.value:
        agency = org_of("agency", (OrgKind.agency.value, OrgKind.self_review_unit.value))
        if agency is None:
            raise Invalid(_l("请选择被投诉的评审服务机构。"))
        c.agency_org_id = agency.id
        return
    employer = org_of("employer", EMPLOYING_KINDS)
    if employer is None:
        raise Invalid(_l("请选择被举报申报人所在的单位。"))
    c.employer_org_id = employer.id
    if c.target:
        c.application_id = db.session.scalar(
            sa.select(Application.id).join(User, User.id == Application.applicant_id)
            .where(Application.tenant_id == tenant_id, Application.employer_org_id == employer.id,
                   User.name == c.target, Application.status != "draft")
            .order_by(Application.id.desc()).limit(1))


def _route(cfg, c: Complaint) -> int:
    if c.kind == ComplaintKind.procedure.value:
        return c.agency_org_id
    app = db.session.get(Application, c.application_id) if c.application_id else None
    if app is None:
        return c.employer_org_id  # the employer answers for what it recommended
    if app.holder_org_id is not None:
        return app.holder_org_id
    return _route_objection(cfg, app, "material").id


def due_day(cfg, lodged: date) -> date:
    return WorkCalendar(cfg).nth_workday_after(lodged, cfg.policies.complaint_answer_working_days)


def overdue(c: Complaint, today: date) -> bool:
    return c.status == ComplaintStatus.open.value and c.due_on is not None and c.due_on < today


# -- answering -----------------------------------------------------------------------------------

def _is_routed_office(actor: Actor, c: Complaint) -> bool:
    return actor.org_id is not None and actor.org_id == c.routed_org_id \
        and actor.role in ANSWERING_ROLES


def _answer(c: Complaint, ctx: Ctx) -> dict:
    outcome = ctx.params.get("outcome")
    note = (ctx.params.get("opinion") or "").strip()
    if outcome not in OUTCOME_LABELS:
        raise Invalid(_l("请选择核查结论。"))
    if not note:
        raise Invalid(_l("请填写答复内容。"))
    if len(note) > 4000:
        raise Invalid(_l("%(f)s过长（最多%(n)d字）", f=_l("答复内容"), n=4000))
    ctx.after.append(lambda: _tell_complainant(ctx.cfg, c))
    return {"status": ComplaintStatus.answered.value, "outcome": outcome, "answer": note,
            "answered_by": ctx.actor.user_id, "answered_at": utcnow()}


def _tell_complainant(cfg, c: Complaint) -> None:
    """An SMS with the reference code, where the complainant left a number (the outbox)."""
    if not c.contact_enc:
        return
    with force_locale("zh_Hans_CN"):
        body = str(_l("您的投诉举报（查询码%(c)s）已答复，请凭查询码查看：%(u)s",
                      c=c.code, u=lookup_url(cfg.slug)))
        subject = str(_l("投诉举报答复"))
    notify.queue(c.tenant_id, "sms", decrypt_id(c.contact_enc), subject, body,
                 f"complaint-answer-{c.id}")


def lookup_url(tenant_slug: str) -> str:
    """The absolute address of the public look-up page, on the deployment's public address."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    return adapter.build("complaints.lookup", {"tenant": tenant_slug}, force_external=True)


register(Complaint, {
    "answer": Rule((ComplaintStatus.open.value,), _is_routed_office, lambda c: None, _answer),
}, labels=STATUS_LABELS)


# -- lists ----------------------------------------------------------------------------------------

def by_code(tenant_id: int, code: str) -> Complaint | None:
    code = normal_code(code)
    if len(code) != 19:
        return None
    return db.session.scalar(sa.select(Complaint).filter_by(tenant_id=tenant_id, code=code))


def routed_to(actor: Actor) -> list[Complaint]:
    """Accepted complaints routed to the actor's office: open ones first, nearest due first."""
    return db.session.scalars(
        sa.select(Complaint).where(Complaint.tenant_id == actor.tenant_id,
                                   Complaint.routed_org_id == actor.org_id,
                                   Complaint.status != ComplaintStatus.refused.value)
        .order_by((Complaint.status == ComplaintStatus.open.value).desc(),
                  Complaint.due_on, Complaint.id.desc())
        .options(sa.orm.selectinload(Complaint.application).selectinload(Application.applicant),
                 sa.orm.selectinload(Complaint.agency), sa.orm.selectinload(Complaint.employer))
    ).all()


def of_user(user) -> list[Complaint]:
    return db.session.scalars(sa.select(Complaint).filter_by(
        tenant_id=user.tenant_id, user_id=user.id).order_by(Complaint.id.desc())).all()


def is_city_hr(actor: Actor) -> bool:
    """The city HR bureau's staff and the tenant admin: they oversee every complaint."""
    if actor.role == Role.tenant_admin.value:
        return True
    if actor.role != Role.hr_officer.value:
        return False  # without a query: every page's navigation asks
    hr = city_hr(actor.tenant_id)
    return hr is not None and actor.org_id == hr.id


PAGE_SIZE = 50


def tenant_list(tenant_id: int, status: str | None, today: date, page: int = 1,
                size: int | None = PAGE_SIZE) -> tuple[list[Complaint], int]:
    """Every complaint of the tenant for the city HR bureau, filtered by status ("overdue":
    open past the due day), newest first, a page at a time (size None: all, for the export)."""
    q = sa.select(Complaint).where(Complaint.tenant_id == tenant_id)
    if status == "overdue":
        q = q.where(Complaint.status == ComplaintStatus.open.value, Complaint.due_on < today)
    elif status in STATUS_LABELS:
        q = q.where(Complaint.status == status)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    q = q.order_by(Complaint.id.desc())
    if size is not None:
        q = q.limit(size).offset((page - 1) * size)
    rows = db.session.scalars(
        q.options(sa.orm.selectinload(Complaint.routed_to), sa.orm.selectinload(Complaint.agency),
                 sa.orm.selectinload(Complaint.employer))).all()
    return rows, total


# -- reminders -------------------------------------------------------------------------------------

def remind(tenant_id: int, now=None, rq_job_id: str | None = None):
    """The daily reminder (接诉即办): each active staff member with a mobile number of an office
    holding an open complaint gets one SMS on its due day and one once it is overdue, however
    often this runs (dedupe keys per complaint, person and kind). Two INSERT ... SELECT
    statements, whatever the rows; recorded as a job run. Returns (run, outbox ids)."""
    from ..models import JobRun
    from .deadlines import recorded
    now = now_local(now)
    today = now.date()
    run = JobRun(tenant_id=tenant_id, name="complaint_reminders",
                 key=f"complaints:{tenant_id}:remind:{today.isoformat()}", rq_job_id=rq_job_id,
                 started_at=utcnow())
    ids: list[int] = []

    def work() -> int:
        link = _office_link()
        with force_locale("zh_Hans_CN"):
            texts = {
                "due": str(_l("您单位有投诉举报今日到期，请当日答复：%(u)s", u=link)),
                "overdue": str(_l("您单位有投诉举报已逾期未答复，市人力资源社会保障局将督办，"
                                  "请尽快答复：%(u)s", u=link)),
            }
            subject = str(_l("投诉举报答复提醒"))
        for kind, when in (("due", Complaint.due_on == today), ("overdue", Complaint.due_on < today)):
            key = (sa.literal(f"complaint-{kind}-") + sa.cast(Complaint.id, sa.String)
                   + sa.literal("-") + sa.cast(User.id, sa.String))
            recipients = (sa.select(User.mobile_enc.label("recipient"), key.label("dedupe_key"))
                          .join(Complaint, Complaint.routed_org_id == User.org_id)
                          .where(Complaint.tenant_id == tenant_id, User.tenant_id == tenant_id,
                                 Complaint.status == ComplaintStatus.open.value, when,
                                 User.active.is_(True), User.role.in_(ANSWERING_ROLES),
                                 User.mobile_enc.is_not(None)))
            ids.extend(notify.queue_select(tenant_id, "sms", recipients, subject, texts[kind]))
        return len(ids)
    recorded(run, work)
    return run, ids


def _office_link() -> str:
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    from flask import g
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    return adapter.build("complaints.inbox", {"tenant": g.tenant.slug}, force_external=True)


# -- the home page -------------------------------------------------------------------------------

def waiting_items(user, today: date) -> list[dict]:
    """Complaints the user's office has to answer (count, nearest due day) and, for the city
    HR bureau, those past their due day anywhere in the tenant. Two queries at most."""
    if user is None or not getattr(user, "is_authenticated", True) or user.role not in (
            *ANSWERING_ROLES, Role.tenant_admin.value):
        return []
    out = []
    if user.org_id is not None and user.role in ANSWERING_ROLES:
        count, due = db.session.execute(
            sa.select(sa.func.count(Complaint.id), sa.func.min(Complaint.due_on)).where(
                Complaint.tenant_id == user.tenant_id, Complaint.routed_org_id == user.org_id,
                Complaint.status == ComplaintStatus.open.value)).one()
        if count:
            out.append({"label": _l("待答复的投诉举报"), "count": count, "due": due,
                        "endpoint": "complaints.inbox", "args": {}})
    if is_city_hr(Actor.of(user)):
        count, due = db.session.execute(
            sa.select(sa.func.count(Complaint.id), sa.func.min(Complaint.due_on)).where(
                Complaint.tenant_id == user.tenant_id,
                Complaint.status == ComplaintStatus.open.value, Complaint.due_on < today)).one()
        if count:
            out.append({"label": _l("逾期未答复的投诉举报"), "count": count, "due": due,
                        "endpoint": "oversight.complaints_list", "args": {"status": "overdue"}})
    return out
