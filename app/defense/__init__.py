from flask import Blueprint

bp = Blueprint("defense", __name__, url_prefix="/<tenant>/defense")

from . import routes  # noqa: E402,F401
