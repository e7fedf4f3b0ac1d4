from flask import Blueprint

bp = Blueprint("payments", __name__, url_prefix="/<tenant>/pay")

from . import routes  # noqa: E402,F401
