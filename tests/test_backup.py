"""flask backup / flask restore: a populated instance (the access matrix's world: both tenants,
files at every stage, sessions, results, certificates, payments, recordings, reports, audit
rows) is backed up and restored into an empty instance, every table compared row by row and
every stored file byte by byte; damaged archives, non-empty targets and other keys are refused
before anything is written. On PostgreSQL runs the archive of a SQLite instance is restored
onto PostgreSQL too."""
from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import uploads
from app.backup import BackupError, backup, restore, verify_archive
from app.extensions import db
from app.uploads.storage import storage
from app.workflow import audit

from . import factories as f
from .conftest import make_app, _pg_admin, _pg_prefix, build_app, scratch_dir
from .world import build_world

POSTGRES = os.environ.get("TEST_DATABASE") == "postgres"


def _empty_pg(name: str) -> str:
    base = os.environ["TEST_PG_URL"]
    with _pg_admin(base).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    return base.rsplit("/", 1)[0] + "/" + name


def _drop_pg(name: str) -> None:
    with _pg_admin(os.environ["TEST_PG_URL"]).connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _populated(url: str, tmp: Path, **overrides):
    """An instance holding the world plus a few files of its own in the store."""
    app = build_app(url, tmp, **overrides)
    with app.app_context():
        build_world()
        uploads.store("beijing", f.pdf_bytes(3), "application/pdf")
        uploads.store("chifeng", f.png_bytes(), "image/png")
        audit.seal_all()
        db.session.commit()
        db.session.remove()
    return app


def _empty(url: str, tmp: Path, **overrides):
    """An instance with the schema and nothing else: no tenant, no row, no file."""
    app = make_app(url, tmp, **overrides)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
    return app


def _dump(app) -> dict[str, list[dict]]:
    """Every table's rows in key order, as the application reads them."""
    out = {}
    with app.app_context(), db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [dict(r) for r in conn.execute(
                sa.select(table).order_by(*order)).mappings()]
        db.session.remove()
    return out


def _files(app) -> dict[str, bytes]:
    with app.app_context():
        store = storage()
        return {key: store.read(key) for key in store.keys()}


def _dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def source(database_url, tmp_path_factory):
    """(app, archive path, rows, files) of the populated instance on the suite's database."""
    tmp = tmp_path_factory.mktemp("backup-source")
    url = database_url or f"sqlite:///{scratch_dir() / (tmp.name + '.db')}"
    app = _populated(url, tmp)
    archive = tmp / "instance.tar"
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["backup", str(archive)])
        db.session.remove()
    assert result.exit_code == 0, result.output
    assert "rows" in result.output and "files" in result.output
    yield app, archive, _dump(app), _files(app)
    _dispose(app)


def _assert_same(rows, files, app) -> None:
    restored = _dump(app)
    assert restored.keys() == rows.keys()
    for name in rows:
        assert restored[name] == rows[name], f"table {name} differs after restore"
    assert _files(app) == files


def test_round_trip_restores_every_row_and_file(source, tmp_path):
    app, archive, rows, files = source
    # The world is a real instance: every kind of record and both tenants' files are in it.
    assert sum(len(r) for r in rows.values()) > 300
    assert sum(1 for r in rows.values() if r) >= 30  # most kinds of record hold rows
    assert rows["applications"] and rows["audit_events"] and rows["orgs"]
    assert len(files) >= 3 and any(k.startswith("chifeng/") for k in files)
    name = f"{_pg_prefix()}_restore"
    url = _empty_pg(name) if POSTGRES else f"sqlite:///{tmp_path / 'restored.db'}"
    target = _empty(url, tmp_path)
    try:
        with target.app_context():
            result = target.test_cli_runner().invoke(args=["restore", str(archive)])
            db.session.remove()
        assert result.exit_code == 0, result.output
        assert "audit chain beijing: ok" in result.output
        assert "audit chain chifeng: ok" in result.output
        _assert_same(rows, files, target)
        with target.app_context():
            # The restored chain verifies, and the instance goes on writing: new rows get ids
            # past the restored ones (PostgreSQL's sequences were reset) and seal onto the chain.
            tenants = db.session.execute(sa.text("SELECT id FROM tenants")).scalars().all()
            assert all(audit.verify(t).ok and audit.verify(t).checked for t in tenants)
            user = f.make_user("beijing", "after_restore", "applicant")
            assert user.id > max(r["id"] for r in rows["users"])
            db.session.commit()
            assert audit.verify(f.tenant_id("beijing")).ok
            db.session.remove()
    finally:
        _dispose(target)
        if POSTGRES:
            _drop_pg(name)


@pytest.mark.skipif(not POSTGRES, reason="SQLite to PostgreSQL needs a PostgreSQL server")
def test_sqlite_archive_restores_onto_postgresql(tmp_path):
    src = _populated(f"sqlite:///{tmp_path / 'src.db'}", tmp_path / "src")
    archive = tmp_path / "sqlite.tar"
    with src.app_context():
        backup(archive)
        db.session.remove()
    rows, files = _dump(src), _files(src)
    _dispose(src)
    name = f"{_pg_prefix()}_from_sqlite"
    target = _empty(_empty_pg(name), tmp_path / "dst")
    try:
        with target.app_context():
            summary = restore(archive)
            db.session.remove()
        assert all(line.endswith("rows") and ": ok," in line for line in summary.audit)
        _assert_same(rows, files, target)
    finally:
        _dispose(target)
        _drop_pg(name)


def _rewrite(archive: Path, out: Path, change) -> None:
    """A copy of `archive` with `change(name, data)` applied to each member's bytes."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for info in src:
            data = change(info.name, src.extractfile(info).read())
            if data is None:
                continue
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))


def _fresh_target(tmp_path, **overrides):
    return _empty(f"sqlite:///{tmp_path / 'target.db'}", tmp_path / "target", **overrides)


def _restore_refused(target, archive) -> str:
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(archive)])
        db.session.remove()
    assert result.exit_code != 0
    # Nothing was written: no row, no file.
    assert not any(_dump(target).values())
    assert _files(target) == {}
    return result.output


def test_a_damaged_member_is_refused(source, tmp_path):
    _, archive, _, files = source
    damaged = tmp_path / "damaged.tar"
    victim = "files/" + sorted(files)[0]
    _rewrite(archive, damaged,
             lambda name, data: data[:-1] + bytes([data[-1] ^ 1]) if name == victim else data)
    target = _fresh_target(tmp_path)
    out = _restore_refused(target, damaged)
    assert f"checksum of {victim} does not match the manifest" in out
    _dispose(target)


def test_a_changed_table_dump_is_refused(source, tmp_path):
    _, archive, _, _ = source
    damaged = tmp_path / "rows.tar"
    _rewrite(archive, damaged, lambda name, data: data.replace(b"\n", b"\n\n", 1)
             if name == "db/applications.jsonl" else data)
    with pytest.raises(BackupError, match="checksum of db/applications.jsonl"):
        verify_archive(damaged)


def test_missing_and_extra_members_are_refused(source, tmp_path):
    _, archive, _, _ = source
    missing = tmp_path / "missing.tar"
    _rewrite(archive, missing, lambda name, data: None if name == "db/users.jsonl" else data)
    with pytest.raises(BackupError, match="missing"):
        verify_archive(missing)
    extra = tmp_path / "extra.tar"
    with tarfile.open(archive) as src, tarfile.open(extra, "w") as dst:
        for info in src:
            dst.addfile(info, src.extractfile(info))
        info = tarfile.TarInfo("files/beijing/planted.pdf")
        info.size = 3
        dst.addfile(info, io.BytesIO(b"pdf"))
    with pytest.raises(BackupError, match="planted.pdf is not in the manifest"):
        verify_archive(extra)


def test_something_that_is_not_an_archive_is_refused(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar file at all" * 100)
    target = _fresh_target(tmp_path)
    out = _restore_refused(target, junk)
    assert "not a backup archive" in out
    out = _restore_refused(target, tmp_path / "nowhere.tar")
    assert "no such archive" in out
    _dispose(target)


def test_a_non_empty_database_is_refused(source, tmp_path):
    _, archive, _, _ = source
    # A fresh start-up's database: tenants loaded, nothing else. Still not empty.
    target = build_app(f"sqlite:///{tmp_path / 'synced.db'}", tmp_path / "synced")
    with target.app_context():
        before = db.session.execute(sa.text("SELECT count(*) FROM orgs")).scalar()
        with pytest.raises(BackupError, match=r"target database is not empty \(table tenants"):
            restore(archive)
        assert db.session.execute(sa.text("SELECT count(*) FROM orgs")).scalar() == before
        assert next(storage().keys(), None) is None
        db.session.remove()
    _dispose(target)


def test_a_non_empty_file_store_is_refused(source, tmp_path):
    _, archive, _, _ = source
    target = _fresh_target(tmp_path)
    with target.app_context():
        storage().put("beijing/left-over.pdf", b"%PDF-1.4")
        with pytest.raises(BackupError, match="file store .* is not empty"):
            restore(archive)
        assert list(storage().keys()) == ["beijing/left-over.pdf"]
        db.session.remove()
    assert not any(_dump(target).values())
    _dispose(target)


def test_other_keys_are_refused(source, tmp_path):
    """An instance with another AUDIT_KEY could not verify the restored chain: refused first."""
    _, archive, _, _ = source
    target = _fresh_target(tmp_path, AUDIT_KEY="another-audit-key-0123456789")
    out = _restore_refused(target, archive)
    assert "AUDIT_KEY is not the one the archive was made with" in out
    _dispose(target)


def test_the_manifest_sums_every_member(source):
    _, archive, rows, files = source
    manifest = verify_archive(archive)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert json.load(tar.extractfile("manifest.json")) == manifest
    assert sorted(n for n in names if n != "manifest.json") == sorted(manifest["members"])
    assert {f"files/{k}" for k in files} <= set(manifest["members"])
    assert {n: t["rows"] for n, t in manifest["tables"].items()} == \
        {n: len(r) for n, r in rows.items()}
    assert all(len(m["sha256"]) == 64 for m in manifest["members"].values())
