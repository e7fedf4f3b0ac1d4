"""Registration and sign-in of applicants, employer registration, and their audit events."""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Org, OrgStatus, PersonType, Role, User
from ..models.notify import Channel
from ..tenancy import label
from ..tenancy.schema import OrgKind
from . import notify, throttle
from .accounts import (
    end_sessions, hash_password, set_id_number, set_work_permit, verify_password,
)
from .actors import Actor
from .calendar import today_local
from .errors import Invalid
from .passwords import PASSWORD_MAX_LENGTH
from .ids import (
    DOCUMENT_LABELS, DOCUMENT_PROBLEMS, WORK_PERMIT_PROBLEM, clean_mobile, clean_uscc,
    mask_mobile, mobile_hash,
)
from .transitions import audit

PERSON_TYPE_LABELS = {
    PersonType.professional.value: _l("专业技术人员"),
    PersonType.high_skill.value: _l("高技能人才"),
    PersonType.freelancer.value: _l("自由职业者"),
    PersonType.civil_servant.value: _l("公务员"),
}
EMPLOYER_KIND_LABELS = {
    "state_owned": _l("国有企事业单位"), "public_institution": _l("事业单位"),
    "non_public": _l("非公有制经济组织"), "social_org": _l("社会组织"),
    "central_unit": _l("中央驻地单位"), "other_province": _l("外省区驻地单位"),
}
# CF-GROUP-1 (五(五)2): enterprise honours declared at registration, checked by the HR bureau.
ENTERPRISE_FLAG_LABELS = {"specialised_sme": _l("专精特新中小企业"),
                          "single_champion": _l("制造业单项冠军企业")}
BAD_LOGIN = _l("用户名或密码错误。")
PENDING = _l("账号尚未启用：单位注册须经人社部门审核通过。")
DISABLED = _l("账号已停用，请联系管理部门。")
LOGIN_NAME_MAX = 60  # how much of a name tried at sign-in the audit row keeps
# Registration answers the same whether or not the mobile or ID number already has an account
# (a stranger must not learn that it does); the owner is told by SMS instead.
REGISTERED = _l("注册申请已收到，结果将以短信发送到您填写的手机号码。")
REGISTERED_SMS = _l("您已在%(portal)s注册成功，请使用手机号码登录。")
TAKEN_SMS = _l("有人使用您的手机号码或身份证号码在%(portal)s申请注册。您已有账号，请直接用手机号码"
               "登录；如非本人操作，请忽略本短信。")


def find_login(tenant_id: int, name: str) -> User | None:
    """The account signing in as `name`: a login name (staff, demo), or a mobile number looked
    up by its keyed hash. A login name wins over a mobile."""
    name = name.strip()
    number = clean_mobile(name)
    match = User.username == name
    if number:
        match = sa.or_(match, User.mobile_hash == mobile_hash(number))
    return db.session.scalars(sa.select(User).where(User.tenant_id == tenant_id, match)
                              .order_by((User.username == name).desc(), User.id)).first()


def authenticate(tenant_id: int, username: str, password: str, ip: str) -> User:
    user = find_login(tenant_id, username)
    if user is None:
        subject_id = None  # an unknown name: the same checks, work and answers, audited too
    else:
        subject_id = user.id
    if wait := throttle.wait_seconds(tenant_id, username, ip):
        _audit_login(tenant_id, subject_id, username, ip, "login_throttled")
        raise Invalid(_l("登录尝试过于频繁，请%(n)d秒后再试。", n=wait))
    # Longer than any password can be: refused without the hash work (whoever the account).
    ok = len(password) <= PASSWORD_MAX_LENGTH and verify_password(user, password)
    (throttle.succeeded if ok else throttle.failed)(tenant_id, username, ip)
    if not ok:
        _audit_login(tenant_id, subject_id, username, ip, "login_failed")
        raise Invalid(BAD_LOGIN)
    if not user.active:
        _audit_login(tenant_id, subject_id, username, ip, "login_inactive")
        pending = user.org is not None and user.org.status == OrgStatus.pending.value
        raise Invalid(PENDING if pending else DISABLED)
    _audit_login(tenant_id, subject_id, username, ip, "login", signed_in=user)
    return user


def _audit_login(tenant_id: int, subject_id: int | None, name: str, ip: str, action: str,
                 signed_in: User | None = None) -> None:
    """One row per attempt, committed: the account when the name is known (NULL when not) and
    the name as typed, bounded; the actor is the account only once it has signed in."""
    actor = (Actor.of(signed_in, ip) if signed_in
             else Actor(tenant_id, None, "", "", None, ip))
    # A mobile number typed as the name is personal data: the row keeps it masked.
    number = clean_mobile(name)
    audit(actor, "users", subject_id, action,
          reason=mask_mobile(number) if number else name.strip()[:LOGIN_NAME_MAX])
    db.session.commit()


def record_logout(actor: Actor) -> None:
    """Sign-out ends every session of the account, a copied cookie's too (audited)."""
    end_sessions(db.session.get(User, actor.user_id))
    audit(actor, "users", actor.user_id, "logout")
    db.session.commit()


def approved_employers(tenant_id: int) -> list[Org]:
    return db.session.scalars(sa.select(Org).filter_by(
        tenant_id=tenant_id, kind=OrgKind.employer.value, status=OrgStatus.approved.value,
        closed_on=None).order_by(Org.name)).all()


def associations(tenant_id: int) -> list[Org]:
    return db.session.scalars(sa.select(Org).filter_by(
        tenant_id=tenant_id, kind=OrgKind.association.value, closed_on=None)
        .order_by(Org.name)).all()


def fill_register_choices(form, cfg, tenant_id: int) -> None:
    form.id_type.choices = [(d, DOCUMENT_LABELS[d]) for d in cfg.tenant.id_documents]
    form.person_type.choices = [(p, PERSON_TYPE_LABELS[p]) for p in cfg.tenant.person_types]
    form.employer.choices = [(0, _l("（自由职业者不选）"))] + [
        (o.id, label(o)) for o in approved_employers(tenant_id)]
    form.association.choices = [(0, _l("（非自由职业者不选）"))] + [
        (o.id, label(o)) for o in associations(tenant_id)]


def register_applicant(cfg, tenant_id: int, data: dict, ip: str) -> list[int]:
    """Validate everything, then create the account; on any problem nothing is saved. When the
    mobile or ID number already has an account nothing is saved either, and its owner is told
    by SMS; the caller answers REGISTERED in both cases and dispatches the returned notices."""
    problems = []
    number = clean_mobile(data["mobile"])
    if number is None:
        problems.append(_l("请输入11位手机号码。"))
    person_type = data["person_type"]
    employer = association = None
    if person_type == PersonType.freelancer.value:
        association = db.session.scalar(sa.select(Org).filter_by(
            id=data["association"], tenant_id=tenant_id, kind=OrgKind.association.value))
        if association is None:
            problems.append(_l("自由职业者须选择推荐的协会或学会。"))
    else:
        employer = db.session.scalar(sa.select(Org).filter_by(
            id=data["employer"], tenant_id=tenant_id, kind=OrgKind.employer.value,
            status=OrgStatus.approved.value))
        if employer is None:
            problems.append(_l("请选择所在单位（单位须已在本系统注册并通过审核）。"))
    # Hashed on every path, so a taken number costs the same time as a new one.
    user = User(tenant_id=tenant_id, username=None, name=data["name"].strip(),
                role=Role.applicant.value, person_type=person_type,
                org_id=employer.id if employer else None,
                association_org_id=association.id if association else None,
                password_hash=hash_password(data["password"]))
    doc_type = data.get("id_type") or "resident_id"
    if doc_type not in cfg.tenant.id_documents:
        problems.append(_l("请选择证件类型。"))
    elif not set_id_number(user, data["id_number"], doc_type):
        problems.append(DOCUMENT_PROBLEMS[doc_type])
    # Foreign staff apply with a passport and their work permit (BJ-SCOPE-1).
    if doc_type == "passport" and not set_work_permit(user, data.get("work_permit")):
        problems.append(WORK_PERMIT_PROBLEM)
    if problems:
        raise Invalid(_l("注册未完成："), problems=problems)
    user.mobile = number
    hashes = {"mobile_hash": user.mobile_hash, "id_number_hash": user.id_number_hash,
              "work_permit_hash": user.work_permit_hash}
    owners = _owners(tenant_id, **hashes)
    if owners:
        return _tell_owners(cfg, tenant_id, owners)
    db.session.add(user)
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # the same number registered a moment ago
        db.session.rollback()
        return _tell_owners(cfg, tenant_id, _owners(tenant_id, **hashes))
    audit(Actor.of(user, ip), "users", user.id, "register")
    sms = notify.queue(tenant_id, Channel.sms.value, number, _sms_text(REGISTERED_SMS, cfg),
                       _sms_text(REGISTERED_SMS, cfg), f"registered:{user.id}")
    db.session.commit()
    return [sms.id]


def _owners(tenant_id: int, **hashes: str | None) -> list[User]:
    """The accounts that already hold any of these keyed hashes (mobile, document number,
    work permit)."""
    match = [getattr(User, col) == value for col, value in hashes.items() if value]
    return list(db.session.scalars(sa.select(User).where(User.tenant_id == tenant_id,
                                                         sa.or_(*match)).order_by(User.id)))


def _sms_text(template, cfg) -> str:
    with force_locale("zh_Hans_CN"):  # the outbox keeps no language per recipient
        return str(template) % {"portal": cfg.name}


def _tell_owners(cfg, tenant_id: int, owners: list[User]) -> list[int]:
    """Queue one SMS a day to each owner with a mobile that someone tried to register with
    their number; nothing else is saved."""
    text = _sms_text(TAKEN_SMS, cfg)
    ids = [notify.queue(tenant_id, Channel.sms.value, owner.mobile, text, text,
                        f"register-taken:{owner.id}:{today_local().isoformat()}").id
           for owner in owners if owner.mobile_enc]
    db.session.commit()
    return ids


def register_employer(cfg, tenant_id: int, data: dict, ip: str) -> list[int]:
    """An employer registers itself; it waits for the territorial HR bureau's approval. A clerk
    mobile that already has an account saves nothing and tells its owner by SMS, with the same
    answer to the caller; returns the notices to dispatch."""
    problems = []
    code = clean_uscc(data["uscc"])
    if code is None:
        problems.append(_l("统一社会信用代码无效（校验位不符，请核对）。"))
    elif db.session.scalar(sa.select(Org.id).filter_by(tenant_id=tenant_id, uscc=code)):
        problems.append(_l("该统一社会信用代码已注册。"))
    if cfg.district(data["district"]) is None:
        problems.append(_l("请选择所在区（旗县）。"))
    if data["employer_kind"] not in {k.value for k in cfg.tenant.employer_kinds}:
        problems.append(_l("请选择单位性质。"))
    # Tier and supervising department from the tenant's tree (app/workflow/orgtree.py checks).
    from .registrations import check_registration_place
    tier, parent = check_registration_place(cfg, tenant_id, data, problems)
    flags = sorted(set(data.get("enterprise_flags") or []))
    if not set(flags) <= set(ENTERPRISE_FLAG_LABELS):
        problems.append(_l("请选择列出的企业称号。"))
    number = clean_mobile(data["clerk_mobile"])
    if number is None:
        problems.append(_l("请输入11位手机号码。"))
    if problems:
        raise Invalid(_l("注册未完成："), problems=problems)
    password_hash = hash_password(data["password"])  # on every path: the same time either way
    owners = _owners(tenant_id, mobile_hash=mobile_hash(number))
    if owners:
        return _tell_owners(cfg, tenant_id, owners)
    org = Org(tenant_id=tenant_id, code=f"emp-{code.lower()}", name=data["name"].strip(),
              kind=OrgKind.employer.value, tier=tier, district=data["district"], uscc=code,
              parent_id=parent.id if parent else None,
              employer_kind=data["employer_kind"], enterprise_flags=flags or None,
              status=OrgStatus.pending.value)
    db.session.add(org)
    db.session.flush()
    clerk = User(tenant_id=tenant_id, username=None, name=data["clerk_name"].strip(),
                 role=Role.employer_clerk.value, org_id=org.id, mobile=number,
                 password_hash=password_hash, active=False)
    db.session.add(clerk)
    db.session.flush()
    audit(Actor.of(clerk, ip), "orgs", org.id, "register", to_state=OrgStatus.pending.value)
    db.session.commit()
    return []
