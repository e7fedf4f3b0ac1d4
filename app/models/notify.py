"""The notification outbox, defense slots and assignments (BJ-DEF-1)."""
from __future__ import annotations

from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Channel(str, Enum):
    sms = "sms"
    email = "email"


class OutboxStatus(str, Enum):
    queued = "queued"    # written with the change it announces; waiting for a delivery job
    sent = "sent"
    failed = "failed"    # the last retry failed too; last_error says why


class Outbox(db.Model):
    """A notice to send. Written in the same transaction as the change it announces and sent
    only by a job, so a notice is never lost with a failed request nor sent for a rolled-back
    change. The dedupe key makes queueing the same notice twice a no-op."""
    __tablename__ = "outbox"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "dedupe_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    # A mobile number or an e-mail address, encrypted under the personal-data key ring
    # (copied as it is from users.mobile_enc by set-based queueing); decrypted just before
    # sending.
    recipient_enc: Mapped[str] = mapped_column(sa.String(512))
    subject: Mapped[str] = mapped_column(sa.String(200), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    dedupe_key: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(10), default=OutboxStatus.queued.value,
                                        index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)
    sent_at = mapped_column(UTCDateTime, nullable=True)

    @property
    def recipient(self) -> str:
        from ..workflow.crypto import decrypt
        return decrypt(self.recipient_enc)


class DefenseSlot(db.Model):
    """A time and place where some of a session's applicants defend on site (答辩)."""
    __tablename__ = "defense_slots"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    starts_at = mapped_column(UTCDateTime, nullable=False)
    place: Mapped[str] = mapped_column(sa.String(200))
    what_to_bring: Mapped[str] = mapped_column(sa.Text, default="")
    capacity: Mapped[int]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    session = relationship("ReviewSession")
    assignments = relationship("DefenseAssignment", back_populates="slot",
                               order_by="DefenseAssignment.id")


class DefenseAssignment(db.Model):
    """One session item's place in a defense slot; at most one per item."""
    __tablename__ = "defense_assignments"
    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(sa.ForeignKey("defense_slots.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("session_items.id"), unique=True)
    revision: Mapped[int] = mapped_column(default=1)  # +1 each time the item moves to a slot
    assigned_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    assigned_at = mapped_column(UTCDateTime, default=utcnow)
    # When the applicant first downloaded the notice: the agency sees who has not yet.
    notice_downloaded_at = mapped_column(UTCDateTime, nullable=True)

    slot = relationship("DefenseSlot", back_populates="assignments")
    item = relationship("SessionItem")
