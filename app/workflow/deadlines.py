"""Stage closes: what is still open at a window's close moves on, set-based and idempotent.

The refusal of late requests lives in transitions; this module closes what nobody acted on.
Each close is one UPDATE ... RETURNING per (from-state → to-state) plus one bulk INSERT of audit
events for exactly the rows that UPDATE changed, in one transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, AuditEvent, JobRun, Plan, Status, utcnow
from .calendar import closes_at, now_local


@dataclass(frozen=True)
class Close:
    from_state: str
    to_state: str
    reason: str
    # Returns by the agency carry their own deadline (correction_due) and are not closed here.
    only_without_due: bool = False


# What each stage's close does to applications still open in it.
CLOSES: dict[str, tuple[Close, ...]] = {
    "apply": (Close(Status.draft.value, Status.abandoned.value,
                    "申报期截止未提交，视为放弃申报"),),
    "employer_review": (
        Close(Status.submitted.value, Status.not_recommended.value, "单位审核推荐期截止未推荐"),
        Close(Status.in_notice.value, Status.not_recommended.value, "单位审核推荐期截止未推荐"),
        Close(Status.returned.value, Status.abandoned.value, "逾期未补正，视为放弃申报", True),
    ),
    "tier_report": (
        Close(Status.submitted.value, Status.not_recommended.value, "逐级审核上报期截止未上报"),
        Close(Status.in_notice.value, Status.not_recommended.value, "逐级审核上报期截止未上报"),
        Close(Status.returned.value, Status.abandoned.value, "逾期未补正，视为放弃申报", True),
    ),
}


def close_key(plan: Plan, stage: str) -> str:
    window = plan.window(stage)
    return f"close:{plan.tenant_id}:{plan.code}:{stage}:{window.closes_on.isoformat()}"


def close_stage(plan: Plan, stage: str, now: datetime | None = None, rq_job_id: str | None = None
                ) -> JobRun:
    """Close `stage` of `plan` if its close instant has passed. Safe to run twice or late."""
    now = now_local(now)
    run = JobRun(tenant_id=plan.tenant_id, name=f"close_{stage}", key=close_key(plan, stage),
                 rq_job_id=rq_job_id, started_at=utcnow())
    window = plan.window(stage)
    if now < closes_at(window.closes_on):
        run.status, run.finished_at = "early", utcnow()
        run.error = f"window closes at {closes_at(window.closes_on).isoformat()}"
        db.session.add(run)
        db.session.commit()
        return run
    def work() -> int:
        changed = 0
        for c in CLOSES.get(stage, ()):
            where = [Application.plan_id == plan.id]
            if c.only_without_due:
                where.append(Application.correction_due.is_(None))
            changed += _move(plan.tenant_id, where, c, f"close_{stage}")
        return changed
    return _recorded(run, work)


def _recorded(run: JobRun, work) -> JobRun:
    """Run `work()` (returns rows changed) and its JobRun row in one commit; on failure roll the
    work back and keep the failed run visible, then re-raise so RQ records it too."""
    try:
        run.rows_changed = work()
        run.status, run.finished_at = "finished", utcnow()
        db.session.add(run)
        db.session.commit()
    except Exception as e:
        db.session.rollback()
        run.status, run.error, run.finished_at = "failed", repr(e), utcnow()
        db.session.add(run)
        db.session.commit()
        raise
    return run


def _move(tenant_id: int, where: list, c: Close, action: str) -> int:
    """One UPDATE ... RETURNING for the rows still in `c.from_state`, one bulk INSERT of their
    audit events; the caller commits."""
    ids = db.session.execute(
        sa.update(Application)
        .where(Application.status == c.from_state, *where)
        .values(status=c.to_state, holder_org_id=None, version=Application.version + 1,
                updated_at=utcnow())
        .returning(Application.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    if ids:
        at = utcnow()
        db.session.execute(sa.insert(AuditEvent), [
            {"tenant_id": tenant_id, "at": at, "actor_name": "system", "actor_role": "system",
             "subject_type": "applications", "subject_id": i, "action": action,
             "from_state": c.from_state, "to_state": c.to_state, "reason": c.reason, "ip": ""}
            for i in ids])
    return len(ids)


CORRECTIONS = Close(Status.returned.value, Status.abandoned.value, "逾期未补正，视为放弃申报")


def close_corrections(tenant_id: int, now: datetime | None = None) -> JobRun:
    """Abandon every file whose agency correction deadline has passed (BJ-WIN-3, CF-WIN-3)."""
    today = now_local(now).date()
    run = JobRun(tenant_id=tenant_id, name="close_corrections",
                 key=f"corrections:{tenant_id}:{today.isoformat()}", started_at=utcnow())
    return _recorded(run, lambda: _move(
        tenant_id, [Application.tenant_id == tenant_id, Application.correction_due < today],
        CORRECTIONS, "close_corrections"))


def due_closes(tenant_id: int, now: datetime | None = None) -> list[tuple[Plan, str, datetime]]:
    """Every (plan, stage, close instant) of the tenant that has a close action, in time order."""
    plans = db.session.scalars(sa.select(Plan).filter_by(tenant_id=tenant_id)).all()
    out = [(p, w.stage, closes_at(w.closes_on)) for p in plans for w in p.windows
           if w.stage in CLOSES]
    return sorted(out, key=lambda t: (t[2], t[0].id, t[1]))


def finished_keys(tenant_id: int) -> set[str]:
    return set(db.session.scalars(sa.select(JobRun.key).filter_by(
        tenant_id=tenant_id, status="finished")))
