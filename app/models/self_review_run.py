"""A self-review unit at work (seed 002 第九条(一)–(四)): its dedicated office and rule
documents (one row per unit, kept current) and its yearly evaluation plans."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class SelfReviewSetup(db.Model):
    """第九条(一)(二): the unit's office and its rule documents (评审工作方案, 评价标准), approved
    collectively, publicised, then approved by the city HR bureau."""
    __tablename__ = "self_review_setups"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "org_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    # none | decided | publicised | submitted | returned | approved
    status: Mapped[str] = mapped_column(sa.String(12), default="none")
    version: Mapped[int] = mapped_column(default=1)
    office_name: Mapped[str] = mapped_column(sa.String(200), default="")
    office_contact: Mapped[str] = mapped_column(sa.String(200), default="")
    office_named_on: Mapped[date | None] = mapped_column(sa.Date)
    plan_filename: Mapped[str] = mapped_column(sa.String(200), default="")
    plan_stored: Mapped[str | None] = mapped_column(sa.String(80))
    plan_mime: Mapped[str] = mapped_column(sa.String(40), default="")
    plan_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    standards_filename: Mapped[str] = mapped_column(sa.String(200), default="")
    standards_stored: Mapped[str | None] = mapped_column(sa.String(80))
    standards_mime: Mapped[str] = mapped_column(sa.String(40), default="")
    standards_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    decision_body: Mapped[str] = mapped_column(sa.String(200), default="")  # 集体决策的机构
    decided_on: Mapped[date | None] = mapped_column(sa.Date)
    publicity_from: Mapped[date | None] = mapped_column(sa.Date)
    publicity_to: Mapped[date | None] = mapped_column(sa.Date)
    submitted_at = mapped_column(UTCDateTime, nullable=True)
    return_reason: Mapped[str] = mapped_column(sa.Text, default="")
    approved_on: Mapped[date | None] = mapped_column(sa.Date)
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    org = relationship("Org")


class SelfReviewYearPlan(db.Model):
    """第九条(三): the unit's yearly evaluation plan; filing it creates the unit's Plan."""
    __tablename__ = "self_review_year_plans"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "org_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    year: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(10), default="filed")  # filed | open
    version: Mapped[int] = mapped_column(default=1)
    apply_opens: Mapped[date] = mapped_column(sa.Date)
    apply_closes: Mapped[date] = mapped_column(sa.Date)
    review_opens: Mapped[date] = mapped_column(sa.Date)
    review_closes: Mapped[date] = mapped_column(sa.Date)
    procedure: Mapped[str] = mapped_column(sa.Text, default="")     # 评审程序
    experts: Mapped[str] = mapped_column(sa.Text, default="")       # 专家构成
    indicators: Mapped[str] = mapped_column(sa.Text, default="")    # 评审指标
    groups: Mapped[str] = mapped_column(sa.Text, default="")        # 学科或分组情况
    scope: Mapped[list] = mapped_column(sa.JSON, default=list)      # [{"series", "level"}]
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    filed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    opened_at = mapped_column(UTCDateTime, nullable=True)

    org = relationship("Org")
    plan = relationship("Plan")
