"""The expert pool: who may review what, computed from the data (AE-EXP-1…5, AE-CONF-1)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Expert, ExpertRole, utcnow
from .actors import Actor
from .errors import Forbidden, Invalid
from .transitions import audit

EXIT_REASONS = {
    "left_profession": _l("不再从事专业技术工作"), "health": _l("身体原因不能胜任"),
    "age": _l("超过退休年龄5年"), "failed_assessment": _l("考核不合格"), "other": _l("其他"),
}


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _retirement_age(cfg, expert: Expert) -> int:
    ages = cfg.policies.experts.retirement_age
    return ages.get(expert.gender) or max(ages.values(), default=60)


def term_end(cfg, expert: Expert) -> date:
    start = expert.term_start
    return date(start.year + cfg.policies.experts.term_years, start.month, min(start.day, 28))


def is_young(cfg, expert: Expert, day: date) -> bool:
    """Under the tenant's young-expert age on `day` (AE-EXP-2: 45周岁以下)."""
    return _age_on(expert.birth_date, day) < cfg.policies.experts.young_age


def ineligibility(cfg, expert: Expert, level: str, day: date) -> list:
    """Why this expert may not review `level` on `day` (empty: they may). The years, ages and
    terms are the tenant's (AE-EXP-2, AE-EXP-4)."""
    rules, out = cfg.policies.experts, []
    if expert.exited_on and expert.exited_on <= day:
        out.append(_l("已退出专家库"))
    out += conditions(cfg, expert, level, day)
    if expert.terms > rules.max_terms:
        out.append(_l("聘期已满%(n)d届", n=rules.max_terms))
    if not (expert.term_start <= day < term_end(cfg, expert)):
        out.append(_l("不在聘期内"))
    return out


def conditions(cfg, expert: Expert, level: str, day: date) -> list:
    """The expert conditions alone (AE-EXP-2): title held long enough for `level`, under the
    statutory retirement age; checked at entry and at every draw."""
    rules, out = cfg.policies.experts, []
    held = day.year - expert.title_year
    top = _l("评审正高级须具有正高级职称%(n)d年以上", n=rules.senior_years)
    base = _l("须具有副高级职称%(n)d年以上或正高级职称", n=rules.associate_years)
    if expert.title_level == "senior":
        if level == "senior" and held < rules.senior_years:
            out.append(top)
    elif expert.title_level == "associate_senior":
        if level == "senior":
            out.append(top)
        elif held < rules.associate_years:
            out.append(base)
    else:
        out.append(base)
    if _age_on(expert.birth_date, day) >= _retirement_age(cfg, expert):
        out.append(_l("已到法定退休年龄"))
    return out


def must_exit(cfg, expert: Expert, day: date) -> bool:
    """Past retirement age by the tenant's years: the expert leaves the pool (AE-EXP-5)."""
    return _age_on(expert.birth_date, day) >= (_retirement_age(cfg, expert)
                                               + cfg.policies.experts.exit_years_after_retirement)


def pool(tenant_id: int) -> list[Expert]:
    return db.session.scalars(sa.select(Expert).filter_by(tenant_id=tenant_id)
                              .order_by(Expert.id)).all()


def add_expert(cfg, actor: Actor, data: dict) -> Expert:
    """Enter an expert in the pool, by organisational recommendation or invitation (AE-EXP-1)."""
    problems = []
    if cfg.series(data.get("series") or "") is None:
        problems.append(_l("请选择评审系列。"))
    if data.get("title_level") not in ("associate_senior", "senior"):
        problems.append(_l("专家须具有副高级或正高级职称。"))
    if data.get("role") not in {r.value for r in ExpertRole}:
        problems.append(_l("请选择专家角色。"))
    if data.get("entry_route") not in ("recommended", "invited"):
        problems.append(_l("请选择入库方式。"))
    if data.get("entry_route") == "recommended" and not data.get("recommended_by_org_id"):
        problems.append(_l("组织推荐须注明推荐单位。"))
    most = cfg.policies.experts.max_terms
    if not (1 <= int(data.get("terms") or 1) <= most):
        problems.append(_l("聘期最多%(n)d届。", n=most))
    if problems:
        raise Invalid(_l("未保存："), problems=problems)
    expert = Expert(tenant_id=actor.tenant_id, **{k: v for k, v in data.items() if v is not None})
    if actor.role == "agency_clerk":
        # The agency's own entry is its vetting; the city HR bureau approves it before the
        # expert can be drawn (AE-EXP-6).
        expert.status, expert.agency_org_id = "vetted", actor.org_id
    db.session.add(expert)
    db.session.flush()
    audit(actor, "experts", expert.id, "add")
    db.session.commit()
    return expert


def exit_expert(actor: Actor, expert: Expert, reason: str, day: date) -> None:
    if reason not in EXIT_REASONS:
        raise Invalid(_l("请选择退出原因。"))
    expert.exited_on, expert.exit_reason = day, reason
    audit(actor, "experts", expert.id, "exit", reason=reason)
    db.session.commit()


def sign_confidentiality(actor: Actor, expert: Expert) -> None:
    """The expert accepts the confidentiality agreement (AE-CONF-1) before seeing any file."""
    if expert.user_id != actor.user_id:
        raise Forbidden(_l("无权进行此操作。"))
    if expert.confidentiality_signed_at is None:
        expert.confidentiality_signed_at = utcnow()
        audit(actor, "experts", expert.id, "sign_confidentiality")
        db.session.commit()


def add_expert_with_account(cfg, actor: Actor, form: dict) -> tuple[Expert, str | None]:
    """Enter an expert from the agency's form; with a login name, also open their expert
    account and return its one-time password (shown once to the clerk)."""
    import secrets

    from ..models import Role, User
    from .accounts import hash_password

    from .ids import clean_mobile
    from .people import find_login

    username = (form.get("username") or "").strip()
    password = None
    user = None
    if username:
        if find_login(actor.tenant_id, username) is not None:
            raise Invalid(_l("该登录名已被使用。"))
        password = secrets.token_urlsafe(9)
        # A mobile number as login name is personal data: kept encrypted, signed in by hash.
        number = clean_mobile(username)
        user = User(tenant_id=actor.tenant_id, username=None if number else username,
                    mobile=number, name=form["name"].strip(),
                    role=Role.expert.value, password_hash=hash_password(password))
        db.session.add(user)
        db.session.flush()
    data = {k: form.get(k) for k in ("name", "gender", "birth_date", "title_level", "title_year",
                                     "series", "role", "entry_route", "term_start", "terms",
                                     "private_sector")}
    data["name"] = data["name"].strip()
    data["specialty"] = form.get("specialty") or None
    data["employer_org_id"] = form.get("employer_org_id") or None
    data["employer_name"] = (form.get("employer_name") or "").strip()
    data["recommended_by_org_id"] = form.get("recommended_by_org_id") or None
    data["user_id"] = user.id if user else None
    try:
        expert = add_expert(cfg, actor, data)
    except Invalid:
        db.session.rollback()
        raise
    return expert, password
