"""The sandbox a rehearsal runs in: a second app on its own SQLite file in a temporary folder,
its schema made from the same metadata as the real database's, the tenant's folder loaded into it
by the same sync as at start-up. The real database is never opened by anything run here."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

# Settings copied from the calling app; anything naming a database, a folder of data, a queue or
# an outside gateway is replaced below.
_SCALARS = (str, int, float, bool, type(None))


def portable_config(config) -> dict:
    """The calling app's plain settings (secrets, keys, limits), fit to hand to a child process."""
    out = {}
    for key, value in dict(config).items():
        if not key.isupper():
            continue
        if isinstance(value, _SCALARS) or (isinstance(value, dict) and all(
                isinstance(v, _SCALARS) for v in value.values())):
            out[key] = value
    return out


@contextmanager
def sandbox_app(slug: str, tenant_dir: Path, base_config: dict):
    """Yield (app, folder): an app whose database is a fresh SQLite file under a temporary folder
    and whose only tenant is `tenant_dir` loaded under `slug`. The folder is removed after."""
    from .. import create_app
    from ..config import Config
    from ..extensions import db
    from ..tenancy.sync import sync_tenant

    shm = Path("/dev/shm")
    base = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    folder = Path(tempfile.mkdtemp(prefix=f"rehearse-{slug}-", dir=base))
    try:
        root = folder / "tenants"
        root.mkdir()
        (root / slug).symlink_to(Path(tenant_dir).resolve(), target_is_directory=True)
        app = create_app({
            **base_config,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'sandbox.db'}",
            "SQLALCHEMY_ENGINE_OPTIONS": {},
            "TENANTS_DIR": str(root),
            "UPLOAD_DIR": str(folder / "uploads"),
            "FILE_STORE_URL": "",  # its scans stay in the folder, never in the real store
            "JOBS_INLINE": True,
            "SMS_GATEWAY": "dev", "EMAIL_GATEWAY": "dev",
            "RATELIMIT_STORAGE_URI": "memory://",
        }, config=Config)
        with app.app_context():
            # A scratch database: no waiting on the disk at each of the year's commits.
            sa.event.listen(db.engine, "connect",
                            lambda conn, _: conn.execute("PRAGMA synchronous=OFF"))
            db.create_all()
            sync_tenant(app.extensions["tenants"][slug])
            db.session.remove()
        yield app, folder
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
