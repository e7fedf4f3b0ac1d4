"""Stage closes: set-based, idempotent, late-safe; the real RQ worker runs them."""
import os

import pytest
import sqlalchemy as sa
import time_machine
from rq import Queue

from app.extensions import db
from app.jobs.worker import SimpleWorker
from app.models import Application, AuditEvent, JobRun
from app.tenancy import tenants
from app.workflow.deadlines import close_stage
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at


def drafts(n, plan="bj-2026"):
    f.make_employer("beijing", "emp", "haidian")
    out = []
    for i in range(n):
        user = f.make_user("beijing", f"a{i}", "applicant", "emp")
        out.append(f.make_application("beijing", user, plan, "bj-eng", "engineering",
                                      "intermediate", "mechanical"))
    return out


def statuses():
    return sorted(db.session.scalars(sa.select(Application.status)))


@pytest.mark.rule("BJ-WIN-1")
def test_apply_close_abandons_drafts_once_and_audits_each(ctx):
    apps = drafts(3)
    user = apps[0].applicant
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        transition(tenants()["beijing"], apps[0], "submit", f.actor(user), pledge=f.PLEDGE)
    plan = f.plan("beijing", "bj-2026")
    with time_machine.travel(at(2026, 7, 31, 0, 0, 0), tick=False):
        run = close_stage(plan, "apply")
        again = close_stage(plan, "apply")
    assert (run.status, run.rows_changed) == ("finished", 2)
    assert (again.status, again.rows_changed) == ("finished", 0)
    assert statuses() == ["abandoned", "abandoned", "submitted"]
    events = db.session.scalars(sa.select(AuditEvent).filter_by(action="close_apply")).all()
    assert sorted(e.subject_id for e in events) == sorted(a.id for a in apps[1:])
    assert {(e.from_state, e.to_state, e.actor_role) for e in events} == {
        ("draft", "abandoned", "system")}


@pytest.mark.rule("BJ-WIN-1")
def test_close_before_the_instant_changes_nothing(ctx):
    drafts(2)
    with time_machine.travel(at(2026, 7, 30, 23, 59, 59), tick=False):
        run = close_stage(f.plan("beijing", "bj-2026"), "apply")
    assert run.status == "early" and run.rows_changed == 0
    assert statuses() == ["draft", "draft"]


@pytest.mark.rule("BJ-WIN-2")
def test_employer_close_marks_unrecommended_and_abandons_uncorrected(ctx):
    apps = drafts(3)
    cfg = tenants()["beijing"]
    clerk = f.make_user("beijing", "clerk", "employer_clerk", "emp")
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        for a in apps:
            transition(cfg, a, "submit", f.actor(a.applicant), pledge=f.PLEDGE)
        transition(cfg, apps[1], "start_notice", f.actor(clerk))
        transition(cfg, apps[2], "return", f.actor(clerk), items=[{"target": "papers", "text": "补"}])
    with time_machine.travel(at(2026, 8, 7, 0, 0, 1), tick=False):
        run = close_stage(f.plan("beijing", "bj-2026"), "employer_review")
    assert run.rows_changed == 3
    assert statuses() == ["abandoned", "not_recommended", "not_recommended"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Application)
                             .where(Application.holder_org_id.is_not(None))) == 0


def test_close_is_a_fixed_number_of_statements_whatever_the_row_count(ctx, app):
    drafts(30)
    counted = []
    engine = db.engine
    listen = lambda *a, **k: counted.append(a[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        with time_machine.travel(at(2026, 8, 1), tick=False):
            close_stage(f.plan("beijing", "bj-2026"), "apply")
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    # One UPDATE and one INSERT ... SELECT (on PostgreSQL both in one WITH statement).
    updates = [s for s in counted if "UPDATE APPLICATIONS" in s.upper()]
    inserts = [s for s in counted if "INSERT INTO AUDIT_EVENTS" in s.upper()]
    assert len(updates) == 1 and len(inserts) == 1
    assert statuses() == ["abandoned"] * 30


@pytest.mark.rule("BJ-WIN-1", "BJ-WIN-2")
def test_worker_catches_up_on_overdue_closes_through_rq(app, redis_conn, worker_id):
    """Real queue, real worker: overdue closes are enqueued once and applied in order."""
    queue_name = f"test-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=queue_name)
    with app.app_context():
        drafts(2)
        from app.jobs.deadlines import schedule_all
        with time_machine.travel(at(2026, 9, 1, 8), tick=False):
            first = schedule_all()
            second = schedule_all()  # stable job ids: no duplicate jobs
        q = Queue(queue_name, connection=redis_conn)
        keys = [k for k, when, _ in first if when == "now"]
        from app.models import Tenant
        from app.workflow.deadlines import due_closes
        overdue = sum(1 for t in db.session.scalars(sa.select(Tenant.id))
                      for _, _, when in due_closes(t) if when <= at(2026, 9, 1, 8))
        assert overdue >= 8  # every 2026 close of both tenants
        assert len(keys) == len(q.job_ids) == overdue
        assert [k for k, w, _ in second if w == "now"] == []  # queued already: not again
        # Jobs run inside this app (the worker builds its own app only when none is active).
        SimpleWorker([q], connection=redis_conn).work(burst=True)
        runs = db.session.scalars(sa.select(JobRun).order_by(JobRun.id)).all()
        assert {r.status for r in runs} == {"finished"}
        assert statuses() == ["abandoned", "abandoned"]
        with time_machine.travel(at(2026, 9, 1, 9), tick=False):
            assert [k for k, w, _ in schedule_all() if w == "now"] == []  # nothing left to catch up
        q.delete(delete_jobs=True)
