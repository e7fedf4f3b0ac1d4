"""Scans sent in pieces that survive a cut line: the core of the tus 1.0.0 protocol with its
creation and termination extensions (https://tus.io/protocols/resumable-upload).

    POST   …/uploads        Upload-Length, Upload-Metadata (filename, material, sha256)
                            → 201, Location; refused (size, count, quota) before any byte
    HEAD   …/uploads/<id>   → Upload-Offset, Upload-Length (no-store)
    PATCH  …/uploads/<id>   Upload-Offset, application/offset+octet-stream → 204, Upload-Offset;
                            409 when the offset is not the stored one
    DELETE …/uploads/<id>   → 204, the bytes so far removed

The bytes go straight from the request stream to a file under UPLOAD_DIR/partial (memory stays
flat whatever the size); what arrived before a cut is kept, so the client goes on from the
stored offset and no finished piece is sent twice. After the last byte the whole file's sha256
is checked, then the content checks of every scan (app/uploads/__init__.py), and only then is
it attached as the plain form attaches (app/workflow/applications.py). A refused file leaves
nothing behind. No maintained tus server runs inside a WSGI app, hence this small one."""
from __future__ import annotations

import base64
import binascii
import fcntl
import re
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import ClientDisconnected

from ..extensions import db
from ..models import Application, PartialUpload, utcnow
from ..workflow import applications as svc
from ..workflow.errors import Invalid, TransitionError
from . import file_sha256
from .storage import PARTIAL

VERSION = "1.0.0"
EXTENSIONS = "creation,termination"
PIECE = 64 * 1024            # read from the request stream this much at a time
SAVE_EVERY = 1024 * 1024     # within one long PATCH, the stored offset moves on this often
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Conflict(Exception):
    """The client's offset is not the stored one (409), or another request is writing (423)."""
    def __init__(self, status: int, offset: int):
        super().__init__(status)
        self.status, self.offset = status, offset


class BadRequest(Exception):
    """A protocol error (400): a missing or malformed header."""


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs; values are UTF-8."""
    out = {}
    for pair in filter(None, (p.strip() for p in (header or "").split(","))):
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # not base64 (or not ASCII), not UTF-8
            raise BadRequest(f"bad Upload-Metadata value for {key}") from None
    return out


def parse_length(value: str | None, name: str) -> int:
    if value is None or not value.isdigit():
        raise BadRequest(f"{name} must be a non-negative integer")
    return int(value)


def part_path(upload: PartialUpload) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / PARTIAL / f"{upload.id}.part"


def find(app: Application, user_id: int, upload_id: int) -> PartialUpload | None:
    """The upload if it belongs to this application and this user, else None (a 404)."""
    return db.session.scalar(sa.select(PartialUpload).filter_by(
        id=upload_id, application_id=app.id, owner_id=user_id))


def create(cfg, app: Application, actor, length: int, meta: dict[str, str]) -> PartialUpload:
    """A new upload, or the unfinished one of the same file (same material, name, size and
    checksum) the applicant already began: creating twice never holds the room twice.
    Invalid (nothing created) when the size, count or quota limits refuse it."""
    material = meta.get("material", "")
    filename = "".join(c for c in meta.get("filename", "") if c.isprintable())[:200] or "scan"
    digest = meta.get("sha256", "").lower()
    if not SHA256.match(digest):
        raise BadRequest("Upload-Metadata must carry the file's sha256 (hex)")
    same = db.session.scalar(sa.select(PartialUpload).filter_by(
        application_id=app.id, owner_id=actor.user_id, material=material, filename=filename,
        length=length, sha256=digest, attachment_id=None))
    if same is not None:
        svc.check_room(cfg, app, actor, material, length, besides=same.id)
        return same
    svc.check_room(cfg, app, actor, material, length)
    upload = PartialUpload(tenant_id=app.tenant_id, application_id=app.id,
                           owner_id=actor.user_id, material=material, filename=filename,
                           length=length, offset=0, received=0, sha256=digest)
    db.session.add(upload)
    db.session.flush()
    try:
        svc.hold_room(cfg, app, material, length)
    except Invalid:
        db.session.rollback()
        raise
    path = part_path(upload)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    db.session.commit()
    return upload


@contextmanager
def _locked(upload: PartialUpload):
    """The upload's file, opened for writing and locked against a second writer (a request the
    client gave up on may still be running); Conflict(423) if it is taken."""
    path = part_path(upload)
    try:
        fh = path.open("r+b")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("w+b")
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(423, upload.offset) from None
        try:
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def append(cfg, app: Application, actor, upload: PartialUpload, offset: int, stream,
           content_length: int | None) -> PartialUpload:
    """Write the body at `offset`, which must be the stored one; on the last byte, finish.
    What arrives before a cut is kept (the stored offset moves on)."""
    if upload.attachment_id is not None:
        raise Conflict(409, upload.length)
    with _locked(upload) as fh:
        db.session.refresh(upload)  # another request may have moved it before we held the lock
        if offset != upload.offset:
            raise Conflict(409, upload.offset)
        room = upload.length - upload.offset
        if content_length is not None and content_length > room:
            raise BadRequest("the body goes beyond Upload-Length")
        fh.truncate(upload.offset)  # bytes past the stored offset (a killed worker) go
        fh.seek(upload.offset)
        unsaved = 0
        try:
            while room > 0:
                piece = stream.read(min(PIECE, room))
                if not piece:
                    break
                fh.write(piece)
                room -= len(piece)
                unsaved += len(piece)
                if unsaved >= SAVE_EVERY:
                    _save(fh, upload, unsaved)
                    unsaved = 0
        except (ClientDisconnected, OSError):
            pass  # the line was cut: keep what came
        finally:
            _save(fh, upload, unsaved)
    if upload.offset == upload.length:
        finish(cfg, app, actor, upload)
    return upload


def _save(fh, upload: PartialUpload, count: int) -> None:
    fh.flush()
    upload.offset += count
    upload.received += count
    upload.updated_at = utcnow()
    db.session.commit()


def finish(cfg, app: Application, actor, upload: PartialUpload):
    """The file is complete: its checksum, then the checks of every scan, then attach it. On a
    refusal the upload and its bytes are removed and the error says why."""
    path = part_path(upload)
    try:
        if file_sha256(path) != upload.sha256:
            raise Invalid(_l("文件校验值不符，传输中可能出错，请重新上传。"))
        attachment = svc.attach_file(cfg, app, actor, upload, path)
    except TransitionError:  # refused (content, limits, a closed window): nothing stays
        db.session.rollback()
        discard(upload)
        raise
    path.unlink(missing_ok=True)  # a PDF's original (its rebuilt copy is what was stored)
    return attachment


def discard(upload: PartialUpload) -> None:
    """Remove the upload and whatever bytes it collected."""
    part_path(upload).unlink(missing_ok=True)
    db.session.delete(upload)
    db.session.commit()


def remove_stale(now: datetime | None = None) -> int:
    """Remove uploads untouched for PARTIAL_UPLOAD_HOURS (unfinished ones with their bytes,
    finished ones' records); return how many."""
    hours = current_app.config["PARTIAL_UPLOAD_HOURS"]
    before = (now or utcnow()) - timedelta(hours=hours)
    stale = db.session.scalars(sa.select(PartialUpload).where(
        PartialUpload.updated_at < before)).all()
    for upload in stale:
        part_path(upload).unlink(missing_ok=True)
        db.session.delete(upload)
    db.session.commit()
    return len(stale)
