"""Experts, review sessions, panels, scores and the secret ballot."""
from __future__ import annotations

import secrets
from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class ExpertRole(str, Enum):
    chair = "chair"            # 主任委员
    vice_chair = "vice_chair"  # 副主任委员
    member = "member"          # 委员


class Expert(db.Model):
    """An entry of the tenant's expert pool (专家库)."""
    __tablename__ = "experts"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    gender: Mapped[str] = mapped_column(sa.String(10), default="")
    birth_date: Mapped[date]
    title_level: Mapped[str] = mapped_column(sa.String(40))    # associate_senior | senior
    title_year: Mapped[int]                                    # year the title was obtained
    series: Mapped[str] = mapped_column(sa.String(40))
    specialty: Mapped[str | None] = mapped_column(sa.String(40))
    employer_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    employer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    private_sector: Mapped[bool] = mapped_column(default=False)
    role: Mapped[str] = mapped_column(sa.String(20), default=ExpertRole.member.value)
    entry_route: Mapped[str] = mapped_column(sa.String(20))    # recommended | invited
    recommended_by_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    term_start: Mapped[date]
    terms: Mapped[int] = mapped_column(default=1)              # current term number, ≤ 3
    exited_on: Mapped[date | None] = mapped_column(sa.Date)
    exit_reason: Mapped[str] = mapped_column(sa.String(40), default="")
    confidentiality_signed_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    # Entry (AE-EXP-1, AE-EXP-6): nominated by the recommending office (or invited), vetted by
    # the agency, approved by the city HR bureau; only approved experts are drawn.
    status: Mapped[str] = mapped_column(sa.String(12), default="approved",
                                        server_default="approved")
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    agency_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    # The reasons of the last return (by the agency or the city HR bureau).
    decision_note: Mapped[str | None] = mapped_column(sa.Text, default="")
    approved_on: Mapped[date | None] = mapped_column(sa.Date)
    # ID number and mobile: encrypted like users' (app/workflow/ids.py), a keyed hash, a mask.
    id_number_enc: Mapped[str | None] = mapped_column(sa.String(200))
    id_number_hash: Mapped[str | None] = mapped_column(sa.String(64))
    id_number_masked: Mapped[str | None] = mapped_column(sa.String(20))
    mobile_enc: Mapped[str | None] = mapped_column(sa.String(200))
    mobile_masked: Mapped[str | None] = mapped_column(sa.String(20))
    # The expert's own word that they can take reviews now (AE-EXP-4); not drawn otherwise.
    available: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    exit_note: Mapped[str | None] = mapped_column(sa.Text, default="")

    employer = relationship("Org", foreign_keys=[employer_org_id])
    agency = relationship("Org", foreign_keys=[agency_org_id])
    recommender = relationship("Org", foreign_keys=[recommended_by_org_id])
    user = relationship("User")

    __table_args__ = (sa.UniqueConstraint("tenant_id", "id_number_hash"),)


class Conflict(db.Model):
    """A declared conflict between an expert and an applicant (AE-RECUSE-1)."""
    __tablename__ = "conflicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    expert_id: Mapped[int | None] = mapped_column(sa.ForeignKey("experts.id"), index=True)
    expert_name: Mapped[str] = mapped_column(sa.String(60), default="")  # when an applicant names one
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))   # relative | interest | dispute | other
    declared_by: Mapped[str] = mapped_column(sa.String(20))  # expert | applicant
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)


class SessionStatus(str, Enum):
    draft = "draft"        # applications being gathered
    drawn = "drawn"        # panel drawn, experts reviewing
    voting = "voting"      # attendance recorded, ballot open
    closed = "closed"      # tally sealed


class ReviewSession(db.Model):
    """A review meeting (评审会) of one committee for one plan and level."""
    __tablename__ = "review_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committees.id"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    series: Mapped[str] = mapped_column(sa.String(40))
    level: Mapped[str] = mapped_column(sa.String(40))
    specialties: Mapped[list] = mapped_column(sa.JSON, default=list)
    blind: Mapped[bool] = mapped_column(default=False)
    panel_size: Mapped[int]
    held_on: Mapped[date]
    # CF-PLAN-2: when the agency filed the review's implementation plan (评审实施方案).
    plan_filed_at = mapped_column(UTCDateTime, nullable=True)
    # CF-GROUP-1: the groups of its own the committee chose to form (county, township); the
    # tenant's mandatory groups need no choice.
    local_groups: Mapped[list | None] = mapped_column(sa.JSON, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(10), default=SessionStatus.draft.value)
    version: Mapped[int] = mapped_column(default=1)
    # The draw, kept so it can be audited and replayed: seed and ordered candidate ids.
    draw_seed: Mapped[str | None] = mapped_column(sa.String(64))
    draw_candidates: Mapped[list] = mapped_column(sa.JSON, default=list)
    draw_excluded: Mapped[list] = mapped_column(sa.JSON, default=list)  # [{"expert_id","reason"}]
    tally: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    tally_digest: Mapped[str | None] = mapped_column(sa.String(64))
    sealed_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    committee = relationship("Committee")
    plan = relationship("Plan")
    items = relationship("SessionItem", back_populates="session", order_by="SessionItem.code",
                         cascade="all, delete-orphan")
    members = relationship("PanelMember", back_populates="session", order_by="PanelMember.id",
                           cascade="all, delete-orphan")
    files = relationship("SessionFile", order_by="SessionFile.id", cascade="all, delete-orphan")


class SessionItem(db.Model):
    """An application in a session, known to blind reviewers only by its session-local code."""
    __tablename__ = "session_items"
    __table_args__ = (sa.UniqueConstraint("session_id", "application_id"),
                      sa.UniqueConstraint("session_id", "code"))
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"))
    code: Mapped[str] = mapped_column(sa.String(12))
    result: Mapped[str | None] = mapped_column(sa.String(10))  # passed | failed
    # CF-GROUP-1: the review group (schema.ReviewGroup) the file is ranked and listed in;
    # None: the general group.
    grp: Mapped[str | None] = mapped_column(sa.String(20))

    session = relationship("ReviewSession", back_populates="items")
    application = relationship("Application")


class MemberStatus(str, Enum):
    active = "active"
    recused = "recused"      # declared a conflict after the draw; replaced


class PanelMember(db.Model):
    __tablename__ = "panel_members"
    __table_args__ = (sa.UniqueConstraint("session_id", "expert_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    expert_id: Mapped[int] = mapped_column(sa.ForeignKey("experts.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(10), default=MemberStatus.active.value)
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("panel_members.id"))
    recusal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    attended: Mapped[bool | None] = mapped_column(nullable=True)
    year: Mapped[int]

    session = relationship("ReviewSession", back_populates="members")
    expert = relationship("Expert")


class Score(db.Model):
    """An expert's scores and opinion on one application (per the committee's standard)."""
    __tablename__ = "scores"
    __table_args__ = (sa.UniqueConstraint("item_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("session_items.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("panel_members.id"))
    scores: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    at = mapped_column(UTCDateTime, default=utcnow)


class BallotReceipt(db.Model):
    """That a member voted in a session — never how."""
    __tablename__ = "ballot_receipts"
    __table_args__ = (sa.UniqueConstraint("session_id", "member_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("panel_members.id"))


def _random_id() -> int:
    # A random key, not a sequence: the row order cannot be matched to the receipts' order.
    return secrets.randbelow(2**62) + 1


class BallotVote(db.Model):
    """One anonymous vote on one application: no member, no time."""
    __tablename__ = "ballot_votes"
    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False,
                                    default=_random_id)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("session_items.id"))
    choice: Mapped[str] = mapped_column(sa.String(10))   # yes | no | abstain


class SessionFile(db.Model):
    """Audio/video recordings and minutes of a session (AE-DUTY-1): stored, not streamed."""
    __tablename__ = "session_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("review_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(12))   # recording | minutes
    filename: Mapped[str] = mapped_column(sa.String(200))
    stored_name: Mapped[str] = mapped_column(sa.String(80))
    mime: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at = mapped_column(UTCDateTime, default=utcnow)
