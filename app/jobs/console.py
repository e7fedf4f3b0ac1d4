"""The operators' job console: a tenant's jobs waiting in RQ (scheduled, queued, running with
rows done / total) and its recorded runs (running, finished, failed), and the retry of a failed
job with its own function and arguments."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus

from ..extensions import db
from ..models import JobRun
from ..workflow.actors import Actor
from ..workflow.errors import Conflict, Invalid
from ..workflow.plans import stage_label
from ..workflow.transitions import audit
from .deadlines import queue_unless_inline, scheduled_jobs
from .reminders import job_prefix

RECENT_RUNS = 100
ACTIVE = ("queued", "running")
WAITING = ("scheduled", *ACTIVE)
RETRYABLE = ("failed", "running")  # as recorded on the run; its RQ job must have failed
# RQ's job states and the JobRun row's, as the console names them.
STATES = {JobStatus.SCHEDULED.value: "scheduled", JobStatus.QUEUED.value: "queued",
          JobStatus.DEFERRED.value: "queued", JobStatus.STARTED.value: "running",
          JobStatus.FINISHED.value: "finished", JobStatus.FAILED.value: "failed",
          JobStatus.STOPPED.value: "failed", JobStatus.CANCELED.value: "failed",
          "done": "finished"}
STATUS_LABELS = {
    "scheduled": _l("已排定"), "queued": _l("排队中"), "running": _l("运行中"),
    "finished": _l("已完成"), "failed": _l("失败"), "early": _l("未到执行时间"),
    "skipped": _l("无需执行"), "retried": _l("已重新排队"), "ended": _l("已结束"),
}

UNREACHABLE = _l("任务队列暂时无法连接，请稍后再试。")
# What a run does, by the first part of its key.
KIND_LABELS = {
    "corrections": _l("补正期限到期处理"), "fees": _l("缴费期截止处理"),
    "certificates": _l("电子证书批量签发"), "report": _l("逐级上报材料生成"),
    "remind": _l("截止提醒"), "rehearsal": _l("年度演练"),
}


def describe(key: str, meta: dict | None = None) -> str:
    """What a run or a waiting job does, in words; the key stays beside it (for `flask jobs
    replay`)."""
    meta, parts = meta or {}, key.split(":")
    if meta.get("plan") and meta.get("stage"):
        return str(_l("%(plan)s：%(stage)s截止处理", plan=meta["plan"],
                      stage=stage_label(meta["stage"])))
    if parts[0] == "close" and len(parts) == 5:
        return str(_l("%(plan)s：%(stage)s截止处理（%(d)s）", plan=parts[2],
                      stage=stage_label(parts[3]), d=parts[4]))
    if parts[0] == "remind" and len(parts) == 6:
        return str(_l("%(plan)s：%(stage)s截止前%(n)s天提醒", plan=parts[2],
                      stage=stage_label(parts[3]), n=parts[5]))
    return str(KIND_LABELS.get(parts[0], ""))


@dataclass(frozen=True)
class Entry:
    """One line of the console: a recorded run ("run-<id>") or a job waiting in RQ (its id)."""
    ref: str
    name: str
    status: str
    label: str = ""
    at: datetime | None = None           # the scheduled instant, or when it started
    finished_at: datetime | None = None
    done: int | None = None
    total: int | None = None
    error: str = ""
    rq_job_id: str | None = None

    @property
    def active(self) -> bool:
        """Still queued or running: its row polls for news."""
        return self.status in ACTIVE

    @property
    def run_id(self) -> int | None:
        return int(self.ref.removeprefix("run-")) if self.ref.startswith("run-") else None

    @property
    def retryable(self) -> bool:
        """A failed run whose RQ job can be put back on the queue."""
        return self.status == "failed" and self.run_id is not None and bool(self.rq_job_id)


def _owned(tenant_id: int, job: Job) -> bool:
    """Closes carry their tenant in the job's meta; reminders in their job id."""
    return (job.meta or {}).get("tenant_id") == tenant_id or job.id.startswith(
        job_prefix(tenant_id))


def _from_job(job: Job, at: datetime | None = None) -> Entry:
    meta = job.meta or {}
    return Entry(ref=job.id, name=job.description or job.id, label=describe(job.id, meta),
                 status=STATES.get(job.get_status(refresh=False).value, "queued"),
                 at=at or job.started_at or job.enqueued_at, finished_at=job.ended_at,
                 done=meta.get("done"), total=meta.get("total"), rq_job_id=job.id)


def waiting(tenant_id: int) -> list[Entry] | None:
    """The tenant's jobs scheduled, queued or running in RQ, soonest first; None when Redis
    cannot be reached. A fixed number of Redis calls whatever the number of jobs."""
    try:
        q = queue_unless_inline()
        if q is None:
            return []
        closes = [j["job_id"] for j in scheduled_jobs(tenant_id)
                  if STATES.get(j["status"]) in WAITING]
        prefix = job_prefix(tenant_id)
        mine = [i for i in (q.scheduled_job_registry.get_job_ids() + q.get_job_ids()
                            + q.started_job_registry.get_job_ids()) if i.startswith(prefix)]
        instants = dict(q.connection.zrange(q.scheduled_job_registry.key, 0, -1,
                                            withscores=True))
        jobs = [j for j in Job.fetch_many(list(dict.fromkeys(closes + mine)), q.connection)
                if j is not None]
    except (RedisError, OSError):
        return None
    out = [_from_job(j, _instant(instants.get(j.id.encode()))) for j in jobs]
    out = [e for e in out if e.status in WAITING]
    return sorted(out, key=lambda e: (e.status == "scheduled", e.at or datetime.min.replace(
        tzinfo=UTC)))


def _instant(score: float | None) -> datetime | None:
    return datetime.fromtimestamp(score, UTC) if score is not None else None


def runs(tenant_id: int) -> list[Entry]:
    """The tenant's recorded runs, newest first, with progress for those still running."""
    rows = db.session.scalars(sa.select(JobRun).filter_by(tenant_id=tenant_id)
                              .order_by(JobRun.id.desc()).limit(RECENT_RUNS)).all()
    jobs = _jobs([r.rq_job_id for r in rows if r.status in ACTIVE and r.rq_job_id])
    return [_from_run(r, jobs.get(r.rq_job_id)) for r in rows]


def runs_since(tenant_id: int, since: datetime) -> list[Entry]:
    """The tenant's runs started at or after `since`, oldest first (the demo clock's page)."""
    rows = db.session.scalars(sa.select(JobRun).where(
        JobRun.tenant_id == tenant_id, JobRun.started_at >= since)
        .order_by(JobRun.id).limit(RECENT_RUNS)).all()
    jobs = _jobs([r.rq_job_id for r in rows if r.status in ACTIVE and r.rq_job_id])
    return [_from_run(r, jobs.get(r.rq_job_id)) for r in rows]


def _jobs(ids: list[str]) -> dict[str, Job]:
    """The RQ jobs with these ids (one round trip); none when Redis cannot be reached."""
    if not ids:
        return {}
    try:
        q = queue_unless_inline()
        if q is None:
            return {}
        return {j.id: j for j in Job.fetch_many(ids, q.connection) if j is not None}
    except (RedisError, OSError):
        return {}


def _from_run(run: JobRun, job: Job | None) -> Entry:
    status = STATES.get(run.status, run.status)
    done, total = run.rows_changed, None
    if status in ACTIVE and job is not None:
        meta = job.meta or {}
        done, total = meta.get("done", done), meta.get("total")
        if STATES.get(job.get_status(refresh=False).value) == "failed":
            status = "failed"  # the worker died or the job was stopped: the row never will
    return Entry(ref=f"run-{run.id}", name=run.key, label=describe(run.key), status=status,
                 at=run.started_at,
                 finished_at=run.finished_at, done=done, total=total, error=run.error or "",
                 rq_job_id=run.rq_job_id)


def entry(tenant_id: int, ref: str) -> Entry | None:
    """One line of the tenant's console by its ref; None for anything not the tenant's. A job
    that has ended is shown by the run it recorded, when there is one."""
    if ref.startswith("run-"):
        run_id = ref.removeprefix("run-")
        run = db.session.scalar(sa.select(JobRun).filter_by(
            id=int(run_id), tenant_id=tenant_id)) if run_id.isdigit() else None
        if run is None:
            return None
        return _from_run(run, _jobs([run.rq_job_id] if run.rq_job_id else []).get(
            run.rq_job_id))
    job = _jobs([ref]).get(ref)
    if job is not None and not _owned(tenant_id, job):
        return None
    live = _from_job(job) if job is not None else None
    if live is not None and live.status in WAITING:
        return live
    run = db.session.scalar(sa.select(JobRun).filter_by(tenant_id=tenant_id, rq_job_id=ref)
                            .order_by(JobRun.id.desc()).limit(1))
    if run is not None:
        return _from_run(run, None)
    if live is None and ref.startswith(job_prefix(tenant_id)):
        return Entry(ref=ref, name=ref, status="ended")  # its result has expired
    return live


def retry(tenant_id: int, run_id: int, actor: Actor) -> Job:
    """Put a failed run's RQ job back on its queue: the same function, arguments and job id.
    A run still marked running whose job failed (its worker died) counts as failed. Audited;
    at most once per failure, also when two operators click at the same time. LookupError for
    a run that is not the tenant's."""
    run = db.session.scalar(sa.select(JobRun).filter_by(id=run_id, tenant_id=tenant_id))
    if run is None:
        raise LookupError(run_id)
    if run.status not in RETRYABLE:
        raise Conflict(_l("只有失败的任务可以重试。"))
    seen = run.status
    job = _failed_job(run)
    claimed = db.session.execute(
        sa.update(JobRun).where(JobRun.id == run.id, JobRun.status == seen)
        .values(status="retried").execution_options(synchronize_session=False)).rowcount
    try:
        if claimed != 1:
            raise InvalidJobOperation("retried by someone else")
        job.requeue()
    except InvalidJobOperation:  # another operator's retry came first
        db.session.rollback()
        raise Conflict(_l("该任务已由他人重试，请刷新后查看。")) from None
    except (RedisError, OSError):
        db.session.rollback()
        raise Invalid(UNREACHABLE) from None
    audit(actor, "job_runs", run.id, "retry_job", reason=f"{job.func_name} {job.id}")
    db.session.commit()
    return job


def _failed_job(run: JobRun) -> Job:
    """The run's RQ job, which must still be there and failed."""
    try:
        q = queue_unless_inline()
        job = q.fetch_job(run.rq_job_id) if q is not None and run.rq_job_id else None
    except (RedisError, OSError):
        raise Invalid(UNREACHABLE) from None
    if job is None:
        raise Invalid(_l("任务队列中已没有这次运行的记录，无法重试。"))
    if job.get_status(refresh=False) != JobStatus.FAILED:
        raise Conflict(_l("该任务已不在失败状态，请刷新后查看。"))
    return job
