"""A batch of files handled at once from an office's list, kept so it can be undone for a short
while: who did what when, and for each file what it was before and the version it was left at."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Batch(db.Model):
    __tablename__ = "batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    actor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(30))
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    session_id: Mapped[int | None] = mapped_column(sa.ForeignKey("review_sessions.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Until when the same user may undo it; None: the action cannot be undone.
    undo_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items = relationship("BatchItem", back_populates="batch", order_by="BatchItem.id")


class BatchItem(db.Model):
    """One file of a batch: done (with the state it left) or refused (with the reason)."""
    __tablename__ = "batch_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("batches.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    done: Mapped[bool] = mapped_column(default=False)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    status_before: Mapped[str] = mapped_column(sa.String(20))
    holder_before: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    route_pos_before: Mapped[int] = mapped_column(default=0)
    correction_due_before = mapped_column(sa.Date, nullable=True)
    version_before: Mapped[int]
    version_after: Mapped[int | None]
    # The review step the action recorded, withdrawn again by an undo.
    step_id: Mapped[int | None]
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    batch = relationship("Batch", back_populates="items")
    application = relationship("Application")
