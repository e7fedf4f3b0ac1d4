"""All models, imported so Alembic and the app see every table."""
from .applications import (OPEN_FOR_EDIT, Application, Attachment, Entry, PartialUpload,
                           ReviewStep, Section, Status)
from .audit import AuditEvent
from .base import utcnow
from .jobs import JobRun
from .orgs import Committee, Org, OrgStatus, Tenant
from .people import PersonType, Role, User
from .plans import Plan, PlanWindow, ReviewMode, Stage
from . import certificates, fees, notify, paper, reports, results  # noqa: F401  (their tables)
from . import assessment  # noqa: F401  (defense records, review group opinions)
from .expert_pool import ExpertAssessment, ExpertChange, ExpertTraining
from . import agencies  # noqa: F401  (agency filings, the directory, yearly notices)
from . import oversight  # noqa: F401  (complaints, supervisory members)
from . import self_review  # noqa: F401  (applications to become a self-review unit)
from . import demo_clock  # noqa: F401  (how far each demo plan's clock has been moved)
from . import unit_runs  # noqa: F401  (self-review supervision events, academic entrustments)
from . import self_review_run  # noqa: F401  (a self-review unit's office, documents, plans)
from . import batches  # noqa: F401  (batch actions on a selection, kept for their undo)
from .profiles import ItemState, ProfileItem, ProfileKind
from .quotas import QuotaAllocation, UnitPosts
from .review import (
    BallotReceipt, BallotVote, Conflict, Expert, ExpertRole, MemberStatus, PanelMember,
    ReviewSession, Score, SessionFile, SessionItem, SessionStatus,
)

__all__ = [
    "BallotReceipt", "BallotVote", "Conflict", "Expert", "ExpertRole", "MemberStatus",
    "PanelMember", "ReviewSession", "Score", "SessionFile", "SessionItem", "SessionStatus",
    "OPEN_FOR_EDIT", "Application", "Attachment", "AuditEvent", "Committee", "Entry", "JobRun",
    "Org", "OrgStatus", "PersonType", "Plan", "PlanWindow", "ReviewMode", "ReviewStep", "Role",
    "Section", "Stage", "Status", "Tenant", "User", "utcnow",
    "QuotaAllocation", "UnitPosts", "ExpertAssessment", "ExpertChange", "ExpertTraining",
    "PartialUpload",
    "ItemState", "ProfileItem", "ProfileKind",
]
