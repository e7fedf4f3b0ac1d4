"""Tenants, org units and the committee directory."""
from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Tenant(db.Model):
    __tablename__ = "tenants"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))


class OrgStatus(str, Enum):
    pending = "pending"      # registered, awaiting the territorial HR bureau
    approved = "approved"
    rejected = "rejected"


class Org(db.Model):
    __tablename__ = "orgs"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "code"),
        sa.UniqueConstraint("tenant_id", "uscc"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(60))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    kind: Mapped[str] = mapped_column(sa.String(30))        # schema.OrgKind
    tier: Mapped[str | None] = mapped_column(sa.String(10))  # schema.Tier
    district: Mapped[str | None] = mapped_column(sa.String(40))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    uscc: Mapped[str | None] = mapped_column(sa.String(18))
    employer_kind: Mapped[str | None] = mapped_column(sa.String(30))
    # Central units whose staff apply without an entrustment letter (BJ-CENTRAL-1).
    entrustment_exempt: Mapped[bool] = mapped_column(default=False)
    series: Mapped[list] = mapped_column(sa.JSON, default=list)
    # Enterprise honours (schema.EnterpriseFlag: 专精特新, 单项冠军) that put the unit's staff in a
    # review group of their own (CF-GROUP-1).
    enterprise_flags: Mapped[list | None] = mapped_column(sa.JSON, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=OrgStatus.approved.value)
    # Closed by its HR bureau (app/workflow/orgtree.py): offered nowhere new, its staff cannot
    # sign in; its history stays.
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    # Created or changed in the portal: the tenant files no longer overwrite its values.
    portal_managed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    version: Mapped[int] = mapped_column(default=1)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    parent = relationship("Org", remote_side=[id])

    @property
    def is_open(self) -> bool:
        return self.closed_on is None

    def label(self, locale: str = "zh") -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name


class Committee(db.Model):
    __tablename__ = "committees"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(60))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    agency_org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    series: Mapped[list] = mapped_column(sa.JSON, default=list)
    levels: Mapped[list] = mapped_column(sa.JSON, default=list)
    specialties: Mapped[list] = mapped_column(sa.JSON, default=list)
    district_only: Mapped[bool] = mapped_column(default=False)
    # Enterprise committees include a share of private-sector experts (CF-EXP-1).
    private_share: Mapped[float] = mapped_column(default=0.0)
    # Filing (AE-COMM-1): scope, scoring standard, procedure and roster, valid ≤ 3 years.
    filed_on: Mapped[date | None] = mapped_column(sa.Date)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    scope: Mapped[str] = mapped_column(sa.Text, default="")
    standard: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"code","name","max"}]
    procedure: Mapped[str] = mapped_column(sa.Text, default="")
    roster: Mapped[list] = mapped_column(sa.JSON, default=list)    # expert ids at filing
    # What the agency publishes in the directory (AE-DUTY-1): application conditions and the
    # materials asked for.
    conditions: Mapped[str] = mapped_column(sa.Text, default="")
    materials: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)

    agency = relationship("Org")

    def filed_valid_on(self, day: date) -> bool:
        return bool(self.filed_on and self.valid_until and self.filed_on <= day <= self.valid_until)

    def label(self, locale: str = "zh") -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name
