"""Each run of a background job, visible to admins."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class JobRun(db.Model):
    __tablename__ = "job_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    # Stable key of what the job does (e.g. close:12:apply); a finished key is never redone.
    key: Mapped[str] = mapped_column(sa.String(120), index=True)
    status: Mapped[str] = mapped_column(sa.String(12), default="running")
    rq_job_id: Mapped[str | None] = mapped_column(sa.String(80))
    started_at = mapped_column(UTCDateTime, default=utcnow)
    finished_at = mapped_column(UTCDateTime, nullable=True)
    rows_changed: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(sa.Text, default="")
