"""The demo plan's clock (演示专用): `make run` users move a demo plan forward by days to see a
window close, a notice end and a certificate issue without waiting for them.

The portal keeps the real clock. Moving a demo plan's clock forward by N days moves every date
of that plan's timeline back by N days in one transaction — its stage windows and fee windows,
its files' employer-notice and correction dates, its review meetings, the public notices of
their results, complaint deadlines on its files and the defense slots of its meetings — records
the move in the plan's DemoClock row and in the audit trail, and leaves history (timestamps,
audit rows, certificates already issued) as it was. The deadline jobs then find the closes and
notice ends that are now in the past and run them as they would have run on their day. Only a
plan marked as a demo (Plan.is_demo, set by `flask demo load`) can be moved; real plans never."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import (
    Application, Plan, PlanWindow, ReviewSession, Role, SessionItem, Status, utcnow,
)
from ..models.certificates import Certificate
from ..models.demo_clock import DemoClock
from ..models.fees import FeeWindow
from ..models.notify import DefenseSlot
from ..models.oversight import Complaint
from ..models.results import Acceptance, Publication
from ..models.review import SessionStatus
from ..tenancy import config_for
from .actors import Actor
from .calendar import TZ, now_local
from .deadlines import CLOSES
from .errors import Conflict, Forbidden, Invalid
from .plans import stage_label
from .reminders import open_count
from .transitions import audit

MAX_DAYS = 60
ACTION = "demo_clock"


def demo_plans(tenant_id: int) -> list[Plan]:
    """The tenant's demo plans (none outside a demo)."""
    return db.session.scalars(sa.select(Plan).where(
        Plan.tenant_id == tenant_id, Plan.is_demo.is_(True)).order_by(Plan.id)).all()


def has_demo_plan(tenant_id: int) -> bool:
    return db.session.scalar(sa.select(sa.select(Plan.id).where(
        Plan.tenant_id == tenant_id, Plan.is_demo.is_(True)).exists())) is True


def demo_plan(tenant_id: int, plan_id: int) -> Plan | None:
    """The tenant's demo plan with this id; None for another tenant's plan or a real one."""
    return db.session.scalar(sa.select(Plan).where(
        Plan.id == plan_id, Plan.tenant_id == tenant_id, Plan.is_demo.is_(True)))


def clocks(tenant_id: int) -> dict[int, DemoClock]:
    """Each demo plan's clock, by plan id (a plan never moved has none)."""
    return {c.plan_id: c for c in db.session.scalars(
        sa.select(DemoClock).filter_by(tenant_id=tenant_id))}


def check_days(days) -> int:
    """The number of days asked for, 1 to MAX_DAYS."""
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise Invalid(_l("请填写1至%(n)s之间的天数。", n=MAX_DAYS))
    return days


# -- what a move would pass ----------------------------------------------------------------------

@dataclass(frozen=True)
class Event:
    """A date of the plan's timeline that a move passes: it is then in the past."""
    day: date
    what: object          # a lazy string
    count: int | None = None


def upcoming(plan: Plan, days: int, today: date) -> list[Event]:
    """The events of `plan` from `today` to the day before `today + days`, in date order: what
    moving the clock forward by `days` makes happen (a close at 24:00 of its day runs, a notice
    whose last day passes has ended). A fixed number of queries whatever the number of files."""
    end = today + timedelta(days=days)

    def within(col):
        return sa.and_(col >= today, col < end)

    out = []
    for w in plan.windows:
        if today <= w.closes_on < end:
            if w.stage in CLOSES:
                what = _l("「%(s)s」阶段截止，截止任务处理仍未办结的申报", s=stage_label(w.stage))
                out.append(Event(w.closes_on, what, open_count(plan, w.stage)))
            else:
                out.append(Event(w.closes_on, _l("「%(s)s」阶段截止", s=stage_label(w.stage))))
    for day in db.session.scalars(sa.select(FeeWindow.closes_on).where(
            FeeWindow.plan_id == plan.id, within(FeeWindow.closes_on))):
        out.append(Event(day, _l("缴费期截止，未缴费的申报视为放弃")))
    grouped = [
        (Application.notice_ends_on, Status.in_notice.value, _l("单位公示期结束，可推荐上报")),
        (Application.correction_due, Status.returned.value, _l("补正期限到期，未补正的申报视为放弃")),
    ]
    for col, status, what in grouped:
        rows = db.session.execute(
            sa.select(col, sa.func.count(Application.id))
            .where(Application.plan_id == plan.id, Application.status == status, within(col))
            .group_by(col))
        out += [Event(day, what, n) for day, n in rows]
    for day, n in db.session.execute(
            sa.select(ReviewSession.held_on, sa.func.count(ReviewSession.id))
            .where(ReviewSession.plan_id == plan.id, within(ReviewSession.held_on),
                   ReviewSession.status != SessionStatus.closed.value)
            .group_by(ReviewSession.held_on)):
        out.append(Event(day, _l("评审会召开日"), n))
    certificates = config_for(plan.tenant_id).policies.certificates is not None
    # Certificates follow the notice's last day, or the day of confirmation where later
    # (CF-RESULT-1), like the certificate batch.
    certificate_day = sa.case((Publication.confirmed_on > Publication.ends_on,
                               Publication.confirmed_on), else_=Publication.ends_on)
    for ends_on, cert_day, status, n in db.session.execute(
            sa.select(Publication.ends_on, certificate_day, Publication.status,
                      sa.func.count(Application.id))
            .join(ReviewSession, ReviewSession.id == Publication.session_id)
            .join(SessionItem, SessionItem.session_id == Publication.session_id, isouter=True)
            .join(Application, sa.and_(Application.id == SessionItem.application_id,
                                       Application.status == Status.passed.value),
                  isouter=True)
            .where(ReviewSession.plan_id == plan.id, Publication.ends_on.is_not(None),
                   sa.or_(within(Publication.ends_on), within(certificate_day)))
            .group_by(Publication.ends_on, certificate_day, Publication.status)):
        if today <= ends_on < end:
            out.append(Event(ends_on, _l("评审结果公示期结束"), n))
        if certificates and n and status == Acceptance.accepted.value \
                and today <= cert_day < end:
            out.append(Event(cert_day, _l("次日零时起为评审通过且无异议的人员批量签发电子证书"), n))
    for day, n in db.session.execute(
            sa.select(Complaint.due_on, sa.func.count(Complaint.id))
            .join(Application, Application.id == Complaint.application_id)
            .where(Application.plan_id == plan.id, within(Complaint.due_on),
                   Complaint.answered_at.is_(None))
            .group_by(Complaint.due_on)):
        out.append(Event(day, _l("投诉举报办理期限到期"), n))
    return sorted(out, key=lambda e: e.day)


# -- the move ------------------------------------------------------------------------------------

def move(actor: Actor, plan: Plan, days, base: int | None, now: datetime | None = None
         ) -> DemoClock:
    """Move `plan`'s clock forward by `days` (1–60): every date of its timeline `days` earlier,
    the clock's total and the audit trail in the same commit. `base` is the total the page
    showed: a move made meanwhile (a second click, another admin) is refused, not repeated.
    Only a tenant admin, only a demo plan. The caller then schedules the plan's closes
    (jobs.deadlines.schedule_all(plan=...)) so those now past run."""
    if actor.role != Role.tenant_admin.value or actor.tenant_id != plan.tenant_id:
        raise Forbidden(_l("无权进行此操作。"))
    if not plan.is_demo:
        raise Forbidden(_l("只有演示计划可以调整演示时钟，正式计划的日期不会被改动。"))
    days = check_days(days)
    clock = db.session.scalar(sa.select(DemoClock).filter_by(plan_id=plan.id))
    current = clock.days if clock is not None else 0
    if base != current:
        raise Conflict(_l("演示时钟已被调整过，请查看最新状态后重新操作。"))
    now = now_local(now)
    try:
        if clock is None:
            clock = DemoClock(tenant_id=plan.tenant_id, plan_id=plan.id, days=0, last_days=0)
            db.session.add(clock)
            db.session.flush()
        changed = db.session.execute(
            sa.update(DemoClock).where(DemoClock.id == clock.id, DemoClock.days == current)
            .values(days=current + days, last_days=days, moved_at=utcnow(),
                    moved_by=actor.user_id)
            .execution_options(synchronize_session=False)).rowcount
    except IntegrityError:
        changed = 0
    if changed != 1:
        db.session.rollback()
        raise Conflict(_l("演示时钟已被调整过，请查看最新状态后重新操作。"))
    shift(plan, days)
    audit(actor, "plans", plan.id, ACTION,
          reason=f"{plan.code}：演示时钟前移{days}天（计划日期提前{days}天）",
          from_state=str(current), to_state=str(current + days), now=now)
    db.session.commit()
    db.session.refresh(clock)
    for w in plan.windows:
        db.session.refresh(w)
    return clock


def shift(plan: Plan, days: int) -> None:
    """Move every date of `plan`'s timeline `days` earlier: one UPDATE per table, whatever the
    number of rows; the caller commits."""
    sessions = sa.select(ReviewSession.id).where(ReviewSession.plan_id == plan.id)
    files = sa.select(Application.id).where(Application.plan_id == plan.id)
    dates = [
        (PlanWindow, [PlanWindow.plan_id == plan.id], ("opens_on", "closes_on")),
        (FeeWindow, [FeeWindow.plan_id == plan.id], ("opens_on", "closes_on")),
        (Application, [Application.plan_id == plan.id],
         ("notice_starts_on", "notice_ends_on", "correction_due")),
        (ReviewSession, [ReviewSession.plan_id == plan.id], ("held_on",)),
        (Publication, [Publication.session_id.in_(sessions)],
         ("starts_on", "ends_on", "reported_on", "confirmed_on")),
        (Complaint, [Complaint.application_id.in_(files)], ("due_on",)),
    ]
    for model, where, columns in dates:
        db.session.execute(
            sa.update(model).where(model.tenant_id == plan.tenant_id if hasattr(model, "tenant_id")
                                   else sa.true(), *where)
            .values({c: _earlier(getattr(model, c), days) for c in columns})
            .execution_options(synchronize_session=False))
    db.session.execute(
        sa.update(DefenseSlot).where(DefenseSlot.tenant_id == plan.tenant_id,
                                     DefenseSlot.session_id.in_(sessions))
        .values(starts_at=_earlier_instant(DefenseSlot.starts_at, days))
        .execution_options(synchronize_session=False))


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _earlier(column, days: int):
    """SQL: the date `column` moved `days` earlier (NULL stays NULL), on SQLite and PostgreSQL."""
    days = int(days)
    if _sqlite():
        return sa.func.date(column, f"-{days} days")
    return column - sa.literal_column(str(days), sa.Integer)


def _earlier_instant(column, days: int):
    days = int(days)
    if _sqlite():
        return sa.func.strftime("%Y-%m-%d %H:%M:%f000", column, f"-{days} days")
    return column - sa.literal_column(f"INTERVAL '{days} days'")


def reset(plan: Plan) -> None:
    """The plan's dates were laid out afresh (`flask demo load`): its clock starts again."""
    if plan.id is not None:
        db.session.execute(sa.delete(DemoClock).where(DemoClock.plan_id == plan.id))


# -- what the last move did ----------------------------------------------------------------------

@dataclass
class Outcome:
    """What the plan's last move passed, read from the rows: the notices whose end it passed and
    the certificates issued since (the job runs since are the console's, jobs.console)."""
    moved_at: datetime
    days: int
    employer_notices: int
    result_notices: int
    certificates: list[Certificate]


def outcome(plan: Plan, clock: DemoClock | None) -> Outcome | None:
    if clock is None or clock.moved_at is None:
        return None
    day = clock.moved_at.astimezone(TZ).date()
    passed = (day - timedelta(days=clock.last_days), day)
    employer = db.session.scalar(sa.select(sa.func.count(Application.id)).where(
        Application.plan_id == plan.id, Application.notice_ends_on >= passed[0],
        Application.notice_ends_on < passed[1]))
    results = db.session.scalar(
        sa.select(sa.func.count(Publication.id))
        .join(ReviewSession, ReviewSession.id == Publication.session_id)
        .where(ReviewSession.plan_id == plan.id, Publication.ends_on >= passed[0],
               Publication.ends_on < passed[1]))
    certificates = db.session.scalars(
        sa.select(Certificate).join(Application, Application.id == Certificate.application_id)
        .where(Application.plan_id == plan.id, Certificate.created_at >= clock.moved_at)
        .order_by(Certificate.id)).all()
    return Outcome(clock.moved_at, clock.last_days, employer or 0, results or 0,
                   certificates)
