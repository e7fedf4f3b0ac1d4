"""Acceptance, public notice, objections and re-checks."""
