"""Reminder jobs on RQ: one job per (plan, stage, days before) for its instant, 09:00
Asia/Shanghai that day, scheduled again every hour (a close's date may move), and a daily sweep
that sends whatever is due and was not sent."""
from __future__ import annotations

from datetime import datetime

from flask import g
from rq import Queue

from ..models import Plan
from ..tenancy import tenant_scope, tenants
from ..workflow import reminders
from ..workflow.calendar import now_local
from ..workflow.deadlines import due_closes, finished_keys
from ..workflow.plans import plan_by_code
from . import current_job_id, for_each_tenant, worker_app
from .deadlines import pending, queue_unless_inline
from .notify import dispatch


def job_id(plan: Plan, stage: str, days: int) -> str:
    """Stable, so scheduling twice never leaves two jobs for one reminder; starts with
    `job_prefix` of the plan's tenant."""
    return reminders.run_key(plan, stage, days).replace(":", "-")


def job_prefix(tenant_id: int) -> str:
    """What every reminder job id of the tenant starts with (the console finds them by it)."""
    return f"remind-{tenant_id}-"


def run_reminders(slug: str, plan_code: str, stage: str, days: int) -> int:
    """RQ job: the reminder `days` before `stage` of a plan closes. Returns notices written."""
    with worker_app().app_context(), tenant_scope(slug) as cfg:
        plan = plan_by_code(g.tenant_id, plan_code)
        sent = reminders.send_stage(cfg, plan, stage, days, rq_job_id=current_job_id())
        dispatch(sent.outbox_ids)
        return sent.run.rows_changed


def run_reminder_sweep() -> int:
    """RQ cron job: every reminder due now, in every tenant. Returns notices written."""
    def one(tenant_id: int, rq_job_id: str | None) -> int:
        sent = reminders.sweep(g.tenant, tenant_id, rq_job_id=rq_job_id)
        dispatch(sent.outbox_ids)
        return sent.run.rows_changed
    return for_each_tenant(one)


def run_reminder_schedule() -> int:
    """RQ cron job: `schedule_reminders`, so reminders follow a close whose date moved."""
    with worker_app().app_context():
        return len(schedule_reminders())


def schedule_reminders(now: datetime | None = None) -> list[tuple[str, str, str]]:
    """Enqueue every reminder of every close: future ones for their instant, the one due now
    (unless it has run) at once; earlier ones a later reminder replaced are left out, and
    waiting jobs of a date that moved are deleted. Returns (run key, "at" | "now", instant) for
    each job this call queued or, with JOBS_INLINE, ran."""
    now = now_local(now)
    q = queue_unless_inline()
    done = []
    for slug in tenants():
        with tenant_scope(slug) as cfg:
            finished, keep = finished_keys(g.tenant_id), set()
            for plan, stage, _ in due_closes(g.tenant_id):
                for days in cfg.policies.reminder_days:
                    keep.add(job_id(plan, stage, days))
                    done += _schedule_one(q, cfg, slug, plan, stage, days, now, finished)
            if q is not None:
                _drop_stale(q, g.tenant_id, keep)
    return done


def _schedule_one(q: Queue | None, cfg, slug: str, plan: Plan, stage: str, days: int,
                  now: datetime, finished: set[str]) -> list[tuple[str, str, str]]:
    last = plan.window(stage).closes_on
    key, when = reminders.run_key(plan, stage, days), reminders.remind_at(last, days)
    due_now = reminders.due_days(cfg.policies.reminder_days, last, now) == days
    if (when > now and q is None) or (when <= now and (not due_now or key in finished)):
        return []  # nothing to schedule inline, or not the reminder due now, or it has run
    jid = job_id(plan, stage, days)
    if q is not None and pending(q, jid):
        return []  # waiting or running already
    args = (slug, plan.code, stage, days)
    if q is None:
        run_reminders(*args)
    elif when > now:
        q.enqueue_at(when, run_reminders, *args, job_id=jid, description=key)
    else:
        q.enqueue(run_reminders, *args, job_id=jid, description=key)
    return [(key, "at" if when > now else "now", when.isoformat())]


def _drop_stale(q: Queue, tenant_id: int, keep: set[str]) -> None:
    """Delete the tenant's scheduled reminders that are no longer any close's (a date moved)."""
    registry = q.scheduled_job_registry
    for jid in registry.get_job_ids():
        if jid.startswith(job_prefix(tenant_id)) and jid not in keep:
            registry.remove(jid, delete_job=True)
