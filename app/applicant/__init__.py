from flask import Blueprint

bp = Blueprint("applicant", __name__, url_prefix="/<tenant>/me")

from . import profile, routes  # noqa: E402,F401
