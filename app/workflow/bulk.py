"""Set-based state changes of many applications at once, each file with its audit row.

Every change that moves more than one file — a stage close, files put into a review session, a
session's results, certification, an annulment by a job — goes through `move_set`: one UPDATE
of the rows still in the expected state, then one audit row per row actually moved, in the same
transaction (the caller commits). Single-file changes go through `transitions.transition`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import sqlalchemy as sa

from ..extensions import db
from ..models import Application, AuditEvent, utcnow
from .actors import Actor
from .audit import note_written


@dataclass(frozen=True)
class Change:
    """From which state to which, under which audit action and reason."""
    from_state: str
    to_state: str
    action: str
    reason: str = ""


def move_set(actor: Actor, where: list, change: Change, *, conditions: list = (),
             values: dict | None = None, run=None, reason_of: Callable[[int], str] | None = None,
             at: datetime | None = None) -> list[int] | int:
    """Move the applications matching `where` that are still in `change.from_state`.

    With `run` (a JobRun with an id) nothing is read back, whatever the count (a close of
    100,000 files), the count is returned, and the UPDATE marks each row with the run and the
    state it left: on PostgreSQL its RETURNING feeds the audit rows' INSERT ... SELECT in one
    statement; on SQLite the INSERT ... SELECT reads the marked rows. Without `run`
    the moved ids come back with RETURNING and their rows are inserted in one executemany;
    returns the ids. `reason_of(id)` gives a per-file reason (e.g. a certificate number).
    `where` may only name columns this change does not set; `conditions` further restrict the
    UPDATE only (the audit rows follow the rows it marked)."""
    at = at or utcnow()
    update = (sa.update(Application)
              .where(*where, Application.status == change.from_state, *conditions)
              .values(status=change.to_state, version=Application.version + 1, updated_at=at,
                      **(values or {}))
              .execution_options(synchronize_session=False))
    if run is not None:
        update = update.values(closed_by_run_id=run.id, closed_from=change.from_state)
        if db.session.get_bind().dialect.name == "postgresql":
            # One statement: the UPDATE's RETURNING feeds the audit rows' INSERT ... SELECT,
            # and the rows it returned are counted (the driver reports no row count for it).
            rows = update.returning(Application.tenant_id, Application.id).cte("moved")
            moved = db.session.scalar(sa.select(sa.func.count()).select_from(rows).add_cte(
                _events_from(actor, change, at, rows).cte("logged")))
        else:
            # SQLite has no UPDATE inside a WITH: the rows marked with the run are read after.
            moved = db.session.execute(update).rowcount
            if moved:
                db.session.execute(_events_of(actor, change, at, [
                    *where, Application.status == change.to_state,
                    Application.closed_by_run_id == run.id,
                    Application.closed_from == change.from_state]))
        if moved:
            note_written(actor.tenant_id, moved)
        return moved
    ids = sorted(db.session.execute(update.returning(Application.id)).scalars())
    if ids:
        note_written(actor.tenant_id, len(ids))
        base = _event_values(actor, change, at)
        db.session.execute(sa.insert(AuditEvent), [
            {**base, "tenant_id": actor.tenant_id, "subject_id": i,
             "reason": reason_of(i) if reason_of else change.reason} for i in ids])
    return ids


def _event_values(actor: Actor, change: Change, at: datetime) -> dict:
    return {"at": at, "actor_id": actor.user_id, "actor_name": actor.name,
            "actor_role": actor.role, "actor_org_id": actor.org_id, "ip": actor.ip,
            "subject_type": "applications", "action": change.action,
            "from_state": change.from_state, "to_state": change.to_state,
            "reason": change.reason}


def _events_of(actor: Actor, change: Change, at: datetime, where: list) -> sa.Insert:
    """INSERT ... SELECT: one audit event per application matching `where`."""
    return _events_from(actor, change, at, Application.__table__, where)


def _events_from(actor: Actor, change: Change, at: datetime, rows, where: list = ()
                 ) -> sa.Insert:
    """INSERT ... SELECT: one audit event per row of `rows` (a table or CTE with `tenant_id`
    and `id` columns) matching `where`."""
    values = _event_values(actor, change, at)
    columns = AuditEvent.__table__.c
    select = sa.select(rows.c.tenant_id, rows.c.id,
                       *(sa.literal(v, columns[k].type) for k, v in values.items())).where(*where)
    return sa.insert(AuditEvent).from_select(["tenant_id", "subject_id", *values], select)
