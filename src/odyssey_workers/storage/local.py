"""A folder on local disk: the default storage (``var/storage``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from odyssey_workers.errors import StorageKeyError
from odyssey_workers.storage.base import Storage, StoredObject, validate_key

TEMP_PREFIX = ".tmp-"
"""Files being written carry this prefix until they are complete; listings skip them."""


class LocalStorage(Storage):
    """Files under ``root``. A write goes to a temporary file in the same folder, is fsynced and
    then renamed over the key, so a crash mid-write never leaves a readable half file."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        # Belt and braces against symlinks inside the root pointing out of it.
        if not path.is_relative_to(self.root):
            raise StorageKeyError(f"storage key {key!r} resolves outside the storage root")
        return path

    def put(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> StoredObject:
        target = self.path_for(key)
        if target.name.startswith(TEMP_PREFIX):
            raise StorageKeyError(f"storage key {key!r} uses the reserved prefix {TEMP_PREFIX!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                if isinstance(data, bytes | bytearray | memoryview):
                    handle.write(data)
                else:
                    shutil.copyfileobj(data, handle, 1024 * 1024)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, 0o644)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return StoredObject(key=key, size=target.stat().st_size)

    def open(self, key: str) -> BinaryIO:
        path = self.path_for(key)
        if not path.is_file():
            raise FileNotFoundError(f"no object at storage key {key!r}")
        return path.open("rb")

    def delete(self, key: str) -> bool:
        path = self.path_for(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    found.append(StoredObject(key=key, size=full.stat().st_size))
        yield from sorted(found, key=lambda item: item.key)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def url(self, key: str) -> str:
        return self.path_for(key).as_uri()
