"""Reminders before each stage close, and before each agency correction deadline, to everyone who
still has to act, through the notification outbox.

Who still has to act follows from CLOSES: what a close would move is what somebody has not done
yet. A file in draft or returned waits on its applicant; any other open file waits on the staff
of the office holding it. Each run is a fixed number of INSERT ... SELECT statements whatever the
number of people, and the outbox's unique dedupe key (person, plan, stage, closing date, days before) means a
second or concurrent run writes nothing twice."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from babel.dates import format_date
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..extensions import db
from ..models import Application, JobRun, Plan, Role, Status, User, utcnow
from ..models.notify import Channel
from . import notify
from .calendar import TZ, closes_at, now_local
from .deadlines import CLOSES, Close, due_closes, of_plan, recorded

REMIND_AT = time(9, 0)  # local time of day a reminder goes out
CORRECTIONS = "corrections"  # the "stage" of an agency's per-file correction deadline
# Who acts for the office holding a file.
STAFF_ROLES = (Role.employer_clerk.value, Role.department_clerk.value, Role.hr_officer.value,
               Role.association_clerk.value, Role.agency_clerk.value)

SUBJECT = _l("职称评审办理提醒")
TO_SUBMIT = _l("您在“%(plan)s”中的职称申报尚未提交，申报将于%(date)s 24时截止，"
               "逾期未提交视为放弃申报。")
TO_CORRECT = _l("您退回补正的职称申报尚未重新提交，请于%(date)s 24时前补正并提交，"
                "逾期视为放弃申报。")
TO_ACT = _l("贵单位在“%(plan)s”中尚有待办理的职称申报，请于%(date)s 24时前办理，"
            "逾期将不能再推荐上报。")
TASKS = {"submit": TO_SUBMIT, "correct": TO_CORRECT, "act": TO_ACT}


@dataclass
class Sent:
    """A reminder run and the outbox rows it wrote (to hand to the queue after the commit)."""
    run: JobRun
    outbox_ids: list[int] = field(default_factory=list)


def remind_at(last_day: date, days: int) -> datetime:
    """When the reminder `days` days before a window's last day goes out: 09:00 that day."""
    return datetime.combine(last_day - timedelta(days=days), REMIND_AT, TZ)


def due_days(reminder_days: list[int], last_day: date, now: datetime) -> int | None:
    """Which reminder is due now for a deadline ending on `last_day`: the latest one whose
    instant has passed, while the deadline has not; None before the first and after the close.
    A reminder missed (a worker was down) still goes out until the next one is due."""
    if now >= closes_at(last_day):
        return None
    passed = [d for d in reminder_days if remind_at(last_day, d) <= now]
    return min(passed) if passed else None


def run_key(plan: Plan, stage: str, days: int) -> str:
    return (f"remind:{plan.tenant_id}:{plan.code}:{stage}:"
            f"{plan.window(stage).closes_on.isoformat()}:{days}")


def dedupe_key(user_id, plan_id, stage: str, days: int):
    """remind:<person>:<plan>:<stage>:<days>, as an SQL expression over the given columns
    (`stage` may carry the closing date)."""
    return (sa.literal("remind:") + sa.cast(user_id, sa.String) + ":"
            + sa.cast(plan_id, sa.String) + f":{stage}:{days}")


def open_where(plan: Plan, c: Close) -> list:
    """The files of `plan` that close `c` would move."""
    return [*of_plan(plan), Application.status == c.from_state, *c.conditions()]


def open_count(plan: Plan, stage: str) -> int:
    """How many files the close of `stage` would move now (one COUNT)."""
    closes = CLOSES.get(stage, ())
    if not closes:
        return 0
    return db.session.scalar(sa.select(sa.func.count(Application.id)).where(
        sa.or_(*(sa.and_(*open_where(plan, c)) for c in closes))))


def _acting(where: list, applicant: bool, stage: str, days: int) -> sa.Select:
    """(recipient, dedupe_key) of the people who act on the files matching `where`: their
    applicants, or the staff of the offices holding them. Only active users with a mobile; the
    recipient is the encrypted number, copied into the outbox as it is."""
    on = (User.id == Application.applicant_id if applicant else
          sa.and_(User.org_id == Application.holder_org_id, User.role.in_(STAFF_ROLES)))
    return (sa.select(User.mobile_enc.label("recipient"),
                      dedupe_key(User.id, Application.plan_id, stage, days).label("dedupe_key"))
            .join(Application, on)
            .where(*where, User.active.is_(True), User.mobile_enc.is_not(None),
                   User.mobile_enc != "")
            .distinct())


def _text(template, **values) -> str:
    # The outbox keeps no language per recipient: notices go out in the default one.
    with force_locale("zh_Hans_CN"):
        return str(template) % values if values else str(template)


def _day(d: date) -> str:
    return format_date(d, "yyyy年M月d日", locale="zh_Hans_CN")


def _write_stage(plan: Plan, stage: str, days: int) -> list[int]:
    """Queue the `days`-before reminder of `stage` for everyone who still has to act: one
    INSERT ... SELECT per kind of person (applicant to submit, applicant to correct, staff)."""
    last = plan.window(stage).closes_on
    groups: dict[str, list[sa.Select]] = {}
    for c in CLOSES.get(stage, ()):
        task = _task(c.from_state)
        groups.setdefault(task, []).append(
            # The closing date is part of the key: a close moved later is reminded of again.
            _acting(open_where(plan, c), task != "act", f"{stage}:{last.isoformat()}", days))
    ids = []
    for task, selects in groups.items():
        ids += notify.queue_select(
            plan.tenant_id, Channel.sms.value, sa.union(*selects) if len(selects) > 1
            else selects[0], _text(SUBJECT), _text(TASKS[task], plan=plan.name, date=_day(last)))
    return ids


def _task(state: str) -> str:
    """What is still to do on a file in `state`: submit or correct (its applicant), or act
    (the office holding it)."""
    return {Status.draft.value: "submit", Status.returned.value: "correct"}.get(state, "act")


def correction_bands(reminder_days: list[int], now: datetime) -> list[tuple[int, date, date]]:
    """(days, first, last due date): files whose corrections are due in that range get that
    reminder now; the same choice as `due_days`, as date ranges."""
    today = now.date()
    # The last reminder day already reached: today from 09:00, else yesterday.
    reached = today if now.time() >= REMIND_AT else today - timedelta(days=1)
    bands, low = [], today
    for d in sorted(reminder_days):
        high = reached + timedelta(days=d)
        if high >= low:
            bands.append((d, low, high))
        low = max(low, high + timedelta(days=1))
    return bands


def _write_corrections(tenant_id: int, reminder_days: list[int], now: datetime) -> list[int]:
    """Queue reminders to applicants whose agency correction deadline is near: one INSERT ...
    SELECT per due date within the reminder bands (bounded by the configured days)."""
    ids = []
    for d, first, last in correction_bands(reminder_days, now):
        day = first
        while day <= last:
            where = [Application.tenant_id == tenant_id,
                     Application.status == Status.returned.value,
                     Application.correction_due == day]
            ids += notify.queue_select(
                tenant_id, Channel.sms.value, _acting(where, True, CORRECTIONS, d),
                _text(SUBJECT), _text(TO_CORRECT, date=_day(day)))
            day += timedelta(days=1)
    return ids


def send_stage(cfg, plan: Plan, stage: str, days: int, now: datetime | None = None,
               rq_job_id: str | None = None) -> Sent:
    """The scheduled reminder `days` before `stage` closes, if it is the one due now (else the
    run is recorded as early or skipped and nothing is sent). Commits."""
    now = now_local(now)
    run = JobRun(tenant_id=plan.tenant_id, name=f"remind_{stage}",
                 key=run_key(plan, stage, days), rq_job_id=rq_job_id, started_at=utcnow())
    last = plan.window(stage).closes_on
    if due_days(cfg.policies.reminder_days, last, now) != days:
        run.status = "early" if now < remind_at(last, days) else "skipped"
        run.finished_at = utcnow()
        db.session.add(run)
        db.session.commit()
        return Sent(run)
    sent = Sent(run)

    def work() -> int:
        sent.outbox_ids = _write_stage(plan, stage, days)
        return len(sent.outbox_ids)
    recorded(run, work)
    return sent


def sweep(cfg, tenant_id: int, now: datetime | None = None, rq_job_id: str | None = None
          ) -> Sent:
    """Every reminder due now in the tenant, in one run: the daily safety net behind the
    scheduled jobs (a job lost or late, a file opened after its reminder went out) and the only
    sender of correction-deadline reminders. Commits."""
    now = now_local(now)
    days = cfg.policies.reminder_days
    run = JobRun(tenant_id=tenant_id, name="remind_sweep",
                 key=f"remind:{tenant_id}:sweep:{now.date().isoformat()}", rq_job_id=rq_job_id,
                 started_at=utcnow())
    sent = Sent(run)

    def work() -> int:
        for plan, stage, _ in due_closes(tenant_id):
            d = due_days(days, plan.window(stage).closes_on, now)
            if d is not None:
                sent.outbox_ids += _write_stage(plan, stage, d)
        sent.outbox_ids += _write_corrections(tenant_id, days, now)
        return len(sent.outbox_ids)
    recorded(run, work)
    return sent
