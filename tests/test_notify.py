"""The notification outbox: queued once, sent only by a job through a gateway, retried, and
marked failed after the last try; a real RQ worker runs it when TEST_REDIS_URL is set."""
import json
import logging
import os
import threading
from datetime import UTC
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
import time_machine
from rq import Queue
from rq.job import Job, JobStatus

from app.extensions import db
from app.jobs import notify as jobs
from app.jobs.worker import SimpleWorker
from app.models.notify import Outbox
from app.notify import (
    DevGateway, GatewayError, HttpSmsGateway, Message, SmtpEmailGateway, gateway_for,
)
from app.workflow import notify

from . import factories as f
from .conftest import at


class FailingGateway:
    """A provider that is down: every send raises."""
    calls = 0

    def __init__(self, config):
        pass

    def send(self, message):
        FailingGateway.calls += 1
        raise GatewayError("provider unavailable (503)")


FAILING = f"{__name__}:FailingGateway"


def queued(key="k1", tenant="beijing", recipient="13800000000", channel="sms"):
    row = notify.queue(f.tenant_id(tenant), channel, recipient, "答辩通知", "答辩通知书已可下载。", key)
    db.session.commit()
    return row


@pytest.mark.rule("BJ-DEF-1")
def test_the_same_notice_is_queued_once(ctx):
    first = notify.queue(f.tenant_id("beijing"), "sms", "13800000000", "s", "b", "defense:1:2:1")
    again = notify.queue(f.tenant_id("beijing"), "sms", "13800000000", "s", "b2", "defense:1:2:1")
    db.session.commit()
    assert again.id == first.id and again.body == "b"
    other_tenant = queued("defense:1:2:1", tenant="chifeng")  # keys are per tenant
    assert other_tenant.id != first.id
    assert db.session.scalar(sa.select(sa.func.count(Outbox.id))) == 2
    assert (first.status, first.attempts) == ("queued", 0)


def test_a_rolled_back_change_leaves_no_notice(ctx):
    notify.queue(f.tenant_id("beijing"), "sms", "13800000000", "s", "b", "k")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Outbox.id))) == 0


@pytest.mark.rule("BJ-DEF-1")
def test_dev_gateway_delivers_inline_and_logs(ctx, caplog, monkeypatch):
    # Alembic's fileConfig (test_migrations, same worker) disables loggers that exist already.
    monkeypatch.setattr(logging.getLogger("app.notify"), "disabled", False)
    row = queued()
    with caplog.at_level(logging.INFO, logger="app.notify"):
        jobs.dispatch([row.id])
    db.session.refresh(row)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, "")
    assert row.sent_at is not None
    assert "13800000000" in caplog.text and "答辩通知书已可下载" in caplog.text
    jobs.dispatch([row.id])  # a sent notice is never sent again
    db.session.refresh(row)
    assert row.attempts == 1


@pytest.mark.rule("BJ-DEF-1")
def test_gateway_error_is_retried_then_marked_failed(ctx, monkeypatch):
    """The job as RQ runs it: the first try and three retries (retries_left 3, 2, 1, 0)."""
    ctx.config["SMS_GATEWAY"] = FAILING
    row = queued()
    assert (jobs.RETRY.max, jobs.RETRY.intervals) == (3, [10, 60, 300])
    for left in (3, 2, 1):
        monkeypatch.setattr(jobs, "get_current_job", lambda left=left: SimpleNamespace(
            retries_left=left))
        with pytest.raises(GatewayError):
            jobs.send_outbox(row.id)
        db.session.refresh(row)
        assert (row.status, row.attempts) == ("queued", 4 - left)
        assert "provider unavailable" in row.last_error
    monkeypatch.setattr(jobs, "get_current_job", lambda: SimpleNamespace(retries_left=0))
    with pytest.raises(GatewayError):
        jobs.send_outbox(row.id)
    db.session.refresh(row)
    assert (row.status, row.attempts) == ("failed", 4)
    assert jobs.send_outbox(row.id) == "failed"  # a failed row is left alone
    assert db.session.get(Outbox, row.id).attempts == 4


def test_inline_failures_stop_after_the_last_attempt(ctx):
    ctx.config["SMS_GATEWAY"] = FAILING
    row = queued()
    for _ in range(notify.MAX_ATTEMPTS + 1):
        jobs.dispatch([row.id])  # logs, never raises into the caller
    db.session.refresh(row)
    assert (row.status, row.attempts) == ("failed", notify.MAX_ATTEMPTS)


class FakeQueue:
    def __init__(self):
        self.enqueued = []

    def fetch_job(self, job_id):
        return None

    def enqueue(self, fn, *args, **kwargs):
        self.enqueued.append((fn, args, kwargs))


@pytest.mark.rule("BJ-DEF-1")
def test_dispatch_only_enqueues_when_not_inline(ctx, monkeypatch):
    ctx.config.update(JOBS_INLINE=False, SMS_GATEWAY=FAILING)
    fake = FakeQueue()
    monkeypatch.setattr(jobs, "queue", lambda: fake)
    FailingGateway.calls = 0
    row = queued()
    jobs.dispatch([row.id])
    db.session.refresh(row)
    assert (row.status, row.attempts, FailingGateway.calls) == ("queued", 0, 0)
    ((fn, args, kwargs),) = fake.enqueued
    assert fn is jobs.send_outbox and args == (row.id,)
    assert kwargs["job_id"] == f"outbox-{row.id}" and kwargs["retry"] is jobs.RETRY


def test_dispatch_survives_redis_being_down(ctx):
    ctx.config.update(JOBS_INLINE=False, REDIS_URL="redis://127.0.0.1:1/0")
    row = queued()
    jobs.dispatch([row.id])  # logged; the sweep enqueues it later
    db.session.refresh(row)
    assert row.status == "queued"


def test_sweep_delivers_what_has_waited_a_minute(ctx):
    with time_machine.travel(at(2026, 11, 1, 9, 0, 0), tick=False):
        row = queued()
    with time_machine.travel(at(2026, 11, 1, 9, 0, 59), tick=False):
        assert jobs.sweep_outbox() == 0
    with time_machine.travel(at(2026, 11, 1, 9, 1, 1), tick=False):
        assert jobs.sweep_outbox() == 1
    db.session.refresh(row)
    assert row.status == "sent"


def test_gateways_are_chosen_by_configuration():
    assert isinstance(gateway_for("sms", {"SMS_GATEWAY": "dev"}), DevGateway)
    sms = gateway_for("sms", {"SMS_GATEWAY": "http", "SMS_GATEWAY_URL": "https://sms.example/send",
                              "SMS_GATEWAY_TOKEN": "t0k"})
    assert isinstance(sms, HttpSmsGateway) and (sms.url, sms.token) == (
        "https://sms.example/send", "t0k")
    mail = gateway_for("email", {"EMAIL_GATEWAY": "smtp", "SMTP_URL": "smtps://u:p@mail.example",
                                 "MAIL_FROM": "zc@example.cn"})
    assert isinstance(mail, SmtpEmailGateway) and mail.sender == "zc@example.cn"
    assert isinstance(gateway_for("sms", {"SMS_GATEWAY": FAILING}), FailingGateway)
    with pytest.raises(ValueError):
        gateway_for("fax", {})
    with pytest.raises(ValueError):
        gateway_for("sms", {"SMS_GATEWAY": "carrier-pigeon"})


@pytest.fixture
def sms_server():
    """A local HTTP SMS provider that records each request and answers with `status`."""
    seen = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append({"headers": dict(self.headers), "json": json.loads(body)})
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", seen, state
    server.shutdown()
    server.server_close()


def test_http_sms_gateway_posts_json_with_the_token(sms_server):
    url, seen, state = sms_server
    gw = HttpSmsGateway(url, "secret-token", timeout=5)
    gw.send(Message("sms", "13800000000", "答辩通知", "答辩通知书已可下载。", "defense:1:2:1"))
    (req,) = seen
    assert req["json"] == {"to": "13800000000", "text": "答辩通知书已可下载。", "id": "defense:1:2:1"}
    assert req["headers"]["Authorization"] == "Bearer secret-token"
    assert req["headers"]["Idempotency-Key"] == "defense:1:2:1"
    state["status"] = 503
    with pytest.raises(GatewayError) as err:
        gw.send(Message("sms", "13800000000", "", "x", "k"))
    assert "503" in str(err.value) and "secret-token" not in str(err.value)
    with pytest.raises(GatewayError):
        HttpSmsGateway("", "t").send(Message("sms", "1", "", "x", "k"))


def test_smtp_gateway_sends_from_the_url(monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def ehlo(self):
            pass

        def has_extn(self, name):
            return False

        def login(self, user, password):
            sent.append(("login", user, password))

        def send_message(self, msg):
            sent.append(("send", msg["To"], msg["Subject"], msg.get_content().strip()))

    monkeypatch.setattr("app.notify.smtp.smtplib.SMTP", FakeSMTP)
    SmtpEmailGateway("smtp://zc%40example.cn:p%40ss@mail.example:2525", "zc@example.cn").send(
        Message("email", "a@example.cn", "答辩通知", "答辩通知书已可下载。", "k"))
    assert sent == [("connect", "mail.example", 2525), ("login", "zc@example.cn", "p@ss"),
                    ("send", "a@example.cn", "答辩通知", "答辩通知书已可下载。")]
    with pytest.raises(GatewayError):
        SmtpEmailGateway("", "x").send(Message("email", "a@example.cn", "s", "b", "k"))



def release_retries(q: Queue) -> list[float]:
    """Move jobs waiting for their retry onto the queue now, as the scheduler would once their
    time comes; returns how long after its failed try each was set to run again (measured from
    the try's end, so a slow machine between the try and this call does not change it)."""
    registry = q.scheduled_job_registry
    waits = []
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=q.connection)
        ended = job.ended_at.replace(tzinfo=UTC) if job.ended_at.tzinfo is None else job.ended_at
        waits.append((registry.get_scheduled_time(job_id) - ended).total_seconds())
        registry.remove(job_id)
        q.enqueue_job(job)
    return waits


@pytest.mark.rule("BJ-DEF-1")
def test_real_worker_sends_and_retries_then_fails(app, redis_conn, worker_id):
    queue_name = f"test-notify-{worker_id}-{os.getpid()}"
    app.config.update(JOBS_INLINE=False, RQ_QUEUE=queue_name)
    q = Queue(queue_name, connection=redis_conn)
    try:
        with app.app_context():
            ok = queued("ok")
            jobs.dispatch([ok.id])
            jobs.dispatch([ok.id])  # the job is waiting already: not a second one
            assert q.job_ids == [f"outbox-{ok.id}"]
            assert db.session.get(Outbox, ok.id).status == "queued"  # nothing sent yet
            SimpleWorker([q], connection=redis_conn).work(burst=True)
            db.session.expire_all()
            assert db.session.get(Outbox, ok.id).status == "sent"

            app.config["SMS_GATEWAY"] = FAILING
            bad = queued("bad")
            jobs.dispatch([bad.id])
            waits = []
            for attempt in range(1, 5):
                SimpleWorker([q], connection=redis_conn).work(burst=True)
                db.session.expire_all()
                row = db.session.get(Outbox, bad.id)
                assert row.attempts == attempt
                assert row.status == ("failed" if attempt == 4 else "queued")
                waits += release_retries(q)
            assert [round(w / 10) * 10 for w in waits] == [10, 60, 300]
            job = Job.fetch(f"outbox-{bad.id}", connection=redis_conn)
            assert job.get_status() == JobStatus.FAILED
            assert "provider unavailable" in db.session.get(Outbox, bad.id).last_error
    finally:
        q.delete(delete_jobs=True)
