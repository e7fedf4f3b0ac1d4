"""Where uploaded and generated files live: one small interface, keys like "<tenant>/<name>".

Two backends, chosen by FILE_STORE_URL:
- `LocalStorage` (unset, the default) keeps them under a directory (UPLOAD_DIR): a local disk on
  one machine, or a shared mount (NFS) that every web and worker host sees at the same path.
- `S3Storage` (`s3://bucket/prefix`) keeps them as objects of an S3-compatible store (MinIO,
  Ceph's RGW, a cloud's object storage; S3_ENDPOINT_URL names it, the credentials come from the
  usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, never from the code). UPLOAD_DIR is then only
  the host's scratch space: files being written before they go in, and resumable uploads still
  being sent (app/uploads/resumable.py).

Callers never see a path of the store: they write with `put`/`put_file` (a file made at
`incoming(key)` first), read with `open`/`read`, and answer a download with `send`."""
from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol
from urllib.parse import urlsplit

from flask import abort, current_app, send_file


PARTIAL = "partial"  # the folder under UPLOAD_DIR where resumable uploads collect their bytes
INCOMING = "incoming-"  # the name a file has while it is written, before it is in the store


def check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a storage key: {key!r}")
    return key


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, source: Path) -> None: ...
    def incoming(self, key: str) -> Path: ...
    def open(self, key: str) -> BinaryIO: ...
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterator[str]: ...
    def send(self, key: str, *, mimetype: str, download_name: str,
             as_attachment: bool = True): ...


def _download(source, **kw):
    """A download answer that no cache keeps (the files are personal)."""
    return send_file(source, max_age=0, **kw)


class LocalStorage:
    """Files under `root`; a key is a relative path with "/" separators. Writes go to a
    temporary name first and are renamed into place, so no reader sees half a file."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def incoming(self, key: str) -> Path:
        """Next to where the file will be, so putting it in is a rename, not a copy."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.parent / f"{INCOMING}{uuid.uuid4().hex}{target.suffix}"

    def put(self, key: str, data: bytes) -> None:
        tmp = self.incoming(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, self._path(key))
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, key: str, source: Path) -> None:
        """Move a local file into the store (copied when it is on another file system)."""
        target = self._path(key)
        tmp = source if source.parent == target.parent and source.name.startswith(INCOMING) \
            else self.incoming(key)
        try:
            if tmp != source:
                shutil.move(str(source), tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        return self._path(key).open("rb")

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[str]:
        """Every stored file, sorted; half-written ones (incoming-*) and uploads still being
        sent (under partial/) are left out."""
        if not self.root.is_dir():
            return
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            key = path.relative_to(self.root).as_posix()
            if not path.name.startswith(INCOMING) and not key.startswith(PARTIAL + "/"):
                yield key

    def send(self, key: str, *, mimetype: str, download_name: str, as_attachment: bool = True):
        path = self._path(key)
        if not path.is_file():
            abort(404)
        return _download(path, mimetype=mimetype, download_name=download_name,
                         as_attachment=as_attachment)


class S3Storage:
    """Objects `<prefix>/<key>` in `bucket` of an S3-compatible store. An object appears whole
    or not at all (PutObject; a large file goes as a multipart upload, completed at the end), so
    no reader sees half a file either."""

    CHUNK = 64 * 1024

    def __init__(self, client, bucket: str, prefix: str, scratch: str | Path):
        self.client, self.bucket = client, bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.scratch = Path(scratch) / "incoming"

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _missing(self, error) -> bool:
        return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")

    def incoming(self, key: str) -> Path:
        suffix = Path(check_key(key)).suffix
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch / f"{INCOMING}{uuid.uuid4().hex}{suffix}"

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    def put_file(self, key: str, source: Path) -> None:
        """Send a local file into the store, then remove it (it is moved, as on a disk)."""
        try:
            self.client.upload_file(str(source), self.bucket, self._name(key))
        finally:
            Path(source).unlink(missing_ok=True)

    def _get(self, key: str):
        from botocore.exceptions import ClientError
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as e:
            if self._missing(e):
                raise FileNotFoundError(key) from None
            raise

    def open(self, key: str) -> BinaryIO:
        """The object's bytes as a stream read from the store as the caller reads."""
        return self._get(key)["Body"]

    def read(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as e:
            if self._missing(e):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def size(self, key: str) -> int:
        head = self._head(key)
        if head is None:
            raise FileNotFoundError(key)
        return head["ContentLength"]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def keys(self) -> Iterator[str]:
        """Every stored object under the prefix, sorted."""
        names = []
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            names.extend(o["Key"].removeprefix(self.prefix) for o in page.get("Contents", ()))
        yield from sorted(names)

    def send(self, key: str, *, mimetype: str, download_name: str, as_attachment: bool = True):
        """The object streamed through this host as it is read from the store (the store is
        never exposed to the client: the download stays behind the app's access checks)."""
        try:
            obj = self._get(key)
        except FileNotFoundError:
            abort(404)
        resp = _download(obj["Body"], mimetype=mimetype, download_name=download_name,
                         as_attachment=as_attachment, conditional=False)
        resp.content_length = obj["ContentLength"]
        return resp


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def _s3_client(endpoint: str | None, region: str):
    """One client per endpoint, shared by the process's threads (boto3 clients are
    thread-safe; making one costs tens of milliseconds)."""
    with _clients_lock:
        key = (endpoint, region)
        if key not in _clients:
            import boto3
            from botocore.config import Config as BotoConfig
            _clients[key] = boto3.client(
                "s3", endpoint_url=endpoint or None, region_name=region,
                config=BotoConfig(s3={"addressing_style": "path"},
                                  retries={"max_attempts": 3, "mode": "standard"}))
        return _clients[key]


def storage() -> Storage:
    """The app's file store, as FILE_STORE_URL chooses it."""
    config = current_app.config
    url = config.get("FILE_STORE_URL") or ""
    if not url:
        return LocalStorage(config["UPLOAD_DIR"])
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"FILE_STORE_URL must be empty or s3://bucket/prefix, not {url!r}")
    return S3Storage(_s3_client(config.get("S3_ENDPOINT_URL"), config.get("S3_REGION")),
                     parts.netloc, parts.path, config["UPLOAD_DIR"])
