"""A folder on local disk: the default storage (``var/storage``)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from odyssey_workers.errors import ConfigurationError, StorageKeyError
from odyssey_workers.storage.base import (
    CHUNK_BYTES,
    TEMP_PREFIX,
    Storage,
    StoredObject,
    validate_key,
    validate_prefix,
)

logger = logging.getLogger(__name__)

FILE_MODE = 0o644
"""Permissions of stored files (temporary files start private, at 0600)."""


def _fsync_directory(path: Path) -> None:
    """Make a rename inside ``path`` durable (without it a power cut may forget the rename)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage(Storage):
    """Files under ``root``. A write goes to a temporary file in the same folder, is fsynced and
    then renamed over the key, so a crash mid-write never leaves a readable half file: readers
    see the old object or the whole new one, and listings skip the temporary files."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """The file of ``key``; StorageKeyError if the key breaks a rule or leads out of the root."""
        path = (self.root / validate_key(key)).resolve()
        # The key rules keep '..' out; this catches a symlink inside the root pointing out of it.
        if not path.is_relative_to(self.root) or path == self.root:
            raise StorageKeyError(f"storage key {key!r} resolves outside the storage root (through a symlink)")
        return path

    def put(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> StoredObject:
        target = self.path_for(key)
        if target.is_dir():
            raise StorageKeyError(f"storage key {key!r} cannot be stored: it is a folder of other objects")
        fd, temp_name = self._temp_file_beside(key, target)
        try:
            with os.fdopen(fd, "wb") as handle:
                if isinstance(data, bytes | bytearray | memoryview):
                    handle.write(data)
                else:
                    shutil.copyfileobj(data, handle, CHUNK_BYTES)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp_name, FILE_MODE)
            os.replace(temp_name, target)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        _fsync_directory(target.parent)
        return StoredObject(key=key, size=target.stat().st_size)

    def _temp_file_beside(self, key: str, target: Path) -> tuple[int, str]:
        """A temporary file in the target's folder (same file system, so the rename is atomic)."""
        for _attempt in range(3):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise StorageKeyError(
                    f"storage key {key!r} cannot be stored: a part of it is already an object"
                ) from None
            try:
                return tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
            except FileNotFoundError:
                continue  # a delete pruned the folder between mkdir and mkstemp; make it again
        raise FileNotFoundError(f"could not create the folder for storage key {key!r}")

    def open(self, key: str) -> BinaryIO:
        path = self.path_for(key)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(f"no object at storage key {key!r}") from None
        if not path.is_file():  # a folder opens on some systems; it is not an object
            handle.close()
            raise FileNotFoundError(f"no object at storage key {key!r}")
        return handle

    def delete(self, key: str) -> bool:
        path = self.path_for(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError):
            if path.is_file():
                raise
            return False
        self._prune_empty_folders(path.parent)
        return True

    def _prune_empty_folders(self, folder: Path) -> None:
        """Remove folders a delete left empty, up to (not including) the root."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:  # not empty, or already gone: either way, stop here
                return
            folder = folder.parent

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        validate_prefix(prefix)
        # Walk only the folder the prefix names, not the whole tree.
        folder_part = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = (self.root / folder_part).resolve() if folder_part else self.root
        if not start.is_relative_to(self.root) or not start.is_dir():
            return
        found = []
        for dirpath, _dirs, files in os.walk(start):
            for name in files:
                if name.startswith(TEMP_PREFIX):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                if full.is_symlink() and not full.resolve().is_relative_to(self.root):
                    continue  # a link out of the root is not an object of this storage
                with contextlib.suppress(FileNotFoundError):  # deleted while we walked
                    found.append(StoredObject(key=key, size=full.stat().st_size))
        yield from sorted(found, key=lambda item: item.key)

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def url(self, key: str) -> str:
        return self.path_for(key).as_uri()

    def check(self) -> str:
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise ConfigurationError(f"STORAGE_URL: folder {self.root} is not writable")
        return f"folder {self.root}"

    def remove_stale_temp_files(self, older_than_seconds: float = 3600) -> int:
        """Delete temporary files left by writers that crashed; returns how many.

        Only files untouched for ``older_than_seconds`` go, so a write in progress is safe.
        Meant for the maintenance job that cleans orphaned files.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                full = Path(dirpath) / name
                with contextlib.suppress(FileNotFoundError):
                    if name.startswith(TEMP_PREFIX) and full.stat().st_mtime < cutoff:
                        full.unlink()
                        removed += 1
        if removed:
            logger.info("removed %d stale temporary file(s) from %s", removed, self.root)
        return removed
