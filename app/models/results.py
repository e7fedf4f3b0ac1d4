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
    # Where publicity comes first (CF-RESULT-1): the notice runs before anything is reported.
    noticed = "noticed"


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
    # The day results were reported (late when past the tenant's days after the review) and the
    # day they were accepted, confirmed or filed: certificates follow the later of it and ends_on.
    reported_on: Mapped[date | None] = mapped_column(sa.Date)
    confirmed_on: Mapped[date | None] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    session = relationship("ReviewSession")
    publisher = relationship("Org")
    files = relationship("PublicationFile", order_by="PublicationFile.id",
                         cascade="all, delete-orphan")

    @property
    def plan(self):
        return self.session.plan


class PublicationFile(db.Model):
    """A document reported with the results (CF-RESULT-1): approval report, publicity record,
    roster of passed applicants, the committee's pledge; one of each kind, the latest kept."""
    __tablename__ = "publication_files"
    __table_args__ = (sa.UniqueConstraint("publication_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    publication_id: Mapped[int] = mapped_column(sa.ForeignKey("publications.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))   # schema.ResultDocument
    filename: Mapped[str] = mapped_column(sa.String(200))
    stored_name: Mapped[str] = mapped_column(sa.String(80))
    mime: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at = mapped_column(UTCDateTime, default=utcnow)


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
