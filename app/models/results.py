"""Acceptance, public notices, objections and re-check requests."""
from ..extensions import db  # noqa: F401
