"""`flask backup PATH` / `flask restore PATH`: the whole instance (every table and every stored
file) in one portable, checksummed archive.

The archive is a plain tar:

    db/<table>.jsonl    one JSON object per row, tables in foreign-key order
    files/<key>         every file of the store (scans, recordings, reports), as stored
    manifest.json       format, schema revision, row counts, the SHA-256 and size of every
                        member above, and keyed fingerprints of the instance's keys

Rows are read through SQLAlchemy in one snapshot (REPEATABLE READ on PostgreSQL, one read
transaction on SQLite) and written as JSON, so an archive made on SQLite restores onto
PostgreSQL and back. Personal data stays as it is stored (encrypted under the key ring), and
audit rows keep their seq and chain_hash: the restored instance needs the same AUDIT_KEY and
DATA_HASH_KEY / key ring, which the manifest's fingerprints check before anything is written.

Restore refuses an archive whose members do not match the manifest, a database that holds any
row, a file store that holds any file, and a schema other than the archive's. It writes the
files, then every row in one transaction (on failure the files it wrote are removed again),
sets PostgreSQL's sequences past the restored ids, and verifies every tenant's audit chain."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

import sqlalchemy as sa
from flask import current_app

from .extensions import db
from .uploads.storage import storage

FORMAT = "zhicheng-backup/1"
MANIFEST = "manifest.json"
BATCH = 1000
CHUNK = 1024 * 1024


class BackupError(RuntimeError):
    """The archive or the target cannot be used; the message says why and what to do."""


# -- values ---------------------------------------------------------------------------------

def _kind(column: sa.Column) -> str:
    t = column.type
    if isinstance(t, sa.types.TypeDecorator):
        t = t.impl_instance
    if isinstance(t, sa.DateTime):
        return "datetime"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.LargeBinary):
        return "bytes"
    return "plain"  # JSON, strings, numbers, booleans: JSON as they are


def _encode(kind: str, value):
    if value is None or kind == "plain":
        return value
    if kind in ("datetime", "date"):
        return value.isoformat()
    import base64
    return base64.b64encode(value).decode()


def _decode(kind: str, value):
    if value is None or kind == "plain":
        return value
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    import base64
    return base64.b64decode(value)


def _tables() -> list[sa.Table]:
    return list(db.metadata.sorted_tables)


def _order(table: sa.Table) -> list:
    return list(table.primary_key.columns) or list(table.columns)


def _revision(conn) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


def _fingerprint(secret: bytes | str | None) -> str | None:
    """A keyed digest that tells whether two instances share a key without revealing it."""
    if not secret:
        return None
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, b"zhicheng backup fingerprint", "sha256").hexdigest()[:32]


def _fingerprints() -> dict[str, str | None]:
    from .workflow.audit import audit_key
    from .workflow.crypto import ring
    return {"audit_key": _fingerprint(audit_key()), "data_hash_key": _fingerprint(ring().hash_key)}


# -- backup ---------------------------------------------------------------------------------

class _Hashing(io.RawIOBase):
    """A file read through while its SHA-256 is computed (one pass over large recordings)."""

    def __init__(self, raw):
        self.raw, self.digest = raw, hashlib.sha256()

    def readable(self):
        return True

    def readinto(self, buf):
        data = self.raw.read(len(buf))
        self.digest.update(data)
        buf[:len(data)] = data
        return len(data)


def _add(tar: tarfile.TarFile, name: str, fileobj, size: int, members: dict) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(time.time()), 0o600
    reader = _Hashing(fileobj)
    tar.addfile(info, io.BufferedReader(reader, CHUNK))
    members[name] = {"sha256": reader.digest.hexdigest(), "size": size}


@dataclass
class Summary:
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0
    audit: list[str] = field(default_factory=list)


def backup(path: str | Path, echo: Callable[[str], None] = lambda _m: None) -> Summary:
    """Write the instance's archive to `path` (written under a temporary name, then renamed)."""
    path = Path(path)
    summary, members, tables = Summary(), {}, {}
    tmp = path.with_name(f".{path.name}.partial")
    engine = db.engine
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    try:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar, \
                engine.connect().execution_options(**options) as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")  # one snapshot for every table
            revision = _revision(conn)
            for table in _tables():
                kinds = {c.name: _kind(c) for c in table.columns}
                count = 0
                with tempfile.SpooledTemporaryFile(8 * CHUNK) as out:
                    result = conn.execution_options(stream_results=True, yield_per=BATCH) \
                        .execute(sa.select(table).order_by(*_order(table)))
                    for row in result.mappings():
                        out.write(json.dumps({k: _encode(kinds[k], v) for k, v in row.items()},
                                             ensure_ascii=False, separators=(",", ":")).encode())
                        out.write(b"\n")
                        count += 1
                    size = out.tell()
                    out.seek(0)
                    _add(tar, f"db/{table.name}.jsonl", out, size, members)
                tables[table.name] = {"rows": count, "columns": list(kinds)}
                summary.rows[table.name] = count
            conn.rollback()
            # Files after the rows: a row never names a file that is not yet stored (files are
            # written before the rows that name them, and never changed afterwards).
            store = storage()
            for key in store.keys():
                size = store.size(key)
                with store.open(key) as f:
                    _add(tar, f"files/{key}", f, size, members)
                summary.files += 1
                summary.bytes += size
            manifest = {"format": FORMAT, "created": datetime.now().astimezone().isoformat(),
                        "dialect": engine.dialect.name, "revision": revision,
                        "tables": tables, "members": members, "keys": _fingerprints()}
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
        tmp.chmod(0o600)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    echo(f"{path}: {sum(summary.rows.values())} rows in {len(summary.rows)} tables, "
         f"{summary.files} files ({summary.bytes} bytes)")
    return summary


# -- restore --------------------------------------------------------------------------------

def _open_archive(path: Path) -> tarfile.TarFile:
    if not path.is_file():
        raise BackupError(f"{path}: no such archive")
    try:
        return tarfile.open(path, "r:")
    except tarfile.TarError as e:
        raise BackupError(f"{path} is not a backup archive (not a readable tar file: {e})") from None


def read_manifest(tar: tarfile.TarFile, path: Path) -> dict:
    try:
        manifest = json.load(tar.extractfile(MANIFEST))
    except (KeyError, AttributeError, ValueError):
        raise BackupError(f"{path} has no readable {MANIFEST}: not a backup archive, or damaged") \
            from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is in format {manifest.get('format')!r}; this version reads "
                          f"{FORMAT}")
    return manifest


def verify_archive(path: str | Path) -> dict:
    """The archive's manifest once every member matches its SHA-256 and size and nothing is
    missing or extra; BackupError naming the first member that does not."""
    path = Path(path)
    with _open_archive(path) as tar:
        manifest = read_manifest(tar, path)
        expected = dict(manifest.get("members", {}))
        try:
            for info in tar:
                if info.name == MANIFEST:
                    continue
                if info.name not in expected:
                    raise BackupError(f"{path}: {info.name} is not in the manifest; the archive "
                                      "was altered — refusing to restore it")
                want = expected.pop(info.name)
                digest, f = hashlib.sha256(), tar.extractfile(info)
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                if info.size != want["size"] or digest.hexdigest() != want["sha256"]:
                    raise BackupError(f"{path}: checksum of {info.name} does not match the "
                                      "manifest; the archive is damaged — refusing to restore it")
        except (tarfile.TarError, OSError, EOFError) as e:
            raise BackupError(f"{path} is damaged ({e}); refusing to restore it") from None
    if expected:
        raise BackupError(f"{path}: {len(expected)} members of the manifest are missing "
                          f"(first: {sorted(expected)[0]}); refusing to restore it")
    return manifest


def _check_target(manifest: dict) -> None:
    """Refuse a database with any row or another schema, a store with any file, other keys."""
    engine = db.engine
    with engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        if not present:
            raise BackupError("the target database has no tables: run `flask db upgrade` "
                              "first, then restore")
        for table in _tables():
            if table.name in present and conn.scalar(sa.select(sa.literal(1)).select_from(table)
                                                     .limit(1)):
                raise BackupError(f"the target database is not empty (table {table.name} has "
                                  "rows): restore only into an empty database, e.g. a new one "
                                  "after `flask db upgrade`")
        revision = _revision(conn)
    if revision != manifest["revision"]:
        raise BackupError(f"the archive's schema is at revision {manifest['revision']} and the "
                          f"target's at {revision}: bring the target to the archive's revision "
                          f"(`flask db upgrade {manifest['revision']}`), restore, then upgrade")
    for name, info in manifest["tables"].items():
        table = db.metadata.tables.get(name)
        if table is None or name not in present:
            raise BackupError(f"the archive has table {name}, which this version does not know")
        unknown = set(info["columns"]) - {c.name for c in table.columns}
        if unknown:
            raise BackupError(f"table {name} in the archive has columns this version does not "
                              f"know: {', '.join(sorted(unknown))}")
    if next(iter(storage().keys()), None) is not None:
        where = current_app.config.get("FILE_STORE_URL") or current_app.config["UPLOAD_DIR"]
        raise BackupError(f"the file store ({where}) is not empty: "
                          "restore only into an empty one")
    mine = _fingerprints()
    for name, theirs in (manifest.get("keys") or {}).items():
        if theirs and mine.get(name) != theirs:
            what = {"audit_key": "AUDIT_KEY",
                    "data_hash_key": "personal-data key ring (DATA_HASH_KEY / KEYRING_FILE)"}
            raise BackupError(f"this instance's {what.get(name, name)} is not the one the archive "
                              "was made with: give it the source instance's secrets and key "
                              "ring (the audit chain and personal data depend on them)")


def _rows(tar: tarfile.TarFile, table: sa.Table) -> Iterable[dict]:
    kinds = {c.name: _kind(c) for c in table.columns}
    for line in tar.extractfile(f"db/{table.name}.jsonl"):
        row = json.loads(line)
        yield {k: _decode(kinds[k], v) for k, v in row.items()}


def _parents_first(table: sa.Table, rows: list[dict]) -> list[dict]:
    """Rows of a table that refers to itself (orgs.parent_id), each after the row it names."""
    refs = [(fk.parent.name, fk.column.name) for fk in table.foreign_keys
            if fk.column.table is table]
    if not refs:
        return rows
    done: set = set()
    out, todo = [], rows
    while todo:
        ready = [r for r in todo
                 if all(r[col] is None or (target, r[col]) in done for col, target in refs)]
        if not ready:  # a cycle: leave the rest in key order, the database will say
            return out + todo
        for r in ready:
            for _col, target in refs:
                done.add((target, r[target]))
        out += ready
        ready_ids = {id(r) for r in ready}
        todo = [r for r in todo if id(r) not in ready_ids]
    return out


def _insertable(table: sa.Table):
    """The table with JSON columns writing SQL NULL for None (as the dump read them)."""
    cols = []
    for c in table.columns:
        t = c.type
        if isinstance(t, sa.JSON):
            t = sa.JSON(none_as_null=True)
        cols.append(sa.column(c.name, t))
    return sa.table(table.name, *cols)


def _reset_sequences(conn) -> None:
    for table in _tables():
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, sa.Integer):
            continue
        seq = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                          {"t": table.name, "c": pk[0].name})
        if seq:
            conn.execute(sa.text(
                f'SELECT setval(:s, COALESCE((SELECT MAX("{pk[0].name}") FROM "{table.name}"), 0)'
                f' + 1, false)'), {"s": seq})


def restore(path: str | Path, echo: Callable[[str], None] = lambda _m: None) -> Summary:
    """Restore the archive at `path` into this (empty) instance; BackupError if it cannot."""
    path = Path(path)
    manifest = verify_archive(path)
    _check_target(manifest)
    summary, written = Summary(), []
    store = storage()
    with _open_archive(path) as tar:
        try:
            for info in tar:
                if info.name.startswith("files/"):
                    key = info.name.removeprefix("files/")
                    # Unpacked where the store takes it from (on a disk: a rename into place).
                    spool = store.incoming(key)
                    with spool.open("wb") as out:
                        src = tar.extractfile(info)
                        while chunk := src.read(CHUNK):
                            out.write(chunk)
                    store.put_file(key, spool)
                    written.append(key)
                    summary.files += 1
                    summary.bytes += info.size
            with db.engine.begin() as conn:
                for table in _tables():
                    if table.name not in manifest["tables"]:
                        continue  # a table the archive's schema did not have: left empty
                    target = _insertable(table)
                    rows = _rows(tar, table)
                    if any(fk.column.table is table for fk in table.foreign_keys):
                        rows = iter(_parents_first(table, list(rows)))
                    count, batch = 0, []
                    for row in rows:
                        batch.append(row)
                        if len(batch) >= BATCH:
                            conn.execute(sa.insert(target), batch)
                            count, batch = count + len(batch), []
                    if batch:
                        conn.execute(sa.insert(target), batch)
                        count += len(batch)
                    if count != manifest["tables"][table.name]["rows"]:
                        raise BackupError(f"table {table.name}: {count} rows read, the manifest "
                                          f"says {manifest['tables'][table.name]['rows']}")
                    summary.rows[table.name] = count
                if conn.dialect.name == "postgresql":
                    _reset_sequences(conn)
        except BaseException:
            for key in written:  # nothing half-restored: the rows rolled back, the files go
                store.delete(key)
            raise
    from .models import Tenant
    from .workflow import audit
    db.session.remove()
    for tenant_id, slug in db.session.execute(sa.select(Tenant.id, Tenant.slug)).all():
        verdict = audit.verify(tenant_id)
        summary.audit.append(f"audit chain {slug}: " + (
            f"ok, {verdict.checked} rows" if verdict.ok else
            f"BROKEN at seq {verdict.broken_seq}: {verdict.problem}"))
    db.session.remove()
    echo(f"{path}: restored {sum(summary.rows.values())} rows in {len(summary.rows)} tables, "
         f"{summary.files} files ({summary.bytes} bytes)")
    for line in summary.audit:
        echo(line)
    return summary
