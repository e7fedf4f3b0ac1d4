"""Applicant profiles verified by the employer before the first application (CF-REG-1).

A profile is the person's basic information (name, identity document, mobile: on the account)
and the items of their 业绩档案 (app/models/profiles.py). The employer's clerk checks each on its
own: the basic information once (the `verify_profile` audit event records who, when and from
which unit), every item by its state. The profile counts as verified while the basic
information is verified and every education and work-history item is verified (CF-REG-1 names
basic information, education and work history)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import AuditEvent, ItemState, ProfileItem, ProfileKind, Role, User
from .actors import Actor
from .calendar import now_local
from .errors import Conflict, Forbidden, Invalid
from .transitions import audit

VERIFY = "verify_profile"
VERIFY_ITEM, REJECT_ITEM = "verify", "reject"
# Who vouches for a person: the employer's clerk, or the association's for freelancers.
VERIFIER_ROLES = (Role.employer_clerk.value, Role.association_clerk.value)
# The items CF-REG-1 asks the unit to verify before the person may apply.
REQUIRED_KINDS = (ProfileKind.education.value, ProfileKind.work.value)
MAX_REASON = 500


def needs_verification(cfg, user: User) -> bool:
    return bool(cfg.policies.profile_verification) and not is_verified(user)


def _basic_verified(tenant_id: int):
    return sa.select(AuditEvent.subject_id).filter_by(
        tenant_id=tenant_id, subject_type="users", action=VERIFY)


def _open_required(user_id) -> sa.ColumnElement:
    """An education or work-history item of the person not (or no longer) verified."""
    return sa.exists().where(ProfileItem.user_id == user_id,
                             ProfileItem.kind.in_(REQUIRED_KINDS),
                             ProfileItem.state != ItemState.verified.value)


def basic_verified(user: User) -> bool:
    return db.session.scalar(_basic_verified(user.tenant_id).where(
        AuditEvent.subject_id == user.id).limit(1)) is not None


def is_verified(user: User) -> bool:
    return basic_verified(user) and not db.session.scalar(sa.select(_open_required(user.id)))


def _staff_filter(org_id: int):
    return sa.or_(User.org_id == org_id, User.association_org_id == org_id)


def awaiting_filter(tenant_id: int, org_id: int) -> sa.ColumnElement:
    """Applicants of this unit (or association) with something for the clerk to check: basic
    information nobody verified yet, or an item not yet checked."""
    pending = sa.exists().where(ProfileItem.user_id == User.id,
                                ProfileItem.state == ItemState.unverified.value)
    return sa.and_(User.tenant_id == tenant_id, User.role == Role.applicant.value,
                   _staff_filter(org_id),
                   sa.or_(User.id.not_in(_basic_verified(tenant_id)), pending))


def unverified_staff(tenant_id: int, org_id: int) -> list[User]:
    """Applicants of this unit (or association) whose profile awaits the clerk."""
    return list(db.session.scalars(
        sa.select(User).where(awaiting_filter(tenant_id, org_id)).order_by(User.name, User.id)))


def staff_member(actor: Actor, user_id: int) -> User | None:
    """An applicant of the clerk's own unit (or association), else None."""
    if actor.role not in VERIFIER_ROLES or actor.org_id is None:
        return None
    return db.session.scalar(sa.select(User).where(
        User.id == user_id, User.tenant_id == actor.tenant_id, User.role == Role.applicant.value,
        _staff_filter(actor.org_id)))


def verify(cfg, actor: Actor, user_id: int, now: datetime | None = None) -> User:
    """The unit's clerk confirms the applicant's basic information (name, identity document,
    mobile); education and work history are confirmed item by item (verify_item)."""
    if actor.role not in VERIFIER_ROLES or actor.org_id is None:
        raise Forbidden(_l("无权进行此操作。"))
    user = staff_member(actor, user_id)
    if user is None:
        raise Forbidden(_l("该人员不属于本单位。"))
    if basic_verified(user):
        raise Invalid(_l("该人员的个人信息已审核通过。"))
    # Records are kept in the default language (zh-CN), whoever acts.
    audit(actor, "users", user.id, VERIFY, reason="单位审核通过个人基本信息", now=now_local(now))
    db.session.commit()
    return user


def staff_item(actor: Actor, user_id: int, item_id: int) -> ProfileItem | None:
    """One profile item of an applicant of the clerk's own unit, else None."""
    user = staff_member(actor, user_id)
    if user is None:
        return None
    return db.session.scalar(sa.select(ProfileItem).filter_by(
        id=item_id, user_id=user.id, tenant_id=actor.tenant_id))


def _check(actor: Actor, item: ProfileItem, version: int | None, to_state: str, action: str,
           reason: str, now: datetime | None) -> ProfileItem:
    if actor.role not in VERIFIER_ROLES:
        raise Forbidden(_l("无权进行此操作。"))
    if version != item.version:
        raise Conflict(_l("该条目已被申报人修改，请查看修改后的内容再核验。"))
    if item.state == to_state:
        raise Invalid(_l("该条目已核验。") if to_state == ItemState.verified.value
                      else _l("该条目已退回。"))
    now = now_local(now)
    before = item.state
    item.state, item.checked_by, item.checked_at = to_state, actor.user_id, now
    item.reject_reason = reason or None
    audit(actor, "profile_items", item.id, action, reason=reason or item.kind,
          from_state=before, to_state=to_state, now=now)
    db.session.commit()
    return item


def verify_item(actor: Actor, item: ProfileItem, version: int | None,
                now: datetime | None = None) -> ProfileItem:
    """The clerk confirms one item as shown (its content and evidence at `version`)."""
    return _check(actor, item, version, ItemState.verified.value, VERIFY_ITEM, "", now)


def reject_item(actor: Actor, item: ProfileItem, version: int | None, reason: str,
                now: datetime | None = None) -> ProfileItem:
    """The clerk refuses one item and says why; the applicant corrects it and it is checked
    again."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_l("请填写退回理由。"))
    if len(reason) > MAX_REASON:
        raise Invalid(_l("退回理由过长（最多%(n)d字）", n=MAX_REASON))
    return _check(actor, item, version, ItemState.rejected.value, REJECT_ITEM, reason, now)
