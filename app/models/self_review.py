"""A unit's application to run its own title evaluations (seed 002 第五条、第七条、第八条)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class SelfReviewApplication(db.Model):
    __tablename__ = "self_review_applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    # awaiting_recommendation | awaiting_evaluation | in_evaluation | not_recommended |
    # approved | refused
    status: Mapped[str] = mapped_column(sa.String(24))
    version: Mapped[int] = mapped_column(default=1)
    unit_type: Mapped[str] = mapped_column(sa.String(30))    # 第五条
    # A public institution that is a university or a party school ("university" |
    # "party_school"; "" otherwise): it may entrust academic review (BJ23-SELF-1).
    institution_kind: Mapped[str] = mapped_column(sa.String(20), default="")
    ownership: Mapped[str] = mapped_column(sa.String(20))    # city | district | non_public | rd
    legal_person: Mapped[bool] = mapped_column(default=False)
    total_staff: Mapped[int]
    professional_staff: Mapped[int]
    # [{"series", "specialty", "count"}]: senior-title experts available (第七条(三))
    senior_experts: Mapped[list] = mapped_column(sa.JSON, default=list)
    # [{"series", "level"}]: what the unit asks to evaluate
    scope: Mapped[list] = mapped_column(sa.JSON, default=list)
    influence: Mapped[str] = mapped_column(sa.Text, default="")    # 第七条(四)
    relaxation: Mapped[str] = mapped_column(sa.Text, default="")   # 第七条(六), may be empty
    plan_filename: Mapped[str] = mapped_column(sa.String(200))
    plan_stored: Mapped[str] = mapped_column(sa.String(80))
    plan_mime: Mapped[str] = mapped_column(sa.String(40))
    plan_sha256: Mapped[str] = mapped_column(sa.String(64))
    standards_filename: Mapped[str] = mapped_column(sa.String(200))
    standards_stored: Mapped[str] = mapped_column(sa.String(80))
    standards_mime: Mapped[str] = mapped_column(sa.String(40))
    standards_sha256: Mapped[str] = mapped_column(sa.String(64))
    # The supervising department or district HR bureau that recommends; None: filed with the
    # city HR bureau directly (new R&D institutes).
    recommender_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    recommender_opinion: Mapped[str] = mapped_column(sa.Text, default="")
    evaluation_group: Mapped[list] = mapped_column(sa.JSON, default=list)  # names
    findings: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # 第八条(四)'s four aspects
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")
    approved_scope: Mapped[list] = mapped_column(sa.JSON, default=list)
    decided_on: Mapped[date | None] = mapped_column(sa.Date)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    org = relationship("Org", foreign_keys=[org_id])
    recommender = relationship("Org", foreign_keys=[recommender_org_id])

    @property
    def share(self) -> float:
        return self.professional_staff / self.total_staff if self.total_staff else 0.0
