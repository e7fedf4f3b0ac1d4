"""The engine: calendar, identifiers, eligibility, routing, transitions and deadlines.

Importing the package registers every module's transition rules."""
from . import agency, certificates, defense, disqualify, fees, notify, results, sessions  # noqa: F401
