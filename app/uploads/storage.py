"""Where uploaded and generated files live: one small interface, keys like "<tenant>/<name>".

`LocalStorage` keeps them under a directory (UPLOAD_DIR): a local disk on one machine, or a
shared mount (NFS) that every web and worker host sees at the same path. Another backend (an
S3-compatible object store) implements the same methods; see the README's deployment section
for what it would need beyond them."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO, Iterator, Protocol

from flask import current_app


PARTIAL = "partial"  # the folder under the root where resumable uploads collect their bytes


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, source: Path) -> None: ...
    def open(self, key: str) -> BinaryIO: ...
    def local_path(self, key: str) -> Path: ...
    def delete(self, key: str) -> None: ...
    def keys(self) -> Iterator[str]: ...
    def size(self, key: str) -> int: ...


class LocalStorage:
    """Files under `root`; a key is a relative path with "/" separators. Writes go to a
    temporary name first and are renamed into place, so no reader sees half a file."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def local_path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root.joinpath(*parts)

    def _incoming(self, target: Path) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        return target.parent / f"incoming-{uuid.uuid4().hex}"

    def put(self, key: str, data: bytes) -> None:
        target = self.local_path(key)
        tmp = self._incoming(target)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, key: str, source: Path) -> None:
        """Move a local file into the store (copied when it is on another file system)."""
        target = self.local_path(key)
        tmp = self._incoming(target)
        try:
            shutil.move(str(source), tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        return self.local_path(key).open("rb")

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def size(self, key: str) -> int:
        return self.local_path(key).stat().st_size

    def keys(self) -> Iterator[str]:
        """Every stored file, sorted; half-written ones (incoming-*) and uploads still being
        sent (under partial/, app/uploads/resumable.py) are left out."""
        if not self.root.is_dir():
            return
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            key = path.relative_to(self.root).as_posix()
            if not path.name.startswith("incoming-") and not key.startswith(PARTIAL + "/"):
                yield key


def storage() -> Storage:
    """The app's file store (UPLOAD_DIR on a local or shared file system)."""
    return LocalStorage(current_app.config["UPLOAD_DIR"])
