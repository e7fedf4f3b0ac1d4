"""The applicant's profile (业绩档案): education, work history, qualifications and achievements
that belong to the person, reused by every application and verified item by item by the
employer (CF-REG-1)."""
from __future__ import annotations

import json
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class ProfileKind(str, Enum):
    education = "education"
    work = "work"
    qualification = "qualification"
    papers = "papers"
    awards = "awards"
    patents = "patents"
    projects = "projects"


class ItemState(str, Enum):
    unverified = "unverified"  # 待单位核验
    verified = "verified"      # 单位已核验
    rejected = "rejected"      # 单位退回（附理由）


class ProfileItem(db.Model):
    """One item of a person's profile with its evidence and the employer's check of it.

    The fields and the evidence are personal text: kept encrypted under the personal-data key
    ring like ID numbers and mobiles, never stored plain. `version` rises with every edit, so a
    clerk's verification applies to the content that was on the clerk's page."""
    __tablename__ = "profile_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    data_enc: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[str] = mapped_column(sa.String(20), default=ItemState.unverified.value)
    version: Mapped[int] = mapped_column(default=1)
    checked_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    checked_at = mapped_column(UTCDateTime, nullable=True)
    reject_reason: Mapped[str | None] = mapped_column(sa.Text)
    # A scan of the evidence (PDF/JPEG/PNG), checked by content like an application's scans.
    scan_stored: Mapped[str | None] = mapped_column(sa.String(80))
    scan_filename: Mapped[str | None] = mapped_column(sa.String(200))
    scan_mime: Mapped[str | None] = mapped_column(sa.String(40))
    scan_size: Mapped[int | None]
    scan_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User", foreign_keys=[user_id])
    checker = relationship("User", foreign_keys=[checked_by], lazy="selectin")

    @property
    def data(self) -> dict:
        """The item's fields and its evidence ("evidence"), decrypted."""
        from ..workflow.crypto import decrypt
        return json.loads(decrypt(self.data_enc)) if self.data_enc else {}

    @data.setter
    def data(self, value: dict) -> None:
        from ..workflow.crypto import encrypt
        self.data_enc = encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))
