from flask import Blueprint

bp = Blueprint("agencies", __name__, url_prefix="/<tenant>/agencies")

from . import routes  # noqa: E402,F401
