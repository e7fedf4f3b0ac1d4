from flask import Blueprint

bp = Blueprint("selfreview", __name__, url_prefix="/<tenant>/self-review")

from . import routes  # noqa: E402,F401
from . import run  # noqa: E402,F401
