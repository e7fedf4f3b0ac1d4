"""Every close is an RQ job scheduled for its instant: each stage of both tenants' plans and each
per-file due day; a close date moved by an admin moves its job; a worker that was down catches
up oldest first; and each close moves exactly what it should at 00:00:00."""
import importlib
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import pytest
import sqlalchemy as sa
import time_machine
from redis import Redis
from rq import Queue
from rq.scheduler import RQScheduler

from app.extensions import db
from app.jobs import deadlines as jobs
from app.jobs.worker import SimpleWorker
from app.models import Application, AuditEvent, JobRun, Status
from app.models.fees import FeeWindow
from app.models.paper import PaperReceipt
from app.tenancy import tenants
from app.tenancy.sync import sync_tenant
from app.workflow.calendar import closes_at
from app.workflow.deadlines import CLOSES, close_key, close_stage
from app.workflow.errors import Conflict, Forbidden, Invalid, WindowClosed
from app.workflow import results
from app.workflow.plans import change_close
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_results import EVIDENCE, accept, closed  # noqa: F401 (a fixture)
from .test_review import recommended

BEFORE_ALL = at(2026, 5, 1, 9)        # before the first 2026 close of either tenant
CATCH_UP = at(2026, 9, 1, 8)          # a worker back after every summer close


def toml_closes() -> set[tuple[int, str, str, object]]:
    """(tenant id, plan, stage, close instant) of every stage window in tenants/*/plans whose
    close moves files (`review` only refuses: no vote and no result report after it)."""
    return {(f.tenant_id(slug), p.code, stage, closes_at(w.closes))
            for slug, cfg in tenants().items() for p in cfg.plans.plan
            for stage, w in p.windows.items() if stage in CLOSES}


def due_by(instant) -> list[tuple[str, str, str]]:
    """(tenant slug, plan, stage) of the closes due by `instant`, in the order catch-up runs
    them: by instant, then by job id."""
    slugs = {f.tenant_id(s): s for s in tenants()}
    rows = [(i, jobs.Deadline(slugs[t], t, s, i, "", p).job_id, slugs[t], p, s)
            for t, p, s, i in toml_closes() if i <= instant]
    return [(slug, p, s) for *_, slug, p, s in sorted(rows)]


def keys(closes) -> list[str]:
    return [close_key(f.plan(slug, p), s) for slug, p, s in closes]


# -- a private Redis database per test worker ----------------------------------------------------

@pytest.fixture
def rq_queue(app, worker_id, redis_url):
    """The app on a real queue in a Redis database of its own (job ids are global in a database,
    so parallel tests must not share one); emptied before and after."""
    url = redis_url
    n = 8 + (int(worker_id[2:]) + 1 if worker_id.startswith("gw") else 0)
    url = urlunsplit(urlsplit(url)._replace(path=f"/{n}"))
    conn = Redis.from_url(url)
    conn.flushdb()
    app.config.update(JOBS_INLINE=False, REDIS_URL=url, RQ_QUEUE="deadlines")
    yield Queue("deadlines", connection=conn)
    conn.flushdb()


def scheduled(q: Queue) -> dict[str, object]:
    """{job id: the instant it is scheduled for} of the queue's scheduled registry."""
    reg = q.scheduled_job_registry
    return {i: reg.get_scheduled_time(i) for i in reg.get_job_ids()}


def run_worker(q: Queue) -> list[str]:
    """Run what is queued; the keys of the runs it recorded, in the order they ran."""
    before = db.session.scalar(sa.select(sa.func.max(JobRun.id))) or 0
    SimpleWorker([q], connection=q.connection).work(burst=True)
    db.session.expire_all()
    return list(db.session.scalars(sa.select(JobRun.key).where(JobRun.id > before)
                                   .order_by(JobRun.id)))


def drafts(n, plan="bj-2026"):
    f.make_employer("beijing", "emp", "haidian")
    return [f.make_application("beijing", f.make_user("beijing", f"a{i}", "applicant", "emp"),
                               plan, "bj-eng", "engineering", "intermediate", "mechanical")
            for i in range(n)]


# -- one job per stage, at its instant -----------------------------------------------------------

@pytest.mark.rule("BJ-WIN-1", "BJ-WIN-2", "BJ-WIN-3", "CF-WIN-1", "CF-WIN-2", "CF-WIN-3",
                  "CF-WIN-4")
def test_every_stage_of_both_tenants_gets_exactly_one_job_at_its_instant(app, rq_queue):
    with app.app_context():
        expected = toml_closes()
        with time_machine.travel(BEFORE_ALL, tick=False):
            first = jobs.schedule_all()
            again = jobs.schedule_all()
        waiting = scheduled(rq_queue)
        got = set()
        for job in rq_queue.job_class.fetch_many(list(waiting), connection=rq_queue.connection):
            m = job.meta
            got.add((m["tenant_id"], m["plan"], m["stage"], waiting[job.id]))
        assert len(waiting) == len(first) == len(expected) >= 11
        assert got == expected
        assert again == [] and len(scheduled(rq_queue)) == len(expected)
        assert rq_queue.job_ids == []  # nothing was due yet
        # 00:00:00 in Asia/Shanghai after the inclusive closing day, e.g. Beijing's 30 Jul.
        bj_apply = next(i for i in waiting if "-bj-2026-apply-" in i)
        assert waiting[bj_apply] == at(2026, 7, 31, 0, 0, 0)
        assert bj_apply == f"close-{f.tenant_id('beijing')}-bj-2026-apply-20260731T0000"


def test_the_console_lists_each_close_with_its_job(app, rq_queue):
    with app.app_context():
        with time_machine.travel(BEFORE_ALL, tick=False):
            jobs.schedule_all()
        rows = jobs.scheduled_jobs(f.tenant_id("chifeng"))
        assert {(r["plan"], r["stage"], r["instant"]) for r in rows} == {
            (p, s, i) for t, p, s, i in toml_closes() if t == f.tenant_id("chifeng")}
        assert {r["status"] for r in rows} == {"scheduled"}
        assert [r["instant"] for r in rows] == sorted(r["instant"] for r in rows)
        paper = next(r for r in rows
                     if r["stage"] == "paper_to_city" and r["plan"] == "cf-2026-directed")
        assert paper == {"job_id": paper["job_id"], "plan": "cf-2026-directed",
                         "stage": "paper_to_city", "instant": at(2026, 7, 21), "status":
                         "scheduled", "key": close_key(f.plan("chifeng", "cf-2026-directed"),
                                                       "paper_to_city")}


def test_without_redis_the_console_says_unknown_and_nothing_raises(app):
    app.config.update(JOBS_INLINE=False, REDIS_URL="redis://127.0.0.1:1/0")
    with app.app_context():
        plan = f.plan("beijing", "bj-2026")
        assert {r["status"] for r in jobs.scheduled_jobs(plan.tenant_id)} == {"unknown"}
        assert jobs.reschedule(plan, "apply") is None
        assert jobs.schedule_sweep(plan.tenant_id, "corrections", date(2099, 1, 1)) is None


# -- an admin moves a close ----------------------------------------------------------------------

@pytest.fixture
def admin(app):
    with app.app_context():
        return f.make_user("beijing", "bj-admin", "tenant_admin").username


@pytest.mark.rule("BJ-WIN-1")
def test_moving_a_close_date_reschedules_its_job_and_is_audited(app, rq_queue, client, login,
                                                                admin):
    with app.app_context():
        plan = f.plan("beijing", "bj-2026")
        with time_machine.travel(at(2026, 7, 10, 9), tick=False):
            jobs.schedule_all()
        old_id = f"close-{plan.tenant_id}-bj-2026-apply-20260731T0000"
        new_id = f"close-{plan.tenant_id}-bj-2026-apply-20260804T0000"
        assert old_id in scheduled(rq_queue)
    with time_machine.travel(at(2026, 7, 10, 9), tick=False):
        login("beijing", admin)
        page = client.get("/beijing/admin/plans").get_data(as_text=True)
        assert "个人申报" in page and "2026-07-31 00:00:00" in page
        r = client.post(f"/beijing/admin/plans/{plan.id}/apply/close",
                        data={"closes_on": "2026-08-03"})
    assert r.status_code == 303
    with app.app_context():
        waiting = scheduled(rq_queue)
        assert old_id not in waiting and rq_queue.fetch_job(old_id) is None
        assert waiting[new_id] == at(2026, 8, 4, 0, 0, 0)
        assert sum(1 for i in waiting if "-bj-2026-apply-" in i) == 1
        ev = db.session.scalar(sa.select(AuditEvent).filter_by(action="change_close"))
        assert (ev.subject_type, ev.from_state, ev.to_state, ev.actor_name, ev.reason) == (
            "plan_windows", "2026-07-30", "2026-08-03", admin, "bj-2026 apply")
        # A restart loads the tenant files again: the admin's date stays.
        sync_tenant(tenants()["beijing"])
        db.session.expire_all()
        assert f.plan("beijing", "bj-2026").window("apply").closes_on == date(2026, 8, 3)
        with time_machine.travel(at(2026, 7, 10, 10), tick=False):
            assert jobs.schedule_all() == []  # the new job is in place, the old one gone
        assert set(scheduled(rq_queue)) == set(waiting)


def test_a_close_is_moved_only_by_an_admin_only_before_it_ran_and_only_to_a_valid_day(ctx):
    plan = f.plan("beijing", "bj-2026")
    admin = f.actor(f.make_user("beijing", "bj-admin", "tenant_admin"))
    hr = f.actor(f.make_user("beijing", "bj-hr1", "hr_officer", "bj-hr"))
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        with pytest.raises(Forbidden):
            change_close(hr, plan, "apply", date(2026, 8, 1))
        for day in (None, date(2026, 7, 30), date(2026, 7, 19), date(2026, 7, 6)):
            with pytest.raises(Invalid):
                change_close(admin, plan, "apply", day)
    with time_machine.travel(at(2026, 7, 31, 0, 0, 0), tick=False):
        assert close_stage(plan, "apply").status == "finished"
        with pytest.raises(Conflict):
            change_close(admin, plan, "apply", date(2026, 8, 5))
    db.session.expire_all()
    assert f.plan("beijing", "bj-2026").window("apply").closes_on == date(2026, 7, 30)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
        action="change_close")) == 0


def test_only_admins_get_the_form_and_a_refused_change_changes_nothing(app, client, login):
    with app.app_context():
        f.make_user("beijing", "bj-hr1", "hr_officer", "bj-hr")
        plan_id = f.plan("beijing", "bj-2026").id
    with time_machine.travel(at(2026, 7, 20, 9), tick=False):
        login("beijing", "bj-hr1")
        page = client.get("/beijing/admin/plans").get_data(as_text=True)
        r = client.post(f"/beijing/admin/plans/{plan_id}/apply/close",
                        data={"closes_on": "2026-08-05"})
    assert "评审机构（评委会）审核" in page and 'name="closes_on"' not in page
    assert r.status_code == 303
    with app.app_context():
        assert f.plan("beijing", "bj-2026").window("apply").closes_on == date(2026, 7, 30)


# -- catch-up -------------------------------------------------------------------------------------

def _finish_first_chifeng_close():
    """The earliest close of all (Chifeng junior apply, 26 May 00:00) ran on time."""
    plan = f.plan("chifeng", "cf-2026-junior")
    with time_machine.travel(at(2026, 5, 26, 0, 0, 0), tick=False):
        assert close_stage(plan, "apply").status == "finished"
    return close_key(plan, "apply")


@pytest.mark.rule("BJ-WIN-1", "CF-WIN-1", "CF-WIN-2")
def test_on_start_overdue_closes_run_oldest_first_and_finished_ones_are_skipped(app, rq_queue):
    with app.app_context():
        drafts(2)
        with time_machine.travel(BEFORE_ALL, tick=False):
            jobs.schedule_all()  # every close waits for its instant; then the worker is down
        done = _finish_first_chifeng_close()
        with time_machine.travel(CATCH_UP, tick=False):
            caught = jobs.schedule_all()  # `make run` / `rq cron` start
        overdue = [k for k in keys(due_by(CATCH_UP)) if k != done]
        assert len(overdue) >= 10
        assert [(k, w) for k, w, _ in caught] == [(k, "now") for k in overdue]
        instants = [a for _, _, a in caught]
        assert instants == sorted(instants)
        assert len(rq_queue.job_ids) == len(caught)
        assert run_worker(rq_queue) == overdue  # in time order; the finished close is not rerun
        assert sorted(db.session.scalars(sa.select(Application.status))) == ["abandoned"] * 2
        assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).filter_by(key=done)) == 1
        with time_machine.travel(CATCH_UP + timedelta(hours=1), tick=False):
            assert [w for _, w, _ in jobs.schedule_all()] == []  # nothing left to catch up


@pytest.mark.rule("CF-WIN-1", "CF-WIN-2")
def test_a_restarted_worker_s_scheduler_enqueues_overdue_closes_oldest_first(app, rq_queue):
    with app.app_context():
        with time_machine.travel(BEFORE_ALL, tick=False):
            jobs.schedule_all()
        with time_machine.travel(at(2026, 6, 26, 8), tick=False):
            scheduler = RQScheduler([rq_queue], connection=rq_queue.connection)
            scheduler.acquire_locks()
            scheduler.enqueue_scheduled_jobs()
            scheduler.release_locks()
        due = due_by(at(2026, 6, 26, 8))
        # Chifeng junior apply (26 May), junior tiers and intermediate apply (11 Jun), and
        # intermediate tiers (26 Jun), the directed intermediate plan's with the intermediate
        # ones — enqueued by the scheduler by instant.
        assert [(p, s) for _, p, s in due] == [
            ("cf-2026-junior", "apply"), ("cf-2026-directed-intermediate", "apply"),
            ("cf-2026-intermediate", "apply"), ("cf-2026-junior", "tier_report"),
            ("cf-2026-directed-intermediate", "tier_report"),
            ("cf-2026-intermediate", "tier_report")]
        assert [(j.meta["plan"], j.meta["stage"]) for j in rq_queue.get_jobs()] == [
            (p, s) for _, p, s in due]
        assert run_worker(rq_queue) == keys(due)


def test_rq_cron_runs_the_schedule_every_hour_and_when_it_starts(monkeypatch):
    from rq import cron

    registered = []
    monkeypatch.setattr(cron, "register", lambda func, queue, **kw: registered.append(
        (func.__name__, kw.get("interval"))))
    import app.jobs.cron as module
    importlib.reload(module)
    assert registered[0] == ("run_schedule", 3600)  # interval jobs run first when cron starts


# -- per-file due days: one job per distinct day -------------------------------------------------

def returned(n_days: list[date]):
    """Beijing files the agency returned, one per correction deadline given."""
    apps = drafts(len(n_days))
    for a, due in zip(apps, n_days):
        a.status, a.correction_due = Status.returned.value, due
    db.session.commit()
    return apps


@pytest.mark.rule("BJ-WIN-3")
def test_each_correction_deadline_has_its_own_close_job_at_its_instant(app, rq_queue):
    with app.app_context():
        early, late, late_too = returned([date(2026, 8, 20), date(2026, 8, 25), date(2026, 8, 25)])
        tid = f.tenant_id("beijing")
        with time_machine.travel(at(2026, 8, 10, 9), tick=False):
            jobs.schedule_all()
            assert jobs.schedule_sweep(tid, "corrections", date(2026, 8, 25)) == \
                f"sweep-{tid}-corrections-20260826T0000"
        waiting = {i: t for i, t in scheduled(rq_queue).items() if "-corrections-" in i}
        assert waiting == {f"sweep-{tid}-corrections-20260821T0000": at(2026, 8, 21),
                           f"sweep-{tid}-corrections-20260826T0000": at(2026, 8, 26)}
        with time_machine.travel(at(2026, 8, 20, 23, 59, 59), tick=False):
            assert jobs.run_sweep("beijing", "corrections") == 0
        with time_machine.travel(at(2026, 8, 21, 0, 0, 0), tick=False):
            assert jobs.run_sweep("beijing", "corrections") == 1
        db.session.expire_all()
        assert [db.session.get(Application, a.id).status for a in (early, late, late_too)] == [
            "abandoned", "returned", "returned"]
        with time_machine.travel(at(2026, 8, 21, 1), tick=False):
            jobs.schedule_all()  # the first day is dealt with: its job is not kept
        assert [i for i in scheduled(rq_queue) if "-corrections-" in i] == [
            f"sweep-{tid}-corrections-20260826T0000"]


@pytest.mark.rule("BJ-FEE-1")
def test_a_fee_window_s_close_is_scheduled_at_its_instant(app, rq_queue):
    with app.app_context():
        plan = f.plan("beijing", "bj-2026")
        db.session.add(FeeWindow(tenant_id=plan.tenant_id, committee_id=f.committee(
            "beijing", "bj-eng").id, plan_id=plan.id, opens_on=date(2026, 8, 3),
            closes_on=date(2026, 8, 14), amount=35000,
            set_by=f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng").id))
        db.session.commit()
        with time_machine.travel(at(2026, 8, 1, 9), tick=False):
            jobs.schedule_all()
        fee_jobs = {i: t for i, t in scheduled(rq_queue).items() if "-fees-" in i}
        assert fee_jobs == {f"sweep-{plan.tenant_id}-fees-20260815T0000": at(2026, 8, 15)}


@pytest.mark.rule("BJ-CERT-1")
def test_the_certificate_batch_is_due_when_each_public_notice_ends(closed):
    pub = accept(closed)  # accepted Mon 23 Nov: the notice runs to Mon 30 Nov
    tid = pub.tenant_id

    def batches():
        return [(d.at, d.job_id) for d in jobs.deadlines("beijing", tid)
                if d.stage == "certificates"]
    assert batches() == [(at(2026, 12, 1), f"sweep-{tid}-certificates-20261201T0000")]
    with time_machine.travel(at(2026, 11, 25, 10), tick=False):
        results.lodge_objection(tenants()["beijing"], tid, pub, closed["passed"].id, EVIDENCE)
    assert batches() == []  # the objection holds the only passed file


# -- what each new close moves at 00:00:00 -----------------------------------------------------

def _agency_return(a, due, status):
    a.status, a.correction_due = status, due
    db.session.commit()


@pytest.mark.rule("BJ-WIN-3")
def test_the_agency_close_abandons_files_still_in_correction_and_keeps_the_rest(ctx):
    corrected, not_again, unfinished, waiting, checked = drafts(5)
    _agency_return(corrected, date(2026, 9, 10), Status.returned.value)
    _agency_return(not_again, date(2026, 9, 10), Status.submitted.value)   # with the employer
    _agency_return(unfinished, date(2026, 9, 10), Status.in_notice.value)
    waiting.status, checked.status = Status.recommended.value, Status.checked.value
    db.session.commit()
    plan = f.plan("beijing", "bj-2026")
    with time_machine.travel(at(2026, 9, 17, 23, 59, 59), tick=False):
        assert close_stage(plan, "agency_check").status == "early"
    with time_machine.travel(at(2026, 9, 18, 0, 0, 0), tick=False):
        assert close_stage(plan, "agency_check").rows_changed == 3
    db.session.expire_all()
    assert [db.session.get(Application, a.id).status for a in
            (corrected, not_again, unfinished, waiting, checked)] == [
        "abandoned", "abandoned", "abandoned", "recommended", "checked"]
    reasons = dict(db.session.execute(sa.select(AuditEvent.subject_id, AuditEvent.reason)
                                      .filter_by(action="close_agency_check")).all())
    assert reasons == {corrected.id: "逾期未补正，视为放弃申报",
                       not_again.id: "补正后逾期未重新推荐，视为放弃申报",
                       unfinished.id: "补正后逾期未重新推荐，视为放弃申报"}


@pytest.mark.rule("BJ-WIN-3")
def test_a_corrected_file_not_recommended_again_by_the_agency_close_is_abandoned(ctx):
    (late, on_time), clerk = recommended(2)
    agency = f.actor(f.make_user("beijing", "ag", "agency_clerk", "bj-agency-eng"))
    cfg = tenants()["beijing"]
    with time_machine.travel(at(2026, 8, 20, 9), tick=False):
        transition(cfg, late, "agency_return", agency, due=date(2026, 8, 31),
                   items=[{"target": "papers", "text": "补充论文检索证明"}])
    with time_machine.travel(at(2026, 8, 25, 9), tick=False):
        transition(cfg, late, "resubmit", f.actor(late.applicant), pledge=f.PLEDGE)
    assert (late.status, late.correction_due) == (Status.submitted.value, date(2026, 8, 31))
    with time_machine.travel(at(2026, 9, 17, 23, 59, 59), tick=False):
        transition(cfg, on_time, "check_pass", agency)
    with time_machine.travel(at(2026, 9, 18, 0, 0, 0), tick=False):
        with pytest.raises(WindowClosed):
            transition(cfg, late, "recommend", f.actor(clerk), opinion="同意推荐")
        assert close_stage(f.plan("beijing", "bj-2026"), "agency_check").rows_changed == 1
    db.session.expire_all()
    assert (db.session.get(Application, late.id).status,
            db.session.get(Application, on_time.id).status) == ("abandoned", "checked")


@pytest.mark.rule("BJ-WIN-2", "BJ-WIN-3")
def test_the_employer_close_leaves_files_recommended_again_after_an_agency_return(ctx):
    normal, again = drafts(2)
    normal.status = Status.submitted.value
    _agency_return(again, date(2026, 8, 20), Status.submitted.value)
    with time_machine.travel(at(2026, 8, 7, 0, 0, 0), tick=False):
        assert close_stage(f.plan("beijing", "bj-2026"), "employer_review").rows_changed == 1
    db.session.expire_all()
    assert (db.session.get(Application, normal.id).status,
            db.session.get(Application, again.id).status) == ("not_recommended", "submitted")


@pytest.mark.rule("CF-WIN-3")
def test_the_committee_close_abandons_uncorrected_chifeng_files(ctx):
    f.make_employer("chifeng", "cf-firm", "songshan")
    users = [f.make_user("chifeng", f"c{i}", "applicant", "cf-firm") for i in range(2)]
    late, reviewed = (f.make_application("chifeng", u, "cf-2026-senior", "nm-eng-senior",
                                         "engineering", "associate_senior", "mechanical")
                      for u in users)
    _agency_return(late, date(2026, 10, 20), Status.returned.value)
    reviewed.status = Status.checked.value
    db.session.commit()
    plan = f.plan("chifeng", "cf-2026-senior")
    with time_machine.travel(at(2026, 10, 30, 23, 59, 59), tick=False):
        assert close_stage(plan, "agency_check").status == "early"
    with time_machine.travel(at(2026, 10, 31, 0, 0, 0), tick=False):
        assert close_stage(plan, "agency_check").rows_changed == 1
    db.session.expire_all()
    assert (db.session.get(Application, late.id).status,
            db.session.get(Application, reviewed.id).status) == ("abandoned", "checked")


@pytest.mark.rule("CF-WIN-4", "CF-PAPER-2")
def test_directed_files_without_their_paper_at_city_hr_are_not_reported_late(ctx):
    f.make_employer("chifeng", "cf-firm", "songshan")
    users = [f.make_user("chifeng", f"d{i}", "applicant", "cf-firm") for i in range(4)]
    arrived, missing, checked, draft = (
        f.make_application("chifeng", u, "cf-2026-directed", "nm-eng-senior", "engineering",
                           "associate_senior", "mechanical") for u in users)
    arrived.status = missing.status = Status.recommended.value
    checked.status = Status.checked.value
    def receipt(a, office, matched=True):
        db.session.add(PaperReceipt(tenant_id=a.tenant_id, application_id=a.id,
                                    org_id=f.org("chifeng", office).id, user_id=a.applicant_id,
                                    code="x", items=[], matched=matched))
    # Only city HR's matching receipt counts: county HR's, or a mismatch, does not.
    receipt(arrived, "cf-hr")
    receipt(missing, "cf-hr-songshan")
    receipt(checked, "cf-hr", matched=False)
    db.session.commit()
    plan = f.plan("chifeng", "cf-2026-directed")
    with time_machine.travel(at(2026, 7, 20, 23, 59, 59), tick=False):
        assert close_stage(plan, "paper_to_city").status == "early"
    with time_machine.travel(at(2026, 7, 21, 0, 0, 0), tick=False):
        run = close_stage(plan, "paper_to_city")
    assert (run.status, run.rows_changed) == ("finished", 2)
    db.session.expire_all()
    assert [db.session.get(Application, a.id).status for a in (arrived, missing, checked, draft)
            ] == ["recommended", "not_recommended", "not_recommended", "draft"]
    assert {e.reason for e in db.session.scalars(sa.select(AuditEvent).filter_by(
        action="close_paper_to_city"))} == {"纸质材料逾期未报送至市人社局，不再补报"}


# -- the CLI --------------------------------------------------------------------------------------

def test_run_now_closes_any_stage_and_replay_of_a_finished_close_changes_nothing(app):
    runner = app.test_cli_runner()
    with app.app_context():
        (a,) = drafts(1)
        _agency_return(a, date(2026, 9, 1), Status.returned.value)
        a_id, key = a.id, close_key(f.plan("beijing", "bj-2026"), "agency_check")
    with time_machine.travel(at(2026, 9, 17, 12), tick=False):
        early = runner.invoke(args=["jobs", "run-now", "bj-2026", "agency_check"])
    with time_machine.travel(at(2026, 9, 18, 0, 0, 0), tick=False):
        done = runner.invoke(args=["jobs", "run-now", "bj-2026", "agency_check"])
        again = runner.invoke(args=["jobs", "replay", key])
        listed = runner.invoke(args=["jobs", "list", "--tenant", "beijing"])
    assert "early" in early.output
    assert done.exit_code == 0 and f"{key}: finished, 1 application(s) changed" in done.output
    assert again.exit_code == 0 and "already closed; the replay changed nothing." in again.output
    assert "-bj-2026-agency_check-20260918T0000" in listed.output and key in listed.output
    with app.app_context():
        assert db.session.get(Application, a_id).status == "abandoned"
        assert [(r.status, r.rows_changed) for r in db.session.scalars(
            sa.select(JobRun).filter_by(key=key).order_by(JobRun.id))] == [
            ("early", 0), ("finished", 1), ("finished", 0)]
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).filter_by(
            action="close_agency_check")) == 1


def test_replay_of_a_failed_close_runs_it_and_unknown_keys_are_refused(app):
    runner = app.test_cli_runner()
    with app.app_context():
        drafts(2)
        plan = f.plan("beijing", "bj-2026")
        key = close_key(plan, "apply")
        db.session.add(JobRun(tenant_id=plan.tenant_id, name="close_apply", key=key,
                              status="failed", error="OperationalError('database is locked')"))
        db.session.commit()
    with time_machine.travel(at(2026, 8, 1, 9), tick=False):
        ok = runner.invoke(args=["jobs", "replay", key])
        unknown = runner.invoke(args=["jobs", "replay", "close:1:bj-2026:apply:2020-01-01"])
        no_stage = runner.invoke(args=["jobs", "run-now", "bj-2026", "tier_report"])
    assert ok.exit_code == 0 and f"{key}: finished, 2 application(s) changed" in ok.output
    assert unknown.exit_code != 0 and "no finished or failed close" in unknown.output
    assert no_stage.exit_code != 0 and "paper_to_city" in no_stage.output
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Application.status))) == ["abandoned"] * 2


@pytest.mark.rule("CF-WIN-3")
def test_the_plans_page_marks_the_review_close_as_refusal_only(app, client, login):
    with app.app_context():
        f.make_user("chifeng", "cf-admin", "tenant_admin", "cf-hr")
    login("chifeng", "cf-admin")
    page = client.get("/chifeng/admin/plans").get_data(as_text=True)
    row = page[page.index("评审及结果公示"):].split("</tr>")[0]
    assert "2026-10-30" in row and "截止后不再受理，无需处理" in row
    assert 'name="closes_on"' not in row


def test_the_plans_page_warns_of_a_year_the_working_day_calendar_lacks(app, client, login,
                                                                       monkeypatch):
    """Deadlines counted in working days need the year's holiday schedule: the plans page tells
    the admin, ahead of time, of this year or the next that no calendar covers."""
    from app.workflow import calendar
    with app.app_context():
        f.make_user("chifeng", "cf-admin", "tenant_admin", "cf-hr")
    with time_machine.travel(at(2026, 12, 1, 9)):
        login("chifeng", "cf-admin")
        page = client.get("/chifeng/admin/plans").get_data(as_text=True)
        assert "法定节假日安排" not in page  # 2026 officially, 2027 from the tenant's file

        def unknown(d):
            raise NotImplementedError(d.year)
        monkeypatch.setattr(calendar, "_official_workday", unknown)
        page = client.get("/chifeng/admin/plans").get_data(as_text=True)
        assert "尚未载入2026年的法定节假日安排" in page and "tenants/chifeng/calendar/" in page
        english = client.get("/chifeng/admin/plans?lang=en").get_data(as_text=True)
        assert "holiday calendar for 2026 has not been loaded" in english
