from flask import Blueprint

bp = Blueprint("paper", __name__, url_prefix="/<tenant>/paper")

from . import routes  # noqa: E402,F401
