from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/<tenant>/admin")

from . import plans, routes  # noqa: E402,F401
