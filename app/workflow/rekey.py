"""Key rotation: every encrypted column re-encrypted under the newest key of the ring.

Set-based in batches: select a batch of ids and tokens not yet under the newest key, compute,
and write them back in one executemany UPDATE by id, one commit per batch. Old keys keep
decrypting until it finishes, so the portal stays up; an interrupted run resumes where it
stopped (rows already under the newest key are skipped). A row changed by the portal while its
batch was being computed is left alone (the UPDATE matches the token it read) and picked up by
the next run. The keyed hashes are written again from the plaintext: unchanged within a suite,
recomputed when the deployment switched suite."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from . import crypto

BATCH = 1000


@dataclass(frozen=True)
class Sealed:
    table: str
    column: str                  # the token
    hash_column: str | None = None
    purpose: str | None = None   # of the keyed hash


SEALED = (
    Sealed("users", "id_number_enc", "id_number_hash", "id_number"),
    Sealed("users", "mobile_enc", "mobile_hash", "mobile"),
    Sealed("users", "work_permit_enc", "work_permit_hash", "work_permit"),
    Sealed("outbox", "recipient_enc"),
    Sealed("experts", "id_number_enc", "id_number_hash", "id_number"),
    Sealed("experts", "mobile_enc"),
    Sealed("expert_changes", "mobile_enc"),
    Sealed("complaints", "contact_enc"),
    Sealed("profile_items", "data_enc"),
)


def _name(s: Sealed) -> str:
    return f"{s.table}.{s.column}"


def reencrypt(batch: int = BATCH, progress: Callable[[str, int], None] | None = None
              ) -> dict[str, int]:
    """Re-encrypt every row not under the newest key; returns rows rewritten per column."""
    keys = crypto.ring()
    done = {}
    for s in SEALED:
        done[_name(s)] = _column(s, keys, batch, progress)
    return done


def _column(s: Sealed, keys: crypto.KeyRing, batch: int, progress) -> int:
    table = db.metadata.tables[s.table]
    token = table.c[s.column]
    values = {s.column: sa.bindparam("b_token")}
    if s.hash_column:
        values[s.hash_column] = sa.bindparam("b_hash")
    update = (sa.update(table).where(table.c.id == sa.bindparam("b_id"),
                                     token == sa.bindparam("b_old")).values(values))
    last, written = 0, 0
    while True:
        rows = db.session.execute(
            sa.select(table.c.id, token)
            .where(table.c.id > last, token.is_not(None),
                   sa.not_(token.startswith(keys.header, autoescape=True)))
            .order_by(table.c.id).limit(batch)).all()
        if not rows:
            return written
        params = []
        for row_id, old in rows:
            plain = crypto.decrypt(old, keys)
            p = {"b_id": row_id, "b_old": old, "b_token": crypto.encrypt(plain, keys)}
            if s.hash_column:
                p["b_hash"] = crypto.keyed_hash(s.purpose, plain, keys)
            params.append(p)
        db.session.execute(update, params)
        db.session.commit()
        last, written = rows[-1][0], written + len(rows)
        if progress:
            progress(_name(s), written)


def status() -> dict[str, dict[str, int]]:
    """Rows per key for every encrypted column: {"users.mobile_enc": {"A256GCM.k1": 12, …}};
    rows under a key the ring does not hold are counted as "unknown"."""
    keys = crypto.ring()
    headers = [f"{alg.value}.{kid}" for kid in keys.keys for alg in crypto.Algorithm]
    out = {}
    for s in SEALED:
        table = db.metadata.tables[s.table]
        token = table.c[s.column]
        counts = db.session.execute(sa.select(
            sa.func.count(token),
            *(sa.func.coalesce(sa.func.sum(sa.case(
                (token.startswith(h + ".", autoescape=True), 1), else_=0)), 0)
              for h in headers))).one()
        total, per = counts[0], dict(zip(headers, counts[1:]))
        found = {h: n for h, n in per.items() if n}
        if total - sum(found.values()):
            found["unknown"] = total - sum(found.values())
        out[_name(s)] = found
    return out
