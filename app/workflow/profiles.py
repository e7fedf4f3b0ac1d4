"""Applicant profiles verified by the employer before the first application (CF-REG-1).

The verification is the audit event itself: who verified, when and from which unit are recorded
once, and the profile counts as verified while such an event exists."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import AuditEvent, Role, User
from .actors import Actor
from .calendar import now_local
from .errors import Forbidden, Invalid
from .transitions import audit

VERIFY = "verify_profile"
# Who vouches for a person: the employer's clerk, or the association's for freelancers.
VERIFIER_ROLES = (Role.employer_clerk.value, Role.association_clerk.value)


def needs_verification(cfg, user: User) -> bool:
    return bool(cfg.policies.profile_verification) and not is_verified(user)


def is_verified(user: User) -> bool:
    return db.session.scalar(sa.select(AuditEvent.id).filter_by(
        tenant_id=user.tenant_id, subject_type="users", subject_id=user.id, action=VERIFY)
        .limit(1)) is not None


def _staff_filter(org_id: int):
    return sa.or_(User.org_id == org_id, User.association_org_id == org_id)


def unverified_staff(tenant_id: int, org_id: int) -> list[User]:
    """Applicants of this unit (or association) whose profile nobody has verified yet."""
    verified = sa.select(AuditEvent.subject_id).filter_by(
        tenant_id=tenant_id, subject_type="users", action=VERIFY)
    return list(db.session.scalars(
        sa.select(User).where(User.tenant_id == tenant_id, User.role == Role.applicant.value,
                              _staff_filter(org_id), User.id.not_in(verified))
        .order_by(User.name, User.id)))


def verify(cfg, actor: Actor, user_id: int, now: datetime | None = None) -> User:
    """The unit's clerk confirms the applicant's basic information, education and work history."""
    if actor.role not in VERIFIER_ROLES or actor.org_id is None:
        raise Forbidden(_l("无权进行此操作。"))
    user = db.session.scalar(sa.select(User).where(
        User.id == user_id, User.tenant_id == actor.tenant_id, User.role == Role.applicant.value,
        _staff_filter(actor.org_id)))
    if user is None:
        raise Forbidden(_l("该人员不属于本单位。"))
    if is_verified(user):
        raise Invalid(_l("该人员的个人信息已审核通过。"))
    # Records are kept in the default language (zh-CN), whoever acts.
    audit(actor, "users", user.id, VERIFY, reason="单位审核通过个人基本信息、学历和工作经历",
          now=now_local(now))
    db.session.commit()
    return user
