"""Changes an expert makes to their own data, pre-review training and yearly assessments
(AE-EXP-4, AE-DUTY-1, AE-SUPERV-1)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class ExpertChange(db.Model):
    """An expert's update of their own data: checked by their employer, then by the agency;
    only then written to the expert (AE-EXP-4)."""
    __tablename__ = "expert_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("experts.id"), index=True)
    # employer_check | agency_check | applied | returned
    status: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[int] = mapped_column(default=1)
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)   # the proposed values, no mobile
    # The employer that checks the change (the one named in it), when registered here.
    employer_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    mobile_enc: Mapped[str | None] = mapped_column(sa.String(200))
    mobile_masked: Mapped[str | None] = mapped_column(sa.String(20))
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)

    expert = relationship("Expert")
    employer = relationship("Org")


class ExpertTraining(db.Model):
    """An expert attended the agency's pre-review training for a session (AE-DUTY-1)."""
    __tablename__ = "expert_trainings"
    __table_args__ = (sa.UniqueConstraint("session_id", "expert_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("experts.id"), index=True)
    year: Mapped[int]
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow)


class ExpertAssessment(db.Model):
    """The agency's yearly assessment of an expert (AE-SUPERV-1, AE-EXP-4)."""
    __tablename__ = "expert_assessments"
    __table_args__ = (sa.UniqueConstraint("expert_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("experts.id"), index=True)
    year: Mapped[int]
    passed: Mapped[bool]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    agency_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at = mapped_column(UTCDateTime, default=utcnow)

    expert = relationship("Expert")
