"""The storage interface and the key rules every backend shares."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from odyssey_workers.errors import StorageKeyError

MAX_KEY_LENGTH = 1024


def validate_key(key: str) -> str:
    """A key is a relative, forward-slash path with no way out of the storage root.

    Refused: empty keys, NUL and control characters, absolute paths, backslashes, drive letters,
    and any ``.``/``..``/empty segment. The message names the rule, so the caller can say why.
    """
    if not isinstance(key, str) or not key:
        raise StorageKeyError("storage key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise StorageKeyError(f"storage key is longer than {MAX_KEY_LENGTH} characters")
    if "\x00" in key or any(ord(ch) < 32 for ch in key):
        raise StorageKeyError("storage key contains a NUL or control character")
    if key.startswith("/") or "\\" in key or (len(key) > 1 and key[1] == ":"):
        raise StorageKeyError(f"storage key {key!r} is absolute; keys are relative to the storage root")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise StorageKeyError(f"storage key {key!r} has an empty, '.' or '..' segment")
    return key


@dataclass(frozen=True)
class StoredObject:
    """What a listing or a put returns about one object."""

    key: str
    size: int


class Storage(abc.ABC):
    """put, open, delete, list, url, exists. Writes are atomic: readers see all of a file or none."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> StoredObject:
        """Store ``data`` under ``key``, replacing any object there, atomically."""

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> StoredObject:
        """Store a local file (streamed, not read into memory)."""
        with path.open("rb") as handle:
            return self.put(key, handle, content_type)

    @abc.abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable binary stream of the object; FileNotFoundError if there is none."""

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as handle:
            return handle.read()

    def download(self, key: str, path: Path) -> Path:
        """Copy the object into a local file (for tools like ffmpeg that want a path)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.open(key) as source, path.open("wb") as target:
            while chunk := source.read(1024 * 1024):
                target.write(chunk)
        return path

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the object; returns whether there was one."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under ``prefix``; returns how many."""
        return sum(1 for item in list(self.list(prefix)) if self.delete(item.key))

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Objects whose key starts with ``prefix``, in key order."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def url(self, key: str) -> str:
        """Where a client can fetch the object (a file:// URI locally, a presigned URL on S3)."""
