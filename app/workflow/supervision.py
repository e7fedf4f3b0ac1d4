"""Supervisory members (监督委员) of review sessions (AE-SUPERV-1; 办法 第三十条).

The city HR bureau, together with the supervising departments and the district HR bureaus,
delegates supervisory members who watch a review's quality, procedure and discipline. They are
staff of those bodies, so a supervisory member is an existing staff account of an HR bureau or a
supervising department (roles hr_officer, department_clerk) appointed to a session: no new role,
no second account for a person who also does their office's work. An appointed member sees the
session, its panel, the sealed tally and the recordings, read-only and never a single vote or
score, and records their own presence.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import ReviewSession, Role, SessionStatus, User, utcnow
from ..models.oversight import SessionSupervisor
from .actors import Actor
from .complaints import is_city_hr
from .errors import Conflict, Forbidden, Invalid
from .transitions import audit

SUPERVISOR_ROLES = (Role.hr_officer.value, Role.department_clerk.value)


def candidates(tenant_id: int) -> list[User]:
    """Staff who may be appointed: active accounts of HR bureaus and supervising departments."""
    return db.session.scalars(sa.select(User).where(
        User.tenant_id == tenant_id, User.role.in_(SUPERVISOR_ROLES), User.active.is_(True))
        .order_by(User.org_id, User.name).options(sa.orm.selectinload(User.org))).all()


def appoint(actor: Actor, session: ReviewSession, user_id: int) -> SessionSupervisor:
    if not is_city_hr(actor) or session.tenant_id != actor.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    user = db.session.get(User, user_id or 0)
    if user is None or user.tenant_id != actor.tenant_id or user.role not in SUPERVISOR_ROLES \
            or not user.active:
        raise Invalid(_l("监督委员须为人力资源社会保障部门或行业主管部门的在用工作人员账号。"))
    if session.status == SessionStatus.closed.value:
        raise Invalid(_l("评审会已结束，不能再委派监督委员。"))
    if db.session.scalar(sa.select(SessionSupervisor.id).filter_by(
            session_id=session.id, user_id=user.id)) is not None:
        raise Conflict(_l("该人员已是本评审会的监督委员。"))
    row = SessionSupervisor(tenant_id=session.tenant_id, session_id=session.id, user_id=user.id,
                            appointed_by=actor.user_id)
    try:
        db.session.add(row)
        db.session.flush()
        audit(actor, "session_supervisors", row.id, "appoint",
              reason=f"session {session.id}: user {user.id}")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def withdraw(actor: Actor, row: SessionSupervisor) -> None:
    """The bureau withdraws an appointment not yet attended (a recorded presence stays)."""
    if not is_city_hr(actor) or row.tenant_id != actor.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    if row.present_at is not None:
        raise Invalid(_l("监督委员已到场，委派不能撤回。"))
    try:
        audit(actor, "session_supervisors", row.id, "withdraw",
              reason=f"session {row.session_id}: user {row.user_id}")
        db.session.delete(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def appointment(actor: Actor, session_id: int) -> SessionSupervisor | None:
    """The actor's appointment to the session, if any."""
    if actor.user_id is None:
        return None
    return db.session.scalar(sa.select(SessionSupervisor).filter_by(
        tenant_id=actor.tenant_id, session_id=session_id, user_id=actor.user_id))


def may_watch(actor: Actor, session: ReviewSession) -> bool:
    """An appointed supervisory member, or the city HR bureau that appoints them."""
    if session.tenant_id != actor.tenant_id:
        return False
    return is_city_hr(actor) or appointment(actor, session.id) is not None


def record_presence(actor: Actor, session: ReviewSession) -> SessionSupervisor:
    """The member records being present (once; the time is the first record)."""
    row = appointment(actor, session.id)
    if row is None:
        raise Forbidden(_l("无权进行此操作。"))
    if row.present_at is not None:
        raise Conflict(_l("已记录到场。"))
    try:
        row.present_at = utcnow()
        audit(actor, "session_supervisors", row.id, "present", reason=f"session {session.id}")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def for_watching(session_id: int) -> ReviewSession:
    """The session with its files, panel and recordings loaded in a fixed number of queries."""
    from ..models import Application, PanelMember, SessionItem
    return db.session.scalar(
        sa.select(ReviewSession).where(ReviewSession.id == session_id)
        .options(sa.orm.selectinload(ReviewSession.items).selectinload(SessionItem.application)
                 .selectinload(Application.applicant),
                 sa.orm.selectinload(ReviewSession.members).selectinload(PanelMember.expert),
                 sa.orm.selectinload(ReviewSession.files),
                 sa.orm.selectinload(ReviewSession.committee))
        .execution_options(populate_existing=True))


def sessions_of(actor: Actor) -> list[tuple[ReviewSession, SessionSupervisor]]:
    rows = db.session.execute(
        sa.select(ReviewSession, SessionSupervisor)
        .join(SessionSupervisor, SessionSupervisor.session_id == ReviewSession.id)
        .where(SessionSupervisor.user_id == actor.user_id,
               SessionSupervisor.tenant_id == actor.tenant_id)
        .order_by(ReviewSession.held_on.desc(), ReviewSession.id.desc())
        .options(sa.orm.selectinload(ReviewSession.committee))).all()
    return [tuple(r) for r in rows]


def supervisors_by_session(tenant_id: int, session_ids: list[int]) -> dict[int, list]:
    rows = db.session.scalars(sa.select(SessionSupervisor).where(
        SessionSupervisor.tenant_id == tenant_id,
        SessionSupervisor.session_id.in_(session_ids or [0]))
        .order_by(SessionSupervisor.id)
        .options(sa.orm.selectinload(SessionSupervisor.user).selectinload(User.org))).all()
    out: dict[int, list] = {}
    for r in rows:
        out.setdefault(r.session_id, []).append(r)
    return out


def all_sessions(tenant_id: int, page: int, size: int = 50) -> tuple[list[ReviewSession], int]:
    q = sa.select(ReviewSession).where(ReviewSession.tenant_id == tenant_id)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(q.subquery()))
    rows = db.session.scalars(q.order_by(ReviewSession.held_on.desc(), ReviewSession.id.desc())
                              .limit(size).offset((page - 1) * size)
                              .options(sa.orm.selectinload(ReviewSession.committee))).all()
    return rows, total


def waiting_items(user, today: date) -> list[dict]:
    """Sessions this member is appointed to that have not been held or closed yet (one query)."""
    if user is None or user.role not in SUPERVISOR_ROLES:
        return []
    count, due = db.session.execute(
        sa.select(sa.func.count(SessionSupervisor.id), sa.func.min(ReviewSession.held_on))
        .join(ReviewSession, ReviewSession.id == SessionSupervisor.session_id)
        .where(SessionSupervisor.user_id == user.id, SessionSupervisor.present_at.is_(None),
               ReviewSession.status != SessionStatus.closed.value,
               ReviewSession.held_on >= today)).one()
    if not count:
        return []
    return [{"label": _l("委派监督的评审会"), "count": count, "due": due,
             "endpoint": "oversight.supervision_list", "args": {}}]
