"""The operators' job console: runs listed per tenant, live progress that stops polling when the
job ends, retry of a failed job (administrators only, audited), and tenant isolation."""
import os

import pytest
import sqlalchemy as sa
import time_machine
from rq import Queue
from rq.job import Job, JobStatus

from app.extensions import db
from app.jobs.worker import SimpleWorker
from app.models import AuditEvent, JobRun, utcnow

from . import factories as f
from .conftest import at

HX = {"HX-Request": "true"}
POLL = 'hx-trigger="every 2s"'


def boom(slug: str, n: int) -> int:
    """A job that fails, for the retry tests."""
    raise RuntimeError(f"boom {slug} {n}")


def run_of(slug: str, status: str, key: str, **kw) -> JobRun:
    run = JobRun(tenant_id=f.tenant_id(slug), name="close_apply", key=key, status=status,
                 started_at=utcnow(), finished_at=None if status == "running" else utcnow(), **kw)
    db.session.add(run)
    db.session.commit()
    return run


@pytest.fixture
def people(app):
    with app.app_context():
        f.make_user("beijing", "admin", "tenant_admin")
        f.make_user("beijing", "officer", "hr_officer", "bj-hr")
        f.make_employer("beijing", "emp", "haidian")
        f.make_user("beijing", "someone", "applicant", "emp")
        f.make_user("chifeng", "cf-admin", "tenant_admin")


@pytest.fixture
def runs(app, people):
    """Ids of a finished, a failed and a running beijing run, and of a chifeng run."""
    with app.app_context():
        return {"finished": run_of("beijing", "finished", "close:bj:finished", rows_changed=7).id,
                "failed": run_of("beijing", "failed", "close:bj:failed",
                                 error="RuntimeError('db down')").id,
                "running": run_of("beijing", "running", "close:bj:running").id,
                "chifeng": run_of("chifeng", "failed", "close:cf:secret", rq_job_id="x").id}


def test_the_console_lists_the_tenants_runs_and_works_without_javascript(client, login, runs):
    login("beijing", "admin")
    resp = client.get("/beijing/admin/jobs")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    for key in ("close:bj:finished", "close:bj:failed", "close:bj:running", "db down"):
        assert key in page
    assert "close:cf:secret" not in page
    assert 'href="/beijing/admin/jobs">刷新</a>' in page
    assert "<html" in page and "HX-Request" in resp.headers["Vary"]


def test_each_run_is_described_in_words_beside_its_key(app, client, login, people):
    with app.app_context():
        run_of("beijing", "finished", "close:1:bj-2026:apply:2026-07-30")
        run_of("beijing", "finished", "remind:1:bj-2026:employer_review:2026-08-06:3")
        run_of("beijing", "finished", "corrections:1:2026-09-01")
    login("beijing", "admin")
    page = client.get("/beijing/admin/jobs").get_data(as_text=True)
    assert "bj-2026：个人申报截止处理（2026-07-30）" in page
    assert "bj-2026：单位审核推荐截止前3天提醒" in page
    assert "补正期限到期处理" in page and "corrections:1:2026-09-01" in page


def test_a_running_row_polls_and_a_finished_one_does_not(app, client, login, runs):
    login("beijing", "admin")
    url = f"/beijing/admin/jobs/run-{runs['running']}"
    running = client.get(url, headers=HX).get_data(as_text=True)
    assert POLL in running and f'hx-get="{url}"' in running
    assert "<html" not in running and "已处理 0 / … 行" in running
    with app.app_context():
        run = db.session.get(JobRun, runs["running"])
        run.status, run.rows_changed, run.finished_at = "finished", 12, utcnow()
        db.session.commit()
    finished = client.get(url, headers=HX).get_data(as_text=True)
    assert POLL not in finished and "hx-get" not in finished
    assert "已完成" in finished and "12 行" in finished
    page = client.get(url).get_data(as_text=True)  # without htmx: a page with a refresh link
    assert "<html" in page and f'href="{url}">刷新</a>' in page


def test_the_page_polls_only_rows_still_running(client, login, runs):
    login("beijing", "admin")
    page = client.get("/beijing/admin/jobs").get_data(as_text=True)
    assert page.count(POLL) == 1
    assert f'hx-get="/beijing/admin/jobs/run-{runs["running"]}"' in page


@pytest.mark.parametrize("url", ["/beijing/admin/jobs/run-{chifeng}",
                                 "/beijing/admin/jobs/run-999999",
                                 "/beijing/admin/jobs/remind-{cf_tenant}-cf-2026-junior-apply"])
def test_another_tenants_job_is_not_found(app, client, login, runs, url):
    with app.app_context():
        cf_tenant = f.tenant_id("chifeng")
    login("beijing", "admin")
    assert client.get(url.format(cf_tenant=cf_tenant, **runs), headers=HX).status_code == 404


def test_another_tenants_run_cannot_be_retried(app, client, login, runs):
    login("beijing", "admin")
    assert client.post(f"/beijing/admin/jobs/{runs['chifeng']}/retry").status_code == 404
    with app.app_context():
        assert db.session.get(JobRun, runs["chifeng"]).status == "failed"
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))
                                 .filter_by(action="retry_job")) == 0


def test_only_staff_see_the_console_and_only_administrators_retry(client, login, runs):
    assert client.get("/beijing/admin/jobs").status_code == 302  # to the login page
    login("beijing", "someone")
    assert client.get("/beijing/admin/jobs").status_code == 403
    assert client.post(f"/beijing/admin/jobs/{runs['failed']}/retry").status_code == 403
    client.post("/beijing/logout")
    login("beijing", "officer")
    page = client.get("/beijing/admin/jobs").get_data(as_text=True)
    assert "close:bj:failed" in page and "重试" not in page
    assert client.post(f"/beijing/admin/jobs/{runs['failed']}/retry").status_code == 403


def test_a_failed_run_without_a_queued_job_cannot_be_retried(app, client, login, runs):
    """Jobs run inline (no RQ job): the refusal says why and nothing is recorded."""
    login("beijing", "admin")
    assert "重试</button>" not in client.get("/beijing/admin/jobs").get_data(as_text=True)
    resp = client.post(f"/beijing/admin/jobs/{runs['failed']}/retry", follow_redirects=True)
    assert "无法重试" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(JobRun, runs["failed"]).status == "failed"
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))
                                 .filter_by(action="retry_job")) == 0



@pytest.fixture
def q(app, redis_conn, worker_id):
    name = f"test-console-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=name)
    queue = Queue(name, connection=redis_conn)
    yield queue
    # Job ids are global in Redis: leave none behind for the next test's scheduling.
    for registry in (queue.scheduled_job_registry, queue.finished_job_registry,
                     queue.failed_job_registry):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
    queue.delete(delete_jobs=True)


def test_retry_requeues_the_same_job_once_and_is_audited(app, client, login, people, q):
    job = q.enqueue(boom, "beijing", 3, job_id="boom-1")
    SimpleWorker([q], connection=q.connection).work(burst=True)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    with app.app_context():
        run_id = run_of("beijing", "failed", "close:bj:boom", rq_job_id=job.id).id
    login("beijing", "admin")
    assert "重试</button>" in client.get("/beijing/admin/jobs").get_data(as_text=True)
    resp = client.post(f"/beijing/admin/jobs/{run_id}/retry")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/beijing/admin/jobs")
    assert q.job_ids == ["boom-1"]
    again = Job.fetch("boom-1", connection=q.connection)
    assert again.get_status() == JobStatus.QUEUED
    assert (again.func_name, again.args) == (f"{__name__}.boom", ("beijing", 3))
    second = client.post(f"/beijing/admin/jobs/{run_id}/retry", follow_redirects=True)
    assert "只有失败的任务可以重试" in second.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(JobRun, run_id).status == "retried"
        events = db.session.scalars(sa.select(AuditEvent).filter_by(action="retry_job")).all()
        assert [(e.subject_type, e.subject_id, e.actor_role) for e in events] == [
            ("job_runs", run_id, "tenant_admin")]
        assert "boom-1" in events[0].reason


def test_a_running_job_shows_its_progress_from_the_job_meta(app, client, login, people, q):
    job = q.enqueue(boom, "beijing", 1, job_id="report-progress")
    job.meta.update(done=40, total=120)
    job.save_meta()
    with app.app_context():
        run_id = run_of("beijing", "running", "report:bj", rq_job_id=job.id).id
    login("beijing", "admin")
    row = client.get(f"/beijing/admin/jobs/run-{run_id}", headers=HX).get_data(as_text=True)
    assert "已处理 40 / 120 行" in row and POLL in row


def test_close_jobs_record_total_before_and_done_after(app, q):
    with app.app_context():
        f.make_employer("beijing", "emp", "haidian")
        for i in range(3):
            user = f.make_user("beijing", f"a{i}", "applicant", "emp")
            f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                               "intermediate", "mechanical")
        from app.jobs.deadlines import run_close
        job = q.enqueue(run_close, "beijing", "bj-2026", "apply", job_id="close-progress")
        with time_machine.travel(at(2026, 8, 1, 0, 5)):
            SimpleWorker([q], connection=q.connection).work(burst=True)
        meta = Job.fetch(job.id, connection=q.connection).meta
        assert (meta["done"], meta["total"]) == (3, 3)
        run = db.session.scalar(sa.select(JobRun).filter_by(rq_job_id=job.id))
        assert (run.status, run.rows_changed) == ("finished", 3)


def test_scheduled_jobs_of_the_tenant_are_listed_and_others_are_not(app, client, login, people,
                                                                   q):
    from app.jobs.deadlines import schedule_all
    from app.jobs.reminders import schedule_reminders
    with app.app_context():
        f.make_user("beijing", "a", "applicant", "emp")
        with time_machine.travel(at(2026, 5, 1, 9), tick=False):
            schedule_all()
            schedule_reminders()
        bj, cf = f.tenant_id("beijing"), f.tenant_id("chifeng")
    scheduled = q.scheduled_job_registry.get_job_ids()
    assert any(i.startswith(f"close-{cf}-") for i in scheduled)
    assert any(i.startswith(f"remind-{bj}-") for i in scheduled)
    login("beijing", "admin")
    page = client.get("/beijing/admin/jobs").get_data(as_text=True)
    assert "已排定" in page
    assert f"close:{bj}:bj-2026:apply:2026-07-30" in page
    assert f"remind:{bj}:bj-2026:apply:2026-07-30:3" in page
    assert f"close:{cf}:" not in page and f"remind:{cf}:" not in page
    cf_job = next(i for i in scheduled if i.startswith(f"close-{cf}-"))
    assert client.get(f"/beijing/admin/jobs/{cf_job}", headers=HX).status_code == 404
    bj_job = next(i for i in scheduled if i.startswith(f"close-{bj}-"))
    row = client.get(f"/beijing/admin/jobs/{bj_job}", headers=HX).get_data(as_text=True)
    assert "已排定" in row and POLL not in row  # days away: nothing to poll for
