from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/<tenant>/admin")

from . import demo_clock, orgs, plans, rehearsals, routes  # noqa: E402,F401
