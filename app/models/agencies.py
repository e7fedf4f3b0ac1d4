"""Review service agencies: their filing with the city HR bureau, yearly assessment and
suspension; the year's directory (名录); the yearly notices offices file with the city."""
from __future__ import annotations

from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class FilingStatus(str, Enum):
    submitted = "submitted"   # awaiting the city HR bureau
    returned = "returned"     # sent back with reasons; the applicant corrects and resubmits
    filed = "filed"           # 备案: valid from filed_on to valid_until


class AgencyFiling(db.Model):
    """An organisation's application to act as a review service agency (seed 003 第十条) and the
    city HR bureau's decision (第十二条). One row per organisation, kept current."""
    __tablename__ = "agency_filings"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "org_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(sa.String(10), default=FilingStatus.submitted.value)
    profile: Mapped[str] = mapped_column(sa.Text, default="")       # 单位简介
    head: Mapped[str] = mapped_column(sa.String(60), default="")    # 负责人
    head_title: Mapped[str] = mapped_column(sa.String(60), default="")  # 负责人职务
    scope: Mapped[str] = mapped_column(sa.Text, default="")         # 专业领域范围
    purpose: Mapped[str] = mapped_column(sa.Text, default="")       # 开展目的
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")   # the office's public line
    hours: Mapped[str] = mapped_column(sa.String(200), default="")  # 受理时间
    staff_count: Mapped[int] = mapped_column(default=0)             # 专职工作人员
    staff: Mapped[str] = mapped_column(sa.Text, default="")
    facilities: Mapped[str] = mapped_column(sa.Text, default="")    # 配套设备设施
    strengths: Mapped[str] = mapped_column(sa.Text, default="")     # 自身优势和能够提供的服务
    committees: Mapped[str] = mapped_column(sa.Text, default="")    # 拟开展评委会的备案内容
    return_reason: Mapped[str] = mapped_column(sa.Text, default="")
    filed_on: Mapped[date | None] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    submitted_at = mapped_column(UTCDateTime, nullable=True)
    decided_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(default=1)

    org = relationship("Org")

    def valid_on(self, day: date) -> bool:
        return bool(self.status == FilingStatus.filed.value and self.filed_on
                    and self.valid_until and self.filed_on <= day <= self.valid_until)


class AgencySuspension(db.Model):
    """The city HR bureau stops an agency's reviews (第三十一条); lifted when it may resume."""
    __tablename__ = "agency_suspensions"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    suspended_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    suspended_at = mapped_column(UTCDateTime, default=utcnow)
    lift_reason: Mapped[str] = mapped_column(sa.Text, default="")
    lifted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    lifted_at = mapped_column(UTCDateTime, nullable=True)


class AgencyAssessment(db.Model):
    """The city HR bureau's yearly assessment of an agency (第三十一条), with the figures it was
    based on as they stood that day."""
    __tablename__ = "agency_assessments"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "org_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    year: Mapped[int]
    result: Mapped[str] = mapped_column(sa.String(10))   # pass | fail
    note: Mapped[str] = mapped_column(sa.Text, default="")
    figures: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    assessed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    assessed_at = mapped_column(UTCDateTime, default=utcnow)


class Directory(db.Model):
    """The year's directory of committees and agencies (名录): a draft generated from the filings,
    and the rows the city HR bureau published (what applicants choose from)."""
    __tablename__ = "directories"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "year"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    year: Mapped[int]
    draft_rows: Mapped[list] = mapped_column(sa.JSON, default=list)
    drafted_at = mapped_column(UTCDateTime, nullable=True)
    rows: Mapped[list | None] = mapped_column(sa.JSON, nullable=True)
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    published_at = mapped_column(UTCDateTime, nullable=True)
    version: Mapped[int] = mapped_column(default=1)


class NoticeStatus(str, Enum):
    submitted = "submitted"
    acknowledged = "acknowledged"


class YearlyNotice(db.Model):
    """A county's, committee office's or self-review unit's yearly review notice, filed with the
    city HR bureau (CF-NOTICE-1) and, once acknowledged, listed publicly."""
    __tablename__ = "yearly_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    year: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    issued_on: Mapped[date]
    opens_on: Mapped[date | None] = mapped_column(sa.Date)    # applications accepted from
    closes_on: Mapped[date | None] = mapped_column(sa.Date)   # ... to
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    stored_name: Mapped[str | None] = mapped_column(sa.String(80))
    mime: Mapped[str] = mapped_column(sa.String(40), default="")
    size: Mapped[int] = mapped_column(default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    status: Mapped[str] = mapped_column(sa.String(12), default=NoticeStatus.submitted.value)
    submitted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    submitted_at = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    acknowledged_at = mapped_column(UTCDateTime, nullable=True)

    org = relationship("Org")
