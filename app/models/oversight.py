"""Complaints and reports (投诉、举报) and the supervisory members of review sessions."""
from __future__ import annotations

from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class ComplaintKind(str, Enum):
    procedure = "procedure"   # an agency's procedure (评审程序、评审工作)
    material = "material"     # an applicant's material (申报材料真实性)


class ComplaintStatus(str, Enum):
    refused = "refused"       # not accepted: evidence, lead, target or facts missing (不予受理)
    open = "open"             # accepted and routed; to be answered by due_on
    answered = "answered"


class ComplaintOutcome(str, Enum):
    founded = "founded"       # 情况属实
    unfounded = "unfounded"   # 情况不属实


class Complaint(db.Model):
    """A complaint or report (AE-COMPLAIN-1), looked up by its reference code without an
    account. The contact number is kept encrypted like every mobile number."""
    __tablename__ = "complaints"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),
                      sa.Index("ix_complaints_routed_status", "routed_org_id", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    kind: Mapped[str] = mapped_column(sa.String(10))
    # procedure: the agency complained of; material: the employer of the applicant named.
    agency_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    employer_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("applications.id"),
                                                       index=True)
    target: Mapped[str] = mapped_column(sa.String(200), default="")
    facts: Mapped[str] = mapped_column(sa.Text, default="")
    evidence: Mapped[str] = mapped_column(sa.Text, default="")
    lead: Mapped[str] = mapped_column(sa.Text, default="")
    # An uploaded piece of evidence, checked and stored like every scan.
    evidence_filename: Mapped[str | None] = mapped_column(sa.String(200))
    evidence_stored: Mapped[str | None] = mapped_column(sa.String(80))
    evidence_mime: Mapped[str | None] = mapped_column(sa.String(40))
    complainant: Mapped[str] = mapped_column(sa.String(60), default="")
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    contact_enc: Mapped[str | None] = mapped_column(sa.String(200))
    contact_masked: Mapped[str | None] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(10))
    refusal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    routed_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    outcome: Mapped[str | None] = mapped_column(sa.String(10))
    answer: Mapped[str] = mapped_column(sa.Text, default="")
    answered_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    answered_at = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(default=1)
    filed_at = mapped_column(UTCDateTime, default=utcnow)

    agency = relationship("Org", foreign_keys=[agency_org_id])
    employer = relationship("Org", foreign_keys=[employer_org_id])
    routed_to = relationship("Org", foreign_keys=[routed_org_id])
    application = relationship("Application")


class SessionSupervisor(db.Model):
    """A supervisory member (监督委员) appointed by the city HR bureau to a review session
    (AE-SUPERV-1); `present_at` records that they attended."""
    __tablename__ = "session_supervisors"
    __table_args__ = (sa.UniqueConstraint("session_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    appointed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    appointed_at = mapped_column(UTCDateTime, default=utcnow)
    present_at = mapped_column(UTCDateTime, nullable=True)

    user = relationship("User", foreign_keys=[user_id])
    session = relationship("ReviewSession")
