"""Notifications: an outbox sent by RQ jobs through pluggable gateways.

`queue()` writes a notice in the caller's transaction, so it commits or rolls back with the
change it announces. After the commit the caller hands the row to `app.jobs.notify.dispatch`,
which only enqueues: the RQ job (`deliver()` here) is what talks to a gateway, never a web
request — except with JOBS_INLINE (tests, development without Redis), which delivers at once."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import utcnow
from ..models.notify import Channel, Outbox, OutboxStatus
from ..notify import Message, gateway_for
from .crypto import encrypt

log = logging.getLogger("app.notify")

RETRY_INTERVALS = (10, 60, 300)           # seconds before RQ's 1st, 2nd and 3rd retry
MAX_ATTEMPTS = 1 + len(RETRY_INTERVALS)   # the first try and every retry
SWEEP_AFTER = timedelta(minutes=1)        # a queued row older than this lost its job: enqueue again
SWEEP_BATCH = 500
OUTBOX_STATUS_LABELS = {OutboxStatus.queued.value: _l("待发送"),
                        OutboxStatus.sent.value: _l("已发送"),
                        OutboxStatus.failed.value: _l("发送失败")}


def queue(tenant_id: int, channel: str, recipient: str, subject: str, body: str,
          dedupe_key: str) -> Outbox:
    """Add a notice to the outbox in the caller's transaction (not committed here) and return
    it. The same dedupe key queued again — even concurrently — returns the existing row. The
    recipient is stored encrypted."""
    channel = Channel(channel).value
    if not recipient or not dedupe_key:
        raise ValueError("a notice needs a recipient and a dedupe key")
    values = {"tenant_id": tenant_id, "channel": channel, "recipient_enc": encrypt(recipient),
              "subject": subject[:200], "body": body, "dedupe_key": dedupe_key,
              "status": OutboxStatus.queued.value, "attempts": 0, "last_error": "",
              "created_at": utcnow()}
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.session.execute(insert(Outbox).values(**values).on_conflict_do_nothing(
            index_elements=["tenant_id", "dedupe_key"]))
    elif _existing(tenant_id, dedupe_key) is None:
        db.session.add(Outbox(**values))
        db.session.flush()
    return _existing(tenant_id, dedupe_key)


def _existing(tenant_id: int, dedupe_key: str) -> Outbox | None:
    return db.session.scalar(sa.select(Outbox).filter_by(tenant_id=tenant_id,
                                                         dedupe_key=dedupe_key))


def deliver(outbox_id: int, *, last_try: bool = False) -> str:
    """Send one queued notice through its channel's gateway and record the outcome in its own
    commit; returns the row's status. A failure is recorded and re-raised (so RQ retries);
    on the last try, or after MAX_ATTEMPTS, the row is marked failed. A row that is not queued
    (already sent or failed) or is being sent by another worker is left alone."""
    row = db.session.scalar(
        sa.select(Outbox).where(Outbox.id == outbox_id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    if row is None or row.status != OutboxStatus.queued.value:
        db.session.rollback()
        return row.status if row is not None else "skipped"
    row.attempts += 1
    try:
        # The recipient is decrypted here, just before it leaves for the gateway.
        gateway_for(row.channel, current_app.config).send(Message(
            row.channel, row.recipient, row.subject, row.body, row.dedupe_key))
    except Exception as e:
        row.last_error = f"{type(e).__name__}: {e}"[:2000]
        if last_try or row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.failed.value
        db.session.commit()
        log.warning("outbox %s attempt %s failed (%s): %s", row.id, row.attempts, row.status,
                    row.last_error)
        raise
    row.status, row.sent_at, row.last_error = OutboxStatus.sent.value, utcnow(), ""
    db.session.commit()
    return row.status


def stale_ids(now: datetime | None = None) -> list[int]:
    """Queued notices older than SWEEP_AFTER, oldest first, in every tenant."""
    before = (now or utcnow()) - SWEEP_AFTER
    return list(db.session.scalars(
        sa.select(Outbox.id).where(Outbox.status == OutboxStatus.queued.value,
                                   Outbox.created_at < before)
        .order_by(Outbox.id).limit(SWEEP_BATCH)))


def notices(tenant_id: int, keys: list[str]) -> dict[str, Outbox]:
    """The outbox rows with these dedupe keys, by key (for showing delivery state)."""
    if not keys:
        return {}
    rows = db.session.scalars(sa.select(Outbox).where(Outbox.tenant_id == tenant_id,
                                                      Outbox.dedupe_key.in_(keys)))
    return {r.dedupe_key: r for r in rows}


def queue_select(tenant_id: int, channel: str, recipients: sa.Select, subject: str,
                 body: str) -> list[int]:
    """Add one notice per row of `recipients` (columns `recipient`: an encrypted token such as
    users.mobile_enc, copied as it is; `dedupe_key`) in one INSERT ... SELECT, in the caller's
    transaction. A row whose dedupe key is in the outbox already —
    even one written concurrently — is skipped. Returns the ids of the rows written."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"set-based queueing needs PostgreSQL or SQLite, not {dialect}")
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    src = recipients.subquery()
    rows = sa.select(
        sa.literal(tenant_id), sa.literal(Channel(channel).value), src.c.recipient,
        sa.literal(subject[:200]), sa.literal(body), src.c.dedupe_key,
        sa.literal(OutboxStatus.queued.value), sa.literal(0), sa.literal(""),
        sa.literal(utcnow(), Outbox.created_at.type),
    ).where(sa.true())  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
    stmt = insert(Outbox).from_select(
        ["tenant_id", "channel", "recipient_enc", "subject", "body", "dedupe_key", "status",
         "attempts", "last_error", "created_at"], rows,
    ).on_conflict_do_nothing(index_elements=["tenant_id", "dedupe_key"]).returning(Outbox.id)
    return list(db.session.execute(stmt).scalars())
