"""Scans of paper documents: checked by content, stored under UPLOAD_DIR/<tenant>/."""
from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import filetype
from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image
from pypdf import PdfReader

from ..workflow.errors import Invalid

ALLOWED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _readable(data: bytes, mime: str) -> bool:
    try:
        if mime == "application/pdf":
            return len(PdfReader(io.BytesIO(data)).pages) > 0
        with Image.open(io.BytesIO(data)) as img:
            img.verify()
        return True
    except Exception:  # any parser failure means a damaged or disguised file
        return False


def check_scan(data: bytes) -> str:
    """The MIME type of a valid scan, or Invalid with a message naming the problem."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if not data:
        raise Invalid(_l("请选择要上传的文件。"))
    if len(data) > limit:
        raise Invalid(_l("文件超过%(mb)d MB，请压缩后再上传。", mb=limit // (1024 * 1024)))
    kind = filetype.guess(data)
    mime = kind.mime if kind else None
    if mime not in ALLOWED:
        raise Invalid(_l("只接受PDF、JPEG或PNG格式的扫描件（按文件内容识别，不看扩展名）。"))
    if not _readable(data, mime):
        raise Invalid(_l("文件已损坏或无法读取，请重新扫描后上传。"))
    return mime


def store(tenant_slug: str, data: bytes, mime: str) -> tuple[str, str]:
    """Write the bytes; return (stored name, sha256)."""
    folder = Path(current_app.config["UPLOAD_DIR"]) / tenant_slug
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{uuid.uuid4().hex}.{ALLOWED[mime]}"
    (folder / name).write_bytes(data)
    return name, hashlib.sha256(data).hexdigest()


RECORDING_TYPES = {"video/mp4": "mp4", "audio/mpeg": "mp3", "audio/x-wav": "wav",
                   "audio/mp4": "m4a", "video/webm": "webm", "video/quicktime": "mov",
                   "audio/ogg": "ogg"}
MINUTES_TYPES = ALLOWED


def store_stream(tenant_slug: str, stream, allowed: dict[str, str], limit: int) -> tuple:
    """Copy an uploaded stream to disk in chunks (recordings are large), checking its type by
    content and its size; return (stored name, mime, size, sha256) or raise Invalid."""
    folder = Path(current_app.config["UPLOAD_DIR"]) / tenant_slug
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"incoming-{uuid.uuid4().hex}"
    digest, size, head = hashlib.sha256(), 0, b""
    try:
        with tmp.open("wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > limit:
                    raise Invalid(_l("文件超过%(mb)d MB。", mb=limit // (1024 * 1024)))
                if len(head) < 8192:
                    head += chunk[:8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        kind = filetype.guess(head)
        mime = kind.mime if kind else None
        if size == 0:
            raise Invalid(_l("请选择要上传的文件。"))
        if mime not in allowed:
            raise Invalid(_l("文件类型不符（按文件内容识别）。"))
        name = f"{uuid.uuid4().hex}.{allowed[mime]}"
        tmp.rename(folder / name)
        return name, mime, size, digest.hexdigest()
    finally:
        tmp.unlink(missing_ok=True)


def path_of(tenant_slug: str, stored_name: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / tenant_slug / stored_name


def remove(tenant_slug: str, stored_name: str) -> None:
    path_of(tenant_slug, stored_name).unlink(missing_ok=True)
