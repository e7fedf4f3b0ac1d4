from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/<tenant>")

from . import routes  # noqa: E402,F401
