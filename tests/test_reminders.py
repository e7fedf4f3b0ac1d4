"""Reminders before each close: to exactly the people who still have to act, at the configured
days, once per person, plan, stage and day count — also when the job runs twice or concurrently."""
import os
import threading
from datetime import date

import pytest
import sqlalchemy as sa
import time_machine
from rq import Queue

from app.extensions import db
from app.jobs.worker import SimpleWorker
from app.models import Application, JobRun, Status
from app.models.notify import Outbox
from app.tenancy import tenants
from app.workflow import plans, reminders
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at

BJ = "beijing"
_mobiles = iter(range(10**6))


def person(username: str, role: str = "applicant", org: str | None = "emp", slug: str = BJ):
    """A user with a mobile of their own, so each notice's recipient names one person."""
    u = f.make_user(slug, username, role, org)
    u.mobile = f"139{next(_mobiles):08d}"
    db.session.commit()
    return u


def draft(user, slug: str = BJ, plan: str = "bj-2026", committee: str = "bj-eng",
          level: str = "intermediate", specialty: str | None = "mechanical") -> Application:
    return f.make_application(slug, user, plan, committee, "engineering", level, specialty)


def reminded(stage: str | None = None, days: int | None = None) -> set[str]:
    """Recipients of the reminders queued so far (of one stage and day count, if given)."""
    rows = db.session.scalars(sa.select(Outbox).where(Outbox.dedupe_key.like("remind:%"))).all()
    # remind:<person>:<plan>:<stage>:<closing date>:<days>
    return {r.recipient for r in rows if (stage is None or r.dedupe_key.split(":")[3] == stage)
            and (days is None or r.dedupe_key.split(":")[-1] == str(days))}


def send(stage: str, days: int, when, plan: str = "bj-2026", slug: str = BJ):
    with time_machine.travel(when, tick=False):
        return reminders.send_stage(tenants()[slug], f.plan(slug, plan), stage, days)


@pytest.fixture
def bj(ctx):
    f.make_employer(BJ, "emp", "haidian")
    f.make_employer(BJ, "other", "haidian")
    return tenants()[BJ]


def test_apply_reminders_go_to_applicants_with_drafts_only(bj):
    waiting, submitted, none = person("waiting"), person("submitted"), person("none")
    person("clerk", "employer_clerk")
    draft(waiting)
    done = draft(submitted)
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        transition(bj, done, "submit", f.actor(submitted), pledge=f.PLEDGE)
    # apply closes 30 Jul: the 3-day reminder is due from 27 Jul 09:00.
    sent = send("apply", 3, at(2026, 7, 27, 9))
    assert sent.run.status == "finished" and sent.run.rows_changed == 1
    assert reminded() == {waiting.mobile}
    body = db.session.get(Outbox, sent.outbox_ids[0]).body
    assert "2026年7月30日" in body and "2026年度北京市职称评审" in body
    assert none.mobile not in reminded()


def test_employer_review_reminds_holding_clerks_and_applicants_with_returned_files(bj):
    clerk, idle_clerk = person("clerk", "employer_clerk"), person("idle", "employer_clerk", "other")
    a, b, c, d = (person(n) for n in "abcd")
    files = [draft(u) for u in (a, b, c, d)]
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        for app, u in zip(files, (a, b, c, d)):
            transition(bj, app, "submit", f.actor(u), pledge=f.PLEDGE)
        transition(bj, files[1], "start_notice", f.actor(clerk))
        transition(bj, files[2], "return", f.actor(clerk),
                   items=[{"target": "papers", "text": "补充论文"}])
    files[3].status, files[3].holder_org_id = Status.recommended.value, None  # acted on already
    db.session.commit()
    # employer_review closes 6 Aug: the 1-day reminder is due from 5 Aug 09:00.
    sent = send("employer_review", 1, at(2026, 8, 5, 9, 30))
    assert reminded() == {clerk.mobile, c.mobile}
    assert idle_clerk.mobile not in reminded() and a.mobile not in reminded()
    bodies = {r.recipient: r.body for r in db.session.scalars(sa.select(Outbox))}
    assert "贵单位" in bodies[clerk.mobile] and "补正" in bodies[c.mobile]
    assert sent.run.rows_changed == 2  # one notice to the clerk for two files


@pytest.mark.parametrize("tenant_slug", ["chifeng"])
def test_tier_report_reminds_the_staff_of_the_office_holding_each_file(ctx, tenant_slug):
    f.make_employer(tenant_slug, "cf-firm", "songshan")
    applicant = person("cf-a", slug=tenant_slug, org="cf-firm")
    officer = person("cf-officer", "hr_officer", "cf-hr-songshan", slug=tenant_slug)
    other_officer = person("cf-officer2", "hr_officer", "cf-hr-hongshan", slug=tenant_slug)
    employer_clerk = person("cf-clerk", "employer_clerk", "cf-firm", slug=tenant_slug)
    app = draft(applicant, tenant_slug, "cf-2026-junior", "cf-eng", "junior_assistant")
    app.status, app.holder_org_id = Status.submitted.value, f.org(tenant_slug, "cf-hr-songshan").id
    db.session.commit()
    # tier_report of the junior plan closes 10 Jun.
    send("tier_report", 3, at(2026, 6, 7, 9), "cf-2026-junior", tenant_slug)
    assert reminded() == {officer.mobile}
    assert not reminded() & {other_officer.mobile, employer_clerk.mobile, applicant.mobile}


def test_a_second_run_sends_nothing_new(bj):
    a, b = person("a"), person("b")
    draft(a)
    first = send("apply", 3, at(2026, 7, 27, 9))
    draft(b)  # opened after the reminder went out: the next run reaches only b
    again = send("apply", 3, at(2026, 7, 27, 15))
    assert (first.run.rows_changed, again.run.rows_changed) == (1, 1)
    assert db.session.get(Outbox, again.outbox_ids[0]).recipient == b.mobile
    assert send("apply", 3, at(2026, 7, 28, 9)).run.rows_changed == 0
    assert db.session.scalar(sa.select(sa.func.count(Outbox.id))) == 2


def test_a_close_moved_later_is_reminded_of_again(bj):
    waiting = person("waiting")
    draft(waiting)
    assert send("apply", 3, at(2026, 7, 27, 9)).outbox_ids
    admin = f.make_user(BJ, "admin", "tenant_admin", "bj-hr")
    plan = f.plan(BJ, "bj-2026")
    with time_machine.travel(at(2026, 7, 28, 9), tick=False):
        plans.change_close(f.actor(admin), plan, "apply", date(2026, 8, 3))
    assert not send("apply", 3, at(2026, 7, 28, 10)).outbox_ids  # not due for the new date yet
    again = send("apply", 3, at(2026, 7, 31, 9))
    assert again.outbox_ids
    assert "2026年8月3日" in db.session.get(Outbox, again.outbox_ids[0]).body
    assert not send("apply", 3, at(2026, 7, 31, 10)).outbox_ids  # and only once


def test_concurrent_runs_write_each_reminder_once(app, bj):
    people = [person(f"p{i}") for i in range(5)]
    for u in people:
        draft(u)
    barrier, errors, written = threading.Barrier(2), [], []

    def run():
        try:
            with app.app_context():
                plan = f.plan(BJ, "bj-2026")
                barrier.wait()
                sent = reminders.send_stage(tenants()[BJ], plan, "apply", 1,
                                            now=at(2026, 7, 29, 9, 5))
                written.append(sent.run.rows_changed)
                db.session.remove()
        except Exception as e:  # surfaced below
            errors.append(e)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(written) == [0, 5]
    db.session.expire_all()
    keys = list(db.session.scalars(sa.select(Outbox.dedupe_key)))
    assert len(keys) == len(set(keys)) == 5


def test_people_who_acted_get_no_later_reminder(bj):
    slow, quick = person("slow"), person("quick")
    draft(slow)
    quick_file = draft(quick)
    send("apply", 3, at(2026, 7, 27, 9))
    with time_machine.travel(at(2026, 7, 28, 10), tick=False):
        transition(bj, quick_file, "submit", f.actor(quick), pledge=f.PLEDGE)
    send("apply", 1, at(2026, 7, 29, 9))
    assert reminded("apply", 3) == {slow.mobile, quick.mobile}
    assert reminded("apply", 1) == {slow.mobile}


@pytest.mark.parametrize("when,expected", [
    (at(2026, 7, 27, 8, 59, 59), None),    # before the first reminder's 09:00
    (at(2026, 7, 27, 9), 3),
    (at(2026, 7, 28, 23), 3),              # missed on the day: still sent, until the next is due
    (at(2026, 7, 29, 9), 1),
    (at(2026, 7, 30, 23, 59, 59), 1),
    (at(2026, 7, 31, 0, 0, 0), None),      # closed: no reminder after the close
])
def test_the_reminder_due_follows_the_configured_days(when, expected):
    assert reminders.due_days([3, 1], date(2026, 7, 30), when) == expected


def test_a_reminder_that_is_not_due_sends_nothing(bj):
    draft(person("a"))
    assert send("apply", 3, at(2026, 7, 26, 9)).run.status == "early"
    assert send("apply", 3, at(2026, 7, 29, 10)).run.status == "skipped"  # the 1-day one is due
    assert send("apply", 2, at(2026, 7, 28, 9)).run.status == "skipped"  # not a configured day
    assert reminded() == set()
    assert send("apply", 1, at(2026, 7, 29, 10)).run.rows_changed == 1


def test_the_days_come_from_the_tenant_policies(bj):
    assert bj.policies.reminder_days == [3, 1]
    assert tenants()["chifeng"].policies.reminder_days == [3, 1]


def test_the_sweep_sends_what_is_due_in_every_stage_and_correction_deadline(bj):
    a, b, far = person("a"), person("b"), person("far")
    draft(a)
    for u, due in ((b, date(2026, 7, 31)), (far, date(2026, 8, 20))):
        app = draft(u)
        app.status, app.correction_due = Status.returned.value, due
    db.session.commit()
    with time_machine.travel(at(2026, 7, 28, 9, 30), tick=False):
        sent = reminders.sweep(bj, f.tenant_id(BJ))
        again = reminders.sweep(bj, f.tenant_id(BJ))
    assert (sent.run.status, sent.run.rows_changed, again.run.rows_changed) == ("finished", 2, 0)
    assert reminded("apply", 3) == {a.mobile}
    assert reminded("corrections", 3) == {b.mobile}
    row = next(r for r in db.session.scalars(sa.select(Outbox)) if r.recipient == b.mobile)
    assert "2026年7月31日" in row.body
    with time_machine.travel(at(2026, 7, 30, 9, 30), tick=False):
        reminders.sweep(bj, f.tenant_id(BJ))
    assert reminded("corrections", 1) == {b.mobile} and far.mobile not in reminded()


def test_a_run_is_a_fixed_number_of_statements_whatever_the_number_of_people(app, bj):
    for i in range(25):
        draft(person(f"p{i}"))
    counted = []
    listen = lambda *a, **k: counted.append(a[2])  # noqa: E731
    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        sent = send("apply", 3, at(2026, 7, 27, 9))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert sent.run.rows_changed == 25
    inserts = [s for s in counted if s.lstrip().upper().startswith("INSERT INTO OUTBOX")]
    assert len(inserts) == 1
    assert len(counted) < 10


def test_scheduling_runs_the_due_reminder_inline_without_a_queue(bj):
    from app.jobs.reminders import schedule_reminders
    draft(person("a"))
    with time_machine.travel(at(2026, 7, 28, 10), tick=False):
        done = schedule_reminders()
        again = schedule_reminders()
    keys = [k for k, when, _ in done if when == "now"]
    assert f"remind:{f.tenant_id(BJ)}:bj-2026:apply:2026-07-30:3" in keys
    assert again == []  # finished runs are not run again
    assert reminded("apply", 3) != set()
    sent = db.session.scalars(sa.select(Outbox.status)).all()
    assert set(sent) == {"sent"}  # handed to the (inline) delivery



def test_reminders_are_scheduled_at_nine_n_days_before_each_close(app, redis_conn, worker_id):
    from app.jobs.reminders import job_id, schedule_reminders
    queue_name = f"test-remind-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=queue_name)
    q = Queue(queue_name, connection=redis_conn)
    try:
        with app.app_context():
            f.make_employer(BJ, "emp", "haidian")
            a = person("a")
            draft(a)
            plan = f.plan(BJ, "bj-2026")
            with time_machine.travel(at(2026, 7, 28, 10), tick=False):
                first = schedule_reminders()
                second = schedule_reminders()
            registry = q.scheduled_job_registry
            one_day = job_id(plan, "apply", 1)
            assert one_day in registry.get_job_ids()
            assert registry.get_scheduled_time(one_day) == at(2026, 7, 29, 9)
            assert job_id(plan, "apply", 3) in q.job_ids  # due now: queued at once
            assert [k for k, w, _ in second if w == "now"] == []  # not queued twice
            assert len(first) > len(second)
            with time_machine.travel(at(2026, 7, 28, 10, 1)):  # the job runs when it is due
                SimpleWorker([q], connection=redis_conn).work(burst=True)
            db.session.expire_all()
            assert reminded("apply", 3) == {a.mobile}
            runs = db.session.scalars(sa.select(JobRun).filter_by(name="remind_apply")).all()
            assert [r.status for r in runs] == ["finished"]
    finally:
        # Job ids are global in Redis: leave none behind for the next test's scheduling.
        for registry in (q.scheduled_job_registry, q.finished_job_registry):
            for jid in registry.get_job_ids():
                registry.remove(jid, delete_job=True)
        q.delete(delete_jobs=True)
