"""The notification outbox, defense slots and assignments (BJ-DEF-1)."""
from ..extensions import db  # noqa: F401
