"""Static files compressed once per process, for brotli and for gzip-only clients alike.

Flask serves a static file as a stream, and Flask-Compress compresses streams with brotli only
(its streaming gzip is off), so a client without brotli got the CSS and htmx whole. Here the
static view compresses the file's bytes itself, best level, once per process and file version,
and answers with a Content-Length; Flask-Compress leaves a response that is already encoded
alone. Caching and cookies are as for any static file (SEND_FILE_MAX_AGE_DEFAULT, versioned URLs
from `static_url`; app/web_security.py keeps the session cookie off them)."""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import brotli
from flask import Flask, current_app, request
from werkzeug.security import safe_join

ENCODINGS = ("br", "gzip")  # preferred first when a client takes both equally


@lru_cache(maxsize=64)
def _encoded(path: str, mtime_ns: int, size: int, encoding: str) -> bytes:
    """The file's bytes in `encoding`; the key holds the file's version, so an edited file is
    compressed afresh and the old entry falls out of the cache."""
    data = Path(path).read_bytes()
    if encoding == "br":
        return brotli.compress(data, quality=11)
    return gzip.compress(data, compresslevel=9, mtime=0)


def _static(filename: str):
    app = current_app
    resp = app.send_static_file(filename)
    if resp.status_code != 200 or resp.mimetype not in app.config["COMPRESS_MIMETYPES"]:
        return resp
    resp.vary.add("Accept-Encoding")
    encoding = request.accept_encodings.best_match(ENCODINGS)
    path = safe_join(app.static_folder, filename)
    if encoding is None or path is None:
        return resp
    stat = Path(path).stat()
    if stat.st_size < app.config["COMPRESS_MIN_SIZE"]:
        return resp
    body = _encoded(path, stat.st_mtime_ns, stat.st_size, encoding)
    etag, _ = resp.get_etag()
    resp.close()  # the file send_static_file opened
    resp.direct_passthrough = False
    resp.set_data(body)
    resp.headers["Content-Encoding"] = encoding
    if etag:
        resp.set_etag(f"{etag}-{encoding}")
    return resp.make_conditional(request)


def init_app(app: Flask) -> None:
    app.view_functions["static"] = _static
