"""Applications (职称申报), their section entries, attachments and review steps."""
from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Status(str, Enum):
    draft = "draft"                      # 草稿
    submitted = "submitted"              # 已提交，待单位审核
    in_notice = "in_notice"              # 单位公示中
    returned = "returned"                # 退回补正
    recommended = "recommended"          # 已推荐至评审服务机构
    checked = "checked"                  # 评审服务机构审核通过（待缴费）
    paid = "paid"                        # 已缴费，待评审
    in_review = "in_review"              # 评审中
    passed = "passed"                    # 评审通过
    failed = "failed"                    # 评审未通过
    annulled = "annulled"                # 异议成立，评审结果撤销
    certified = "certified"              # 已发证
    not_recommended = "not_recommended"  # 未推荐
    abandoned = "abandoned"              # 视为放弃
    disqualified = "disqualified"        # 弄虚作假，取消申报资格


OPEN_FOR_EDIT = (Status.draft.value, Status.returned.value)


class Section(str, Enum):
    education = "education"
    work = "work"
    papers = "papers"
    awards = "awards"
    patents = "patents"
    projects = "projects"


def only(condition: str) -> dict:
    """A partial index's predicate, on both databases."""
    return {f"{dialect}_where": sa.text(condition) for dialect in ("postgresql", "sqlite")}


HELD = only("holder_org_id IS NOT NULL")
SENT = only("route_pos > 0")


class Application(db.Model):
    __tablename__ = "applications"
    __table_args__ = (
        # A status change writes a new entry in every index of the file (PostgreSQL cannot
        # update in place when an indexed column changes), so a deadline close of 100,000 files
        # pays for each index once per file: the applications have as few as their queries need.
        # A tenant's files in a status, or a plan's (the closes, reminders and fee lists; a
        # plan's queries name its tenant too); it also serves the key to tenants.
        sa.Index("ix_applications_tenant_status_plan", "tenant_id", "status", "plan_id"),
        # A unit's files that went past their first step (the post quotas count them): a draft,
        # and the apply close that abandons it, writes no entry.
        sa.Index("ix_applications_employer_sent", "employer_org_id", **SENT),
        # The office lists (app/workflow/inbox.py): a holder's files by status, or all of them,
        # in submission order with the id breaking ties, so a page is read off the index and
        # the counts per status off the first one alone. Only held files are indexed (every
        # list asks for one holder): a file no office holds (a draft, a closed or finished
        # file) is not in them, and a deadline close, which clears the holder, writes no entry.
        sa.Index("ix_applications_holder_status_submitted", "tenant_id", "holder_org_id",
                 "status", "submitted_at", "id", **HELD),
        sa.Index("ix_applications_holder_submitted", "tenant_id", "holder_org_id",
                 "submitted_at", "id", **HELD),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committees.id"))
    series: Mapped[str] = mapped_column(sa.String(40))
    specialty: Mapped[str | None] = mapped_column(sa.String(40))
    level: Mapped[str] = mapped_column(sa.String(40))
    person_type: Mapped[str] = mapped_column(sa.String(20))
    employer_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    association_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default=Status.draft.value)
    version: Mapped[int] = mapped_column(default=1)
    # Route computed at submission: [{"kind": StepKind, "org_id": int}, ...]
    route: Mapped[list] = mapped_column(sa.JSON, default=list)
    route_pos: Mapped[int] = mapped_column(default=0)
    holder_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    # Basic-info section (one form): gender, birth date, current title, qualification...
    basic: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    poge: Mapped[bool] = mapped_column(default=False)   # 破格
    exam_passed: Mapped[bool] = mapped_column(default=False)
    intl_qualification: Mapped[str | None] = mapped_column(sa.String(40))
    # The preferential policy (a policies.toml policy code) applied under; None: the ordinary rules.
    policy: Mapped[str | None] = mapped_column(sa.String(40))
    # Set when the agency returns the file: corrections are due by this day (一次性告知).
    correction_due: Mapped[date | None] = mapped_column(sa.Date)
    notice_starts_on: Mapped[date | None] = mapped_column(sa.Date)
    notice_ends_on: Mapped[date | None] = mapped_column(sa.Date)
    # The close (a job_runs id) that last moved the file at a deadline, and the state it left:
    # a close audits exactly the rows it marked. No foreign key: PostgreSQL would check it once
    # per moved row.
    closed_by_run_id: Mapped[int | None]
    closed_from: Mapped[str | None] = mapped_column(sa.String(20))
    submitted_at = mapped_column(UTCDateTime, nullable=True)
    # The personal integrity pledge signed at the last submission (BJ-PLEDGE-1, CF-PLEDGE-1): the
    # tenant's version, the text signed, its SHA-256 and when.
    pledge_version: Mapped[str | None] = mapped_column(sa.String(20))
    pledge_text: Mapped[str | None] = mapped_column(sa.Text)
    pledge_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    pledge_signed_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def classified(self) -> bool:
        """The applicant declared classified duties (涉密人员)."""
        return bool((self.basic or {}).get("classified"))

    @property
    def review_mode(self) -> str:
        """The plan's review mode for this file's committee, series, specialty and level; a
        classified applicant's file is reviewed in the tenant's mode for classified personnel
        whatever the plan's (CF-MODE-1)."""
        if self.classified:
            from ..tenancy import config_for
            mode = config_for(self.tenant_id).policies.classified_review_mode
            if mode is not None:
                return mode
        return self.plan.mode_for(self.committee, self.series, self.specialty, self.level)

    applicant = relationship("User", foreign_keys=[applicant_id])
    plan = relationship("Plan")
    committee = relationship("Committee")
    employer = relationship("Org", foreign_keys=[employer_org_id])
    association = relationship("Org", foreign_keys=[association_org_id])
    holder = relationship("Org", foreign_keys=[holder_org_id])
    entries = relationship("Entry", back_populates="application", order_by="Entry.id",
                           cascade="all, delete-orphan")
    attachments = relationship("Attachment", back_populates="application",
                               order_by="Attachment.id", cascade="all, delete-orphan")
    steps = relationship("ReviewStep", back_populates="application", order_by="ReviewStep.id",
                         cascade="all, delete-orphan")

    @property
    def current_step(self) -> dict | None:
        return self.route[self.route_pos] if self.route_pos < len(self.route) else None


class Entry(db.Model):
    """One row of a list section (an education record, a paper, a patent...)."""
    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    section: Mapped[str] = mapped_column(sa.String(20))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The profile item this row was taken from when the application was created: its
    # verification by the employer shows on the application.
    profile_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("profile_items.id"),
                                                        index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="entries")
    profile_item = relationship("ProfileItem", lazy="selectin")


class Attachment(db.Model):
    """A scan (PDF/JPEG/PNG) typed by the tenant's material checklist."""
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    material: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(200))
    stored_name: Mapped[str] = mapped_column(sa.String(80))
    mime: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_at = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="attachments")


class ReviewStep(db.Model):
    """Who reviewed, for which unit, what they decided and why (BJ-UNIT-1, CF-UNIT-1).

    A return carries `items`: every correction at once, each tied to a section or material.
    """
    __tablename__ = "review_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reviewer_name: Mapped[str] = mapped_column(sa.String(60))
    action: Mapped[str] = mapped_column(sa.String(30))
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    items: Mapped[list] = mapped_column(sa.JSON, default=list)
    # What the file looked like when it was returned, to show the agency what changed since.
    snapshot: Mapped[dict | None] = mapped_column(sa.JSON, nullable=True)
    at = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application", back_populates="steps")
    org = relationship("Org")


class PartialUpload(db.Model):
    """A scan being sent in pieces (app/uploads/resumable.py): the bytes so far wait in a file
    under UPLOAD_DIR/partial; the row says whose it is, what it will be and how far it got."""
    __tablename__ = "partial_uploads"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"))
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    material: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(200))
    length: Mapped[int] = mapped_column(sa.BigInteger)
    offset: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Bytes read from PATCH bodies, kept or not: equal to `offset` when nothing came twice.
    received: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # Set once the scan is attached: the row stays (its bytes gone) so that a client whose last
    # answer was lost learns that it is done instead of sending the file again.
    attachment_id: Mapped[int | None] = mapped_column(nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, index=True)
