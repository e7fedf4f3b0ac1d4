"""Becoming a self-review unit (seed 002, 北京市职称自主评审管理办法): who may apply (第五条,
SR-ELIG-1), the conditions checked on the application (第七条, SR-ELIG-2), and the route through
the recommending office to the city HR bureau's evaluation group and decision (第八条,
SR-APPLY-1). Every step after filing goes through the transition service."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from flask_babel import lazy_gettext as _l

from .. import uploads
from ..extensions import db
from ..models import Org, Role
from ..models.self_review import SelfReviewApplication
from ..tenancy.schema import EmployerKind, OrgKind, Tier
from .actors import Actor
from .directed import is_city_hr
from .errors import Forbidden, Invalid
from .transitions import Ctx, Rule, _district_hr_id, audit, register

# -- vocabularies ------------------------------------------------------------------------------

ENTERPRISE, INSTITUTION, CIVIL_SERVICE, RD_INSTITUTE = (
    "enterprise", "public_institution", "civil_service_institution", "rd_institute")
# 第五条: the three kinds of unit that may apply, and the one kind of institution that may not.
UNIT_TYPES = {
    ENTERPRISE: _l("规模以上企业"),
    INSTITUTION: _l("事业单位"),
    CIVIL_SERVICE: _l("参照公务员法管理的事业单位"),
    RD_INSTITUTE: _l("新型研发机构（含国家实验室）"),
}
ELIGIBLE_TYPES = (ENTERPRISE, INSTITUTION, RD_INSTITUTE)

CITY, DISTRICT, NON_PUBLIC, RD = "city", "district", "non_public", "rd"
OWNERSHIP = {CITY: _l("市属国有企事业单位"), DISTRICT: _l("区属企事业单位"),
             NON_PUBLIC: _l("非公经济组织"), RD: _l("新型研发机构（含国家实验室）")}

AWAITING_RECOMMENDATION, AWAITING_EVALUATION, IN_EVALUATION = (
    "awaiting_recommendation", "awaiting_evaluation", "in_evaluation")
NOT_RECOMMENDED, APPROVED, REFUSED = "not_recommended", "approved", "refused"
OPEN = (AWAITING_RECOMMENDATION, AWAITING_EVALUATION, IN_EVALUATION)
STATUS_LABELS = {
    AWAITING_RECOMMENDATION: _l("待主管部门审核推荐"),
    AWAITING_EVALUATION: _l("待市人社局组织评估"),
    IN_EVALUATION: _l("评估中"),
    NOT_RECOMMENDED: _l("未获推荐"),
    APPROVED: _l("已确定为自主评审单位"),
    REFUSED: _l("未通过评估"),
}
# 第八条(四): the four aspects the evaluation group assesses.
ASPECTS = {
    "qualification": _l("资质与基础条件"),
    "rules": _l("评审制度与标准"),
    "experts": _l("专家队伍与评审能力"),
    "contribution": _l("社会责任与贡献"),
}
DOCUMENTS = {"plan": _l("评审工作方案"), "standards": _l("评价标准")}
APPLYING_KINDS = (OrgKind.employer.value, OrgKind.self_review_unit.value)
# Who sees the applications page: units that may apply, and the offices that recommend or decide.
VIEWER_ROLES = (Role.employer_clerk.value, Role.department_clerk.value, Role.hr_officer.value)
MAX_TEXT = 2000


# -- who recommends (第八条(一)(二)) -----------------------------------------------------------

def ownership_of(org: Org, unit_type: str) -> str:
    """New R&D institutes file with the city HR bureau whoever owns them; otherwise non-public
    organisations, district-owned and city-owned units, from the unit's registration."""
    if unit_type == RD_INSTITUTE:
        return RD
    if org.employer_kind == EmployerKind.non_public.value:
        return NON_PUBLIC
    return CITY if org.tier == Tier.city.value else DISTRICT


def departments(tenant_id: int) -> list[Org]:
    return db.session.scalars(sa.select(Org).where(
        Org.tenant_id == tenant_id, Org.kind == OrgKind.department.value,
        Org.closed_on.is_(None)).order_by(Org.name)).all()


def recommender_for(org: Org, ownership: str, department_id=None):
    """(recommending office or None, problem or None). City-owned units: their supervising
    department (the one they are registered under, or the one they name); district-owned units
    and non-public organisations: the HR bureau of their district; R&D institutes: nobody."""
    if ownership == RD:
        return None, None
    if ownership == CITY:
        parent = org.parent if org.parent and org.parent.kind == OrgKind.department.value \
            else None
        try:
            chosen = int(department_id or 0)
        except (TypeError, ValueError):
            chosen = 0
        if parent is not None:
            if chosen and chosen != parent.id:
                return None, _l("市属单位向其主管部门（%(d)s）提交申请。", d=parent.name)
            return parent, None
        dept = db.session.get(Org, chosen) if chosen else None
        if dept is None or dept.tenant_id != org.tenant_id or \
                dept.kind != OrgKind.department.value:
            return None, _l("市属单位须选择其主管部门。")
        return dept, None
    hr_id = _district_hr_id(org) if org.district else None
    if hr_id is None:
        return None, _l("区属单位和非公经济组织向所在区人力资源社会保障局提交申请；"
                        "本单位登记信息中没有所在区，请先联系所在区人社局更正。")
    return db.session.get(Org, hr_id), None


# -- the conditions (第五条, 第七条) ---------------------------------------------------------

def _count(value) -> int | None:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return n if 0 <= n <= 10_000_000 else None


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def eligibility_problems(cfg, data: dict) -> tuple[list, dict]:
    """The problems with an application's data (empty: it may be filed) and the cleaned values."""
    problems, clean = [], {}
    unit_type = data.get("unit_type") or ""
    if unit_type == CIVIL_SERVICE:
        # 第五条(二): institutions managed under the Civil Servant Law may not apply.
        problems.append(_l("参照公务员法管理的事业单位不在可申请开展职称自主评审的单位范围内"
                           "（自主评审办法第五条）。"))
    elif unit_type not in ELIGIBLE_TYPES:
        problems.append(_l("请选择单位类型。"))
    clean["unit_type"] = unit_type
    # A university or party school among public institutions may entrust academic review
    # (BJ23-SELF-1); recorded only for a public institution.
    kind = data.get("institution_kind") or ""
    if kind not in ("", "university", "party_school"):
        problems.append(_l("请选择事业单位类别。"))
    clean["institution_kind"] = kind if unit_type == INSTITUTION else ""
    if not data.get("legal_person"):
        problems.append(_l("申请单位须具备独立法人资格（第七条(一)）。"))
    total, professional = _count(data.get("total_staff")), _count(data.get("professional_staff"))
    if not total:
        problems.append(_l("请填写职工总数（正整数）。"))
    if professional is None:
        problems.append(_l("请填写专业技术人员数（整数）。"))
    relaxation = (data.get("relaxation") or "").strip()[:MAX_TEXT]
    if total and professional is not None:
        minimum = cfg.policies.self_review.min_professional_share
        if professional > total:
            problems.append(_l("专业技术人员数不能超过职工总数。"))
        elif professional / total < minimum and not relaxation:
            problems.append(_l(
                "专业技术人员%(p)d人，占职工总数%(t)d人的%(s)s，低于%(m)s（第七条(二)）。"
                "在关键技术领域取得重大突破、做出重大贡献的单位可说明情况申请适当放宽条件"
                "（第七条(六)）。", p=professional, t=total, s=percent(professional / total),
                m=percent(minimum)))
    clean.update(total_staff=total or 0, professional_staff=professional or 0,
                 relaxation=relaxation)

    scope, known = [], {}
    for s in cfg.tenant.series:
        for lv in s.levels:
            known[f"{s.code}:{lv}"] = (s.code, lv)
    for key in data.get("scope") or []:
        if key not in known:
            problems.append(_l("所选评审系列或级别不存在。"))
            break
        pair = {"series": known[key][0], "level": known[key][1]}
        if pair not in scope:
            scope.append(pair)
    if not scope:
        problems.append(_l("请选择申请自主评审的系列和级别。"))
    clean["scope"] = scope

    experts = []
    for row in data.get("experts") or []:
        key, n = (row.get("key") or "").strip(), _count(row.get("count"))
        if not key and not str(row.get("count") or "").strip():
            continue
        series, _, specialty = key.partition(":")
        s = cfg.series(series)
        if s is None or (specialty and cfg.specialty(series, specialty) is None):
            problems.append(_l("高级职称评审专家的专业不存在。"))
            continue
        if not n:
            problems.append(_l("请填写每个专业的高级职称评审专家人数（正整数）。"))
            continue
        experts.append({"series": series, "specialty": specialty or None, "count": n})
    if not experts:
        problems.append(_l("请按专业填写可担任评审专家的高级职称人员人数（第七条(三)）。"))
    else:
        covered = {e["series"] for e in experts}
        missing = sorted({p["series"] for p in scope} - covered)
        for code in missing:
            s = cfg.series(code)
            problems.append(_l("申请评审的%(s)s系列没有相关专业的高级职称评审专家（第七条(三)）。",
                               s=s.name if s else code))
    clean["senior_experts"] = experts

    influence = (data.get("influence") or "").strip()
    if not influence:
        problems.append(_l("请说明自主评审的专业在行业内的影响力和专业发展水平（第七条(四)）。"))
    clean["influence"] = influence[:MAX_TEXT]
    return problems, clean


def open_application(tenant_id: int, org_id: int) -> SelfReviewApplication | None:
    return db.session.scalar(sa.select(SelfReviewApplication).where(
        SelfReviewApplication.tenant_id == tenant_id, SelfReviewApplication.org_id == org_id,
        SelfReviewApplication.status.in_(OPEN)))


def may_apply(actor: Actor) -> Org | None:
    """The unit an actor applies for, or None."""
    if actor.role != Role.employer_clerk.value or not actor.org_id:
        return None
    org = db.session.get(Org, actor.org_id)
    if org is None or org.tenant_id != actor.tenant_id or org.kind not in APPLYING_KINDS \
            or org.closed_on is not None:
        return None
    return org


def file(cfg, actor: Actor, data: dict, documents: dict) -> SelfReviewApplication:
    """File the unit's application with its recommending office (or the city HR bureau for a
    new R&D institute). `documents`: {"plan"|"standards": (filename, bytes)}. Invalid with every
    problem at once, and nothing saved, when anything is wrong."""
    org = may_apply(actor)
    if org is None:
        raise Forbidden(_l("无权进行此操作。"))
    problems, clean = eligibility_problems(cfg, data)
    if open_application(actor.tenant_id, org.id) is not None:
        problems.insert(0, _l("本单位已有一份申请正在办理中。"))
    ownership = ownership_of(org, clean["unit_type"])
    recommender, why = (None, None)
    if clean["unit_type"] in ELIGIBLE_TYPES:
        recommender, why = recommender_for(org, ownership, data.get("department_org_id"))
        if why is not None:
            problems.append(why)
    accepted = {}
    for key, name in DOCUMENTS.items():
        filename, content = documents.get(key) or ("", b"")
        if not content:
            problems.append(_l("请上传%(d)s（第七条(五)）。", d=name))
            continue
        try:
            accepted[key] = ((filename or key)[-200:], *uploads.accept_scan(content, cfg))
        except Invalid as e:
            problems.append(_l("%(d)s：%(m)s", d=name, m=e.message))
    if problems:
        raise Invalid(_l("申请未提交："), problems=problems)
    stored = []
    try:
        values = {}
        for key, (filename, content, mime) in accepted.items():
            name, sha = uploads.store(cfg.slug, content, mime)
            stored.append(name)
            values.update({f"{key}_filename": filename, f"{key}_stored": name,
                           f"{key}_mime": mime, f"{key}_sha256": sha})
        row = SelfReviewApplication(
            tenant_id=actor.tenant_id, org_id=org.id, version=1,
            status=AWAITING_EVALUATION if recommender is None else AWAITING_RECOMMENDATION,
            ownership=ownership, legal_person=True,
            recommender_org_id=recommender.id if recommender else None,
            recommender_opinion="", evaluation_group=[], findings={}, decision_note="",
            approved_scope=[], created_by=actor.user_id, **clean, **values)
        db.session.add(row)
        db.session.flush()
        audit(actor, SelfReviewApplication.__tablename__, row.id, "file",
              reason=ownership, to_state=row.status)
        db.session.commit()
    except Exception:
        db.session.rollback()
        for name in stored:
            uploads.remove(cfg.slug, name)
        raise
    return row


# -- the steps after filing, through the transition service ------------------------------------

def _is_recommender(actor: Actor, a: SelfReviewApplication) -> bool:
    return (a.recommender_org_id is not None and actor.org_id == a.recommender_org_id
            and actor.role in (Role.department_clerk.value, Role.hr_officer.value))


def _is_city_hr(actor: Actor, a: SelfReviewApplication) -> bool:
    return actor.role == Role.hr_officer.value and is_city_hr(actor.org_id)


def _opinion(ctx: Ctx, message) -> str:
    text = (ctx.params.get("opinion") or "").strip()
    if not text:
        raise Invalid(message)
    return text[:MAX_TEXT]


def _recommend(a, ctx: Ctx) -> dict:
    return {"status": AWAITING_EVALUATION,
            "recommender_opinion": _opinion(ctx, _l("请填写推荐意见。"))}


def _not_recommend(a, ctx: Ctx) -> dict:
    return {"status": NOT_RECOMMENDED, "decided_on": ctx.now.date(),
            "recommender_opinion": _opinion(ctx, _l("请填写不予推荐的理由。"))}


def clean_group(raw) -> list[str]:
    text = raw if isinstance(raw, str) else "\n".join(raw or [])
    names = []
    for part in text.replace("，", "\n").replace(",", "\n").replace("、", "\n").splitlines():
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def _form_group(a, ctx: Ctx) -> dict:
    names = clean_group(ctx.params.get("group"))
    if len(names) < 2 or len(names) > 30 or any(len(n) > 60 for n in names):
        raise Invalid(_l("评估组须列出成员姓名（2至30人，每行一人或以逗号分隔）。"))
    return {"status": IN_EVALUATION, "evaluation_group": names}


def _findings(ctx: Ctx) -> dict:
    raw = ctx.params.get("findings") or {}
    found = {k: (raw.get(k) or "").strip()[:MAX_TEXT] for k in ASPECTS}
    missing = [ASPECTS[k] for k, v in found.items() if not v]
    if missing:
        raise Invalid(_l("请记录评估组对以下方面的评估意见（第八条(四)）："), problems=missing)
    return found


def _approve(a, ctx: Ctx) -> dict:
    """Approved for the series and levels the bureau ticks, all or some of those applied for
    (none ticked: the whole request)."""
    findings = _findings(ctx)
    chosen = ctx.params.get("approved")
    scope = list(a.scope)
    if chosen is not None:
        keys = {f"{p['series']}:{p['level']}" for p in scope}
        if not chosen or any(k not in keys for k in chosen):
            raise Invalid(_l("请勾选批准自主评审的系列和级别（须在申请范围内）。"))
        scope = [p for p in scope if f"{p['series']}:{p['level']}" in set(chosen)]
    return {"status": APPROVED, "findings": findings, "decided_on": ctx.now.date(),
            "decision_note": (ctx.params.get("opinion") or "").strip()[:MAX_TEXT],
            "approved_scope": scope}


def _refuse(a, ctx: Ctx) -> dict:
    findings = _findings(ctx)
    return {"status": REFUSED, "findings": findings, "decided_on": ctx.now.date(),
            "decision_note": _opinion(ctx, _l("请填写不予确定的理由。"))}


register(SelfReviewApplication, {
    "recommend": Rule((AWAITING_RECOMMENDATION,), _is_recommender, lambda a: None, _recommend),
    "not_recommend": Rule((AWAITING_RECOMMENDATION,), _is_recommender, lambda a: None,
                          _not_recommend),
    "form_group": Rule((AWAITING_EVALUATION,), _is_city_hr, lambda a: None, _form_group),
    "approve": Rule((IN_EVALUATION,), _is_city_hr, lambda a: None, _approve),
    "refuse": Rule((IN_EVALUATION,), _is_city_hr, lambda a: None, _refuse),
}, labels=STATUS_LABELS)
ACTIONS = ("recommend", "not_recommend", "form_group", "approve", "refuse")


# -- who sees what -------------------------------------------------------------------------------

def may_see(actor: Actor, a: SelfReviewApplication) -> bool:
    if a.tenant_id != actor.tenant_id:
        return False
    if actor.role == Role.employer_clerk.value and actor.org_id == a.org_id:
        return True
    return _is_recommender(actor, a) or _is_city_hr(actor, a)


def visible(actor: Actor) -> list[SelfReviewApplication]:
    """The applications an office deals with (its own, those it recommends, all for the city
    HR bureau), open ones first."""
    q = sa.select(SelfReviewApplication).where(SelfReviewApplication.tenant_id == actor.tenant_id)
    if actor.role == Role.hr_officer.value and is_city_hr(actor.org_id):
        pass
    elif actor.role in (Role.department_clerk.value, Role.hr_officer.value):
        q = q.where(SelfReviewApplication.recommender_org_id == actor.org_id)
    elif actor.role == Role.employer_clerk.value:
        q = q.where(SelfReviewApplication.org_id == actor.org_id)
    else:
        return []
    rows = db.session.scalars(q.options(joinedload(SelfReviewApplication.org),
                                        joinedload(SelfReviewApplication.recommender))
                              .order_by(SelfReviewApplication.id.desc()).limit(300)).all()
    return sorted(rows, key=lambda r: r.status not in OPEN)


def approved_scope(tenant_id: int, org_id: int) -> list[dict]:
    """The series and levels the city HR bureau approved the unit to evaluate (the latest
    approval), empty when it is not a self-review unit by approval here."""
    scope = db.session.scalar(sa.select(SelfReviewApplication.approved_scope).where(
        SelfReviewApplication.tenant_id == tenant_id, SelfReviewApplication.org_id == org_id,
        SelfReviewApplication.status == APPROVED)
        .order_by(SelfReviewApplication.decided_on.desc(), SelfReviewApplication.id.desc())
        .limit(1))  # the column alone: every page's navigation asks for an employer's clerk
    return list(scope) if scope else []


def waiting(user, today: date) -> list[dict]:
    """Applications awaiting this office: a recommendation (its supervising department or
    district HR bureau), or the city HR bureau's evaluation. One query per kind."""
    role, org_id, tid = user.role, user.org_id, user.tenant_id
    if role not in (Role.department_clerk.value, Role.hr_officer.value) or not org_id:
        return []
    out = []
    n = db.session.scalar(sa.select(sa.func.count(SelfReviewApplication.id)).where(
        SelfReviewApplication.tenant_id == tid, SelfReviewApplication.recommender_org_id == org_id,
        SelfReviewApplication.status == AWAITING_RECOMMENDATION)) or 0
    if n:
        out.append({"label": _l("待推荐的自主评审申请"), "count": n, "due": None,
                    "endpoint": "selfreview.index", "args": {}})
    if role == Role.hr_officer.value and is_city_hr(org_id):
        n = db.session.scalar(sa.select(sa.func.count(SelfReviewApplication.id)).where(
            SelfReviewApplication.tenant_id == tid,
            SelfReviewApplication.status.in_((AWAITING_EVALUATION, IN_EVALUATION)))) or 0
        if n:
            out.append({"label": _l("待评估的自主评审申请"), "count": n, "due": None,
                        "endpoint": "selfreview.index", "args": {}})
    return out
