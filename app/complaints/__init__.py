from flask import Blueprint

bp = Blueprint("complaints", __name__, url_prefix="/<tenant>/complaints")

from . import routes  # noqa: E402,F401
