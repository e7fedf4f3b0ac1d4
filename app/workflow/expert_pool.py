"""Running the expert pool: entry by recommendation or invitation, the agency's vetting and the
city HR bureau's approval (AE-EXP-1, AE-EXP-6); the expert's own updates checked by their
employer and the agency (AE-EXP-4); pre-review training before the year's first ballot
(AE-DUTY-1); the yearly assessment, renewal of terms and exit (AE-SUPERV-1, AE-EXP-4/5)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Expert, ExpertRole, Org, PanelMember, ReviewSession, Role
from ..models.expert_pool import ExpertAssessment, ExpertChange, ExpertTraining
from ..tenancy.schema import EmployerKind, OrgKind, Tier
from .abilities import at_city_hr
from .actors import Actor
from .directed import is_city_hr
from .errors import Forbidden, Invalid
from .experts import EXIT_REASONS, conditions, term_end
from .ids import clean_id_number, clean_mobile, encrypt_id, id_hash, mask_id, mask_mobile
from .transitions import Ctx, Rule, audit, register, transition

# -- states ------------------------------------------------------------------------------------

NOMINATED, VETTED, APPROVED, RETURNED = "nominated", "vetted", "approved", "returned"
STATUS_LABELS = {NOMINATED: _l("待评审服务机构审核"), VETTED: _l("待市人社局批准"),
                 APPROVED: _l("已入库"), RETURNED: _l("已退回")}
EMPLOYER_CHECK, AGENCY_CHECK, APPLIED, CHANGE_RETURNED = (
    "employer_check", "agency_check", "applied", "returned")
CHANGE_LABELS = {EMPLOYER_CHECK: _l("待所在单位核对"), AGENCY_CHECK: _l("待评审服务机构核对"),
                 APPLIED: _l("已生效"), CHANGE_RETURNED: _l("已退回")}
# What an expert keeps current themselves (AE-EXP-4); the mobile travels encrypted beside it.
CHANGE_FIELDS = ("title_level", "title_year", "series", "specialty", "employer_org_id",
                 "employer_name", "available")
RECOMMENDERS = (Role.department_clerk.value, Role.hr_officer.value)
# Units recommended by the district HR bureau whatever their tier (第十五条(一)).
DISTRICT_KINDS = (EmployerKind.central_unit.value, EmployerKind.non_public.value)


# -- who recommends whom (AE-EXP-1) --------------------------------------------------------------

def recommender_refusal(recommender: Org | None, employer: Org | None):
    """Why `recommender` may not recommend an expert working at `employer` (None: it may).
    Municipal units are recommended by their supervising department; district units, central
    units and non-public organisations by the HR bureau of their district (第十五条(一))."""
    if employer is None or employer.kind not in (OrgKind.employer.value,
                                                 OrgKind.self_review_unit.value):
        return _l("组织推荐须选择专家在本系统登记的工作单位。")
    if recommender is None:
        return _l("无权推荐专家。")
    district_unit = (employer.tier == Tier.county.value
                     or employer.employer_kind in DISTRICT_KINDS)
    if district_unit:
        if not (recommender.kind == OrgKind.hr_bureau.value
                and recommender.tier == Tier.county.value
                and recommender.district and recommender.district == employer.district):
            return _l("区属单位、中央在京单位和非公经济组织的专家，由所在区人力资源社会保障部门推荐；"
                      "%(unit)s不属本部门推荐范围。", unit=employer.name)
        return None
    supervisor = employer.parent if employer.parent and \
        employer.parent.kind == OrgKind.department.value else None
    if recommender.kind != OrgKind.department.value or (
            supervisor is not None and supervisor.id != recommender.id):
        return _l("市属单位的专家，按管理权限由行业主管部门推荐；%(unit)s不属本部门推荐范围。",
                  unit=employer.name)
    return None


def _tenant_org(tenant_id: int, org_id, kinds: tuple[str, ...]) -> Org | None:
    try:
        org_id = int(org_id or 0)
    except (TypeError, ValueError):
        return None
    org = db.session.get(Org, org_id) if org_id else None
    return org if org is not None and org.tenant_id == tenant_id and org.kind in kinds else None


def _common_problems(cfg, data: dict) -> list:
    problems = []
    series = cfg.series(data.get("series") or "")
    if series is None:
        problems.append(_l("请选择评审系列。"))
    elif data.get("specialty") and data["specialty"] not in {sp.code for sp in series.specialties}:
        problems.append(_l("所选专业不属于该评审系列。"))
    if data.get("title_level") not in ("associate_senior", "senior"):
        problems.append(_l("专家须具有副高级或正高级职称。"))
    try:
        year = int(data.get("title_year") or 0)
    except (TypeError, ValueError):
        year = 0
    if not 1960 <= year <= date.today().year + 1:
        problems.append(_l("请填写取得职称年份。"))
    return problems


def may_invite(actor) -> bool:
    """Measures 第十五条(二): the city HR bureau invites experts into the pool."""
    return at_city_hr(actor.role, actor.org_id, actor.tenant_id)


def nominate(cfg, actor: Actor, data: dict, today: date) -> Expert:
    """File a nomination: a recommending office for an expert of a unit it is responsible for
    (第十五条(一)), or the city HR bureau inviting one (第十五条(二)) (AE-EXP-1). Either names the
    agency that vets it (第十七条)."""
    if may_invite(actor):
        route = "invited"
    elif actor.role in RECOMMENDERS:
        route = "recommended"
    else:
        raise Forbidden(_l("无权进行此操作。"))
    problems = _common_problems(cfg, data)
    name = (data.get("name") or "").strip()
    if not name or len(name) > 60:
        problems.append(_l("请填写姓名。"))
    if data.get("gender") not in ("male", "female"):
        problems.append(_l("请选择性别。"))
    number = clean_id_number(data.get("id_number") or "")
    again = None  # a nomination of ours that was returned: filed again, corrected
    if number is None:
        problems.append(_l("身份证号码格式不正确。"))
    else:
        known = db.session.scalar(sa.select(Expert).filter_by(tenant_id=actor.tenant_id,
                                                              id_number_hash=id_hash(number)))
        if known is not None and known.status == RETURNED and \
                actor.org_id == known.recommended_by_org_id:
            again = known
        elif known is not None:
            problems.append(_l("该身份证号码的专家已在库中或已被推荐。"))
    mobile = clean_mobile(data.get("mobile") or "")
    if mobile is None:
        problems.append(_l("请填写正确的手机号码。"))
    birth = data.get("birth_date")
    if not isinstance(birth, date):
        problems.append(_l("请填写出生日期。"))
    employer = _tenant_org(actor.tenant_id, data.get("employer_org_id"),
                           (OrgKind.employer.value, OrgKind.self_review_unit.value))
    employer_name = (data.get("employer_name") or "").strip()[:200]
    if route == "recommended":
        recommender = db.session.get(Org, actor.org_id) if actor.org_id else None
        why = recommender_refusal(recommender, employer)
        if why is not None:
            problems.append(why)
    elif employer is None and not employer_name:
        problems.append(_l("请填写工作单位。"))
    agency = _tenant_org(actor.tenant_id, data.get("agency_org_id"),
                         (OrgKind.agency.value, OrgKind.self_review_unit.value))
    if agency is None:
        problems.append(_l("请选择负责审核的评审服务机构。"))
    if problems:
        raise Invalid(_l("未提交："), problems=problems)
    values = dict(
        tenant_id=actor.tenant_id, name=name, gender=data["gender"], birth_date=birth,
        title_level=data["title_level"], title_year=int(data["title_year"]),
        series=data["series"], specialty=data.get("specialty") or None,
        employer_org_id=employer.id if employer else None,
        employer_name=employer.name if employer else employer_name,
        private_sector=bool(employer and employer.employer_kind == EmployerKind.non_public.value)
        or bool(data.get("private_sector")),
        role=ExpertRole.member.value, entry_route=route,
        recommended_by_org_id=actor.org_id,  # the recommending office, or the inviting bureau
        agency_org_id=agency.id, term_start=today, terms=1, status=NOMINATED,
        id_number_enc=encrypt_id(number), id_number_hash=id_hash(number),
        id_number_masked=mask_id(number), mobile_enc=encrypt_id(mobile),
        mobile_masked=mask_mobile(mobile), decision_note="")
    if again is not None:
        for key, value in values.items():
            setattr(again, key, value)
        again.version += 1
        expert = again
    else:
        expert = Expert(**values)
        db.session.add(expert)
    db.session.flush()
    audit(actor, "experts", expert.id, "nominate", reason=route, to_state=NOMINATED,
          from_state=RETURNED if again is not None else None)
    db.session.commit()
    return expert


# -- vetting and approval (AE-EXP-6), through the transition service ----------------------------

def _is_vetting_agency(actor: Actor, expert: Expert) -> bool:
    return actor.role == Role.agency_clerk.value and actor.org_id == expert.agency_org_id


def _is_city_hr(actor: Actor, expert: Expert) -> bool:
    return actor.role == Role.hr_officer.value and is_city_hr(actor.org_id)


def _vet_pass(expert: Expert, ctx: Ctx) -> dict:
    # The expert conditions (AE-EXP-2) at least for associate-senior reviews.
    found = conditions(ctx.cfg, expert, "associate_senior", ctx.now.date())
    if found:
        raise Invalid(_l("不符合专家入库条件："), problems=found)
    role = ctx.params.get("role") or expert.role
    if role not in {r.value for r in ExpertRole}:
        raise Invalid(_l("请选择专家角色。"))
    return {"status": VETTED, "role": role, "decision_note": ""}


def _with_reason(status: str):
    def apply(expert: Expert, ctx: Ctx) -> dict:
        reason = (ctx.params.get("opinion") or "").strip()
        if not reason:
            raise Invalid(_l("请填写退回理由。"))
        return {"status": status, "decision_note": reason[:2000]}
    return apply


def _approve(expert: Expert, ctx: Ctx) -> dict:
    # The first term starts with the approval (AE-EXP-4).
    day = ctx.now.date()
    updates = {"status": APPROVED, "approved_on": day, "term_start": day, "terms": 1,
               "decision_note": ""}
    account = ctx.params.get("account")
    if expert.user_id is None and expert.mobile_enc and account is not None:
        updates["user_id"] = _open_account(expert, account)
        if updates["user_id"] is None:
            del updates["user_id"]
    return updates


def _open_account(expert: Expert, account: dict) -> int | None:
    """The approved expert's account, signing in with their mobile number and a one-time
    password for the approving clerk to pass on (as for the agency's own entries). None when the
    number already signs in to another account."""
    import secrets

    from ..models import User
    from .accounts import hash_password
    from .ids import decrypt_id
    from .people import find_login

    number = decrypt_id(expert.mobile_enc)
    if find_login(expert.tenant_id, number) is not None:
        account["taken"] = True
        return None
    password = secrets.token_urlsafe(9)
    user = User(tenant_id=expert.tenant_id, username=None, mobile=number, name=expert.name,
                role=Role.expert.value, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    account["password"] = password
    return user.id


register(Expert, {
    "vet_pass": Rule((NOMINATED,), _is_vetting_agency, lambda e: None, _vet_pass),
    "vet_return": Rule((NOMINATED,), _is_vetting_agency, lambda e: None, _with_reason(RETURNED)),
    "approve": Rule((VETTED,), _is_city_hr, lambda e: None, _approve),
    "approval_return": Rule((VETTED,), _is_city_hr, lambda e: None, _with_reason(RETURNED)),
}, labels=STATUS_LABELS)


def nominations_by(tenant_id: int, org_id: int) -> list[Expert]:
    """What this office recommended or (the city HR bureau) invited, newest first."""
    return db.session.scalars(sa.select(Expert).where(
        Expert.tenant_id == tenant_id, Expert.recommended_by_org_id == org_id)
        .order_by(Expert.id.desc()).limit(200)).all()


def to_vet(tenant_id: int, agency_org_id: int) -> list[Expert]:
    return db.session.scalars(sa.select(Expert).filter_by(
        tenant_id=tenant_id, agency_org_id=agency_org_id, status=NOMINATED)
        .order_by(Expert.id)).all()


def to_approve(tenant_id: int) -> list[Expert]:
    return db.session.scalars(sa.select(Expert).filter_by(tenant_id=tenant_id, status=VETTED)
                              .order_by(Expert.id)).all()


# -- the expert's own data (AE-EXP-4) ------------------------------------------------------------

def pending_change(expert: Expert) -> ExpertChange | None:
    return db.session.scalar(sa.select(ExpertChange).where(
        ExpertChange.expert_id == expert.id,
        ExpertChange.status.in_((EMPLOYER_CHECK, AGENCY_CHECK))))


def propose_change(cfg, actor: Actor, expert: Expert, data: dict) -> ExpertChange:
    """The expert's update: pending until their employer (when registered here) and the agency
    check it. Nothing of it counts before."""
    if actor.role != Role.expert.value or expert.user_id != actor.user_id:
        raise Forbidden(_l("无权进行此操作。"))
    if expert.exited_on is not None:
        raise Invalid(_l("已退出专家库，不能更新信息。"))
    if pending_change(expert) is not None:
        raise Invalid(_l("上一次更新尚在核对中，核对完成后才能再次更新。"))
    problems = _common_problems(cfg, data)
    employer = _tenant_org(actor.tenant_id, data.get("employer_org_id"),
                           (OrgKind.employer.value, OrgKind.self_review_unit.value))
    employer_name = employer.name if employer else (data.get("employer_name") or "").strip()[:200]
    if not employer_name:
        problems.append(_l("请填写工作单位。"))
    raw_mobile = (data.get("mobile") or "").strip()
    mobile = clean_mobile(raw_mobile) if raw_mobile else None
    if raw_mobile and mobile is None:
        problems.append(_l("请填写正确的手机号码。"))
    if problems:
        raise Invalid(_l("未提交："), problems=problems)
    proposed = {"title_level": data["title_level"], "title_year": int(data["title_year"]),
                "series": data["series"], "specialty": data.get("specialty") or None,
                "employer_org_id": employer.id if employer else None,
                "employer_name": employer_name, "available": bool(data.get("available"))}
    current = {k: getattr(expert, k) for k in CHANGE_FIELDS}
    if proposed == current and mobile is None:
        raise Invalid(_l("信息没有变化。"))
    change = ExpertChange(tenant_id=actor.tenant_id, expert_id=expert.id, data=proposed,
                          employer_org_id=employer.id if employer else None,
                          status=EMPLOYER_CHECK if employer else AGENCY_CHECK, opinion="",
                          mobile_enc=encrypt_id(mobile) if mobile else None,
                          mobile_masked=mask_mobile(mobile) if mobile else None)
    db.session.add(change)
    db.session.flush()
    audit(actor, "expert_changes", change.id, "propose", to_state=change.status)
    db.session.commit()
    return change


def _is_checking_employer(actor: Actor, change: ExpertChange) -> bool:
    return actor.role == Role.employer_clerk.value and actor.org_id == change.employer_org_id


def _is_experts_agency(actor: Actor, change: ExpertChange) -> bool:
    agency = change.expert.agency_org_id
    return actor.role == Role.agency_clerk.value and (agency is None or actor.org_id == agency)


def _apply_change(change: ExpertChange, ctx: Ctx) -> dict:
    values = {k: change.data[k] for k in CHANGE_FIELDS if k in change.data}
    if change.mobile_enc:
        values.update(mobile_enc=change.mobile_enc, mobile_masked=change.mobile_masked)
    ctx.after.append(sa.update(Expert).where(Expert.id == change.expert_id)
                     .values(**values, version=Expert.version + 1))
    return {"status": APPLIED, "opinion": (ctx.params.get("opinion") or "").strip()[:2000]}


def _change_return(change: ExpertChange, ctx: Ctx) -> dict:
    reason = (ctx.params.get("opinion") or "").strip()
    if not reason:
        raise Invalid(_l("请填写退回理由。"))
    return {"status": CHANGE_RETURNED, "opinion": reason[:2000]}


register(ExpertChange, {
    "employer_pass": Rule((EMPLOYER_CHECK,), _is_checking_employer, lambda c: None,
                          lambda c, ctx: {"status": AGENCY_CHECK}),
    "employer_return": Rule((EMPLOYER_CHECK,), _is_checking_employer, lambda c: None,
                            _change_return),
    "agency_pass": Rule((AGENCY_CHECK,), _is_experts_agency, lambda c: None, _apply_change),
    "agency_return": Rule((AGENCY_CHECK,), _is_experts_agency, lambda c: None, _change_return),
}, labels=CHANGE_LABELS)


def _agency_changes(agency_org_id: int):
    return sa.and_(ExpertChange.status == AGENCY_CHECK, sa.or_(
        Expert.agency_org_id == agency_org_id, Expert.agency_org_id.is_(None)))


def changes_for(actor: Actor) -> list[ExpertChange]:
    """The changes waiting for this office's check."""
    q = sa.select(ExpertChange).join(Expert, Expert.id == ExpertChange.expert_id).where(
        ExpertChange.tenant_id == actor.tenant_id)
    if actor.role == Role.employer_clerk.value:
        q = q.where(ExpertChange.status == EMPLOYER_CHECK,
                    ExpertChange.employer_org_id == actor.org_id)
    elif actor.role == Role.agency_clerk.value:
        q = q.where(_agency_changes(actor.org_id))
    else:
        return []
    return db.session.scalars(q.order_by(ExpertChange.id)).all()


def change_visible(actor: Actor, change: ExpertChange) -> bool:
    """An office sees a change it checks or checked: the employer named in it, the agency."""
    if change.tenant_id != actor.tenant_id:
        return False
    if actor.role == Role.employer_clerk.value:
        return change.employer_org_id == actor.org_id
    if actor.role == Role.agency_clerk.value:
        return change.expert.agency_org_id in (None, actor.org_id)
    return False


# -- pre-review training (AE-DUTY-1) -------------------------------------------------------------

def record_training(actor: Actor, session: ReviewSession, expert_ids: list[int]) -> int:
    """The agency records which panel members attended the session's pre-review training."""
    if actor.role != Role.agency_clerk.value or actor.org_id != session.committee.agency_org_id:
        raise Forbidden(_l("无权进行此操作。"))
    panel = {m.expert_id for m in session.members}
    chosen = set(expert_ids) & panel
    if not chosen:
        raise Invalid(_l("请选择参加评前培训的专家。"))
    done = set(db.session.scalars(sa.select(ExpertTraining.expert_id).where(
        ExpertTraining.session_id == session.id, ExpertTraining.expert_id.in_(chosen))))
    new = sorted(chosen - done)
    for eid in new:
        db.session.add(ExpertTraining(tenant_id=session.tenant_id, session_id=session.id,
                                      expert_id=eid, year=session.held_on.year,
                                      recorded_by=actor.user_id))
    if new:
        audit(actor, "review_sessions", session.id, "training",
              reason=",".join(str(i) for i in new))
    db.session.commit()
    return len(new)


def trained_ids(session: ReviewSession) -> set[int]:
    return set(db.session.scalars(sa.select(ExpertTraining.expert_id)
                                  .filter_by(session_id=session.id)))


def training_refusal(session: ReviewSession, member: PanelMember):
    """Why this member may not vote yet (None: they may): the tenant asks for the year's training
    before a member's first ballot, and none is recorded for them this year."""
    from ..tenancy import config_for
    if not config_for(session.tenant_id).policies.experts.training_before_ballot:
        return None
    year = session.held_on.year
    if db.session.scalar(sa.select(ExpertTraining.id).filter_by(
            expert_id=member.expert_id, year=year).limit(1)) is not None:
        return None
    return _l("您尚未参加%(y)d年度的评前培训，不能投票：请评审服务机构先登记您参加培训。", y=year)


# -- yearly assessment, renewal, exit (AE-SUPERV-1, AE-EXP-4, AE-EXP-5) --------------------------

def _may_assess(actor: Actor, expert: Expert) -> bool:
    return actor.role == Role.agency_clerk.value and expert.agency_org_id in (None, actor.org_id)


def record_assessment(cfg, actor: Actor, expert: Expert, year: int, passed: bool | None,
                      note: str, today: date) -> ExpertAssessment:
    """Record the agency's assessment of `expert` for `year`. A failing expert leaves the pool with
    that reason; a passing one in the last year of a term is renewed for another, up to the
    tenant's most terms."""
    if not _may_assess(actor, expert) or expert.status != APPROVED:
        raise Forbidden(_l("无权进行此操作。"))
    if db.session.scalar(sa.select(ExpertAssessment.id).filter_by(expert_id=expert.id,
                                                                  year=year)):
        raise Invalid(_l("该专家%(y)d年度的考核已登记。", y=year))
    problems = []
    if passed is None:
        problems.append(_l("请选择考核结果。"))
    if not (expert.term_start.year <= year <= today.year):
        problems.append(_l("考核年度须在本届聘期开始至今之间。"))
    if expert.exited_on is not None:
        problems.append(_l("该专家已退出专家库。"))
    note = (note or "").strip()
    if passed is False and not note:
        problems.append(_l("考核不合格须写明理由。"))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    row = ExpertAssessment(tenant_id=expert.tenant_id, expert_id=expert.id, year=year,
                           passed=bool(passed), note=note[:2000], agency_org_id=actor.org_id,
                           recorded_by=actor.user_id)
    db.session.add(row)
    db.session.flush()
    audit(actor, "experts", expert.id, "assess", reason=f"{year}:{'pass' if passed else 'fail'}")
    if not passed:
        expert.exited_on, expert.exit_reason = today, "failed_assessment"
        expert.exit_note = note[:2000]
        audit(actor, "experts", expert.id, "exit", reason="failed_assessment")
    elif renewal_due(cfg, expert, year):
        expert.term_start, expert.terms = term_end(cfg, expert), expert.terms + 1
        audit(actor, "experts", expert.id, "renew", reason=str(expert.terms))
    expert.version += 1
    db.session.commit()
    return row


def renewal_due(cfg, expert: Expert, year: int) -> bool:
    """A pass in the year before the term ends renews it, below the most terms (第十九条)."""
    return (term_end(cfg, expert).year <= year + 1
            and expert.terms < cfg.policies.experts.max_terms)


def assessed(expert_ids: list[int]) -> dict[tuple[int, int], ExpertAssessment]:
    rows = db.session.scalars(sa.select(ExpertAssessment).where(
        ExpertAssessment.expert_id.in_(expert_ids or [0])))
    return {(r.expert_id, r.year): r for r in rows}


def exit_with_note(actor: Actor, expert: Expert, reason: str, note: str, day: date) -> None:
    """An exit for a reason of 第二十二条 (AE-EXP-5); "other" needs the reason written."""
    if reason not in EXIT_REASONS:
        raise Invalid(_l("请选择退出原因。"))
    if reason == "other" and not (note or "").strip():
        raise Invalid(_l("请写明退出原因。"))
    expert.exited_on, expert.exit_reason = day, reason
    expert.exit_note = (note or "").strip()[:2000]
    audit(actor, "experts", expert.id, "exit", reason=reason)
    db.session.commit()


# -- what waits for whom -------------------------------------------------------------------------

def waiting(user, today: date) -> list[dict]:
    """Work waiting in the expert pool for this user's office: nominations to vet or approve,
    self-service changes to check. One query per kind of item."""
    role, org_id, tid = user.role, user.org_id, user.tenant_id
    out = []

    def count(q) -> int:
        return db.session.scalar(q) or 0

    if role == Role.agency_clerk.value and org_id:
        n = count(sa.select(sa.func.count(Expert.id)).where(
            Expert.tenant_id == tid, Expert.agency_org_id == org_id, Expert.status == NOMINATED))
        if n:
            out.append({"label": _l("待审核的入库专家"), "count": n, "due": None,
                        "endpoint": "pool.vetting", "args": {}})
        n = count(sa.select(sa.func.count(ExpertChange.id))
                  .join(Expert, Expert.id == ExpertChange.expert_id)
                  .where(ExpertChange.tenant_id == tid, _agency_changes(org_id)))
        if n:
            out.append({"label": _l("待核对的专家信息变更"), "count": n, "due": None,
                        "endpoint": "pool.changes", "args": {}})
    elif role == Role.employer_clerk.value and org_id:
        n = count(sa.select(sa.func.count(ExpertChange.id)).where(
            ExpertChange.tenant_id == tid, ExpertChange.employer_org_id == org_id,
            ExpertChange.status == EMPLOYER_CHECK))
        if n:
            out.append({"label": _l("待核对的专家信息变更"), "count": n, "due": None,
                        "endpoint": "pool.changes", "args": {}})
    elif role == Role.hr_officer.value and is_city_hr(org_id):
        n = count(sa.select(sa.func.count(Expert.id)).where(Expert.tenant_id == tid,
                                                            Expert.status == VETTED))
        if n:
            out.append({"label": _l("待批准入库的专家"), "count": n, "due": None,
                        "endpoint": "pool.approvals", "args": {}})
    return out


__all__ = ["transition"]
