"""Plans (申报计划) and their stage windows."""
from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db


class Stage(str, Enum):
    apply = "apply"
    employer_review = "employer_review"
    tier_report = "tier_report"
    agency_check = "agency_check"
    paper_to_city = "paper_to_city"  # paper files of directed evaluation reach city HR
    review = "review"  # committees review and publicise (no vote, no result report after it)


class ReviewMode(str, Enum):
    named = "named"
    online_blind = "online_blind"
    online_blind_paper = "online_blind_paper"
    offline_paper = "offline_paper"


class Plan(db.Model):
    __tablename__ = "plans"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(60))
    year: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    levels: Mapped[list] = mapped_column(sa.JSON, default=list)
    review_mode: Mapped[str] = mapped_column(sa.String(30))
    # Exceptions to review_mode for part of the plan: [{"when": {...}, "review_mode": ...}].
    mode_rules: Mapped[list] = mapped_column(sa.JSON, default=list)
    is_demo: Mapped[bool] = mapped_column(default=False)
    # A self-review unit's own yearly plan (seed 002 第九条(三)); None: a plan of the tenant.
    owner_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)

    windows = relationship("PlanWindow", back_populates="plan", lazy="selectin",
                           cascade="all, delete-orphan")

    def window(self, stage: str):
        return next((w for w in self.windows if w.stage == stage), None)

    def mode_for(self, committee, series: str, specialty: str | None,
                 level: str | None = None) -> str:
        """The review mode for files of `series`/`specialty` at `level` before `committee`
        (CF-MODE-2…4)."""
        agency = committee.agency if committee is not None else None
        facts = {"committee_tier": agency.tier if agency is not None else None,
                 "committee_kind": agency.kind if agency is not None else None,
                 "committee": committee.code if committee is not None else None,
                 "series": series, "specialty": specialty, "level": level}
        for rule in self.mode_rules or ():
            if all(facts[k] in (v if isinstance(v, list) else [v])
                   for k, v in rule["when"].items()):
                return rule["review_mode"]
        return self.review_mode

    def label(self, locale: str = "zh") -> str:
        return self.name_en if locale.startswith("en") and self.name_en else self.name


class PlanWindow(db.Model):
    """Open from `opens_on` 00:00:00 to `closes_on` 23:59:59 in the tenant's timezone."""
    __tablename__ = "plan_windows"
    __table_args__ = (sa.UniqueConstraint("plan_id", "stage"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(30))
    opens_on: Mapped[date] = mapped_column(sa.Date)
    closes_on: Mapped[date] = mapped_column(sa.Date)
    # The tenant admin who last moved closes_on in the portal: the tenant file no longer
    # rewrites that date on start-up (see tenancy.sync).
    closes_set_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    plan = relationship("Plan", back_populates="windows")


