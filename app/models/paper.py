"""Receipt of an application's paper file by the office holding it (CF-PAPER-1, CF-PAPER-2)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow


class PaperReceipt(db.Model):
    """What arrived on paper, ticked against the checklist; `matched` when it equals what was
    uploaded online."""
    __tablename__ = "paper_receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    application_id: Mapped[int] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    org_id: Mapped[int] = mapped_column(sa.ForeignKey("orgs.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    code: Mapped[str] = mapped_column(sa.String(40))
    # [{"material": code, "online": n uploaded, "paper": bool}] in checklist order.
    items: Mapped[list] = mapped_column(sa.JSON, default=list)
    matched: Mapped[bool] = mapped_column(default=False)

    application = relationship("Application")
    org = relationship("Org")
