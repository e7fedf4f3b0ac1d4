"""Deadline jobs on RQ: one job per close, enqueued by RQ's own scheduling for its instant.

A close is a plan stage's close or a per-file sweep for one due day (corrections, fee windows,
the end of a public notice). Its job id is stable and names its instant, so scheduling twice
never queues it twice and a moved date gets a new job while the old one is deleted. Future
closes wait in RQ's scheduled registry until the worker's scheduler (`rq worker
--with-scheduler`) enqueues them at their instant; overdue closes that have not finished are
enqueued at once, oldest first (catch-up). `schedule_all` runs on start (`make run`), when
`rq cron` starts and every hour after, and is safe to run any number of times."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

import sqlalchemy as sa
from flask import current_app, g
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus

from ..extensions import db
from ..models import JobRun, Plan
from ..models.fees import FeeWindow
from ..tenancy import config_for, tenant_scope, tenants
from ..workflow.audit import seal_all
from ..workflow.calendar import closes_at, now_local
from ..workflow.certificates import issue_batch
from ..workflow.deadlines import (
    close_corrections, close_key, close_stage, correction_days, due_closes, finished_keys,
)
from ..workflow.fees import close_fee_window, close_fee_windows, fee_close_days, fee_close_key
from ..workflow.plans import plan_by_code
from ..workflow.reminders import open_count
from ..workflow.results import notice_end_days
from . import current_job_id, for_each_tenant, report_progress, worker_app

log = logging.getLogger("app.jobs")
WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)
CLOSE_JOB = "close"  # job.meta["kind"] of every job scheduled here


# -- the job functions -------------------------------------------------------------------------

def run_close(slug: str, plan_code: str, stage: str) -> int:
    """RQ job: close one stage of one plan. Returns the number of applications moved."""
    with worker_app().app_context(), tenant_scope(slug):
        plan = plan_by_code(g.tenant_id, plan_code)
        # One statement moves every row: the console shows 0 of N, then what moved.
        report_progress(0, open_count(plan, stage))
        run = close_stage(plan, stage, rq_job_id=current_job_id())
        report_progress(run.rows_changed)
        seal_all()  # the audit rows its own commit left unsealed
        return run.rows_changed


@dataclass(frozen=True)
class Sweep:
    """A close of per-file deadlines: the days still to act on, and the set-based work."""
    days: Callable[[int], list[date]]
    run: Callable[[int, str | None], int]  # (tenant_id, rq_job_id) → rows changed


def _fee_run(tenant_id: int, job_id: str | None) -> int:
    return sum(r.rows_changed for r in close_fee_windows(tenant_id, rq_job_id=job_id))


def _certificate_run(tenant_id: int, job_id: str | None) -> int:
    return issue_batch(tenant_id, rq_job_id=job_id).rows_changed


def _certificate_days(tenant_id: int) -> list[date]:
    return notice_end_days(tenant_id) if config_for(tenant_id).policies.certificates else []


SWEEPS: dict[str, Sweep] = {
    # BJ-WIN-3, CF-WIN-3: a file not corrected by its own deadline is abandoned.
    "corrections": Sweep(correction_days, lambda tenant_id, job_id: close_corrections(
        tenant_id, rq_job_id=job_id).rows_changed),
    # BJ-FEE-1: unpaid when the agency's fee window closes → abandoned.
    "fees": Sweep(fee_close_days, _fee_run),
    # BJ-CERT-1: a notice ended without a standing objection → the certificate batch.
    "certificates": Sweep(_certificate_days, _certificate_run),
}


def run_sweep(slug: str, name: str) -> int:
    """RQ job: one per-file sweep (see SWEEPS) in one tenant. Returns the rows it changed."""
    with worker_app().app_context(), tenant_scope(slug):
        return SWEEPS[name].run(g.tenant_id, current_job_id())


def run_corrections() -> int:
    """RQ job: abandon, in every tenant, files whose agency correction deadline has passed."""
    return for_each_tenant(SWEEPS["corrections"].run)


def run_fee_closes() -> int:
    """RQ job: abandon, in every tenant, files still unpaid when their fee window has closed
    (BJ-FEE-1). Each window's close runs once; windows not yet closed are left alone."""
    return for_each_tenant(SWEEPS["fees"].run)


def run_schedule() -> int:
    """RQ cron job: `schedule_all` — a safety net that schedules what a lost enqueue or a
    moved date left out and catches up on overdue closes. Returns how many jobs it queued."""
    with worker_app().app_context():
        return len(schedule_all())


# -- what closes when ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadline:
    """One close at one instant (Asia/Shanghai): a plan stage's, or a sweep's for one due day."""
    slug: str
    tenant_id: int
    stage: str               # a plan stage, or a SWEEPS name
    at: datetime
    key: str                 # the close's JobRun key; a finished key is not run again
    plan_code: str | None = None

    @property
    def job_id(self) -> str:
        what = (f"close-{self.tenant_id}-{self.plan_code}-{self.stage}" if self.plan_code
                else f"sweep-{self.tenant_id}-{self.stage}")
        return f"{what}-{self.at:%Y%m%dT%H%M}"

    @property
    def meta(self) -> dict:
        return {"kind": CLOSE_JOB, "tenant_id": self.tenant_id, "plan": self.plan_code,
                "stage": self.stage}

    def call(self) -> tuple[Callable, tuple]:
        if self.plan_code:
            return run_close, (self.slug, self.plan_code, self.stage)
        return run_sweep, (self.slug, self.stage)

    def run_inline(self) -> int:
        func, args = self.call()
        return func(*args)


def stage_deadline(slug: str, plan: Plan, stage: str) -> Deadline:
    return Deadline(slug, plan.tenant_id, stage, closes_at(plan.window(stage).closes_on),
                    close_key(plan, stage), plan.code)


def sweep_deadline(slug: str, tenant_id: int, name: str, day: date) -> Deadline:
    return Deadline(slug, tenant_id, name, closes_at(day), f"{name}:{tenant_id}:{day}")


def deadlines(slug: str, tenant_id: int) -> list[Deadline]:
    """Every close of the tenant still known to the database, in time order: each stage of each
    plan, and each due day of each sweep that still has files to act on."""
    out = [stage_deadline(slug, plan, stage) for plan, stage, _ in due_closes(tenant_id)]
    out += [sweep_deadline(slug, tenant_id, name, day)
            for name, sweep in SWEEPS.items() for day in sweep.days(tenant_id)]
    return sorted(out, key=_order)


def _order(d: Deadline):
    return d.at, d.job_id


# -- the queue ---------------------------------------------------------------------------------

def queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"],
                 connection=Redis.from_url(current_app.config["REDIS_URL"]))


def queue_unless_inline() -> Queue | None:
    """The RQ queue, or None when jobs run inline (no Redis to ask)."""
    return None if current_app.config["JOBS_INLINE"] else queue()


def pending(q: Queue, job_id: str) -> bool:
    """The job with this id is queued, scheduled, deferred or running."""
    job = q.fetch_job(job_id)
    return job is not None and job.get_status(refresh=True) in WAITING


def _fetch(q: Queue, job_id: str) -> Job | None:
    """The job with this id; one left on another queue (the queue's name was changed) is
    deleted, since job ids are shared by every queue of a Redis database."""
    try:
        job = Job.fetch(job_id, connection=q.connection)
    except NoSuchJobError:
        return None
    if job.origin != q.name:
        job.delete()
        return None
    return job


def _put(q: Queue, d: Deadline, now: bool) -> bool:
    """Enqueue `d` now, or for its instant. False when its job already waits (or, for a close
    now, is queued or running). A scheduled job that is overdue is taken out of the scheduled
    registry and queued here, so catch-up keeps the time order across both."""
    job = _fetch(q, d.job_id)
    if job is not None:
        status = job.get_status(refresh=True)
        if status in WAITING and not (now and status == JobStatus.SCHEDULED):
            return False
        job.delete()  # finished, failed, stopped or canceled before: this close is not done
    func, args = d.call()
    kwargs = {"job_id": d.job_id, "unique": True, "meta": d.meta, "description": d.key}
    try:
        if now:
            q.enqueue(func, *args, **kwargs)
        else:
            q.enqueue_at(d.at, func, *args, **kwargs)
    except DuplicateJobError:  # another scheduler queued it in between
        return False
    return True


def _waiting_jobs(q: Queue) -> list[Job]:
    ids = q.scheduled_job_registry.get_job_ids() + q.get_job_ids()
    return [j for j in Job.fetch_many(ids, connection=q.connection) if j is not None]


def _drop_stale(waiting: list[Job], tenant_id: int, keep: set[str], plan: str | None = None,
                stage: str | None = None) -> list[str]:
    """Delete the tenant's waiting close jobs (of one plan stage, if given) that are not in
    `keep`: their instant is no longer a close (a date moved, the files were dealt with)."""
    dropped = []
    for job in waiting:
        m = job.meta or {}
        if m.get("kind") != CLOSE_JOB or m.get("tenant_id") != tenant_id or job.id in keep:
            continue
        if stage is not None and (m.get("plan"), m.get("stage")) != (plan, stage):
            continue
        job.delete()
        dropped.append(job.id)
    return dropped


def schedule_all(now: datetime | None = None, plan: Plan | None = None
                 ) -> list[tuple[str, str, str]]:
    """Enqueue every close: future ones for their instant, overdue ones not yet done now,
    oldest first across every tenant (catch-up); delete waiting jobs of instants that are no
    longer closes. Returns (key, "at" | "now", instant) for each job queued by this call. With
    JOBS_INLINE the overdue closes run here, in the same order, and nothing is scheduled.
    With `plan` (its dates have all moved: the demo clock), only its tenant, and of the plan
    closes only its own; the tenant's sweeps too."""
    now = now_local(now)
    q = queue_unless_inline()
    waiting = [] if q is None else _waiting_jobs(q)
    queued, overdue = [], []
    for slug in [config_for(plan.tenant_id).slug] if plan is not None else tenants():
        with tenant_scope(slug):
            current = deadlines(slug, g.tenant_id)
            finished = finished_keys(g.tenant_id)
            if q is not None:
                _drop_stale(waiting, g.tenant_id, {d.job_id for d in current})
            if plan is not None:
                current = [d for d in current if d.plan_code in (None, plan.code)]
            for d in current:
                if d.at <= now:
                    if d.key not in finished:
                        overdue.append(d)
                elif q is not None and _put(q, d, now=False):
                    queued.append((d.key, "at", d.at.isoformat()))
    for d in sorted(overdue, key=_order):
        if q is None:
            d.run_inline()
            queued.append((d.key, "now", d.at.isoformat()))
        elif _put(q, d, now=True):
            queued.append((d.key, "now", d.at.isoformat()))
    return queued


def reschedule(plan: Plan, stage: str, now: datetime | None = None) -> str | None:
    """Make the queue match the current close of `stage` of `plan` (after its date changed):
    delete its waiting job of any other instant and schedule the current one (at once if
    overdue). Returns the id of the job now waiting, or None when the close has already run,
    jobs run inline, or Redis cannot be reached (the hourly `run_schedule` then catches up)."""
    if current_app.config["JOBS_INLINE"]:
        return None
    d = stage_deadline(config_for(plan.tenant_id).slug, plan, stage)
    try:
        q = queue()
        _drop_stale(_waiting_jobs(q), plan.tenant_id, {d.job_id}, plan.code, stage)
        if d.key in finished_keys(plan.tenant_id):
            return None
        _put(q, d, now=d.at <= now_local(now))
    except (RedisError, OSError):
        log.exception("could not reschedule %s", d.key)
        return None
    return d.job_id


def schedule_sweep(tenant_id: int, name: str, day: date | None) -> str | None:
    """Schedule the sweep `name` (see SWEEPS) of a tenant for the close of `day`, a correction
    or fee deadline just set. Call after the commit. Never raises: without Redis the hourly
    `run_schedule` schedules it. Returns the job id, or None when nothing was scheduled."""
    if current_app.config["JOBS_INLINE"] or day is None:
        return None
    d = sweep_deadline(config_for(tenant_id).slug, tenant_id, name, day)
    if d.at <= now_local():
        return None  # overdue already: the next `run_schedule` runs it
    try:
        _put(queue(), d, now=False)
    except (RedisError, OSError):
        log.exception("could not schedule %s", d.key)
        return None
    return d.job_id


# -- what the console shows ----------------------------------------------------------------------

def scheduled_jobs(tenant_id: int) -> list[dict]:
    """Every close of the tenant with its job, in time order: {"job_id", "plan" (a plan code,
    None for a sweep), "stage" (a plan stage or a sweep name), "instant" (Asia/Shanghai),
    "key", "status"}. The status is the RQ job's while it waits or runs (scheduled, queued,
    started); once it has run, what the close recorded (finished, failed, early); with neither,
    "missing" — or "unknown" when Redis cannot be reached."""
    slug = config_for(tenant_id).slug
    rows = deadlines(slug, tenant_id)
    runs = _last_runs(tenant_id, [d.key for d in rows])
    jobs = _job_statuses([d.job_id for d in rows])
    return [{"job_id": d.job_id, "plan": d.plan_code, "stage": d.stage, "instant": d.at,
             "key": d.key, "status": _status(jobs, runs.get(d.key), d.job_id)}
            for d in rows]


def _status(jobs: dict[str, str] | None, run: str | None, job_id: str) -> str:
    job = (jobs or {}).get(job_id)
    if run and job in (None, "finished", "failed"):
        return run  # what the close itself recorded: finished, failed or early
    return job or ("unknown" if jobs is None else "missing")


def _last_runs(tenant_id: int, keys: list[str]) -> dict[str, str]:
    rows = db.session.execute(sa.select(JobRun.key, JobRun.status).where(
        JobRun.tenant_id == tenant_id, JobRun.key.in_(keys)).order_by(JobRun.id))
    return {key: status for key, status in rows}  # the latest run of a key wins


def _job_statuses(job_ids: list[str]) -> dict[str, str] | None:
    if current_app.config["JOBS_INLINE"]:
        return {}
    try:
        q = queue()
        jobs = Job.fetch_many(job_ids, connection=q.connection)
        return {j.id: j.get_status(refresh=False).value for j in jobs if j is not None}
    except (RedisError, OSError):
        return None


# -- replay --------------------------------------------------------------------------------------

class NotReplayable(LookupError):
    """No finished or failed close is recorded under the key, or its date has moved since."""


def replay(key: str) -> tuple[JobRun, bool]:
    """Run again the close recorded under `key` (a JobRun key: close:…, fees:…, corrections:…)
    whose last run finished or failed. Every close is idempotent, so replaying a finished one
    changes nothing. Returns the new run and whether the close had finished before."""
    last = db.session.scalar(sa.select(JobRun).filter_by(key=key).order_by(JobRun.id.desc()))
    kind = key.split(":", 1)[0]
    if last is None or last.status not in ("finished", "failed") or kind not in _REPLAYS:
        raise NotReplayable(f"no finished or failed close is recorded under {key!r}")
    with tenant_scope(config_for(last.tenant_id).slug):
        return _REPLAYS[kind](last.tenant_id, key), last.status == "finished"


def _replay_close(tenant_id: int, key: str) -> JobRun:
    _, _, plan_code, stage, _ = key.split(":")
    plan = plan_by_code(tenant_id, plan_code)
    if plan is None or plan.window(stage) is None or close_key(plan, stage) != key:
        raise NotReplayable(f"{key!r} is stale: the plan or its window has changed since")
    return close_stage(plan, stage)


def _replay_fees(tenant_id: int, key: str) -> JobRun:
    _, _, committee_id, plan_id, _ = key.split(":")
    window = db.session.scalar(sa.select(FeeWindow).filter_by(
        tenant_id=tenant_id, committee_id=int(committee_id), plan_id=int(plan_id)))
    if window is None or fee_close_key(window) != key:
        raise NotReplayable(f"{key!r} is stale: the fee window has changed since")
    return close_fee_window(window)


_REPLAYS: dict[str, Callable[[int, str], JobRun]] = {
    "close": _replay_close,
    "fees": _replay_fees,
    "corrections": lambda tenant_id, key: close_corrections(tenant_id),
}
