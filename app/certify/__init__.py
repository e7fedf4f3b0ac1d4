from flask import Blueprint

bp = Blueprint("certify", __name__, url_prefix="/<tenant>/certificates")

from . import routes  # noqa: E402,F401
