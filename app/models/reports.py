"""Tier reports (CF-REPORT-1): the report and spreadsheets an office generates for what it
forwards."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class TierReport(db.Model):
    """One generated file: a roster (花名册) of one level, the recommendation report (PDF), or
    the statistics table."""
    __tablename__ = "tier_reports"
    __table_args__ = (sa.Index("ix_tier_reports_org_plan", "org_id", "plan_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))          # roster | report | statistics
    level: Mapped[str | None] = mapped_column(sa.String(40))  # rosters only
    filename: Mapped[str] = mapped_column(sa.String(200))
    stored_name: Mapped[str] = mapped_column(sa.String(120))
    rows: Mapped[int] = mapped_column(default=0)
    job_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job_runs.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    plan = relationship("Plan")
