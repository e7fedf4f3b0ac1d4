"""The reference for bench/office_bench.py: a Flask app that answers "ok", served by gunicorn with
the same workers as the portal, so the office list is measured as a fraction of what the server
and Flask cost alone."""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def ok():
    return "ok"
