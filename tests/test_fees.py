"""Fees (BJ-FEE-1): the agency's fee window, payment inside it (online through the gateway, or a
bank transfer the agency confirms), the signed and idempotent gateway callback, unpaid files
abandoned at the close, and only paid files reaching a session."""
import hashlib
import hmac
import importlib
import json
import os
from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
import time_machine
from redis import Redis
from rq import Queue

from app.extensions import db
from app.jobs.worker import SimpleWorker
from app.models import Application, AuditEvent, JobRun, ReviewStep, Status, User
from app.models.fees import FeeWindow, Payment
from app.workflow import fees, sessions
from app.workflow.errors import Conflict, Forbidden, Invalid, WindowClosed
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at
from .test_review import CFG, recommended

SECRET = "dev-only-payment-secret"  # Config's development default, which TestConfig keeps
FEE = 35000  # 350.00 元
OPENS, CLOSES = date(2026, 8, 3), date(2026, 8, 14)
IN_WINDOW = at(2026, 8, 5, 10)


def checked(n=1):
    """n Beijing files checked by the engineering agency on 1 Aug 2026, and its clerk."""
    apps, _ = recommended(n)
    agency = db.session.scalar(sa.select(User).filter_by(username="ag")) or f.make_user(
        "beijing", "ag", "agency_clerk", "bj-agency-eng")
    with time_machine.travel(at(2026, 8, 1, 9), tick=False):
        for a in apps:
            transition(CFG(), a, "check_pass", f.actor(agency))
    return apps, agency


def set_window(agency, opens=OPENS, closes=CLOSES, amount=FEE, committee="bj-eng"):
    return fees.set_fee_window(
        CFG(), f.actor(agency), committee_id=f.committee("beijing", committee).id,
        plan_id=f.plan("beijing", "bj-2026").id, opens_on=opens, closes_on=closes, amount=amount,
        instructions="收款单位：北京市职称评审服务中心\n账号：0200 0000 0000 0000 000")


def notice(order_no, amount=FEE, status="paid", trade_no="T2026080500001") -> bytes:
    return json.dumps({"order_no": order_no, "trade_no": trade_no, "amount": amount,
                       "status": status}).encode()


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_callback(client, body: bytes, signature: str | None = None, tenant="beijing"):
    return client.post(f"/{tenant}/pay/callback", data=body, content_type="application/json",
                       headers={"X-Signature": sign(body) if signature is None else signature})


def count(model, **by) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).filter_by(**by))


@pytest.fixture
def order(app):
    """A checked file with a fee window and a pending gateway order: ids and the order number."""
    with app.app_context():
        (a,), agency = checked()
        set_window(agency)
        with time_machine.travel(IN_WINDOW, tick=False):
            p = fees.open_order(CFG(), a, f.actor(a.applicant))
        return {"app": a.id, "order_no": p.order_no, "applicant": a.applicant.username}


def state(app, ids):
    """(file status, [(payment status, reference)], confirm_payment audit events)."""
    with app.app_context():
        a = db.session.get(Application, ids["app"])
        pays = db.session.scalars(sa.select(Payment).filter_by(application_id=a.id)
                                  .order_by(Payment.id)).all()
        return (a.status, [(p.status, p.reference) for p in pays],
                count(AuditEvent, subject_id=a.id, action="confirm_payment"))


# -- the window --------------------------------------------------------------------------------

@pytest.mark.rule("BJ-FEE-1")
@pytest.mark.parametrize("instant, is_open", [
    (at(2026, 8, 2, 23, 59, 59), False), (at(2026, 8, 3, 0, 0, 0), True),
    (at(2026, 8, 14, 23, 59, 59), True), (at(2026, 8, 15, 0, 0, 0), False)])
def test_payment_only_inside_the_fee_window(ctx, instant, is_open):
    (online, offline), agency = checked(2)
    set_window(agency)
    with time_machine.travel(instant, tick=False):
        if is_open:
            assert fees.open_order(CFG(), online, f.actor(online.applicant)).amount == FEE
            transition(CFG(), offline, "confirm_payment", f.actor(agency), reference="B-1")
            assert offline.status == Status.paid.value
        else:
            with pytest.raises(WindowClosed):
                fees.open_order(CFG(), online, f.actor(online.applicant))
            # The agency's offline confirmation is judged by the same window, job or no job.
            with pytest.raises(WindowClosed):
                transition(CFG(), offline, "confirm_payment", f.actor(agency), reference="B-1")
            assert offline.status == Status.checked.value and count(Payment) == 0


@pytest.mark.rule("BJ-FEE-1")
def test_only_a_checked_file_of_ones_own_can_be_paid(ctx):
    (a, other), agency = checked(2)
    set_window(agency)
    late, _ = recommended(1, employer="emp2", district="chaoyang")
    with time_machine.travel(IN_WINDOW, tick=False):
        with pytest.raises(Forbidden):
            fees.open_order(CFG(), a, f.actor(other.applicant))
        with pytest.raises(Conflict):
            fees.open_order(CFG(), late[0], f.actor(late[0].applicant))
        first = fees.open_order(CFG(), a, f.actor(a.applicant))
        again = fees.open_order(CFG(), a, f.actor(a.applicant))
    assert first.id == again.id and len(first.order_no) >= 24  # one pending order at a time


@pytest.mark.rule("BJ-FEE-1")
def test_the_agency_sets_its_committees_window_and_amount(ctx):
    (a,), agency = checked()
    with pytest.raises(Invalid) as e:
        set_window(agency, opens=CLOSES, closes=OPENS, amount=0)
    assert len(e.value.problems) == 2
    econ = f.make_user("beijing", "ag-econ", "agency_clerk", "bj-agency-econ")
    with pytest.raises(Forbidden):
        set_window(econ)
    with pytest.raises(Forbidden):
        set_window(a.applicant)
    set_window(agency, amount=30000)
    w = set_window(agency)  # the same committee and plan: changed, not added
    assert count(FeeWindow) == 1 and (w.amount, w.set_by) == (FEE, agency.id)
    assert count(AuditEvent, action="set_fee_window") == 2
    assert fees.to_fen("350.5") == 35050
    for typo in ("350.005", "三百", "Infinity", "NaN"):
        with pytest.raises(Invalid):
            fees.to_fen(typo)


@pytest.mark.rule("BJ-FEE-1")
def test_without_a_window_the_agency_confirms_offline_within_its_check_stage(ctx):
    (a, b), agency = checked(2)
    with time_machine.travel(at(2026, 8, 1, 9), tick=False):
        with pytest.raises(WindowClosed):  # nobody can pay online before the window is set
            fees.open_order(CFG(), a, f.actor(a.applicant))
        transition(CFG(), a, "confirm_payment", f.actor(agency), reference="BANK-1")
    with time_machine.travel(at(2026, 9, 18, 0, 0, 0), tick=False), pytest.raises(WindowClosed):
        transition(CFG(), b, "confirm_payment", f.actor(agency), reference="BANK-2")
    p = db.session.scalar(sa.select(Payment))
    assert (a.status, p.provider, p.status, p.amount, p.reference) == (
        "paid", "offline", "paid", 0, "BANK-1")


# -- offline -----------------------------------------------------------------------------------

@pytest.mark.rule("BJ-FEE-1")
def test_agency_confirms_a_bank_transfer_on_the_check_page(app, client, login):
    with app.app_context():
        (a,), agency = checked()
        set_window(agency)
        ids = {"app": a.id}
    url = f"/beijing/agency/applications/{ids['app']}"
    with time_machine.travel(IN_WINDOW, tick=False):
        login("beijing", "ag")
        page = client.get(url).get_data(as_text=True)
        assert "350.00" in page and "2026-08-14" in page
        empty = client.post(f"/beijing/pay/agency/applications/{ids['app']}/offline",
                            data={"reference": " "}, follow_redirects=True)
        assert "请填写缴费凭证号" in empty.get_data(as_text=True)
        r = client.post(f"/beijing/pay/agency/applications/{ids['app']}/offline",
                        data={"reference": "BANK-2026-0805"})
        ledger = client.get("/beijing/pay/agency/payments").get_data(as_text=True)
    assert r.status_code == 303 and r.location.endswith("/beijing/agency/")
    assert state(app, ids) == ("paid", [("paid", "BANK-2026-0805")], 1)
    with app.app_context():
        p = db.session.scalar(sa.select(Payment))
        assert (p.provider, p.amount) == ("offline", FEE)
        step = db.session.scalar(sa.select(ReviewStep).filter_by(action="confirm_payment"))
        assert "BANK-2026-0805" in step.opinion and step.reviewer_name == "ag"
    assert "BANK-2026-0805" in ledger and "申报人0" in ledger


# -- the gateway -------------------------------------------------------------------------------

@pytest.mark.rule("BJ-FEE-1")
def test_gateway_order_through_the_simulator_to_a_signed_callback(app, client, login):
    with app.app_context():
        (a,), agency = checked()
        set_window(agency)
        ids = {"app": a.id, "user": a.applicant.username}
    with time_machine.travel(IN_WINDOW, tick=False):
        login("beijing", ids["user"])
        detail = client.get(f"/beijing/me/applications/{ids['app']}").get_data(as_text=True)
        assert f"/beijing/pay/applications/{ids['app']}" in detail
        page = client.get(f"/beijing/pay/applications/{ids['app']}").get_data(as_text=True)
        assert "350.00" in page and "0200 0000" in page  # the agency's transfer instructions
        r = client.post(f"/beijing/pay/applications/{ids['app']}/gateway")
        assert r.status_code == 303 and "/beijing/pay/simulator/" in r.location
        sim = client.get(r.location)
        order_no = r.location.rsplit("/", 1)[1]
        assert sim.status_code == 200 and order_no in sim.get_data(as_text=True)
        done = client.post(r.location, data={"outcome": "pay"})
        assert done.status_code == 303
        assert done.location.endswith(f"/beijing/pay/applications/{ids['app']}")
        assert "缴费成功" in client.get(done.location).get_data(as_text=True)
    status, pays, events = state(app, ids)
    assert (status, len(pays), pays[0][0], events) == ("paid", 1, "paid", 1)
    assert pays[0][1].startswith("SIM")
    with app.app_context():
        ev = db.session.scalar(sa.select(AuditEvent).filter_by(action="confirm_payment"))
        assert (ev.actor_role, ev.actor_id, ev.from_state, ev.to_state) == (
            "system", None, "checked", "paid")


@pytest.mark.rule("BJ-FEE-1")
def test_bad_signature_is_refused_and_changes_nothing(app, client, order):
    body = notice(order["order_no"])
    assert post_callback(client, body, signature=sign(body, "not-the-key")).status_code == 403
    assert post_callback(client, body, signature="").status_code == 403
    tampered = notice(order["order_no"], amount=1)
    assert post_callback(client, tampered, signature=sign(body)).status_code == 403
    # Another tenant's callback does not know this order.
    assert post_callback(client, body, tenant="chifeng").status_code == 404
    assert state(app, order) == ("checked", [("pending", "")], 0)


@pytest.mark.rule("BJ-FEE-1")
def test_wrong_amount_is_refused_and_changes_nothing(app, client, order):
    r = post_callback(client, notice(order["order_no"], amount=FEE - 1))
    assert r.status_code == 400 and r.json["ok"] is False
    assert post_callback(client, notice(order["order_no"], amount="35000")).status_code == 400
    assert post_callback(client, b"{not json").status_code == 400
    assert state(app, order) == ("checked", [("pending", "")], 0)


@pytest.mark.rule("BJ-FEE-1")
def test_duplicate_callback_is_idempotent(app, client, order):
    with time_machine.travel(IN_WINDOW, tick=False):
        first = post_callback(client, notice(order["order_no"]))
        second = post_callback(client, notice(order["order_no"]))
        other = post_callback(client, notice(order["order_no"], trade_no="T-OTHER"))
    assert [r.status_code for r in (first, second, other)] == [200, 200, 200]
    assert first.json == second.json == {"ok": True, "order_no": order["order_no"],
                                         "status": "paid"}
    assert state(app, order) == ("paid", [("paid", "T2026080500001")], 1)
    with app.app_context():
        assert count(ReviewStep, action="confirm_payment") == 1


@pytest.mark.rule("BJ-FEE-1")
def test_callback_needs_no_csrf_token_but_pages_do(app, client, login, order):
    with time_machine.travel(IN_WINDOW, tick=False):
        login("beijing", order["applicant"])
        app.config["WTF_CSRF_ENABLED"] = True
        assert client.post(f"/beijing/pay/applications/{order['app']}/gateway").status_code == 400
        assert post_callback(client, notice(order["order_no"])).status_code == 200
    assert state(app, order)[0] == "paid"


@pytest.mark.rule("BJ-FEE-1")
def test_failed_payment_leaves_the_file_waiting_and_a_new_order_can_be_made(app, client, order):
    with time_machine.travel(IN_WINDOW, tick=False):
        r = post_callback(client, notice(order["order_no"], status="failed", trade_no="T-F"))
        assert r.status_code == 200 and r.json["status"] == "failed"
        assert post_callback(client, notice(order["order_no"])).json["status"] == "failed"
        with app.app_context():
            a = db.session.get(Application, order["app"])
            again = fees.open_order(CFG(), a, f.actor(a.applicant))
            assert again.order_no != order["order_no"]
    assert state(app, order) == ("checked", [("failed", ""), ("pending", "")], 0)


@pytest.mark.rule("BJ-FEE-1")
def test_payment_notified_after_the_close_is_refused_and_kept_for_a_refund(app, client, login,
                                                                           order):
    with time_machine.travel(at(2026, 8, 15, 0, 0, 5), tick=False):
        r = post_callback(client, notice(order["order_no"]))
    assert r.status_code == 200 and r.json["status"] == "failed"
    assert state(app, order) == ("checked", [("failed", "T2026080500001")], 0)
    with app.app_context():
        ev = db.session.scalar(sa.select(AuditEvent).filter_by(action="payment_failed"))
        assert "2026-08-14" in ev.reason
    with time_machine.travel(at(2026, 8, 15, 9), tick=False):
        login("beijing", "ag")
        assert "已到账，须退款" in client.get("/beijing/pay/agency/payments").get_data(as_text=True)


@pytest.mark.rule("BJ-FEE-1")
def test_late_pay_page_refuses_a_new_order(app, client, login, order):
    with time_machine.travel(at(2026, 8, 15, 8), tick=False):
        login("beijing", order["applicant"])
        url = f"/beijing/pay/applications/{order['app']}"
        assert "逾期未缴费视为放弃申报" in client.get(url).get_data(as_text=True)
        r = client.post(f"{url}/gateway", follow_redirects=True)
    assert "缴费已于2026-08-14 24:00截止" in r.get_data(as_text=True)
    assert state(app, order) == ("checked", [("pending", "")], 0)


def test_pages_belong_to_their_roles_and_owners(app, client, login, order):
    with app.app_context():
        f.make_user("beijing", "someone", "applicant", "emp")
    with time_machine.travel(IN_WINDOW, tick=False):
        assert client.get(f"/beijing/pay/applications/{order['app']}").status_code == 302
        login("beijing", "someone")
        assert client.get(f"/beijing/pay/applications/{order['app']}").status_code == 404
        assert client.get(f"/beijing/pay/simulator/{order['order_no']}").status_code == 404
        assert client.get("/beijing/pay/agency").status_code == 403
        client.post("/beijing/logout")
        login("beijing", "ag")
        assert client.get(f"/beijing/pay/applications/{order['app']}").status_code == 403


def test_a_configured_gateway_gets_a_signed_order_and_the_simulator_is_off(app, client, login,
                                                                           order):
    app.config["PAYMENT_GATEWAY_URL"] = "https://pay.example.test/checkout"
    with time_machine.travel(IN_WINDOW, tick=False):
        login("beijing", order["applicant"])
        r = client.post(f"/beijing/pay/applications/{order['app']}/gateway")
        assert client.get(f"/beijing/pay/simulator/{order['order_no']}").status_code == 404
    url = urlsplit(r.location)
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.netloc, q["order_no"], q["amount"]) == ("pay.example.test", order["order_no"],
                                                        str(FEE))
    assert q["notify_url"].endswith("/beijing/pay/callback")
    assert q["expires"] == "2026-08-15T00:00:00+08:00"
    signed = url.query.rsplit("&sign=", 1)[0]
    assert q["sign"] == sign(signed.encode())


# -- the close ---------------------------------------------------------------------------------

@pytest.mark.rule("BJ-FEE-1")
def test_unpaid_files_are_abandoned_at_the_close_once(ctx):
    from app.jobs.deadlines import run_fee_closes

    (paid, unpaid), agency = checked(2)
    (waiting,), _ = recommended(1, employer="emp2", district="chaoyang")  # not checked yet
    set_window(agency)
    with time_machine.travel(IN_WINDOW, tick=False):
        transition(CFG(), paid, "confirm_payment", f.actor(agency), reference="BANK-1")
    db.session.commit()
    with time_machine.travel(at(2026, 8, 14, 23, 59, 59), tick=False):
        assert run_fee_closes() == 0
    with time_machine.travel(at(2026, 8, 15, 0, 0, 0), tick=False):
        assert run_fee_closes() == 1
        assert run_fee_closes() == 0
    with time_machine.travel(at(2026, 8, 16, 9), tick=False):
        assert run_fee_closes() == 0
    db.session.expire_all()
    assert [db.session.get(Application, x.id).status for x in (paid, unpaid, waiting)] == [
        "paid", "abandoned", "recommended"]
    ev = db.session.scalars(sa.select(AuditEvent).filter_by(action="close_fees")).all()
    assert [(e.subject_id, e.from_state, e.to_state, e.reason, e.actor_role) for e in ev] == [
        (unpaid.id, "checked", "abandoned", "逾期未缴费，视为放弃申报", "system")]
    runs = db.session.scalars(sa.select(JobRun).filter_by(name="close_fees")).all()
    assert [(r.status, r.rows_changed) for r in runs] == [("finished", 1)]


@pytest.mark.rule("BJ-FEE-1")
def test_the_fee_close_runs_on_a_real_rq_worker(app, worker_id, redis_url):
    url = redis_url
    conn = Redis.from_url(url)
    q = Queue(f"test-fees-{worker_id}-{os.getpid()}", connection=conn)
    from app.jobs.deadlines import run_fee_closes
    with app.app_context():
        (a,), agency = checked()
        today = date.today()  # the worker runs in real time: a window closed two days ago
        set_window(agency, opens=today - timedelta(days=9), closes=today - timedelta(days=2))
        job = q.enqueue(run_fee_closes)
        SimpleWorker([q], connection=conn).work(burst=True)
        assert job.get_status(refresh=True) == "finished" and job.return_value() == 1
        db.session.expire_all()
        assert db.session.get(Application, a.id).status == Status.abandoned.value
        run = db.session.scalar(sa.select(JobRun).filter_by(name="close_fees"))
        assert (run.status, run.rq_job_id) == ("finished", job.id)
    q.delete(delete_jobs=True)


def test_the_fee_close_runs_hourly_from_rq_cron(monkeypatch):
    from rq import cron

    registered = []
    monkeypatch.setattr(cron, "register", lambda func, queue, **kw: registered.append(
        (func.__name__, kw.get("interval"))))
    import app.jobs.cron as module
    importlib.reload(module)
    assert ("run_fee_closes", 3600) in registered


# -- the committee -----------------------------------------------------------------------------

@pytest.mark.rule("BJ-FEE-1")
def test_only_paid_files_reach_a_session(ctx):
    (paid, unpaid), agency = checked(2)
    set_window(agency)
    with time_machine.travel(IN_WINDOW, tick=False):
        transition(CFG(), paid, "confirm_payment", f.actor(agency), reference="BANK-1")
    f.file_committee("beijing", "bj-eng")
    s = sessions.create_session(CFG(), f.actor(agency), committee_id=paid.committee_id,
                                plan_id=paid.plan_id, series="engineering", level="senior",
                                specialties=[], panel_size=5, held_on=date(2026, 11, 20))
    assert [a.id for a in sessions.eligible_files(s)] == [paid.id]
    with pytest.raises(Invalid):
        sessions.add_files(f.actor(agency), s, [unpaid.id])
    assert sessions.add_files(f.actor(agency), s, [paid.id, unpaid.id]) == 1


# -- the agency's pages ------------------------------------------------------------------------

@pytest.mark.rule("BJ-FEE-1")
def test_agency_sets_a_window_on_its_page(app, client, login):
    with app.app_context():
        checked()
        ids = {"committee": f.committee("beijing", "bj-eng").id,
               "econ": f.committee("beijing", "bj-econ").id,
               "plan": f.plan("beijing", "bj-2026").id}
    form = {"committee": ids["committee"], "plan": ids["plan"], "opens_on": "2026-08-03",
            "closes_on": "2026-08-14", "amount": "350", "instructions": "账号：0200"}
    with time_machine.travel(at(2026, 8, 2, 9), tick=False):
        login("beijing", "ag")
        bad = client.post("/beijing/pay/agency", data={**form, "closes_on": "2026-08-01"})
        assert "缴费开始日期不能晚于截止日期" in bad.get_data(as_text=True)
        foreign = client.post("/beijing/pay/agency", data={**form, "committee": ids["econ"]})
        assert foreign.status_code == 200  # not one of this agency's committees: not saved
        with app.app_context():
            assert count(FeeWindow) == 0
        r = client.post("/beijing/pay/agency", data=form)
        assert r.status_code == 303 and r.location.endswith("/beijing/pay/agency")
        page = client.get("/beijing/pay/agency").get_data(as_text=True)
        assert "350.00" in page and "2026-08-14" in page
        with app.app_context():
            w = db.session.scalar(sa.select(FeeWindow))
            assert (w.amount, w.opens_on, w.closes_on, w.committee_id) == (
                FEE, OPENS, CLOSES, ids["committee"])
            window_id = w.id
        edit = client.get(f"/beijing/pay/agency?edit={window_id}").get_data(as_text=True)
    assert 'value="350.00"' in edit and "账号：0200" in edit
