"""E-certificates and the integrity record (BJ-CERT-1, BJ23-VERIFY-1, BJ-INTEG-1, CF-INTEG-1)."""
from __future__ import annotations

from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class RevokeReason(str, Enum):
    """Why a title is revoked (四(一)): each one also opens an integrity record."""
    false_material = "false_material"   # 提供虚假材料
    plagiarism = "plagiarism"           # 剽窃他人作品和学术成果
    improper_means = "improper_means"   # 采取其他不正当手段


class CertificateStatus(str, Enum):
    valid = "valid"        # 有效
    revoked = "revoked"    # 已撤销


class Certificate(db.Model):
    """An e-certificate (电子职称证书) and its result letter (电子职称评价结果通知书), one per file.

    What the documents showed is kept as issued: the holder's name, the masked ID number, the
    series and level. The full ID number is never stored here."""
    __tablename__ = "certificates"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    # Unique: a file is certified once, even if two batches race.
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    holder_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Printed on the certificate and encoded in its QR code: BJ2026-7K3QH2M9XA.
    number: Mapped[str] = mapped_column(sa.String(24), unique=True)
    holder_name: Mapped[str] = mapped_column(sa.String(60))
    id_masked: Mapped[str] = mapped_column(sa.String(20), default="")
    series: Mapped[str] = mapped_column(sa.String(40))
    specialty: Mapped[str | None] = mapped_column(sa.String(40))
    level: Mapped[str] = mapped_column(sa.String(40))
    issued_on: Mapped[date] = mapped_column(sa.Date)
    issuer_org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"))
    batch_id: Mapped[str] = mapped_column(sa.String(40), index=True)
    pdf_name: Mapped[str] = mapped_column(sa.String(80))
    letter_name: Mapped[str] = mapped_column(sa.String(80))
    status: Mapped[str] = mapped_column(sa.String(10), default=CertificateStatus.valid.value)
    version: Mapped[int] = mapped_column(default=1)
    revoked_at = mapped_column(UTCDateTime, nullable=True)
    revoke_kind: Mapped[str | None] = mapped_column(sa.String(20))   # RevokeReason
    revoke_reason: Mapped[str] = mapped_column(sa.Text, default="")  # the office's account
    revoked_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    application = relationship("Application")
    holder = relationship("User", foreign_keys=[holder_id])
    issuer = relationship("Org")

    @property
    def revoked(self) -> bool:
        return self.status == CertificateStatus.revoked.value


class IntegrityRecord(db.Model):
    """An entry of the integrity record (职称评审诚信档案), kept for the tenant's years
    (starts_on ≤ day < ends_on). Only a case marked serious (情节严重) bars its person from
    applying while it runs (四(一)). Kept by user and by ID-number hash, so a new account with
    the same ID number is caught too."""
    __tablename__ = "integrity_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    id_number_hash: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)  # the day it expires
    certificate_id: Mapped[int | None] = mapped_column(sa.ForeignKey("certificates.id"))
    # The file disqualified for it, when found before a title was granted.
    application_id: Mapped[int | None] = mapped_column(sa.ForeignKey("applications.id"))
    serious: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)

    certificate = relationship("Certificate")
