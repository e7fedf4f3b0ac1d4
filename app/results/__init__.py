from flask import Blueprint

bp = Blueprint("results", __name__, url_prefix="/<tenant>/results")

from . import routes  # noqa: E402,F401
