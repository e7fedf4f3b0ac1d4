"""Before the ballot: each file's defense record (BJ-DEF-1) and the professional review group's
written opinion on it (BJ23-PANEL-1)."""
from __future__ import annotations

from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class DefenseStatus(str, Enum):
    pending = "pending"      # nothing recorded yet
    held = "held"            # the applicant defended on site
    absent = "absent"        # absent: the committee has yet to decide on the file
    decided = "decided"      # absent, and the committee's decision is recorded


class DefenseRecord(db.Model):
    """Whether a session item's defense was held, or the applicant was absent and what the
    committee decided. Changes go through the transition service."""
    __tablename__ = "defense_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("session_items.id"), unique=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=DefenseStatus.pending.value)
    version: Mapped[int] = mapped_column(default=1)
    note: Mapped[str] = mapped_column(sa.Text, default="")          # the agency's record
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at = mapped_column(UTCDateTime, nullable=True)
    decision: Mapped[str] = mapped_column(sa.Text, default="")      # the committee's, if absent
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at = mapped_column(UTCDateTime, nullable=True)

    session = relationship("ReviewSession")
    item = relationship("SessionItem")

    @property
    def plan(self):
        return self.session.plan


class GroupOpinion(db.Model):
    """The professional review group's (专业评议组) written opinion (评议意见) on one file, and
    which of the session's panel members formed the group."""
    __tablename__ = "group_opinions"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("session_items.id"), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    members: Mapped[list] = mapped_column(sa.JSON, default=list)    # panel member ids
    recorded_by: Mapped[int] = mapped_column(sa.ForeignKey("panel_members.id"))
    at = mapped_column(UTCDateTime, default=utcnow)

    item = relationship("SessionItem")
