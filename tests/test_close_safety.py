"""Stage closes under failure and concurrency: a worker killed mid-transaction, two workers on
the same close, a user acting while the close runs, and the exact close instant."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry, StartedJobRegistry

from app.extensions import db
from app.models import Application, AuditEvent, JobRun, Status
from app.tenancy import tenants
from app.workflow.deadlines import CLOSES, close_stage
from app.workflow.errors import Conflict
from app.workflow.transitions import transition

from . import factories as f
from .conftest import at, secrets_env

ROOT = Path(__file__).resolve().parent.parent
PLAN, STAGE, ACTION = "bj-2026", "apply", "close_apply"
CLOSE = at(2026, 7, 31, 0, 0, 0)  # the apply window closes on 30 Jul (BJ-WIN-1)


def open_drafts(n: int, closed_before: int = 0) -> list[int]:
    """`n` drafts of one applicant in the plan, and `closed_before` files a close abandoned
    earlier, inserted in one statement; the drafts' ids."""
    f.make_employer("beijing", "emp", "haidian")
    user = f.make_user("beijing", "a0", "applicant", "emp")
    row = {"tenant_id": user.tenant_id, "applicant_id": user.id,
           "plan_id": f.plan("beijing", PLAN).id,
           "committee_id": f.committee("beijing", "bj-eng").id, "series": "engineering",
           "level": "intermediate", "specialty": "mechanical", "person_type": "professional",
           "employer_org_id": user.org_id, "basic": {}, "route": []}
    db.session.execute(sa.insert(Application), [{**row, "status": Status.draft.value}] * n + [
        {**row, "status": Status.abandoned.value}] * closed_before)
    db.session.commit()
    return list(db.session.scalars(sa.select(Application.id).filter_by(
        status=Status.draft.value).order_by(Application.id)))


def close_events() -> Counter:
    """Close audit events per application id."""
    return Counter(db.session.scalars(sa.select(AuditEvent.subject_id).filter_by(action=ACTION)))


def statuses() -> Counter:
    return Counter(db.session.scalars(sa.select(Application.status)))


# -- the exact instant ---------------------------------------------------------------------------

@pytest.mark.rule("BJ-WIN-1")
@pytest.mark.parametrize("instant, status, moved", [
    (at(2026, 7, 30, 23, 59, 59, 999999), "early", 0),
    (at(2026, 7, 31, 0, 0, 0), "finished", 3),
])
def test_the_close_happens_at_midnight_after_the_close_date(ctx, instant, status, moved):
    open_drafts(3)
    with time_machine.travel(instant, tick=False):
        run = close_stage(f.plan("beijing", PLAN), STAGE)
    assert (run.status, run.rows_changed) == (status, moved)
    assert statuses()[Status.abandoned.value] == moved == sum(close_events().values())


def test_the_moves_of_each_close_leave_different_states():
    """A close audits the rows each move marked by the state they left, so no two moves of one
    close may leave the same state."""
    for stage, moves in CLOSES.items():
        froms = [c.from_state for c in moves]
        assert len(froms) == len(set(froms)), stage


# -- two closes, or a close and a user, at the same time ----------------------------------------

class Gate:
    """Holds the thread named `thread` at the first statement containing `text` (a close's
    UPDATE is a WITH statement's first part on PostgreSQL), before or after it runs (its
    transaction open), until `go` is set."""

    def __init__(self, thread: str, text: str, when: str):
        self.thread, self.text, self.when = thread, text.upper(), when
        self.reached, self.go = threading.Event(), threading.Event()

    def __call__(self, conn, cursor, statement, *args) -> None:
        if (threading.current_thread().name == self.thread and not self.reached.is_set()
                and self.text in statement.upper()):
            self.reached.set()
            assert self.go.wait(30)


@contextmanager
def gated(gate: Gate):
    event = f"{gate.when}_cursor_execute"
    sa.event.listen(db.engine, event, gate)
    try:
        yield gate
    finally:
        gate.go.set()
        sa.event.remove(db.engine, event, gate)


def in_thread(app, name: str, out: dict, work) -> threading.Thread:
    """Run `work()` in its own thread, app context and database session; its result (or the
    exception it raised) lands in out[name]."""
    def target():
        with app.app_context():
            try:
                out[name] = work()
            except Exception as e:  # noqa: BLE001 - the test inspects it
                out[name] = e
            finally:
                db.session.remove()
    thread = threading.Thread(target=target, name=name)
    thread.start()
    return thread


def waiting_for_a_lock(seconds: float = 10) -> None:
    """Until another session waits for a lock: PostgreSQL shows it; SQLite cannot, so a pause."""
    if db.engine.dialect.name != "postgresql":
        time.sleep(0.3)
        return
    deadline = time.monotonic() + seconds
    query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()")
    while not db.session.scalar(query):
        db.session.rollback()  # the activity view is a snapshot per transaction
        assert time.monotonic() < deadline, "the second close never waited"
        time.sleep(0.05)
    db.session.rollback()


def closing(app, name: str, out: dict) -> threading.Thread:
    def work():
        run = close_stage(f.plan("beijing", PLAN), STAGE, now=CLOSE)
        return run.id
    return in_thread(app, name, out, work)


def test_two_workers_racing_on_one_close_move_and_audit_each_file_once(app):
    n = 40
    with app.app_context():
        ids = open_drafts(n, closed_before=2)
    out: dict = {}
    with app.app_context(), gated(Gate("close-a", "UPDATE applications", "after")) as gate:
        first = closing(app, "close-a", out)
        assert gate.reached.wait(30)  # the first has moved the rows, not yet committed
        second = closing(app, "close-b", out)
        waiting_for_a_lock()
        gate.go.set()
        first.join(30), second.join(30)
    with app.app_context():
        runs = {name: db.session.get(JobRun, out[name]) for name in ("close-a", "close-b")}
        assert runs["close-b"].started_at < runs["close-a"].finished_at  # they overlapped
        assert [(r.status, r.rows_changed) for r in runs.values()] == [
            ("finished", n), ("finished", 0)]
        assert close_events() == Counter(ids)  # one event per file moved, none twice
        assert set(db.session.scalars(sa.select(Application.id).filter_by(
            closed_by_run_id=runs["close-a"].id))) == set(ids)
        assert statuses() == {Status.abandoned.value: n + 2}


def test_a_user_acting_while_the_close_runs_is_either_moved_and_audited_or_kept(app):
    """PostgreSQL lets the submission through before the close's UPDATE, which then leaves the
    file alone; SQLite's single writer makes the submission wait and then refuses it. Either
    way the close audits exactly the files it moved."""
    with app.app_context():
        ids = open_drafts(5)
        applicant = f.make_user("beijing", "a1", "applicant", "emp")
        mine = f.make_application("beijing", applicant, PLAN, "bj-eng", "engineering",
                                  "intermediate", "mechanical").id
    out: dict = {}

    def submit():
        app_ = db.session.get(Application, mine)
        transition(tenants()["beijing"], app_, "submit", f.actor(app_.applicant),
                   now=at(2026, 7, 30, 23, 59, 59), pledge=f.PLEDGE)

    with app.app_context(), gated(Gate("close", "UPDATE applications", "before")) as gate:
        close = closing(app, "close", out)
        assert gate.reached.wait(30)  # the close has begun, its UPDATE not yet run
        user = in_thread(app, "submit", out, submit)
        user.join(2)
        gate.go.set()
        close.join(30), user.join(30)
    with app.app_context():
        run = db.session.get(JobRun, out["close"])
        kept = db.session.get(Application, mine).status == Status.submitted.value
        assert (out["submit"] is None) == kept
        if not kept:
            assert isinstance(out["submit"], Conflict)
        moved = ids + ([] if kept else [mine])
        assert run.rows_changed == len(moved)
        assert close_events() == Counter(moved)
        assert statuses()[Status.abandoned.value] == len(moved)


# -- a worker killed in the middle of a close ---------------------------------------------------

@pytest.fixture
def rq_worker(app, redis_url, tmp_path):
    """rq_worker(queue, *options, env=...) → a real `rq worker` process; any still running at
    the end are killed, with their work horses."""
    started: list[subprocess.Popen] = []

    def start(queue: str, *options: str, env: dict | None = None) -> subprocess.Popen:
        env = {**os.environ, **secrets_env(),
               "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "REDIS_URL": redis_url, "RQ_QUEUE": queue, **(env or {})}
        rq = Path(sys.executable).with_name("rq")
        log = tmp_path / f"worker-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([str(rq), "worker", "--url", redis_url, "--path", str(ROOT),
                                     *options, queue], cwd=ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        proc.log = log
        started.append(proc)
        return proc
    yield start
    for proc in started:
        if proc.poll() is None:
            kill(proc)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL a worker and its work horse (which runs in a process group of its own)."""
    for pid in [*children(proc.pid), proc.pid]:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(30)


def children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(c) for c in found] + [g for c in found for g in children(int(c))]


def tail(proc: subprocess.Popen) -> str:
    return proc.log.read_text(errors="replace")[-2000:]


def wait_for(path: Path, worker: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert worker.poll() is None, tail(worker)
        assert time.monotonic() < deadline, "the worker never reached the close's UPDATE"
        time.sleep(0.05)


def test_a_worker_killed_mid_close_and_restarted_applies_the_close_exactly_once(
        app, redis_url, rq_worker, tmp_path, worker_id):
    from app.jobs.deadlines import run_close
    n = 30
    queue = f"test-kill-{worker_id}-{os.getpid()}"
    q = Queue(queue, connection=Redis.from_url(redis_url))
    with app.app_context():
        ids = open_drafts(n)
    paused = tmp_path / "paused"
    job = q.enqueue(run_close, "beijing", PLAN, STAGE, job_id=f"{queue}-close")
    try:
        worker = rq_worker(queue, "-w", "tests.close_worker.PausingWorker",
                           env={"CLOSE_PAUSED_FILE": str(paused)})
        wait_for(paused, worker)  # rows moved, transaction open
        kill(worker)
        with app.app_context():
            assert statuses() == {Status.draft.value: n} and not close_events()
            assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 0
        # What a restarted worker's maintenance does once the dead one's heartbeat has expired,
        # then `rq requeue`; a duplicate delivery of the same close rides along.
        StartedJobRegistry(queue=q).cleanup(time.time() + 3600)
        FailedJobRegistry(queue=q).requeue(job.id)
        q.enqueue(run_close, "beijing", PLAN, STAGE, job_id=f"{queue}-again")
        restarted = rq_worker(queue, "-w", "app.jobs.worker.Worker", "--burst")
        assert restarted.wait(120) == 0, tail(restarted)
        with app.app_context():
            assert statuses() == {Status.abandoned.value: n}
            assert close_events() == Counter(ids)
            runs = db.session.execute(sa.select(JobRun.status, JobRun.rows_changed)
                                      .order_by(JobRun.id)).all()
            assert runs == [("finished", n), ("finished", 0)]
    finally:
        q.delete(delete_jobs=True)


def probe() -> dict:
    """A job: which process built the app it runs in, and a statement through its engine."""
    from app import jobs
    with jobs.worker_app().app_context():
        one = db.session.scalar(sa.text("SELECT 1"))
    return {"built_by": jobs.built_by, "horse": os.getpid(), "worker": os.getppid(), "one": one}


def test_the_deployed_worker_builds_the_app_once_for_all_its_horses(app, redis_url, rq_worker):
    """`rq worker -w app.jobs.worker.Worker` (make run, make run-prod, the systemd unit) builds
    the app before its first job; each job's work horse is a fork that inherits it, and reads
    the database through a pool of its own."""
    queue = f"preload-{os.getpid()}"
    q = Queue(queue, connection=Redis.from_url(redis_url))
    jobs = [q.enqueue(probe) for _ in range(2)]
    try:
        worker = rq_worker(queue, "-w", "app.jobs.worker.Worker", "--burst")
        assert worker.wait(120) == 0, tail(worker)
        done = []
        for job in jobs:
            job.refresh()
            done.append(job.return_value())
    finally:
        q.delete(delete_jobs=True)
    assert all(d == {**d, "built_by": worker.pid, "worker": worker.pid, "one": 1} for d in done)
    assert len({d["horse"] for d in done} | {worker.pid}) == 3, done
