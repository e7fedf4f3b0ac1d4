"""The engine: calendar, identifiers, eligibility, routing, transitions and deadlines."""
