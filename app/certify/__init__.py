from flask import Blueprint

# `flask certificates ...` commands live in cli.py on this blueprint's command group.
bp = Blueprint("certify", __name__, url_prefix="/<tenant>/certificates", cli_group="certificates")

from . import cli, routes  # noqa: E402,F401
