"""E-certificates and the integrity record (BJ-CERT-1, BJ-INTEG-1)."""
from ..extensions import db  # noqa: F401
