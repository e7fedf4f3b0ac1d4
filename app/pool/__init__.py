from flask import Blueprint

bp = Blueprint("pool", __name__, url_prefix="/<tenant>/pool")

from . import routes  # noqa: E402,F401
