"""Stage closes: what is still open at a window's close moves on, set-based and idempotent.

The refusal of late requests lives in transitions; this module closes what nobody acted on.
Each (from-state → to-state) of a close is two statements whatever the row count, in the close's
one transaction: an UPDATE that moves the rows and marks each with the close's JobRun, then an
INSERT ... SELECT of one audit event per marked row. Nothing is read back into Python."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, JobRun, Plan, Status, Tenant, utcnow
from .actors import Actor
from .bulk import Change, move_set
from .calendar import closes_at, now_local


@dataclass(frozen=True)
class Close:
    from_state: str
    to_state: str
    reason: str
    # Returns by the agency carry their own deadline (correction_due) and are not closed here.
    only_without_due: bool = False
    # A further condition on the rows this close moves (a SQL expression, built when it runs).
    only: Callable[[], Any] | None = None

    def conditions(self) -> list:
        """What a row in `from_state` must also meet to be moved (SQL expressions)."""
        out = [Application.correction_due.is_(None)] if self.only_without_due else []
        return out + ([self.only()] if self.only is not None else [])


def _under_correction():
    """Files the agency returned (BJ-WIN-3, CF-WIN-3): while they are corrected and recommended
    again they answer to the correction deadline and the agency's window, not the offices'."""
    return Application.correction_due.is_not(None)


def _paper_missing():
    """No matching paper receipt by city HR for the application (CF-WIN-4): a county HR
    receipt does not count."""
    from .directed import received_at_city
    return ~received_at_city(Application.id)


UNCORRECTED = "逾期未补正，视为放弃申报"


def _office_close(reason: str) -> tuple[Close, ...]:
    """An office window's close: files the offices still hold are not recommended, files they
    returned and nobody corrected are abandoned (BJ-WIN-2, CF-WIN-2)."""
    return (Close(Status.submitted.value, Status.not_recommended.value, reason, True),
            Close(Status.in_notice.value, Status.not_recommended.value, reason, True),
            Close(Status.returned.value, Status.abandoned.value, UNCORRECTED, True))


RECOMMEND_AGAIN = "补正后逾期未重新推荐，视为放弃申报"
PAPER_LATE = "纸质材料逾期未报送至市人社局，不再补报"

# What each stage's close does to applications still open in it. Files waiting for the agency's
# first check ("recommended") are left where they are at the agency's close: the notices give
# no consequence for the agency's own delay, and its late check is refused.
CLOSES: dict[str, tuple[Close, ...]] = {
    "apply": (Close(Status.draft.value, Status.abandoned.value,
                    "申报期截止未提交，视为放弃申报"),),
    "employer_review": _office_close("单位审核推荐期截止未推荐"),
    "tier_report": _office_close("逐级审核上报期截止未上报"),
    # BJ-WIN-3, CF-WIN-3: not corrected, or corrected but not recommended again, by the close of
    # the agency's (committee's) check → abandoned.
    "agency_check": (
        Close(Status.returned.value, Status.abandoned.value, UNCORRECTED),
        Close(Status.submitted.value, Status.abandoned.value, RECOMMEND_AGAIN,
              only=_under_correction),
        Close(Status.in_notice.value, Status.abandoned.value, RECOMMEND_AGAIN,
              only=_under_correction),
    ),
    # CF-WIN-4, CF-PAPER-2: a directed-evaluation file whose paper has not reached city HR by
    # the close is not reported late.
    "paper_to_city": tuple(
        Close(s.value, Status.not_recommended.value, PAPER_LATE, only=_paper_missing)
        for s in (Status.submitted, Status.in_notice, Status.recommended, Status.checked)),
}


def close_key(plan: Plan, stage: str) -> str:
    window = plan.window(stage)
    return f"close:{plan.tenant_id}:{plan.code}:{stage}:{window.closes_on.isoformat()}"


def of_plan(plan: Plan) -> list:
    """The files of `plan`, by its tenant too, so the tenant's status index finds them."""
    return [Application.tenant_id == plan.tenant_id, Application.plan_id == plan.id]


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
        return sum(move_rows(run, of_plan(plan), c, f"close_{stage}",
                             c.conditions()) for c in CLOSES.get(stage, ()))
    return recorded(run, work)


def recorded(run: JobRun, work) -> JobRun:
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


def move_rows(run: JobRun, scope: list, c: Close, action: str, conditions: list = ()) -> int:
    """Move the rows of `scope` still in `c.from_state` (and meeting `conditions`) to
    `c.to_state`, and audit each, in two statements (`bulk.move_set` with the run as marker);
    the caller commits. A row a concurrent transition changed first is not moved: PostgreSQL
    re-checks a row it had to wait for, and SQLite runs one writer at a time."""
    if run.id is None:
        _begin(run)
    return move_set(Actor.system(run.tenant_id), scope,
                    Change(c.from_state, c.to_state, action, c.reason), conditions=conditions,
                    values={"holder_org_id": None}, run=run)


def _begin(run: JobRun) -> None:
    """Take the tenant's turn, then insert `run`, whose id marks the rows it moves.

    Closes of one tenant run one at a time: a second worker on the same close waits here until
    the first commits, then finds nothing left to move, and two closes whose rows overlap cannot
    deadlock. NO KEY: the tenant's other writes go on meanwhile. SQLite has no row locks; its
    single writer serialises closes the same way."""
    db.session.execute(sa.select(Tenant.id).where(Tenant.id == run.tenant_id)
                       .with_for_update(key_share=True))
    db.session.add(run)
    db.session.flush()


CORRECTIONS = Close(Status.returned.value, Status.abandoned.value, UNCORRECTED)


def close_corrections(tenant_id: int, now: datetime | None = None,
                      rq_job_id: str | None = None) -> JobRun:
    """Abandon every file whose agency correction deadline has passed (BJ-WIN-3, CF-WIN-3)."""
    today = now_local(now).date()
    run = JobRun(tenant_id=tenant_id, name="close_corrections", rq_job_id=rq_job_id,
                 key=f"corrections:{tenant_id}:{today.isoformat()}", started_at=utcnow())
    return recorded(run, lambda: move_rows(
        run, [Application.tenant_id == tenant_id], CORRECTIONS, "close_corrections",
        [Application.correction_due < today]))


def correction_days(tenant_id: int) -> list[date]:
    """The distinct correction deadlines of files still returned for correction, earliest
    first: each one's close is due at 00:00 the day after."""
    return list(db.session.scalars(
        sa.select(Application.correction_due).distinct()
        .where(Application.tenant_id == tenant_id, Application.status == Status.returned.value,
               Application.correction_due.is_not(None))
        .order_by(Application.correction_due)))


def due_closes(tenant_id: int, now: datetime | None = None) -> list[tuple[Plan, str, datetime]]:
    """Every (plan, stage, close instant) of the tenant that has a close action, in time order."""
    plans = db.session.scalars(sa.select(Plan).filter_by(tenant_id=tenant_id)).all()
    out = [(p, w.stage, closes_at(w.closes_on)) for p in plans for w in p.windows
           if w.stage in CLOSES]
    return sorted(out, key=lambda t: (t[2], t[0].id, t[1]))


def finished_keys(tenant_id: int) -> set[str]:
    return set(db.session.scalars(sa.select(JobRun.key).filter_by(
        tenant_id=tenant_id, status="finished")))
