"""Fixtures: `app` (a fresh database per test, both tenants loaded: a copy of a per-worker
template), `ctx` (an app context for service tests), `client`, `login`, and time helpers. View
tests must not hold an app context while they make requests (Flask would share `g` across
requests), so they use `ctx` only for setup, through `app.app_context()`."""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import socket
import tempfile
from pathlib import Path
from datetime import datetime
from zoneinfo import ZoneInfo

import jinja2
import pytest
import sqlalchemy as sa

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.tenancy import tenants
from app.tenancy.sync import sync_tenant

TZ = ZoneInfo("Asia/Shanghai")
ROOT_TENANTS = Path(__file__).resolve().parent.parent / "tenants"
PASSWORD = "Passw0rd-test"


def at(*args) -> datetime:
    """An instant in Asia/Shanghai: at(2026, 7, 30, 23, 59, 59)."""
    return datetime(*args, tzinfo=TZ)


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres_only: needs PostgreSQL")


# -- databases ------------------------------------------------------------------------------------
# The schema and both tenants are loaded once per worker into a template; each test gets its own
# copy of it (SQLite: a copy of the file; PostgreSQL: CREATE DATABASE ... TEMPLATE), so tests
# start from exactly what a fresh start-up leaves and never see each other's rows or DDL.

# One name per checkout and worker: runs from two checkouts never drop each other's databases.
CHECKOUT = hashlib.sha1(str(ROOT_TENANTS).encode()).hexdigest()[:6]
# "sqlite" → the template file, "scratch" → the SQLite folder, a PostgreSQL server → template db.
_templates: dict[str, str] = {}


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "master")


def _pg_prefix() -> str:
    return f"zc_test_{CHECKOUT}_{_worker()}"


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates shared by this worker's apps: every app is built by create_app with
    the same Jinja settings, so a template compiled for one test need not be compiled again for
    the next (Jinja checks the source's checksum, so an edited template is compiled afresh)."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _CompiledTemplates()


def make_app(url: str, tmp_path, **overrides):
    """An app (TestConfig plus `overrides`) over `url` as it is, its uploads under `tmp_path`."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url,
                      "UPLOAD_DIR": str(Path(tmp_path) / "uploads"),
                      "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6391/0"),
                      **overrides}, config=TestConfig)
    app.jinja_env.bytecode_cache = _COMPILED
    return app


def _load_schema(app) -> None:
    """What every test database starts as: the models' schema and both tenants synced."""
    with app.app_context():
        db.drop_all()
        db.create_all()
        for cfg in tenants().values():
            sync_tenant(cfg)
        db.session.remove()


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _sqlite_template() -> Path:
    """This worker's template file, built on first use."""
    if "sqlite" not in _templates:
        path = scratch_dir() / "template.db"
        app = make_app(f"sqlite:///{path}", scratch_dir())
        _load_schema(app)
        _dispose(app)
        _templates["sqlite"] = str(path)
    return Path(_templates["sqlite"])


def _sqlite_copy(path: Path) -> str:
    shutil.copyfile(_sqlite_template(), path)
    return f"sqlite:///{path}"


def free_port() -> int:
    """A loopback port nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scratch_dir() -> Path:
    """This worker's folder for SQLite test databases: on memory-backed /dev/shm where there is
    one with room (a commit there waits for no disk flush; the suite commits a lot), else the
    temp dir. Removed when the worker exits."""
    if "scratch" not in _templates:
        shm, base = Path("/dev/shm"), None
        if shm.is_dir() and os.access(shm, os.W_OK):
            free = os.statvfs(shm)
            base = shm if free.f_bavail * free.f_frsize > 256 * 1024 * 1024 else None
        folder = tempfile.mkdtemp(prefix=f"zc-db-{_worker()}-", dir=base)
        atexit.register(shutil.rmtree, folder, True)
        _templates["scratch"] = folder
    return Path(_templates["scratch"])


_admins: dict[str, sa.Engine] = {}


def _pg_admin(url: str) -> sa.Engine:
    """An engine on the server's maintenance database (CREATE / DROP DATABASE)."""
    server = url.rsplit("/", 1)[0]
    if server not in _admins:
        _admins[server] = sa.create_engine(server + "/postgres", isolation_level="AUTOCOMMIT",
                                           poolclass=sa.pool.NullPool)
    return _admins[server]


def _pg_template(url: str) -> str:
    """This worker's template database on the server of `url`, built on first use."""
    server = url.rsplit("/", 1)[0]
    if server not in _templates:
        name = f"{_pg_prefix()}_tpl"
        admin = _pg_admin(url)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        folder = tempfile.mkdtemp(prefix=f"zc-template-{_worker()}-")
        atexit.register(shutil.rmtree, folder, True)
        app = make_app(f"{server}/{name}", folder)
        _load_schema(app)
        _dispose(app)
        _templates[server] = name
    return _templates[server]


def _pg_clone(url: str) -> str:
    """Make the database of `url` a fresh copy of the template (whoever was connected to it is
    disconnected); return `url`."""
    template = _pg_template(url)
    name = url.rsplit("/", 1)[1]
    with _pg_admin(url).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return url


@pytest.fixture(scope="session", autouse=True)
def _drop_templates():
    """At the end of the session: this worker's PostgreSQL template and per-test databases."""
    yield
    for server, template in list(_templates.items()):
        if not server.startswith("postgresql"):
            continue
        with _pg_admin(server + "/postgres").connect() as conn:
            for name in (template, f"{_pg_prefix()}_app"):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        del _templates[server]


@pytest.fixture(scope="session")
def database_url(worker_id, tmp_path_factory):
    """None for SQLite (a file per test); a per-worker PostgreSQL database otherwise (`app` runs
    on a database of its own; this one is for tests that build their own app on it)."""
    if os.environ.get("TEST_DATABASE") != "postgres":
        yield None
        return
    base = os.environ["TEST_PG_URL"]
    name = _pg_prefix()
    with _pg_admin(base).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name


def build_app(url: str, tmp_path, **overrides):
    """An app (TestConfig plus `overrides`) over `url` holding the schema and both tenants, as a
    fresh start-up leaves them. A new SQLite file and this worker's PostgreSQL test databases are
    copied from the template; any other database is emptied and loaded."""
    sqlite_file = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if sqlite_file and not Path(sqlite_file).exists():
        return make_app(_sqlite_copy(Path(sqlite_file)), tmp_path, **overrides)
    if url.startswith("postgresql") and url.rsplit("/", 1)[1] in (_pg_prefix(),
                                                                   f"{_pg_prefix()}_app"):
        return make_app(_pg_clone(url), tmp_path, **overrides)
    app = make_app(url, tmp_path, **overrides)
    _load_schema(app)
    return app


def secrets_env() -> dict[str, str]:
    """Settings for a process a test starts (an `rq worker`): outside tests the app refuses to
    start without strong secrets, and TestConfig's are on its list of known ones, so the
    process gets fresh random ones."""
    import base64
    import secrets
    from app.workflow.crypto import new_key
    return {"SECRET_KEY": secrets.token_urlsafe(32),
            "PAYMENT_GATEWAY_SECRET": secrets.token_urlsafe(32),
            "AUDIT_KEY": secrets.token_urlsafe(32),
            "AUDIT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
            "DATA_KEYS": f"w1:{new_key()}", "DATA_HASH_KEY": new_key()}


@pytest.fixture
def app(tmp_path):
    """An app over a database of this test's own: a copy of the worker's template."""
    if os.environ.get("TEST_DATABASE") == "postgres":
        url = _pg_clone(os.environ["TEST_PG_URL"].rsplit("/", 1)[0] + f"/{_pg_prefix()}_app")
    else:
        path = scratch_dir() / f"{tmp_path.name}-{os.urandom(4).hex()}.db"
        url = _sqlite_copy(path)
    app = make_app(url, tmp_path)
    yield app
    _dispose(app)
    if not url.startswith("postgresql"):
        for leftover in path.parent.glob(path.name + "*"):  # the file and any journal
            leftover.unlink()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    """login(tenant, username) → the client, signed in."""
    def _login(tenant: str, username: str, password: str = PASSWORD):
        resp = client.post(f"/{tenant}/login", data={"username": username, "password": password})
        assert resp.status_code == 303, resp.get_data(as_text=True)[:500]
        return client
    return _login


# -- a real Chromium ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def chromium():
    """() → this worker's headless Chromium, launched when a test first asks for it (and again
    if it went away): launching it costs more than most browser tests' own work. Tests take it
    through the `browser` fixture of tests/test_browser.py."""
    from playwright.sync_api import sync_playwright

    from .test_browser import CHROMIUM, LAUNCH_ARGS
    with sync_playwright() as p:
        running = []

        def get():
            if not running or not running[0].is_connected():
                running[:] = [p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=LAUNCH_ARGS)]
            return running[0]
        try:
            yield get
        finally:
            if running and running[0].is_connected():
                running[0].close()


# -- a real Redis ---------------------------------------------------------------------------------

@pytest.fixture
def redis_url() -> str:
    """The Redis that make test starts; tests that need one skip without it, and fail under
    make test when it does not answer."""
    url = os.environ.get("TEST_REDIS_URL")
    if url is None:
        pytest.skip("TEST_REDIS_URL is not set (make test starts a Redis and sets it)")
    from redis import Redis
    Redis.from_url(url).ping()
    return url


@pytest.fixture
def redis_conn(redis_url):
    from redis import Redis
    conn = Redis.from_url(redis_url)
    conn.ping()  # under make test a missing Redis is a failure, not a skip
    return conn
