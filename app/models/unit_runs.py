"""A self-review unit running its evaluations (seed 002 第六条、第十三条; 2023/2026 notices
自主评聘): refusals kept for the city HR bureau's supervision, and academic review entrusted to
the education commission or the municipal party school."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class SelfReviewEvent(db.Model):
    """A unit acting beyond its filed staff, series or levels, refused (SR-SUPERV-1)."""
    __tablename__ = "self_review_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    unit_org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    # application_refused | submission_refused | session_refused
    kind: Mapped[str] = mapped_column(sa.String(30))
    series: Mapped[str] = mapped_column(sa.String(40))
    level: Mapped[str] = mapped_column(sa.String(40))
    applicant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("applications.id"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow, index=True)

    unit = relationship("Org", foreign_keys=[unit_org_id])
    applicant = relationship("User", foreign_keys=[applicant_id])


class AcademicEntrustment(db.Model):
    """A university or party school entrusting the academic review (学术评议) of a year's files
    in some series and levels to the body the tenant names (BJ23-SELF-1)."""
    __tablename__ = "academic_entrustments"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    unit_org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    entrusted_org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    year: Mapped[int]
    scope: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"series", "level"}]
    status: Mapped[str] = mapped_column(sa.String(12))  # filed | accepted | declined
    version: Mapped[int] = mapped_column(default=1)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    filed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    filed_at = mapped_column(UTCDateTime, default=utcnow)
    decided_on: Mapped[date | None] = mapped_column(sa.Date)

    unit = relationship("Org", foreign_keys=[unit_org_id])
    entrusted = relationship("Org", foreign_keys=[entrusted_org_id])


class AcademicOpinion(db.Model):
    """The entrusted body's academic review opinion on one file."""
    __tablename__ = "academic_opinions"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    entrustment_id: Mapped[int] = mapped_column(sa.ForeignKey("academic_entrustments.id"),
                                                index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    passed: Mapped[bool] = mapped_column(default=False)
    comments: Mapped[str] = mapped_column(sa.Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewer_name: Mapped[str] = mapped_column(sa.String(100), default="")
    at = mapped_column(UTCDateTime, default=utcnow)
