"""Post numbers of a unit (CF-POL-9) and the shares of a capped review quota (CF-POL-8)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class UnitPosts(db.Model):
    """A unit's professional posts at one level in one year (岗位数) and how many of them are
    held now (现聘人数): its recommendations at that level stay within posts − holders."""
    __tablename__ = "unit_posts"
    __table_args__ = (sa.UniqueConstraint("org_id", "year", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    year: Mapped[int]
    level: Mapped[str] = mapped_column(sa.String(40))
    posts: Mapped[int]
    holders: Mapped[int]
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    org = relationship("Org")

    @property
    def vacancies(self) -> int:
        return max(self.posts - self.holders, 0)


class QuotaAllocation(db.Model):
    """Places of a review quota (policies.toml `review_quota`) given to a district or to a unit
    by the office that shares the quota out."""
    __tablename__ = "quota_allocations"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "quota", "district"),
        sa.UniqueConstraint("tenant_id", "quota", "org_id"),
        sa.CheckConstraint("(district IS NULL) <> (org_id IS NULL)", name="one_target"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    quota: Mapped[str] = mapped_column(sa.String(60))
    district: Mapped[str | None] = mapped_column(sa.String(40))
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    places: Mapped[int]
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    org = relationship("Org")
