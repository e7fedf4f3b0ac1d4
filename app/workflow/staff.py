"""Staff accounts administered in the portal: invitations by mobile number with a one-time link
sent by SMS, disabling, re-enabling and resetting accounts.

Who manages an office's accounts: the office's own administrators (`users.office_admin`), the
HR bureaus whose part of the tree holds the office (app/workflow/orgtree.py) and the tenant
admin. Nobody changes their own account's status.

Roles stay per org unit. `users.mobile_hash` is unique per tenant and is what signing in with a
mobile number looks up, so a person with a second duty gets a second account: it keeps the
number (encrypted, for the SMS) but not its lookup hash, and signs in with its login name."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Org, OrgStatus, Role, User, utcnow
from ..models.notify import Channel
from ..tenancy.schema import OrgKind
from . import notify
from .accounts import end_sessions, hash_password
from .actors import Actor
from .errors import Conflict, Forbidden, Invalid
from .ids import clean_mobile, mobile_hash
from .orgtree import administers
from .passwords import password_problem
from .transitions import audit

# The roles an office of each kind may give its staff.
ROLES_FOR_KIND = {
    OrgKind.hr_bureau.value: (Role.hr_officer.value,),
    OrgKind.department.value: (Role.department_clerk.value,),
    OrgKind.employer.value: (Role.employer_clerk.value,),
    OrgKind.association.value: (Role.association_clerk.value,),
    OrgKind.agency.value: (Role.agency_clerk.value,),
    # a self-review unit employs applicants and runs its own committees' office
    OrgKind.self_review_unit.value: (Role.employer_clerk.value, Role.agency_clerk.value),
}
ROLE_LABELS = {
    Role.hr_officer.value: _l("人社部门工作人员"), Role.department_clerk.value: _l("主管部门经办人"),
    Role.employer_clerk.value: _l("用人单位经办人"), Role.association_clerk.value: _l("协会经办人"),
    Role.agency_clerk.value: _l("评审服务机构工作人员"), Role.tenant_admin.value: _l("系统管理员"),
}
STATE_LABELS = {"invited": _l("已邀请，待设置密码"), "active": _l("正常"),
                "disabled": _l("已停用"), "reset": _l("已重置，待设置密码")}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,59}$")
STAFF_ROLES = tuple(r for roles in ROLES_FOR_KIND.values() for r in roles)

INVITE_SMS = _l("【%(portal)s职称评审】%(name)s：您已被添加为%(org)s的%(role)s，登录名%(username)s。"
                "请在%(hours)d小时内打开链接设置密码：%(link)s")
RESET_SMS = _l("【%(portal)s职称评审】%(name)s：您的账号（登录名%(username)s）已重置，原密码作废。"
               "请在%(hours)d小时内打开链接设置新密码：%(link)s")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def state(user: User) -> str:
    """invited / reset (a link is pending), active, disabled."""
    if user.setup_token_hash:
        return "reset" if user.active else "invited"
    return "active" if user.active else "disabled"


def may_manage_office(cfg, manager: User, org: Org) -> bool:
    """Whether `manager` may see and change the accounts of `org`."""
    if manager.tenant_id != org.tenant_id or manager.role in (Role.applicant.value,
                                                              Role.expert.value):
        return False
    if manager.role == Role.tenant_admin.value:
        return True
    if manager.office_admin and manager.org_id == org.id:
        return manager.org is not None and manager.org.is_open
    return manager.role == Role.hr_officer.value and administers(cfg, manager, org)


def accounts_of(org: Org) -> list[User]:
    return db.session.scalars(sa.select(User).where(
        User.tenant_id == org.tenant_id, User.org_id == org.id,
        User.role.in_(STAFF_ROLES + (Role.tenant_admin.value,)))
        .order_by(User.active.desc(), User.name, User.id)).all()


def setup_link(tenant_slug: str, token: str) -> str:
    """The absolute one-time link, on the deployment's public address (PUBLIC_BASE_URL)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/",
                                       url_scheme=base.scheme or "http")
    return adapter.build("staff.setup", {"tenant": tenant_slug, "token": token},
                         force_external=True)


def _new_link(cfg, user: User, template, org: Org) -> int:
    """Give `user` a fresh one-time link (only its hash kept) and queue the SMS; returns the
    outbox id. Any earlier link stops working."""
    token = secrets.token_urlsafe(32)
    hours = current_app.config["INVITE_LINK_HOURS"]
    user.setup_token_hash = token_hash(token)
    user.setup_expires_at = utcnow() + timedelta(hours=hours)
    # A password nobody knows: the old one (a reset) no longer works.
    user.password_hash = hash_password(secrets.token_urlsafe(24))
    with force_locale("zh_Hans_CN"):  # the outbox keeps no language per recipient
        text = str(template) % {"portal": cfg.name, "name": user.name, "org": org.name,
                                "role": ROLE_LABELS.get(user.role, user.role),
                                "username": user.username, "hours": hours,
                                "link": setup_link(cfg.slug, token)}
    return notify.queue(user.tenant_id, Channel.sms.value, user.mobile, text, text,
                        f"staff-link:{user.id}:{user.setup_token_hash[:16]}").id


def invite(cfg, manager: User, org: Org, data: dict, ip: str = "", *,
           unit_office: bool = False) -> tuple[User, list[int]]:
    """Create an account for `org` with a role of its kind and send the one-time link by SMS
    (audited "invite"). Returns the account and the outbox ids to dispatch after the commit;
    Invalid (nothing saved) naming every problem. `unit_office`: an approved self-review unit's
    clerk staffs its committee office (checked by app/workflow/self_review_run.py)."""
    if unit_office:
        if data.get("role") != Role.agency_clerk.value or manager.org_id != org.id:
            raise Forbidden(_l("您无权管理该机构的账号。"))
    elif not may_manage_office(cfg, manager, org):
        raise Forbidden(_l("您无权管理该机构的账号。"))
    problems = []
    if not org.is_open or org.status != OrgStatus.approved.value:
        problems.append(_l("该机构已撤销或尚未通过审核，不能添加账号。"))
    name = (data.get("name") or "").strip()
    if not name or len(name) > 60:
        problems.append(_l("请填写姓名（最多60字）。"))
    role = data.get("role")
    if role not in ROLES_FOR_KIND.get(org.kind, ()):
        problems.append(_l("该机构不能设置此角色。"))
    number = clean_mobile(data.get("mobile"))
    if number is None:
        problems.append(_l("请输入11位手机号码。"))
    username = (data.get("username") or "").strip().lower()
    if not USERNAME.match(username):
        problems.append(_l("登录名须为3至60位小写字母、数字、点、下划线或连字符。"))
    elif db.session.scalar(sa.select(User.id).filter_by(tenant_id=org.tenant_id,
                                                        username=username)):
        problems.append(_l("登录名%(u)s已被使用。", u=username))
    if problems:
        raise Invalid(_l("账号未添加："), problems=problems)
    try:
        user = User(tenant_id=org.tenant_id, username=username, name=name, role=role,
                    org_id=org.id, active=False, password_hash="!",
                    office_admin=bool(data.get("office_admin")))
        user.mobile = number
        second = db.session.scalar(sa.select(User.id).filter_by(
            tenant_id=org.tenant_id, mobile_hash=mobile_hash(number)))
        if second:
            user.mobile_hash = None  # a second duty: signs in by its login name
        db.session.add(user)
        db.session.flush()
        ids = [_new_link(cfg, user, INVITE_SMS, org)]
        audit(Actor.of(manager, ip), "users", user.id, "invite", to_state="invited",
              reason=f"{role} @ {org.code}" + (" (office admin)" if user.office_admin else ""))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return user, ids


def _managed(cfg, manager: User, user: User) -> Org:
    org = user.org
    if (org is None or user.role not in STAFF_ROLES + (Role.tenant_admin.value,)
            or not may_manage_office(cfg, manager, org)):
        raise Forbidden(_l("您无权管理该账号。"))
    if manager.id == user.id:
        raise Invalid(_l("不能停用、启用或重置自己的账号。"))
    if user.role == Role.tenant_admin.value and manager.role != Role.tenant_admin.value:
        raise Forbidden(_l("您无权管理该账号。"))
    return org


def disable(cfg, manager: User, user: User, ip: str = "") -> None:
    """The account can no longer sign in; its sessions end and a pending link stops working."""
    _managed(cfg, manager, user)
    if not user.active and not user.setup_token_hash:
        raise Conflict(_l("该账号已停用。"))
    before = state(user)
    user.active = False
    user.setup_token_hash = user.setup_expires_at = None
    end_sessions(user)
    audit(Actor.of(manager, ip), "users", user.id, "disable", from_state=before,
          to_state="disabled")
    db.session.commit()


def enable(cfg, manager: User, user: User, ip: str = "") -> None:
    """A disabled account may sign in again with its password (a closed office's may not)."""
    org = _managed(cfg, manager, user)
    if user.active or user.setup_token_hash:
        raise Conflict(_l("该账号未停用。"))
    if not org.is_open:
        raise Invalid(_l("该机构已撤销，不能启用其账号。"))
    user.active = True
    audit(Actor.of(manager, ip), "users", user.id, "enable", from_state="disabled",
          to_state="active")
    db.session.commit()


def reset(cfg, manager: User, user: User, ip: str = "") -> list[int]:
    """A new one-time link by SMS; the old password no longer works and every session ends.
    Returns the outbox ids to dispatch. A disabled account is refused: enable it first."""
    org = _managed(cfg, manager, user)
    if not user.active and not user.setup_token_hash:
        raise Invalid(_l("该账号已停用，请先启用再重置。"))
    if not user.mobile_enc:
        raise Invalid(_l("该账号没有手机号码，无法发送重置链接。"))
    before = state(user)
    end_sessions(user)
    ids = [_new_link(cfg, user, RESET_SMS if user.active else INVITE_SMS, org)]
    audit(Actor.of(manager, ip), "users", user.id, "reset", from_state=before,
          to_state=state(user))
    db.session.commit()
    return ids


def set_office_admin(cfg, manager: User, user: User, value: bool, ip: str = "") -> None:
    """Give or take the office-administrator flag (audited "office_admin_on"/"_off")."""
    _managed(cfg, manager, user)
    if user.office_admin == value:
        raise Conflict(_l("该账号已是此状态。"))
    user.office_admin = value
    audit(Actor.of(manager, ip), "users", user.id,
          "office_admin_on" if value else "office_admin_off")
    db.session.commit()


def by_token(tenant_id: int, token: str, now: datetime | None = None) -> User | None:
    """The account a one-time link belongs to while it works (not used, not expired, the
    office open); None otherwise."""
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(sa.select(User).filter_by(tenant_id=tenant_id,
                                                       setup_token_hash=token_hash(token)))
    if user is None or user.setup_expires_at is None or user.setup_expires_at <= (now or utcnow()):
        return None
    if user.org is not None and not user.org.is_open:
        return None
    return user


def set_password(tenant_id: int, token: str, password: str, ip: str = "") -> User:
    """Set the password through a working link (the password policy applies); the account
    becomes usable, the link is spent, other sessions end (audited "password_set")."""
    user = by_token(tenant_id, token)
    if user is None:
        raise Invalid(_l("链接无效或已过期，请联系本单位管理员重新发送。"))
    if problem := password_problem(password, user.username, user.mobile):
        raise Invalid(problem)
    before = state(user)
    user.password_hash = hash_password(password)
    user.setup_token_hash = user.setup_expires_at = None
    user.active = True
    end_sessions(user)
    audit(Actor.of(user, ip), "users", user.id, "password_set", from_state=before,
          to_state="active")
    db.session.commit()
    return user


def waiting(user: User, today) -> list[dict]:
    """For an office's administrator: invitations of its office whose link expired before the
    person set a password (to send again with a reset). One query."""
    if not user.office_admin or user.org_id is None:
        return []
    count = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.tenant_id == user.tenant_id, User.org_id == user.org_id,
        User.setup_token_hash.is_not(None), User.setup_expires_at <= utcnow()))
    if not count:
        return []
    return [{"label": _l("设置密码链接已过期的邀请"), "count": count, "due": None,
             "endpoint": "staff.accounts", "args": {"org_id": user.org_id}}]
