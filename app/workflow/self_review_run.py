"""A self-review unit at work (seed 002 第九条(一)–(五), SR-RUN-1, BJ-SELF-1): once the city HR
bureau has approved it, the unit names its dedicated office and staff, has its rule documents
(评审工作方案, 评价标准) approved collectively, publicised and approved by the bureau, files a
yearly plan within its approved scope, sets up committees per series and level that the bureau
files, and then opens the plan to its own staff. Every status change goes through the
transition service."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask_babel import lazy_gettext as _l

from .. import uploads
from ..extensions import db
from ..models import Committee, Org, Plan, PlanWindow, Role, User, utcnow
from ..models.self_review_run import SelfReviewSetup, SelfReviewYearPlan
from ..tenancy import label as item_label
from ..tenancy.schema import OrgKind
from .abilities import at_city_hr
from .actors import Actor
from .errors import Forbidden, Invalid
from .self_review import DOCUMENTS
from .transitions import Ctx, Rule, audit, register

UNIT_ROLES = (Role.employer_clerk.value, Role.agency_clerk.value)
UNIT_KINDS = (OrgKind.employer.value, OrgKind.self_review_unit.value)
NONE, DECIDED, PUBLICISED, SUBMITTED, RETURNED, APPROVED = (
    "none", "decided", "publicised", "submitted", "returned", "approved")
DOC_LABELS = {NONE: _l("未上传"), DECIDED: _l("已经集体决策通过，待公示"),
              PUBLICISED: _l("已公示，待报市人社局审定"), SUBMITTED: _l("待市人社局审定"),
              RETURNED: _l("市人社局退回，待修改后重新报送"), APPROVED: _l("市人社局已审定")}
FILED, OPEN = "filed", "open"
PLAN_LABELS = {FILED: _l("已制定，未开放申报"), OPEN: _l("已开放申报")}
MAX_TEXT = 4000
MAX_LINE = 200


def approved_scope(tenant_id: int, org_id: int) -> list[dict]:
    """The series and levels the unit may evaluate: the city HR bureau's approval recorded here,
    else the scope the tenant's files record for a unit filed before the portal."""
    from ..tenancy import config_for
    from .unit_scope import approved_scope as scope_of
    org = db.session.get(Org, org_id)
    if org is None or org.tenant_id != tenant_id:
        return []
    return scope_of(config_for(tenant_id), org)


# -- who is the unit ----------------------------------------------------------------------------

def is_city_hr(actor) -> bool:
    return at_city_hr(actor.role, actor.org_id, actor.tenant_id)


def unit_of(actor) -> Org | None:
    """The approved self-review unit an actor works for (its clerk or its committee office's
    staff), or None."""
    if actor.role not in UNIT_ROLES or not actor.org_id:
        return None
    org = db.session.get(Org, actor.org_id)
    if org is None or org.tenant_id != actor.tenant_id or org.kind not in UNIT_KINDS \
            or org.closed_on is not None:
        return None
    return org if approved_scope(actor.tenant_id, org.id) else None


def _require_unit(actor: Actor) -> Org:
    org = unit_of(actor)
    if org is None:
        raise Forbidden(_l("只有经市人力资源社会保障局同意的职称自主评审单位可以办理。"))
    return org


def _is_unit(actor: Actor, row) -> bool:
    return actor.role in UNIT_ROLES and actor.org_id == row.org_id


def _is_city_hr(actor: Actor, row) -> bool:
    return is_city_hr(actor)


def setup_of(tenant_id: int, org_id: int) -> SelfReviewSetup | None:
    return db.session.scalar(sa.select(SelfReviewSetup).filter_by(tenant_id=tenant_id,
                                                                  org_id=org_id))


def ensure_setup(actor: Actor) -> SelfReviewSetup:
    """The unit's setup record, created on first use; a unit registered as an ordinary employer
    becomes a self-review unit (its committees' office then acts for it)."""
    org = _require_unit(actor)
    row = setup_of(actor.tenant_id, org.id)
    if row is not None:
        return row
    row = SelfReviewSetup(tenant_id=actor.tenant_id, org_id=org.id, status=NONE, version=1,
                          return_reason="")
    db.session.add(row)
    db.session.flush()
    audit(actor, SelfReviewSetup.__tablename__, row.id, "create", to_state=NONE)
    if org.kind != OrgKind.self_review_unit.value:
        audit(actor, "orgs", org.id, "self_review_unit", from_state=org.kind,
              to_state=OrgKind.self_review_unit.value)
        org.kind = OrgKind.self_review_unit.value
    db.session.commit()
    return row


# -- 第九条(一): the office and its staff --------------------------------------------------------

def _text(ctx: Ctx, key: str, limit: int = MAX_TEXT) -> str:
    return (ctx.params.get(key) or "").strip()[:limit]


def _name_office(s, ctx: Ctx) -> dict:
    name, contact = (ctx.params.get("office_name") or "").strip(), \
        (ctx.params.get("office_contact") or "").strip()
    problems = []
    if not name or len(name) > MAX_LINE:
        problems.append(_l("请填写专职机构名称（不超过200字）。"))
    if not contact or len(contact) > MAX_LINE:
        problems.append(_l("请填写专职机构的联系人和联系电话（不超过200字）。"))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    return {"office_name": name, "office_contact": contact, "office_named_on": ctx.now.date()}


def office_staff(tenant_id: int, org_id: int) -> list[User]:
    """The unit's committee-office staff (invited or active; not disabled)."""
    return db.session.scalars(sa.select(User).where(
        User.tenant_id == tenant_id, User.org_id == org_id,
        User.role == Role.agency_clerk.value,
        sa.or_(User.active.is_(True), User.setup_token_hash.is_not(None)))
        .order_by(User.id)).all()


def invite_staff(cfg, manager: User, data: dict, ip: str = ""):
    """The unit's clerk invites a member of its committee office (an agency clerk of the unit)
    with the staff invitation (one-time link by SMS). Returns (user, outbox ids)."""
    from . import staff
    actor = Actor.of(manager, ip)
    org = _require_unit(actor)
    if manager.role != Role.employer_clerk.value:
        raise Forbidden(_l("由本单位经办人添加评审工作机构的工作人员。"))
    ensure_setup(actor)  # an employer approved as a unit becomes one first
    return staff.invite(cfg, manager, org, {**data, "role": Role.agency_clerk.value}, ip,
                        unit_office=True)


# -- 第九条(二): the rule documents ------------------------------------------------------------

def _date(ctx: Ctx, key: str):
    value = ctx.params.get(key)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _record_decision(s, ctx: Ctx) -> dict:
    """The documents (new files, or those already uploaded when correcting) and the collective
    decision that adopted them. Files are stored by the caller: ctx.params["files"]."""
    body, day = _text(ctx, "decision_body", MAX_LINE), _date(ctx, "decided_on")
    files = ctx.params.get("files") or {}
    problems = []
    for key, name in DOCUMENTS.items():
        if key not in files and not getattr(s, f"{key}_stored"):
            problems.append(_l("请上传%(d)s。", d=name))
    if not body:
        problems.append(_l("请填写集体决策的会议或机构（如党委会、办公会）。"))
    if day is None or day > ctx.now.date() or day.year < 2000:
        problems.append(_l("请填写集体决策日期（不晚于今天）。"))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    out = {"decision_body": body, "decided_on": day, "status": DECIDED, "publicity_from": None,
           "publicity_to": None}
    for key, (filename, stored, mime, sha) in files.items():
        out.update({f"{key}_filename": filename, f"{key}_stored": stored, f"{key}_mime": mime,
                    f"{key}_sha256": sha})
    return out


def _record_publicity(s, ctx: Ctx) -> dict:
    start, end = _date(ctx, "publicity_from"), _date(ctx, "publicity_to")
    if start is None or end is None:
        raise Invalid(_l("请填写公示起止日期。"))
    if end < start:
        raise Invalid(_l("公示结束日期不能早于开始日期。"))
    if s.decided_on and start < s.decided_on:
        raise Invalid(_l("公示应在集体决策通过之后。"))
    if end >= ctx.now.date():
        raise Invalid(_l("公示期满后方可记录并报送（公示结束日期应早于今天）。"))
    return {"publicity_from": start, "publicity_to": end, "status": PUBLICISED}


def _submit(s, ctx: Ctx) -> dict:
    return {"status": SUBMITTED, "submitted_at": utcnow(), "return_reason": ""}


def _approve(s, ctx: Ctx) -> dict:
    return {"status": APPROVED, "approved_on": ctx.now.date(), "decided_by": ctx.actor.user_id,
            "return_reason": ""}


def _return(s, ctx: Ctx) -> dict:
    reason = _text(ctx, "opinion")
    if not reason:
        raise Invalid(_l("退回须写明理由。"))
    return {"status": RETURNED, "return_reason": reason, "decided_by": ctx.actor.user_id}


_any = (NONE, DECIDED, PUBLICISED, SUBMITTED, RETURNED, APPROVED)
register(SelfReviewSetup, {
    "name_office": Rule(_any, _is_unit, lambda s: None, _name_office),
    "record_decision": Rule((NONE, DECIDED, PUBLICISED, RETURNED), _is_unit, lambda s: None,
                            _record_decision),
    "record_publicity": Rule((DECIDED,), _is_unit, lambda s: None, _record_publicity),
    "submit_documents": Rule((PUBLICISED,), _is_unit, lambda s: None, _submit),
    "approve_documents": Rule((SUBMITTED,), _is_city_hr, lambda s: None, _approve),
    "return_documents": Rule((SUBMITTED,), _is_city_hr, lambda s: None, _return),
}, labels=DOC_LABELS)
UNIT_ACTIONS = ("name_office", "record_publicity", "submit_documents")
HR_ACTIONS = ("approve_documents", "return_documents")


def record_decision(cfg, actor: Actor, setup: SelfReviewSetup, documents: dict, *,
                    expected_version=None, decision_body: str = "", decided_on=None) -> None:
    """Store the uploaded documents ({"plan"|"standards": (filename, bytes)}) and record the
    collective decision, through the transition service; nothing half-saved on refusal."""
    from .transitions import transition
    accepted, problems = {}, []
    for key, name in DOCUMENTS.items():
        filename, content = documents.get(key) or ("", b"")
        if not content:
            continue
        try:
            accepted[key] = ((filename or key)[-200:], *uploads.accept_scan(content, cfg))
        except Invalid as e:
            problems.append(_l("%(d)s：%(m)s", d=name, m=e.message))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    stored, files = [], {}
    old = [getattr(setup, f"{k}_stored") for k in accepted if getattr(setup, f"{k}_stored")]
    try:
        for key, (filename, content, mime) in accepted.items():
            name, sha = uploads.store(cfg.slug, content, mime)
            stored.append(name)
            files[key] = (filename, name, mime, sha)
        transition(cfg, setup, "record_decision", actor, expected_version=expected_version,
                   decision_body=decision_body, decided_on=decided_on, files=files,
                   opinion=decision_body)
    except Exception:
        for name in stored:
            uploads.remove(cfg.slug, name)
        raise
    for name in old:  # replaced by the corrected documents
        uploads.remove(cfg.slug, name)


# -- 第九条(三): the yearly plan ----------------------------------------------------------------

def year_plans(tenant_id: int, org_id: int) -> list[SelfReviewYearPlan]:
    return db.session.scalars(sa.select(SelfReviewYearPlan).filter_by(
        tenant_id=tenant_id, org_id=org_id).order_by(SelfReviewYearPlan.year.desc())).all()


def scope_keys(scope) -> list[str]:
    return [f"{p['series']}:{p['level']}" for p in scope]


def scope_label(cfg, pair: dict) -> str:
    s, lv = cfg.series(pair["series"]), cfg.level(pair["level"])
    return f"{item_label(s) if s else pair['series']} · {item_label(lv) if lv else pair['level']}"


def template_for(tenant_id: int, year: int, levels: list[str]) -> tuple[str, list]:
    """The review mode and the mode rules a unit plan takes from the tenant's own plans of the
    year (or of the latest year before it) that share its levels: the first one's mode and
    every rule of theirs, in order, so that a rule such as "self-review units' files on paper"
    holds for the unit's plan too."""
    ours = sa.select(Plan).where(Plan.tenant_id == tenant_id, Plan.owner_org_id.is_(None),
                                 Plan.is_demo.is_(False))
    # The year's plans, else those of the latest year the tenant has.
    latest = db.session.scalar(sa.select(sa.func.max(Plan.year)).where(
        Plan.tenant_id == tenant_id, Plan.owner_org_id.is_(None), Plan.is_demo.is_(False),
        Plan.year <= year)) or db.session.scalar(sa.select(sa.func.min(Plan.year)).where(
            Plan.tenant_id == tenant_id, Plan.owner_org_id.is_(None), Plan.is_demo.is_(False)))
    plans = db.session.scalars(ours.where(Plan.year == latest).order_by(Plan.id)).all()
    sharing = [p for p in plans if set(p.levels or ()) & set(levels)]
    if not sharing:
        sharing = plans
    mode = sharing[0].review_mode if sharing else "named"
    rules = []
    for p in sharing:
        for r in p.mode_rules or ():
            if r not in rules:
                rules.append(r)
    return mode, rules


def _clean_plan(cfg, tenant_id: int, org: Org, data: dict) -> tuple[dict, list]:
    problems, clean = [], {}
    try:
        year = int(str(data.get("year") or "").strip())
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        problems.append(_l("请填写计划年度（四位年份）。"))
    clean["year"] = year
    names = {"apply_opens": _l("申报开始日期"), "apply_closes": _l("申报截止日期"),
             "review_opens": _l("评审开始日期"), "review_closes": _l("评审结束日期")}
    days = {}
    for key, title in names.items():
        raw = data.get(key)
        try:
            days[key] = raw if isinstance(raw, date) else date.fromisoformat(str(raw or "").strip())
        except ValueError:
            problems.append(_l("请填写%(f)s（年-月-日）。", f=title))
    if len(days) == 4:
        if not days["apply_opens"] <= days["apply_closes"] < days["review_opens"] \
                <= days["review_closes"]:
            problems.append(_l("日期顺序应为：申报开始 ≤ 申报截止 < 评审开始 ≤ 评审结束。"))
        elif year and days["apply_opens"].year != year:
            problems.append(_l("申报应在计划年度内开始。"))
    clean.update(days)
    texts = {"procedure": _l("评审程序"), "experts": _l("专家构成"), "indicators": _l("评审指标"),
             "groups": _l("学科或分组情况")}
    for key, title in texts.items():
        value = (data.get(key) or "").strip()
        if not value:
            problems.append(_l("请填写%(f)s（第九条(三)）。", f=title))
        elif len(value) > MAX_TEXT:
            problems.append(_l("%(f)s过长（不超过%(n)d字）。", f=title, n=MAX_TEXT))
        clean[key] = value[:MAX_TEXT]
    allowed = {f"{p['series']}:{p['level']}": p for p in approved_scope(tenant_id, org.id)}
    scope = []
    for key in data.get("scope") or []:
        if key not in allowed:
            series, _, level = key.partition(":")
            pair = {"series": series, "level": level}
            what = scope_label(cfg, pair) if cfg.series(series) and cfg.level(level) else key
            problems.append(_l("%(s)s不在市人力资源社会保障局同意的自主评审范围内，不能列入年度计划。",
                               s=what))
        elif allowed[key] not in scope:
            scope.append(allowed[key])
    if not scope and not any(k not in allowed for k in data.get("scope") or []):
        problems.append(_l("请选择本年度评审的系列和级别。"))
    clean["scope"] = scope
    return clean, problems


def file_year_plan(cfg, actor: Actor, data: dict) -> SelfReviewYearPlan:
    """File the yearly plan; it creates the unit's own Plan (code sr-<unit>-<year>) with the
    apply, employer-review, agency-check and review windows from its dates."""
    org = _require_unit(actor)
    clean, problems = _clean_plan(cfg, actor.tenant_id, org, data)
    year = clean["year"]
    code = f"sr-{org.code}-{year}"[:60]
    if year and db.session.scalar(sa.select(SelfReviewYearPlan.id).filter_by(
            tenant_id=actor.tenant_id, org_id=org.id, year=year)):
        problems.insert(0, _l("本单位%(y)d年度评审工作计划已制定。", y=year))
    elif year and db.session.scalar(sa.select(Plan.id).filter_by(tenant_id=actor.tenant_id,
                                                                 code=code)):
        problems.insert(0, _l("计划编号%(c)s已被使用。", c=code))
    if problems:
        raise Invalid(_l("年度评审工作计划未保存："), problems=problems)
    levels = sorted({p["level"] for p in clean["scope"]},
                    key=lambda lv: cfg.level(lv).rank if cfg.level(lv) else 0)
    mode, rules = template_for(actor.tenant_id, year, levels)
    try:
        plan = Plan(tenant_id=actor.tenant_id, code=code, year=year,
                    name=f"{org.name}{year}年度职称自主评审"[:200],
                    name_en=f"{org.name_en or org.code} {year} self-review"[:200],
                    levels=levels, review_mode=mode, mode_rules=rules, is_demo=False,
                    owner_org_id=org.id)
        a_open, a_close = clean["apply_opens"], clean["apply_closes"]
        r_open, r_close = clean["review_opens"], clean["review_closes"]
        for stage, opens, closes in (("apply", a_open, a_close),
                                     ("employer_review", a_open, r_close),
                                     ("agency_check", a_open, r_close),
                                     ("review", r_open, r_close)):
            plan.windows.append(PlanWindow(stage=stage, opens_on=opens, closes_on=closes))
        db.session.add(plan)
        db.session.flush()
        row = SelfReviewYearPlan(tenant_id=actor.tenant_id, org_id=org.id, status=FILED,
                                 version=1, plan_id=plan.id, filed_by=actor.user_id, **clean)
        db.session.add(row)
        db.session.flush()
        audit(actor, "plans", plan.id, "create", reason=code)
        audit(actor, SelfReviewYearPlan.__tablename__, row.id, "file", to_state=FILED,
              reason=f"{year} " + ",".join(scope_keys(clean["scope"])))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


# -- 第九条(四): committees per series and level, filed by the city HR bureau ------------------

def unit_committees(tenant_id: int, org_id: int) -> list[Committee]:
    return db.session.scalars(sa.select(Committee).filter_by(
        tenant_id=tenant_id, agency_org_id=org_id).order_by(Committee.id)).all()


def set_up_committee(cfg, actor: Actor, yplan: SelfReviewYearPlan, data: dict) -> Committee:
    """The unit sets up a committee for one series and a group of its levels in the plan, with
    what the filing needs (scope of applicants, scoring standard, procedure, expert roster);
    the city HR bureau then files it (AE-COMM-1)."""
    from . import committees as comm
    from . import experts
    org = _require_unit(actor)
    if yplan.org_id != org.id or yplan.tenant_id != actor.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    problems = []
    name = (data.get("name") or "").strip()
    if not name or len(name) > 200:
        problems.append(_l("请填写评委会名称（不超过200字）。"))
    series = data.get("series") or ""
    levels = sorted(set(data.get("levels") or []),
                    key=lambda lv: cfg.level(lv).rank if cfg.level(lv) else 0)
    planned = {p["level"] for p in yplan.scope if p["series"] == series}
    if not planned:
        problems.append(_l("请选择本年度计划中的系列。"))
    elif not levels or not set(levels) <= planned:
        problems.append(_l("请选择本年度计划中该系列的评审级别。"))
    scope, procedure = (data.get("scope") or "").strip(), (data.get("procedure") or "").strip()
    if not scope:
        problems.append(_l("请填写评审人员范围。"))
    if not procedure:
        problems.append(_l("请填写评审工作程序。"))
    standard = []
    try:
        standard = comm.parse_standard(data.get("standard") or "")
        if not standard:
            problems.append(_l("请填写评审量化标准。"))
    except Invalid as e:
        problems.append(e.message)
    pool = {e.id for e in experts.pool(actor.tenant_id)
            if e.series == series and not e.exited_on and e.status == "approved"}
    try:
        roster = sorted({int(x) for x in data.get("roster") or []})
    except (TypeError, ValueError):
        roster = [0]
    if not roster or not set(roster) <= pool:
        problems.append(_l("请从专家库中选择该系列的评审专家名单。"))
    if problems:
        raise Invalid(_l("评委会未设立："), problems=problems)
    taken = set(db.session.scalars(sa.select(Committee.code).filter_by(tenant_id=actor.tenant_id)))
    n = 1
    while f"{org.code}-{series}-{n}"[:60] in taken:
        n += 1
    c = Committee(tenant_id=actor.tenant_id, code=f"{org.code}-{series}-{n}"[:60], name=name,
                  name_en=(data.get("name_en") or "").strip()[:200], agency_org_id=org.id,
                  series=[series], levels=levels, specialties=[], district_only=False,
                  private_share=0.0, scope=scope[:MAX_TEXT], standard=standard,
                  procedure=procedure[:MAX_TEXT], roster=roster, conditions="", materials="")
    db.session.add(c)
    db.session.flush()
    audit(actor, "committees", c.id, "create", reason=f"{name[:150]} ({series}:{','.join(levels)})")
    db.session.commit()
    return c


def committees_to_file(tenant_id: int) -> list[Committee]:
    """Self-review units' committees set up and not yet filed: the city HR bureau's work."""
    return db.session.scalars(
        sa.select(Committee).options(joinedload(Committee.agency))
        .join(Org, Org.id == Committee.agency_org_id).where(
            Committee.tenant_id == tenant_id, Org.kind == OrgKind.self_review_unit.value,
            Committee.filed_on.is_(None)).order_by(Committee.id)).all()


def file_unit_committee(cfg, actor: Actor, committee: Committee, filed_on: date,
                        valid_until: date) -> None:
    """The city HR bureau files a self-review unit's committee as the unit set it up."""
    from . import committees as comm
    if committee.tenant_id != actor.tenant_id or committee.agency is None \
            or committee.agency.kind != OrgKind.self_review_unit.value:
        raise Forbidden(_l("无权进行此操作。"))
    comm.file_committee(actor, committee, filed_on=filed_on, valid_until=valid_until,
                        scope=committee.scope, procedure=committee.procedure,
                        standard_text="\n".join(f"{x['name']}|{x['max']}"
                                                for x in committee.standard),
                        roster=list(committee.roster))


# -- opening ---------------------------------------------------------------------------------

def _covered(yplan: SelfReviewYearPlan, committees: list[Committee]) -> list[dict]:
    """The plan's series and levels without a committee filed through the review window."""
    out = []
    for pair in yplan.scope:
        if not any(pair["series"] in c.series and pair["level"] in c.levels and c.filed_on
                   and c.valid_until and c.valid_until >= yplan.review_closes
                   for c in committees):
            out.append(pair)
    return out


def missing(cfg, tenant_id: int, org_id: int, yplan: SelfReviewYearPlan | None,
            year: int | None = None) -> list:
    """Exactly what stops the unit from opening its plan: an empty list when it may."""
    setup = setup_of(tenant_id, org_id)
    out = []
    if setup is None or not setup.office_name:
        out.append(_l("尚未明确专职机构（第九条(一)）。"))
    if not office_staff(tenant_id, org_id):
        out.append(_l("尚未配备专职工作人员（第九条(一)）。"))
    if setup is None or setup.status != APPROVED:
        out.append(_l("评审工作方案、评价标准尚未经市人力资源社会保障局审定（第九条(二)）。"))
    if yplan is None:
        out.append(_l("尚未制定%(y)s年度评审工作计划（第九条(三)）。", y=year or ""))
        return out
    for pair in _covered(yplan, unit_committees(tenant_id, org_id)):
        out.append(_l("%(s)s尚无已备案的评审委员会（第九条(四)）。", s=scope_label(cfg, pair)))
    return out


def _open(yplan, ctx: Ctx) -> dict:
    found = missing(ctx.cfg, yplan.tenant_id, yplan.org_id, yplan)
    if ctx.now.date() > yplan.apply_closes:
        found.append(_l("年度计划的申报截止日期%(d)s已过，不能再开放申报。",
                        d=yplan.apply_closes.isoformat()))
    if found:
        raise Invalid(_l("尚不能开放申报，还缺少："), problems=found)
    return {"status": OPEN, "opened_at": utcnow()}


register(SelfReviewYearPlan, {
    "open_plan": Rule((FILED,), _is_unit, lambda y: None, _open),
}, labels=PLAN_LABELS)


# -- what applicants see, where their files go ----------------------------------------------

def offered_plan_ids(tenant_id: int, user) -> set[int]:
    """The unit plans open to `user`: those of their own employer, once it opened them."""
    if user is None or not getattr(user, "org_id", None) \
            or getattr(user, "role", None) != Role.applicant.value:
        return set()
    return set(db.session.scalars(sa.select(SelfReviewYearPlan.plan_id).where(
        SelfReviewYearPlan.tenant_id == tenant_id, SelfReviewYearPlan.org_id == user.org_id,
        SelfReviewYearPlan.status == OPEN)))


def plan_refusal(plan: Plan, committee: Committee, series: str, level: str, user):
    """Why this application may not be made in a unit's plan (None: it may): the plan is the
    unit's own staff's, open, and reviewed by the unit's filed committees within its scope."""
    yplan = db.session.scalar(sa.select(SelfReviewYearPlan).filter_by(
        tenant_id=plan.tenant_id, plan_id=plan.id))
    unit = db.session.get(Org, plan.owner_org_id)
    if yplan is None or yplan.status != OPEN:
        return _l("该自主评审计划尚未开放申报。")
    if user is None or user.org_id != plan.owner_org_id or user.person_type == "freelancer":
        return _l("本计划为%(u)s的职称自主评审，只受理本单位人员申报。", u=unit.name if unit else "")
    if {"series": series, "level": level} not in yplan.scope:
        return _l("所选系列和级别不在本单位本年度自主评审范围内。")
    if committee.agency_org_id != plan.owner_org_id or series not in committee.series \
            or level not in committee.levels or not committee.filed_on:
        return _l("请选择本单位已备案、评审该系列和级别的评审委员会。")
    return None


def offered_committee_ids(tenant_id: int, user) -> set[int]:
    """Committees of self-review units an applicant may choose: their own employer's."""
    if user is None or not getattr(user, "org_id", None):
        return set()
    return set(db.session.scalars(sa.select(Committee.id).where(
        Committee.tenant_id == tenant_id, Committee.agency_org_id == user.org_id,
        Committee.filed_on.is_not(None))))


# -- home pages ------------------------------------------------------------------------------

def waiting(user, today: date) -> list[dict]:
    """For the city HR bureau: unit documents to approve and unit committees to file; for an
    approved unit's clerks: what is still missing before it can open this year's plan."""
    out = []
    actor = Actor(user.tenant_id, user.id, user.name, user.role, user.org_id)
    if is_city_hr(actor):
        n = db.session.scalar(sa.select(sa.func.count(SelfReviewSetup.id)).where(
            SelfReviewSetup.tenant_id == user.tenant_id,
            SelfReviewSetup.status == SUBMITTED)) or 0
        if n:
            out.append({"label": _l("待审定的自主评审单位制度文件"), "count": n, "due": None,
                        "endpoint": "selfreview.units", "args": {}})
        n = db.session.scalar(sa.select(sa.func.count(Committee.id)).join(
            Org, Org.id == Committee.agency_org_id).where(
            Committee.tenant_id == user.tenant_id, Org.kind == OrgKind.self_review_unit.value,
            Committee.filed_on.is_(None))) or 0
        if n:
            out.append({"label": _l("待备案的自主评审单位评审委员会"), "count": n, "due": None,
                        "endpoint": "selfreview.units", "args": {}})
        return out
    if user.role not in UNIT_ROLES or unit_of(actor) is None:
        return out
    yplan = db.session.scalar(sa.select(SelfReviewYearPlan).filter_by(
        tenant_id=user.tenant_id, org_id=user.org_id, year=today.year))
    if yplan is not None and yplan.status == OPEN:
        return out
    from ..tenancy import config_for
    found = missing(config_for(user.tenant_id), user.tenant_id, user.org_id, yplan, today.year)
    if found:
        out.append({"label": _l("开放自主评审申报前尚缺事项"), "count": len(found), "due": None,
                    "endpoint": "selfreview.run", "args": {}})
    elif yplan is not None:
        out.append({"label": _l("年度自主评审计划待开放申报"), "count": 1, "due": None,
                    "endpoint": "selfreview.run", "args": {}})
    return out
