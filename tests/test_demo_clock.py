"""The demo clock (演示专用, issue 14): a tenant admin moves the demo plan forward by days — every
date of its timeline moves back, audited — and the deadline jobs then close the window that
passed, end the notice and issue the certificate, as they would have on their day. Real plans
are never moved."""
from __future__ import annotations

import os
from datetime import date, timedelta

import sqlalchemy as sa
import time_machine
from rq import Queue

from app.demo import load_demo
from app.extensions import db
from app.jobs.worker import SimpleWorker
from app.models import Application, AuditEvent, JobRun, Plan, ReviewSession, Status, User
from app.models.certificates import Certificate
from app.models.demo_clock import DemoClock
from app.models.fees import FeeWindow
from app.models.notify import DefenseSlot
from app.models.results import Publication
from app.tenancy import tenants
from app.workflow import demo_clock
from app.workflow.errors import Conflict, Forbidden, Invalid

from . import factories as f
from .conftest import at

DAY = date(2027, 3, 15)
DEMO_PASSWORD = "Demo-2026!"


def _load(slug: str = "beijing") -> Plan:
    load_demo(tenants()[slug], f.tenant_id(slug), DAY)
    return db.session.scalar(sa.select(Plan).filter_by(tenant_id=f.tenant_id(slug),
                                                       is_demo=True))


def _file(username: str) -> Application:
    return db.session.scalar(sa.select(Application).join(User, User.id == Application.applicant_id)
                             .where(User.username == username))


def _publication(app: Application) -> Publication:
    from app.workflow.results import session_item
    return db.session.scalar(sa.select(Publication).filter_by(
        session_id=session_item(app).session_id))


def _session(app: Application) -> ReviewSession:
    from app.workflow.results import session_item
    return session_item(app).session


def _admin(slug: str = "beijing") -> User:
    return db.session.scalar(sa.select(User).filter_by(tenant_id=f.tenant_id(slug),
                                                       role="tenant_admin").order_by(User.id))


def _dates(plan_id: int) -> dict:
    """Every date of a plan's timeline, by row, as the database holds it now."""
    from app.models import PlanWindow
    db.session.expire_all()
    out = {}
    for w in db.session.scalars(sa.select(PlanWindow).filter_by(plan_id=plan_id)):
        out[("window", w.id)] = (w.opens_on, w.closes_on)
    for fw in db.session.scalars(sa.select(FeeWindow).filter_by(plan_id=plan_id)):
        out[("fee", fw.id)] = (fw.opens_on, fw.closes_on)
    for a in db.session.scalars(sa.select(Application).filter_by(plan_id=plan_id)):
        out[("app", a.id)] = (a.notice_starts_on, a.notice_ends_on, a.correction_due)
    for s in db.session.scalars(sa.select(ReviewSession).filter_by(plan_id=plan_id)):
        out[("session", s.id)] = (s.held_on,)
    for p in db.session.scalars(sa.select(Publication).join(
            ReviewSession, ReviewSession.id == Publication.session_id)
            .where(ReviewSession.plan_id == plan_id)):
        out[("publication", p.id)] = (p.starts_on, p.ends_on, p.reported_on, p.confirmed_on)
    return out


def _earlier(dates: dict, days: int) -> dict:
    return {k: tuple(d - timedelta(days=days) if d is not None else None for d in v)
            for k, v in dates.items()}


def _real_plan_with_dates() -> tuple[Plan, Application]:
    """The tenant's real 2026 plan, with a file in its employer's notice."""
    user = f.make_user("beijing", "real-a", "applicant", "bj-emp-design")
    app = f.make_application("beijing", user, "bj-2026", "bj-eng", "engineering",
                             "intermediate", "civil")
    app.status, app.notice_starts_on, app.notice_ends_on = (
        Status.in_notice.value, DAY - timedelta(days=2), DAY + timedelta(days=5))
    db.session.commit()
    return f.plan("beijing", "bj-2026"), app


def test_moving_the_clock_moves_exactly_the_demo_plans_dates_and_is_audited(ctx):
    with time_machine.travel(at(2027, 3, 15, 9), tick=False):
        plan = _load()
        real, _ = _real_plan_with_dates()
        demo_before, real_before = _dates(plan.id), _dates(real.id)
        assert len(demo_before) > 15 and ("app", _file("bj-public-notice").id) in demo_before
        session = _session(_file("bj-in-session"))
        slot = DefenseSlot(tenant_id=plan.tenant_id, session_id=session.id,
                           starts_at=at(2027, 3, 20, 9, 30, 15, 250000), place="答辩室",
                           capacity=5)
        db.session.add(slot)
        db.session.commit()
        events = demo_clock.upcoming(plan, 10, DAY)
        clock = demo_clock.move(f.actor(_admin()), plan, 10, 0)
        assert db.session.get(DefenseSlot, slot.id).starts_at == at(2027, 3, 10, 9, 30, 15, 250000)
        assert (clock.days, clock.last_days) == (10, 10)
        assert _dates(plan.id) == _earlier(demo_before, 10)
        assert _dates(real.id) == real_before  # the real plan is untouched
        row = db.session.scalar(sa.select(AuditEvent).filter_by(action="demo_clock"))
        assert (row.subject_type, row.subject_id, row.from_state, row.to_state) == \
            ("plans", plan.id, "0", "10")
        assert row.actor_id == _admin().id
        # The preview listed what the move passed: the public notice of results ending, and the
        # certificate batch for the file that passed.
        noticed = _publication(_file("bj-public-notice"))
        ends = noticed.ends_on + timedelta(days=10)
        assert {(e.day, str(e.what)) for e in events} >= {
            (ends, "评审结果公示期结束"), (ends, "次日零时起为评审通过且无异议的人员批量签发电子证书")}
        assert all(DAY <= e.day < DAY + timedelta(days=10) for e in events)
        # A second move adds to the total; the page's stale total is refused.
        demo_clock.move(f.actor(_admin()), plan, 5, 10)
        assert db.session.scalar(sa.select(DemoClock.days).filter_by(plan_id=plan.id)) == 15


def test_a_refused_move_changes_nothing(ctx):
    with time_machine.travel(at(2027, 3, 15, 9), tick=False):
        plan = _load()
        real, _ = _real_plan_with_dates()
        before = (_dates(plan.id), _dates(real.id))
        audits = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
        admin = _admin()
        clerk = db.session.scalar(sa.select(User).filter_by(username="bj-agency"))
        attempts = [
            (Forbidden, lambda: demo_clock.move(f.actor(admin), real, 5, 0)),  # a real plan
            (Forbidden, lambda: demo_clock.move(f.actor(clerk), plan, 5, 0)),  # not an admin
            (Invalid, lambda: demo_clock.move(f.actor(admin), plan, 0, 0)),
            (Invalid, lambda: demo_clock.move(f.actor(admin), plan, 61, 0)),
            (Invalid, lambda: demo_clock.move(f.actor(admin), plan, None, 0)),
            (Conflict, lambda: demo_clock.move(f.actor(admin), plan, 5, 3)),  # stale total
        ]
        for error, attempt in attempts:
            try:
                attempt()
            except error:
                db.session.rollback()
            else:
                raise AssertionError(f"{error.__name__} expected")
        assert (_dates(plan.id), _dates(real.id)) == before
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == audits
        assert db.session.scalar(sa.select(sa.func.count(DemoClock.id))) == 0


def test_the_page_is_the_tenant_admins_and_refuses_a_real_plan(app, client, login):
    with app.app_context():
        plan_id = f.plan("beijing", "bj-2026").id
        f.make_user("beijing", "bj-admin-x", "tenant_admin", "bj-hr")
        f.make_user("beijing", "bj-hr-x", "hr_officer", "bj-hr")
    login("beijing", "bj-admin-x")
    assert client.get("/beijing/admin/demo-clock").status_code == 404  # no demo plan: no page
    with app.app_context(), time_machine.travel(at(2027, 3, 15, 9), tick=False):
        demo = _load().id
        before = _dates(plan_id)
    page = client.get("/beijing/admin/demo-clock").get_data(as_text=True)
    assert "演示专用" in page and "演示时钟" in page
    assert client.post(f"/beijing/admin/demo-clock/{plan_id}",
                       data={"days": "5", "base": "0"}).status_code == 404
    bad = client.post(f"/beijing/admin/demo-clock/{demo}", data={"days": "abc", "base": "0"},
                      follow_redirects=True)
    assert "请填写1至60之间的天数" in bad.get_data(as_text=True)
    preview = client.get(f"/beijing/admin/demo-clock?plan={demo}&days=61")
    assert "请填写1至60之间的天数" in preview.get_data(as_text=True)
    with app.app_context():
        assert _dates(plan_id) == before
        assert db.session.scalar(sa.select(sa.func.count(DemoClock.id))) == 0
    client.post("/beijing/logout")
    login("beijing", "bj-hr-x")
    assert client.get("/beijing/admin/demo-clock").status_code == 403
    assert client.post(f"/beijing/admin/demo-clock/{demo}",
                       data={"days": "5", "base": "0"}).status_code == 403
    home = client.get("/beijing/").get_data(as_text=True)
    assert "/beijing/admin/demo-clock" not in home


def test_moving_the_clock_closes_ends_the_notice_and_issues_the_certificate_through_rq(
        app, client, login, redis_conn, worker_id):
    """The page, the real queue and a worker: a move of 10 days ends the public notice of
    results and the batch certifies the file that passed; 20 more pass the application
    window's close and the draft is abandoned."""
    queue_name = f"test-democlock-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=queue_name)
    q = Queue(queue_name, connection=redis_conn)
    try:
        with time_machine.travel(at(2027, 3, 15, 9)):
            with app.app_context():
                plan = _load()
                plan_id, code = plan.id, plan.code
                apply_closes = plan.window("apply").closes_on
                noticed = _file("bj-public-notice").id
                draft = _file("bj-draft").id
            login("beijing", "bj-admin", DEMO_PASSWORD)
            assert "/beijing/admin/demo-clock" in client.get("/beijing/").get_data(as_text=True)
            preview = client.get(f"/beijing/admin/demo-clock?plan={plan_id}&days=10")
            text = preview.get_data(as_text=True)
            assert "评审结果公示期结束" in text and "确认前移10天" in text
            resp = client.post(f"/beijing/admin/demo-clock/{plan_id}",
                               data={"days": "10", "base": "0"})
            assert resp.status_code == 303
            # A second click of the same confirmation is refused, not a second move.
            again = client.post(f"/beijing/admin/demo-clock/{plan_id}",
                                data={"days": "10", "base": "0"}, follow_redirects=True)
            assert "演示时钟已被调整过" in again.get_data(as_text=True)
            with app.app_context():
                assert q.count >= 1  # the certificate batch, due at once
                SimpleWorker([q], connection=redis_conn).work(burst=True)
                a = db.session.get(Application, noticed)
                assert a.status == Status.certified.value
                cert = db.session.scalar(sa.select(Certificate).filter_by(application_id=noticed))
                assert cert is not None
                assert db.session.get(Application, draft).status == Status.draft.value
            page = client.get("/beijing/admin/demo-clock").get_data(as_text=True)
            assert cert.number in page and "电子证书批量签发" in page
            assert "结束的评审结果公示：1场" in page

            resp = client.post(f"/beijing/admin/demo-clock/{plan_id}",
                               data={"days": "20", "base": "10"})
            assert resp.status_code == 303
            with app.app_context():
                SimpleWorker([q], connection=redis_conn).work(burst=True)
                assert db.session.get(Application, draft).status == Status.abandoned.value
                key = f"close:{f.tenant_id('beijing')}:{code}:apply:" \
                      f"{apply_closes - timedelta(days=30)}"
                run = db.session.scalar(sa.select(JobRun).filter_by(key=key))
                assert run is not None and run.status == "finished" and run.rows_changed >= 1
                # The real plan's closes were not run by the move.
                assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(
                    JobRun.key.like("close:%:bj-2026:%"))) == 0
    finally:
        registry = q.scheduled_job_registry
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
        q.delete(delete_jobs=True)
