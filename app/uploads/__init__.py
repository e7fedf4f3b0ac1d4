"""Scans of paper documents: checked by content, stored as <tenant>/<name> in the file store
(app/uploads/storage.py: a local or shared directory, or an S3-compatible store)."""
from __future__ import annotations

import hashlib
import io
import uuid
from pathlib import Path

import filetype
from flask import abort, current_app, g, has_app_context
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile

from ..workflow.errors import Invalid
from .storage import storage

ALLOWED = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
# Quality of a JPEG scan re-encoded after scaling down: text stays crisp, an A4 page at 2000 px
# comes to a few hundred KB (static/js/downscale.js encodes at the same quality).
JPEG_QUALITY = 80


def _strict_images() -> None:
    """Make Pillow refuse a truncated image again. WeasyPrint, once imported anywhere in the
    process, switches the process-wide LOAD_TRUNCATED_IMAGES on (and only then), which would let
    half a photo through as a grey-bottomed scan; every check below switches it back first."""
    ImageFile.LOAD_TRUNCATED_IMAGES = False


def _readable(data, mime: str) -> bool:
    """Whether the scan (bytes, or a path read piece by piece) parses (an image's pixels are
    decoded to the last row by downscaled, which every image goes through)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        if mime == "application/pdf":
            from pypdf import PdfReader  # imported on first use: most requests never read a PDF
            return len(PdfReader(source).pages) > 0
        _strict_images()
        with Image.open(source) as img:
            img.verify()
        return True
    except Exception:  # any parser failure means a damaged or disguised file
        return False


def image_pixels(data) -> int | None:
    """Width × height from an image's header (bytes or a path), without decoding its pixel data
    (Pillow reads the header only on open); None if the header cannot be read."""
    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as img:
            width, height = img.size
    except Image.DecompressionBombError:
        return Image.MAX_IMAGE_PIXELS * 2 + 1  # Pillow's own bound, already far over ours
    except Exception:
        return None
    return width * height


def check_scan(data) -> str:
    """The MIME type of a valid scan (bytes, or a file's path: read piece by piece), or Invalid
    with a message naming the problem."""
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    size = len(data) if isinstance(data, bytes) else Path(data).stat().st_size
    if not size:
        raise Invalid(_l("请选择要上传的文件。"))
    if size > limit:
        raise Invalid(_l("文件超过%(mb)d MB，请压缩后再上传。", mb=limit // (1024 * 1024)))
    if isinstance(data, bytes):
        head = data[:8192]
    else:
        with Path(data).open("rb") as fh:
            head = fh.read(8192)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    if mime not in ALLOWED:
        raise Invalid(_l("只接受PDF、JPEG或PNG格式的扫描件（按文件内容识别，不看扩展名）。"))
    if mime != "application/pdf":
        # Before anything decodes the pixels: a small file can declare a huge image.
        pixels, most = image_pixels(data), current_app.config["MAX_IMAGE_PIXELS"]
        if pixels is not None and pixels > most:
            raise Invalid(_l("图片像素过多（超过%(mp)d百万像素），请缩小后再上传。",
                             mp=most // 1_000_000))
    if not _readable(data, mime):
        raise Invalid(_l("文件已损坏或无法读取，请重新扫描后上传。"))
    return mime


def image_max_side(cfg=None) -> int:
    """The longer side, in pixels, images are scaled down to: the tenant's `uploads.image_max_side`
    (policies.toml); without `cfg`, the tenant of the request, else the schema's default."""
    from ..tenancy.schema import UploadRules

    if cfg is None and has_app_context():
        cfg = g.get("tenant")
    return (cfg.policies.uploads if cfg is not None else UploadRules()).image_max_side


def accept_scan(data: bytes, cfg=None) -> tuple[bytes, str]:
    """(bytes to store, MIME type) of an uploaded scan: checked as check_scan does, a PDF
    rebuilt without active content, a JPEG or PNG larger than the tenant's target resolution
    scaled down (image_max_side; smaller images are kept byte for byte). Invalid with a message
    otherwise."""
    mime = check_scan(data)
    if mime != "application/pdf":
        try:
            return downscaled(data, mime, image_max_side(cfg)), mime
        except Exception:  # e.g. a truncated JPEG: its header passed, its pixels do not decode
            raise Invalid(_l("文件已损坏或无法读取，请重新扫描后上传。")) from None
    try:
        return inert_pdf(data), mime
    except Exception:  # e.g. a password we do not have: refuse rather than store it as it is
        raise Invalid(_l("PDF文件无法处理（可能已加密），请另存为普通PDF后再上传。")) from None


# EXIF orientation → the turn that makes the image upright (as ImageOps.exif_transpose does).
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}


def downscaled(data, mime: str, max_side: int):
    """The image (bytes, or a file's path) scaled so that its longer side is `max_side` pixels,
    turned as its EXIF asks and re-encoded in its own format (a JPEG at JPEG_QUALITY, a PNG
    losslessly), without EXIF, as bytes; `data` itself (every row decoded, so a truncated image
    raises) if the image is no larger than that. Call after check_scan (pixel limit). Memory:
    the decoded pixels once (a JPEG decodes at 1/2, 1/4 or 1/8 where that covers the target);
    the turn is applied to the small copy."""
    _strict_images()
    with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as src:
        width, height = src.size
        if max(width, height) <= max_side:
            src.load()  # every row decodes: a truncated image is refused, not stored
            return data
        scale = max_side / max(width, height)
        if mime == "image/jpeg":
            src.draft(None, (round(width * scale), round(height * scale)))
        turn = _UPRIGHT.get(src.getexif().get(0x0112, 1))
        icc = src.info.get("icc_profile")
        keep = ("L", "RGB") if mime == "image/jpeg" else ("L", "LA", "RGB", "RGBA")
        img = src
        if img.mode not in keep:  # CMYK, palette, bilevel, 16-bit: converted, profile dropped
            alpha = mime == "image/png" and img.has_transparency_data
            img, icc = img.convert("RGBA" if alpha else "RGB"), None
        w, h = img.size  # a turn swaps the sides, the longer one stays the longer one
        scale = max_side / max(w, h)
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                         Image.Resampling.LANCZOS)
    if turn is not None:
        img = img.transpose(turn)
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc else {}
    if mime == "image/jpeg":
        img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, **extra)
    else:
        img.save(out, "PNG", optimize=True, **extra)
    return out.getvalue()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def accept_scan_file(tenant_slug: str, path: Path, cfg=None) -> tuple[str, str, int, str]:
    """accept_scan and store for a scan already on disk (a finished resumable upload), a PDF
    read piece by piece rather than into memory: the file is moved into the store (a PDF: its
    rebuilt copy; an image over the target resolution: scaled down as accept_scan does).
    Return (stored name, MIME type, size, sha256); Invalid with a message, and nothing stored,
    otherwise."""
    mime = check_scan(path)
    source = path
    if mime == "application/pdf":
        source = path.with_name(path.name + ".pdf")
        try:
            with source.open("wb") as out:
                _rebuilt_pdf(path, PDF_ACTIVE, strip_jpeg=False, out=out)
        except Exception:  # as accept_scan: refuse rather than store it as it is
            source.unlink(missing_ok=True)
            raise Invalid(_l("PDF文件无法处理（可能已加密），请另存为普通PDF后再上传。")) from None
    else:  # an image within the pixel limit (checked): decoded from the file to be scaled
        try:
            scaled = downscaled(path, mime, image_max_side(cfg))
        except Exception:  # as accept_scan: the header passed, the pixels do not decode
            raise Invalid(_l("文件已损坏或无法读取，请重新扫描后上传。")) from None
        if scaled is not path:
            source = path.with_name(path.name + ".img")
            source.write_bytes(scaled)
    name = f"{uuid.uuid4().hex}.{ALLOWED[mime]}"
    size, digest = source.stat().st_size, file_sha256(source)
    try:
        storage().put_file(f"{tenant_slug}/{name}", source)
    finally:
        source.unlink(missing_ok=True)
    return name, mime, size, digest


def store(tenant_slug: str, data: bytes, mime: str) -> tuple[str, str]:
    """Write the bytes; return (stored name, sha256)."""
    name = f"{uuid.uuid4().hex}.{ALLOWED[mime]}"
    storage().put(f"{tenant_slug}/{name}", data)
    return name, hashlib.sha256(data).hexdigest()


RECORDING_TYPES = {"video/mp4": "mp4", "audio/mpeg": "mp3", "audio/x-wav": "wav",
                   "audio/mp4": "m4a", "video/webm": "webm", "video/quicktime": "mov",
                   "audio/ogg": "ogg"}
MINUTES_TYPES = ALLOWED


def store_stream(tenant_slug: str, stream, allowed: dict[str, str], limit: int) -> tuple:
    """Copy an uploaded stream to disk in chunks (recordings are large), checking its type by
    content and its size, then into the file store; return (stored name, mime, size, sha256)
    or raise Invalid."""
    tmp = storage().incoming(f"{tenant_slug}/recording")  # a rename into a local store
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
        if mime in ALLOWED:  # a scan (minutes): checked and rebuilt like any other scan
            data, mime = accept_scan(tmp.read_bytes())
            storage().put(f"{tenant_slug}/{name}", data)
            return name, mime, len(data), hashlib.sha256(data).hexdigest()
        storage().put_file(f"{tenant_slug}/{name}", tmp)
        return name, mime, size, digest.hexdigest()
    finally:
        tmp.unlink(missing_ok=True)


def send_stored(tenant_slug: str, stored_name: str | None, *, mimetype: str,
                download_name: str, as_attachment: bool = True):
    """A download of a stored file (404 when it is not there), never kept by a cache."""
    if not stored_name:
        abort(404)
    return storage().send(f"{tenant_slug}/{stored_name}", mimetype=mimetype,
                          download_name=download_name, as_attachment=as_attachment)


def read_stored(tenant_slug: str, stored_name: str) -> bytes | None:
    """A stored file's bytes; None when it is not there."""
    try:
        return storage().read(f"{tenant_slug}/{stored_name}")
    except FileNotFoundError:
        return None


def remove(tenant_slug: str, stored_name: str) -> None:
    storage().delete(f"{tenant_slug}/{stored_name}")


# -- copies for blind review (CF-MODE-2, CF-MODE-3) ----------------------------------------------

# Page keys that carry data about the document rather than what it shows: page XMP, the
# producing application's private data, comments (whose /T names their author) and thumbnails.
PDF_PAGE_PRIVATE = ("/Metadata", "/PieceInfo", "/Annots", "/Thumb")
# JPEG segments kept when cleaning an image embedded in a PDF: JFIF, the ICC profile and
# Adobe's colour transform are needed to show it; APP1 (EXIF, XMP), IPTC, the other
# application segments and comments are dropped.
JPEG_KEEP = {0xE0, 0xE2, 0xEE}
# What can act when a PDF is opened: actions (open, additional, on links and annotations),
# JavaScript, forms and XFA, embedded and attached files, rich media. A scan needs none of it;
# annotations go with it, since links and file-attachment notes are where actions hide.
PDF_ACTIVE = ("/AA", "/A", "/OpenAction", "/JS", "/JavaScript", "/Names", "/EmbeddedFiles",
              "/EF", "/AcroForm", "/XFA", "/Launch", "/RichMediaContent", "/Annots")


def sanitized(data: bytes, mime: str) -> bytes:
    """A copy of a scan that keeps what it shows and nothing about who made it: a PDF's pages
    without document info, XMP, page metadata or comments (embedded JPEGs lose their EXIF); an
    image re-encoded from its pixels, without EXIF or text chunks. ValueError if the scan
    cannot be cleaned, so that it is never served as it was."""
    try:
        if mime == "application/pdf":
            return _clean_pdf(data)
        if mime in ("image/jpeg", "image/png"):
            return _clean_image(data, mime)
    except Exception as e:  # any parser failure: refuse rather than pass the original on
        raise ValueError(f"cannot clean {mime}: {e}") from e
    raise ValueError(f"cannot clean {mime}")


def _clean_pdf(data: bytes) -> bytes:
    return _rebuilt_pdf(data, PDF_ACTIVE + PDF_PAGE_PRIVATE, strip_jpeg=True)


def inert_pdf(data: bytes) -> bytes:
    """The PDF's pages written into a fresh file without active content: no JavaScript, open or
    additional actions, launch actions, forms (XFA), embedded or attached files, and nothing
    after the last %%EOF (a PDF+ZIP polyglot comes out as a plain PDF)."""
    return _rebuilt_pdf(data, PDF_ACTIVE, strip_jpeg=False)


def _rebuilt_pdf(data, drop: tuple[str, ...], *, strip_jpeg: bool, out=None) -> bytes | None:
    """Only the pages are copied into a new document, so the old catalogue (its /OpenAction,
    /Names with JavaScript and embedded files, /AcroForm with XFA) and any trailing bytes stay
    behind; `drop` keys are removed from everything the pages reach. `data` is bytes or a path;
    with `out` (a binary file) the new document is written there and None returned."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    reader = PdfReader(io.BytesIO(data) if isinstance(data, bytes) else data)
    if reader.is_encrypted:
        reader.decrypt("")
    # Walk everything the pages reach (not up through /Parent), once per object, before they
    # are copied: what is dropped here is never written, not even as an unreachable object.
    todo, seen = list(reader.pages), set()
    while todo:
        obj = todo.pop().get_object()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, DictionaryObject):
            for key in drop:
                obj.pop(NameObject(key), None)
            if (strip_jpeg and isinstance(obj, StreamObject)
                    and obj.get("/Filter") in ("/DCTDecode", ["/DCTDecode"])):
                StreamObject.set_data(obj, strip_jpeg_segments(obj._data))
            todo.extend(v for k, v in obj.items() if k != "/Parent")
        elif isinstance(obj, list):
            todo.extend(obj)
    writer = PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.metadata = None       # drops /Info, including the /Producer pypdf itself adds
    writer.xmp_metadata = None
    if out is not None:
        writer.write(out)
        return None
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def strip_jpeg_segments(data: bytes) -> bytes:
    """A JPEG's bytes without its EXIF, XMP, IPTC and comment segments; the image data is
    copied unchanged (no re-encoding). Data that is not a JPEG is returned as it was."""
    if data[:2] != b"\xff\xd8":
        return data
    out, pos = bytearray(b"\xff\xd8"), 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            break
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if (0xE0 <= marker <= 0xEF and marker not in JPEG_KEEP) or marker == 0xFE:
            pos += 2 + length
            continue
        out += data[pos:pos + 2 + length]
        pos += 2 + length
    return bytes(out + data[pos:])


def _clean_image(data: bytes, mime: str) -> bytes:
    from PIL import ImageOps

    _strict_images()
    with Image.open(io.BytesIO(data)) as src:
        img = ImageOps.exif_transpose(src)  # keep the orientation the EXIF asked for
        if mime == "image/jpeg":
            img = img.convert("L" if img.mode in ("1", "L") else "RGB")
        elif img.mode not in ("1", "L", "LA", "RGB", "RGBA", "I", "I;16"):
            img = img.convert("RGBA")
        # A new image from the pixels alone: no info dict, so no EXIF, ICC, XMP or text.
        clean = Image.frombytes(img.mode, img.size, img.tobytes())
    out = io.BytesIO()
    if mime == "image/jpeg":
        clean.save(out, "JPEG", quality=92)
    else:
        clean.save(out, "PNG", optimize=True)
    return out.getvalue()
