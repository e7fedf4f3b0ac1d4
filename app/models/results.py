"""Acceptance, public notices, objections and re-check requests."""
from __future__ import annotations

from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Acceptance(str, Enum):
    none = "none"
    requested = "requested"     # the agency reported results and asked for acceptance (验收)
    accepted = "accepted"
    sent_back = "sent_back"


class Publication(db.Model):
    """A session's results under public notice (公示) for ≥ 5 working days (BJ-ACC-1,
    BJ23-PUB-1): senior results on the city HR bureau's page, the others on the agency's."""
    __tablename__ = "publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), unique=True)
    publisher_org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(sa.String(12), default=Acceptance.none.value)
    report: Mapped[str] = mapped_column(sa.Text, default="")
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    starts_on: Mapped[date | None] = mapped_column(sa.Date)
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    session = relationship("ReviewSession")
    publisher = relationship("Org")

    @property
    def plan(self):
        return self.session.plan


class ObjectionStatus(str, Enum):
    refused = "refused"      # not accepted: no evidence, lead, target or facts (BJ23-OBJ-1)
    open = "open"            # accepted and routed; holds the applicant's certificate
    upheld = "upheld"        # the result is annulled
    rejected = "rejected"    # looked into and found groundless


class Objection(db.Model):
    """An objection (异议) lodged during a public notice."""
    __tablename__ = "objections"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))        # review | material (CF-OBJ-1)
    complainant: Mapped[str] = mapped_column(sa.String(60), default="")
    contact: Mapped[str] = mapped_column(sa.String(60), default="")
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    facts: Mapped[str] = mapped_column(sa.Text, default="")
    evidence: Mapped[str] = mapped_column(sa.Text, default="")
    lead: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(10))
    refusal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    routed_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    resolution: Mapped[str] = mapped_column(sa.Text, default="")
    resolved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(default=1)
    lodged_at = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application")
    routed_to = relationship("Org")


class Recheck(db.Model):
    """An applicant's request to re-check their own result (AE-RECHECK-1)."""
    __tablename__ = "rechecks"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    tally_matches: Mapped[bool | None] = mapped_column(nullable=True)
    answered_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at = mapped_column(UTCDateTime, nullable=True)
    requested_at = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application")
