from flask import Blueprint

bp = Blueprint("agency", __name__, url_prefix="/<tenant>/agency")

from . import routes  # noqa: E402,F401
