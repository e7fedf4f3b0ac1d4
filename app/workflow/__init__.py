"""The engine: calendar, identifiers, eligibility, routing, transitions and deadlines.

Importing the package registers every module's transition rules."""
from . import agency, fees, sessions  # noqa: F401
