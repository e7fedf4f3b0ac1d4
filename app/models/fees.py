"""Fee windows and payments (BJ-FEE-1)."""
from datetime import date
from enum import Enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class PaymentProvider(str, Enum):
    offline = "offline"   # bank transfer, confirmed by the agency with its reference
    gateway = "gateway"   # online payment, confirmed by the gateway's signed callback


class PaymentStatus(str, Enum):
    pending = "pending"
    paid = "paid"
    failed = "failed"


class FeeWindow(db.Model):
    """When and how much the applicants of one committee and plan pay; open from `opens_on`
    00:00:00 to `closes_on` 23:59:59 in the tenant's timezone, like a PlanWindow."""
    __tablename__ = "fee_windows"
    __table_args__ = (sa.UniqueConstraint("committee_id", "plan_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    committee_id: Mapped[int] = mapped_column(sa.ForeignKey("committees.id"))
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"))
    opens_on: Mapped[date] = mapped_column(sa.Date)
    closes_on: Mapped[date] = mapped_column(sa.Date)
    amount: Mapped[int]  # fen (分)
    # Payee, account and remark for a bank transfer, shown to the applicant as written.
    instructions: Mapped[str] = mapped_column(sa.Text, default="")
    set_by: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    committee = relationship("Committee")
    plan = relationship("Plan")
    setter = relationship("User")


class Payment(db.Model):
    """One attempt to pay for an application: a gateway order, or a confirmed bank transfer."""
    __tablename__ = "payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    provider: Mapped[str] = mapped_column(sa.String(10))
    amount: Mapped[int]  # fen (分)
    status: Mapped[str] = mapped_column(sa.String(10), default=PaymentStatus.pending.value)
    # Bank serial number (offline) or the gateway's trade number.
    reference: Mapped[str] = mapped_column(sa.String(200), default="")
    order_no: Mapped[str] = mapped_column(sa.String(40), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow)
    paid_at = mapped_column(UTCDateTime, nullable=True)

    application = relationship("Application")
