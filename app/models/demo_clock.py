"""How far a demo plan's clock has been moved forward: every date of the plan's timeline moved
back by that many days in total (app/workflow/demo_clock.py). Only demo plans have one."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime


class DemoClock(db.Model):
    __tablename__ = "demo_clocks"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id"), unique=True)
    days: Mapped[int] = mapped_column(default=0)       # in total since the plan was laid out
    last_days: Mapped[int] = mapped_column(default=0)  # the last move
    moved_at = mapped_column(UTCDateTime, nullable=True)
    moved_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
