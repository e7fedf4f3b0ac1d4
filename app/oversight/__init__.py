from flask import Blueprint

bp = Blueprint("oversight", __name__, url_prefix="/<tenant>/oversight")

from . import routes  # noqa: E402,F401
