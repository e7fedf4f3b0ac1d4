"""Fee windows and payments (BJ-FEE-1)."""
from ..extensions import db  # noqa: F401
