"""The audit log: every state change, login attempt and refused access; append-only and
hash-chained per tenant (app/workflow/audit.py seals the chain)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """No foreign keys: a row names its tenant, actor and office by id and copies the actor's
    name and role, so it stands on its own; PostgreSQL would otherwise check each key once per
    row written (a quarter of a close of 100,000 files). Lookups by tenant use the (tenant_id,
    seq) index, a file's history the subject index; nothing looks rows up by time alone, so
    `at` has no index of its own to write on every event."""
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_subject", "subject_type", "subject_id"),
                      sa.UniqueConstraint("tenant_id", "seq"))
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None]
    at = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(sa.String(60), default="")
    actor_role: Mapped[str] = mapped_column(sa.String(30), default="")
    actor_org_id: Mapped[int | None]
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    subject_type: Mapped[str] = mapped_column(sa.String(30))
    subject_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(30))
    to_state: Mapped[str | None] = mapped_column(sa.String(30))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # The chain: seq numbers a tenant's rows in the order they were sealed; chain_hash is the
    # keyed hash of the previous row's chain_hash and this row's content. Both NULL until sealed.
    seq: Mapped[int | None] = mapped_column(sa.BigInteger)
    chain_hash: Mapped[str | None] = mapped_column(sa.String(64))


# Append-only on PostgreSQL: rows are never deleted, and an UPDATE may only seal a row (set seq
# and chain_hash where both were NULL) without touching anything else. A new column of
# audit_events must be added to both row values below.
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'audit_events is append-only: DELETE refused';
  END IF;
  -- Only sealing: seq and chain_hash set once, every other column as it was.
  IF OLD.chain_hash IS NOT NULL OR OLD.seq IS NOT NULL
     OR (NEW.id, NEW.tenant_id, NEW.at, NEW.actor_id, NEW.actor_name, NEW.actor_role,
         NEW.actor_org_id, NEW.ip, NEW.subject_type, NEW.subject_id, NEW.action,
         NEW.from_state, NEW.to_state, NEW.reason)
        IS DISTINCT FROM
        (OLD.id, OLD.tenant_id, OLD.at, OLD.actor_id, OLD.actor_name, OLD.actor_role,
         OLD.actor_org_id, OLD.ip, OLD.subject_type, OLD.subject_id, OLD.action,
         OLD.from_state, OLD.to_state, OLD.reason) THEN
    RAISE EXCEPTION 'audit_events is append-only: UPDATE refused';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
"""
APPEND_ONLY_DROP = """
DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
DROP FUNCTION IF EXISTS audit_events_append_only();
"""

sa.event.listen(AuditEvent.__table__, "after_create",
                sa.DDL(APPEND_ONLY_SQL).execute_if(dialect="postgresql"))
sa.event.listen(AuditEvent.__table__, "before_drop",
                sa.DDL(APPEND_ONLY_DROP).execute_if(dialect="postgresql"))


class AuditChainHead(db.Model):
    """The newest sealed row of a tenant's chain. Its row lock serialises sealing per tenant;
    nothing else locks it, so sealing at the end of a transaction cannot deadlock with the rows
    the transaction changed."""
    __tablename__ = "audit_chain_heads"
    tenant_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    chain_hash: Mapped[str] = mapped_column(sa.String(64), default="")
