from flask import Blueprint

bp = Blueprint("office", __name__, url_prefix="/<tenant>/office")

from . import quotas, routes, staff  # noqa: E402,F401
