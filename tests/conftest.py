"""Fixtures: `app` (a fresh database per test, both tenants loaded), `ctx` (an app context for
service tests), `client`, `login`, and time helpers. View tests must not hold an app context
while they make requests (Flask would share `g` across requests), so they use `ctx` only for
setup, through `app.app_context()`."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from datetime import datetime
from zoneinfo import ZoneInfo

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


@pytest.fixture(scope="session")
def database_url(worker_id, tmp_path_factory):
    """None for SQLite (a file per test); a per-worker PostgreSQL database otherwise."""
    if os.environ.get("TEST_DATABASE") != "postgres":
        return None
    base = os.environ["TEST_PG_URL"]
    # One database per checkout and worker: runs from two checkouts never drop each other's.
    checkout = hashlib.sha1(str(ROOT_TENANTS).encode()).hexdigest()[:6]
    name = f"zc_test_{checkout}_{worker_id}"
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.rsplit("/", 1)[0] + "/" + name


def build_app(url: str, tmp_path, **overrides):
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / "uploads"),
                      "REDIS_URL": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6391/0"),
                      **overrides}, config=TestConfig)
    with app.app_context():
        db.drop_all()
        db.create_all()
        for cfg in tenants().values():
            sync_tenant(cfg)
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
            "DATA_KEYS": f"w1:{new_key()}", "DATA_HASH_KEY": new_key()}


@pytest.fixture
def app(database_url, tmp_path):
    app = build_app(database_url or f"sqlite:///{tmp_path / 'test.db'}", tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


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
