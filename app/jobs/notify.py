"""Notice delivery on RQ: one job per outbox row, retried on gateway errors, and a cron sweep
that enqueues again what a lost enqueue left behind."""
from __future__ import annotations

import logging
from collections.abc import Iterable

import sqlalchemy as sa
from flask import current_app, has_app_context
from redis.exceptions import RedisError
from rq import Queue, Retry, get_current_job

from ..extensions import db
from ..models import Tenant
from ..models.notify import Outbox
from ..tenancy import tenant_scope
from ..workflow import notify
from . import worker_app
from .deadlines import pending, queue

log = logging.getLogger("app.notify")

RETRY = Retry(max=len(notify.RETRY_INTERVALS), interval=list(notify.RETRY_INTERVALS))


def job_id(outbox_id: int) -> str:
    """Stable, so a row never has two delivery jobs waiting at once."""
    return f"outbox-{outbox_id}"


def _in_app(fn, *args):
    # Inside an app already (inline delivery in a request, a test's worker) use it and its
    # database session; a separate session would contend with the caller's on SQLite.
    if has_app_context():
        return fn(*args)
    with worker_app().app_context():
        return fn(*args)


def send_outbox(outbox_id: int) -> str:
    """RQ job: deliver one outbox row in its tenant's scope. A gateway error propagates so RQ
    retries it (RETRY: after 10 s, 60 s, 300 s); the last try marks the row failed."""
    return _in_app(_send, outbox_id)


def _send(outbox_id: int) -> str:
    slug = db.session.scalar(sa.select(Tenant.slug).join(Outbox, Outbox.tenant_id == Tenant.id)
                             .where(Outbox.id == outbox_id))
    if slug is None:
        return "missing"
    job = get_current_job()
    last_try = job is not None and not job.retries_left  # RQ counts retries_left down to 0
    with tenant_scope(slug):
        return notify.deliver(outbox_id, last_try=last_try)


def _enqueue(q: Queue, outbox_id: int) -> bool:
    jid = job_id(outbox_id)
    if pending(q, jid):
        return False  # waiting, retrying or running already
    q.enqueue(send_outbox, outbox_id, job_id=jid, retry=RETRY,
              description=f"send outbox {outbox_id}")
    return True


def _deliver_inline(outbox_id: int) -> None:
    try:
        send_outbox(outbox_id)
    except Exception:  # recorded on the row; the sweep tries again
        log.warning("inline delivery of outbox %s failed", outbox_id, exc_info=True)


def dispatch(outbox_ids: Iterable[int]) -> None:
    """Call after the commit that wrote the rows: enqueue one delivery job per row (with
    JOBS_INLINE, deliver now in-process instead). Never raises: a row that could not be handed
    to the queue stays queued, and sweep_outbox enqueues it a minute later."""
    ids = list(dict.fromkeys(outbox_ids))
    if not ids:
        return
    if current_app.config["JOBS_INLINE"]:
        for i in ids:
            _deliver_inline(i)
        return
    try:
        q = queue()
        for i in ids:
            _enqueue(q, i)
    except (RedisError, OSError):
        log.exception("could not enqueue outbox rows %s; the sweep will", ids)


def sweep_outbox() -> int:
    """RQ cron job: enqueue every notice still queued a minute after it was written whose job
    is neither waiting nor running. Returns how many were handed over."""
    return _in_app(_sweep)


def _sweep() -> int:
    ids = notify.stale_ids()
    if current_app.config["JOBS_INLINE"]:
        for i in ids:
            _deliver_inline(i)
        return len(ids)
    q = queue()
    return sum(_enqueue(q, i) for i in ids)
