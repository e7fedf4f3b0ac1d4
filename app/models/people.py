"""Accounts: applicants and staff, each belonging to one tenant."""
from enum import Enum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class Role(str, Enum):
    applicant = "applicant"
    employer_clerk = "employer_clerk"        # 用人单位经办人
    department_clerk = "department_clerk"    # 主管部门
    hr_officer = "hr_officer"                # 人社局（县/市/自治区）
    association_clerk = "association_clerk"  # 协会/学会
    agency_clerk = "agency_clerk"            # 评审服务机构
    expert = "expert"                        # 评审专家
    tenant_admin = "tenant_admin"


class PersonType(str, Enum):
    professional = "professional"      # 专业技术人员
    high_skill = "high_skill"          # 高技能人才
    freelancer = "freelancer"          # 自由职业者
    civil_servant = "civil_servant"    # 公务员


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "username"),
        sa.UniqueConstraint("tenant_id", "id_number_hash"),
        sa.UniqueConstraint("tenant_id", "mobile_hash"),
        sa.UniqueConstraint("tenant_id", "work_permit_hash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    # Staff and demo accounts have a login name; people who register with their mobile number
    # have none and sign in with the number (looked up by mobile_hash).
    username: Mapped[str | None] = mapped_column(sa.String(60))
    name: Mapped[str] = mapped_column(sa.String(60))
    role: Mapped[str] = mapped_column(sa.String(30))
    org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    # Mobile and ID-card numbers: encrypted under the personal-data key ring, a keyed hash for
    # lookups and uniqueness, and a masked form for display; never stored plain.
    mobile_enc: Mapped[str | None] = mapped_column(sa.String(200))
    mobile_hash: Mapped[str | None] = mapped_column(sa.String(64))
    mobile_masked: Mapped[str | None] = mapped_column(sa.String(20))
    id_number_enc: Mapped[str | None] = mapped_column(sa.String(200))
    id_number_hash: Mapped[str | None] = mapped_column(sa.String(64))
    id_number_masked: Mapped[str | None] = mapped_column(sa.String(20))
    # Which identity document id_number_* holds (app/workflow/ids.py DOCUMENTS): the mainland ID
    # card, the residence permit for Hong Kong, Macao and Taiwan residents, a travel permit, the
    # foreigner's permanent-residence ID, or a passport (then with the work permit below).
    id_doc_type: Mapped[str] = mapped_column(sa.String(20), default="resident_id",
                                             server_default="resident_id")
    # 外国人工作许可证号 of foreign staff applying with a passport, stored like the ID number.
    work_permit_enc: Mapped[str | None] = mapped_column(sa.String(200))
    work_permit_hash: Mapped[str | None] = mapped_column(sa.String(64))
    work_permit_masked: Mapped[str | None] = mapped_column(sa.String(20))
    person_type: Mapped[str | None] = mapped_column(sa.String(20))
    association_org_id: Mapped[int | None] = mapped_column(sa.ForeignKey("orgs.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Raised by logout, a password change or disabling: every session cookie that carries an
    # older value is refused on its next request (sessions end on the server, not only in the
    # browser).
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    # May invite, disable, re-enable and reset the accounts of its own office
    # (app/workflow/staff.py).
    office_admin: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # An invitation or a reset: the SHA-256 of the one-time link's token (never the token) and
    # when the link stops working.
    setup_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    setup_expires_at = mapped_column(UTCDateTime, nullable=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)

    org = relationship("Org", foreign_keys=[org_id])
    association = relationship("Org", foreign_keys=[association_org_id])

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def mobile(self) -> str | None:
        """The full number, decrypted; only for sending and for roles that need it."""
        from ..workflow.ids import decrypt_id
        return decrypt_id(self.mobile_enc) if self.mobile_enc else None

    @mobile.setter
    def mobile(self, value: str | None) -> None:
        from ..workflow.ids import clean_mobile, encrypt_id, mask_mobile, mobile_hash
        number = clean_mobile(value) or (value or "").strip() or None
        self.mobile_enc = encrypt_id(number) if number else None
        self.mobile_hash = mobile_hash(number) if number else None
        self.mobile_masked = mask_mobile(number) if number else None
