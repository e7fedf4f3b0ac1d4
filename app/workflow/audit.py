"""The audit trail: one row per event, append-only, hash-chained per tenant.

Rows are written by `transitions.audit` (one event), by `bulk.move_set` (one row per file of a
set-based change) and by the access and sign-in hooks. A row is *sealed* when it gets the next
`seq` of its tenant and `chain_hash` = keyed hash of the previous row's chain_hash and this row's
content. Sealing runs at the end of the transaction that wrote the rows (bounded, so a close of
100,000 files is sealed by its job right after it commits and by the minute sweep), under the
row lock of the tenant's chain head. `verify` walks a tenant's chain and names the first row
whose content or link does not match; on PostgreSQL a trigger refuses UPDATE (but sealing) and
DELETE, so rows cannot be edited quietly, only by someone who also drops the trigger — which
`verify` then catches unless they also hold the key.
"""
from __future__ import annotations

import base64
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import AuditEvent, Tenant
from ..models.audit import AuditChainHead

# Fields of a row that its hash covers, in this order (id and seq too: a deleted row, a row
# moved in the chain or a row inserted later all break the chain).
FIELDS = ("id", "tenant_id", "at", "actor_id", "actor_name", "actor_role", "actor_org_id", "ip",
          "subject_type", "subject_id", "action", "from_state", "to_state", "reason")
SEAL_INLINE_MAX = 2000   # rows sealed at the end of a transaction; more wait for the seal job
SEAL_BATCH = 5000
MIN_RETENTION_DAYS = 183
SUITES = ("standard", "national")  # 网络安全法 第二十一条: network logs kept at least six months


# -- keyed hashes and signatures ------------------------------------------------------------

def _suite() -> str:
    return current_app.config.get("CRYPTO_SUITE", "standard")


def audit_key() -> bytes:
    key = current_app.config.get("AUDIT_KEY")
    if not key:
        raise RuntimeError("AUDIT_KEY is not set")
    return key.encode() if isinstance(key, str) else key


class Hasher:
    """A keyed hash made once per run and copied per row (re-keying an HMAC per row costs more
    than hashing the row): HMAC-SHA256, or HMAC-SM3 under the national suite (商用密码)."""

    def __init__(self, key: bytes, suite: str | None = None):
        if (suite or _suite()) == "national":
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives import hmac as chmac
            self._base, self._national = chmac.HMAC(key, hashes.SM3()), True
        else:
            self._base, self._national = hmac.new(key, digestmod="sha256"), False

    def __call__(self, data: bytes) -> str:
        h = self._base.copy()
        h.update(data)
        return h.finalize().hex() if self._national else h.hexdigest()


def row_hash(hasher: Hasher, prev: str, seq: int, row) -> str:
    """The keyed hash of the JSON array [prev, seq, *FIELDS] (`row` holds the FIELDS values in
    order; datetimes as str() of an aware UTC datetime, None as null)."""
    return hasher(json.dumps([prev, seq, *row[:len(FIELDS)]], default=str,
                             ensure_ascii=False).encode())


# -- sealing --------------------------------------------------------------------------------

def _head(tenant_id: int) -> AuditChainHead:
    """The tenant's chain head, locked for this transaction (created on first use)."""
    q = sa.select(AuditChainHead).where(AuditChainHead.tenant_id == tenant_id).with_for_update()
    head = db.session.scalar(q)
    if head is None:
        try:
            with db.session.begin_nested():
                db.session.add(AuditChainHead(tenant_id=tenant_id, seq=0, chain_hash=""))
        except IntegrityError:
            pass  # another transaction created it first
        head = db.session.scalar(q.execution_options(populate_existing=True))
    return head


_COLUMNS = [getattr(AuditEvent, f) for f in FIELDS]
_T = AuditEvent.__table__
SEAL_ROW = (sa.update(_T).where(_T.c.id == sa.bindparam("row_id"))
            .values(seq=sa.bindparam("row_seq"), chain_hash=sa.bindparam("row_hash")))


# PostgreSQL: the whole batch in one statement whose text never changes (three arrays bound as
# parameters), so nothing is compiled per batch and the server parses it once per connection.
SEAL_ROWS_PG = sa.text(
    "UPDATE audit_events SET seq = sealed.row_seq, chain_hash = sealed.row_hash "
    "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[]), CAST(:hashes AS text[])) "
    "AS sealed(row_id, row_seq, row_hash) WHERE audit_events.id = sealed.row_id")


def _write_seals(updates: list[dict]) -> None:
    """Set seq and chain_hash of each row: on PostgreSQL one UPDATE ... FROM unnest(arrays) for
    the batch (an executemany there costs a round trip per row, and a VALUES list of the batch
    costs SQLAlchemy more to compile than the server takes to run it); elsewhere one
    executemany (SQLite runs in process, where that is the cheap way)."""
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(SEAL_ROW, updates)
        return
    db.session.execute(SEAL_ROWS_PG, {"ids": [u["row_id"] for u in updates],
                                      "seqs": [u["row_seq"] for u in updates],
                                      "hashes": [u["row_hash"] for u in updates]})


def seal(tenant_id: int, limit: int | None = None) -> int:
    """Seal up to `limit` (all when None) of the tenant's unsealed rows in the current
    transaction, in the order the (tenant_id, seq) index holds them (their ids, as a rule; the
    chain's order is `seq`). Returns the number sealed; the caller commits."""
    head = _head(tenant_id)
    hasher, done, seq, prev = Hasher(audit_key()), 0, head.seq, head.chain_hash
    while limit is None or done < limit:
        size = SEAL_BATCH if limit is None else min(SEAL_BATCH, limit - done)
        rows = db.session.execute(sa.select(*_COLUMNS).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.seq.is_(None))
            .limit(size)).all()  # in index order; the chain's order is its seq
        if not rows:
            break
        updates = []
        for row in rows:
            seq += 1
            prev = row_hash(hasher, prev, seq, row)
            updates.append({"row_id": row[0], "row_seq": seq, "row_hash": prev})
        _write_seals(updates)
        done += len(rows)
    head.seq, head.chain_hash = seq, prev
    db.session.flush()
    return done


def unsealed_tenants() -> list[int]:
    return list(db.session.scalars(sa.select(AuditEvent.tenant_id).distinct().where(
        AuditEvent.seq.is_(None), AuditEvent.tenant_id.is_not(None))))


def seal_all() -> int:
    """Seal every tenant's backlog (the seal job and `flask audit seal`), one commit per batch:
    the chain head's lock is never held longer than one batch takes, so requests sealing their
    own rows meanwhile wait that long at most."""
    total = 0
    for tenant_id in unsealed_tenants():
        while done := seal(tenant_id, limit=SEAL_BATCH):
            db.session.commit()
            total += done
    return total


def note_written(tenant_id: int | None, rows: int = 1) -> None:
    """Bulk writers (INSERT ... SELECT) say which tenant's chain has how many new rows to seal."""
    if tenant_id is not None and rows:
        written = db.session.info.setdefault("audit_tenants", {})
        written[tenant_id] = written.get(tenant_id, 0) + rows


def _after_flush(session: Session, _ctx) -> None:
    written = session.info.setdefault("audit_tenants", {})
    for obj in session.new:
        if isinstance(obj, AuditEvent) and obj.tenant_id is not None:
            written[obj.tenant_id] = written.get(obj.tenant_id, 0) + 1


def _before_commit(session: Session) -> None:
    if session.info.get("audit_sealing"):
        return
    session.flush()
    tenants = session.info.pop("audit_tenants", None)
    if not tenants:
        return
    session.info["audit_sealing"] = True
    try:
        # A transaction that wrote more (a close of many files) commits unsealed: its job
        # seals right after, so the close itself stays two statements per change.
        # Each transaction seals as many rows as it wrote (its own, or older ones waiting
        # before them): the chain keeps pace, and the work stays proportional to the request.
        for tenant_id, written in sorted(tenants.items()):
            if written <= SEAL_INLINE_MAX:
                seal(tenant_id, limit=written)
    finally:
        session.info.pop("audit_sealing", None)


def _after_rollback(session: Session) -> None:
    session.info.pop("audit_tenants", None)


def install() -> None:
    """Seal at the end of every transaction that wrote audit rows (idempotent)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", lambda s, t: _after_rollback(s))


# -- verification and export ----------------------------------------------------------------

@dataclass
class Verdict:
    tenant_id: int
    checked: int
    unsealed: int
    broken_id: int | None = None
    broken_seq: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def _sealed_rows(tenant_id: int, start_seq: int = 1) -> Iterator:
    cols = _COLUMNS + [AuditEvent.seq, AuditEvent.chain_hash]
    last = start_seq - 1
    while True:
        rows = db.session.execute(sa.select(*cols).where(
            AuditEvent.tenant_id == tenant_id, AuditEvent.seq > last)
            .order_by(AuditEvent.seq).limit(SEAL_BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(tenant_id: int) -> Verdict:
    """Walk the tenant's chain from its first row; stop at the first row that does not match."""
    # Rows sealed before a deployment switched CRYPTO_SUITE keep the other suite's hash: a row
    # matches under either (both are keyed with AUDIT_KEY).
    key, prev, expected = audit_key(), "", 1
    hashers = [Hasher(key, suite) for suite in SUITES]
    verdict = Verdict(tenant_id, 0, db.session.scalar(sa.select(sa.func.count(AuditEvent.id))
                      .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq.is_(None))))
    for row in _sealed_rows(tenant_id):
        if row.seq != expected:
            verdict.broken_id, verdict.broken_seq = row.id, row.seq
            verdict.problem = f"row seq {expected} is missing (next is {row.seq})"
            return verdict
        if not any(hmac.compare_digest(row_hash(h, prev, row.seq, row), row.chain_hash or "")
                   for h in hashers):
            verdict.broken_id, verdict.broken_seq = row.id, row.seq
            verdict.problem = "content or link does not match its hash"
            return verdict
        prev, expected = row.chain_hash, expected + 1
        verdict.checked += 1
    head = db.session.get(AuditChainHead, tenant_id)
    if head is not None and (head.seq != expected - 1 or head.chain_hash != prev):
        verdict.broken_seq = head.seq
        verdict.broken_id = -1
        verdict.problem = (f"the chain ends at seq {expected - 1} but its head says {head.seq}: "
                           "rows at the end were removed")
    return verdict


def tenant_ids(slug: str | None = None) -> list[int]:
    q = sa.select(Tenant.id).order_by(Tenant.id)
    return list(db.session.scalars(q.where(Tenant.slug == slug) if slug else q))


def export_rows(tenant_id: int, start: datetime, end: datetime) -> Iterator[dict]:
    """The tenant's sealed rows with start <= at < end, in chain order, as JSON-ready dicts."""
    for row in _sealed_rows(tenant_id):
        if start <= row.at < end:
            out = {f: str(v) if isinstance(v, datetime) else v
                   for f, v in zip(FIELDS, row)}
            out.update(seq=row.seq, chain_hash=row.chain_hash)
            yield out


def signing_key():
    """The Ed25519 key export files are signed with (AUDIT_SIGNING_KEY, 32 bytes base64)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    raw = current_app.config.get("AUDIT_SIGNING_KEY")
    if not raw:
        raise RuntimeError("AUDIT_SIGNING_KEY is not set")
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))


def public_key_text() -> str:
    from cryptography.hazmat.primitives import serialization
    return signing_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def export(tenant_id: int, start: datetime, end: datetime, out) -> tuple[int, str]:
    """Write JSON lines (a header line, then one per row) to the binary stream `out` and return
    (rows, signature): the base64 Ed25519 signature of every byte written, for the .sig file."""
    key = signing_key()
    slug = db.session.scalar(sa.select(Tenant.slug).where(Tenant.id == tenant_id))
    header = {"tenant": slug, "from": start.isoformat(), "to": end.isoformat(),
              "fields": list(FIELDS) + ["seq", "chain_hash"]}
    chunks, n = [json.dumps(header, ensure_ascii=False).encode() + b"\n"], 0
    for row in export_rows(tenant_id, start, end):
        chunks.append(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        n += 1
    data = b"".join(chunks)
    out.write(data)
    return n, base64.b64encode(key.sign(data)).decode()


def check_retention(days: int) -> None:
    if days < MIN_RETENTION_DAYS:
        raise RuntimeError(f"AUDIT_RETENTION_DAYS={days}: the audit log must be kept at least "
                           f"{MIN_RETENTION_DAYS} days (six months)")
