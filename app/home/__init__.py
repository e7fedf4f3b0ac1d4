from flask import Blueprint

bp = Blueprint("home", __name__, url_prefix="/<tenant>")

from . import routes  # noqa: E402,F401
