"""The storage interface and the key rules every backend shares."""

from __future__ import annotations

import abc
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from odyssey_workers.errors import StorageKeyError

MAX_KEY_BYTES = 1024
"""Longest key, in UTF-8 bytes (S3's own limit)."""

MAX_SEGMENT_BYTES = 255
"""Longest part of a key between slashes, in UTF-8 bytes (a file name on most file systems)."""

TEMP_PREFIX = ".tmp-"
"""Files being written carry this prefix until they are complete; no key may use it."""

CHUNK_BYTES = 1024 * 1024
"""How much of a stream is held in memory at once while copying, in bytes."""


def _check_characters(key: str, what: str) -> None:
    if "\x00" in key:
        raise StorageKeyError(f"storage {what} contains a NUL byte")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key):
        raise StorageKeyError(f"storage {what} contains a control character")
    if "\\" in key:
        raise StorageKeyError(f"storage {what} {key!r} contains a backslash; use '/' between parts")
    if key.startswith("/") or (len(key) > 1 and key[0].isalpha() and key[1] == ":"):
        raise StorageKeyError(f"storage {what} {key!r} is an absolute path; keys are relative to the storage root")


def validate_key(key: str) -> str:
    """A key is a relative, forward-slash path with no way out of the storage root.

    Refused, each with a message naming the rule: empty or over-long keys, NUL and control
    characters, backslashes, absolute paths and drive letters, ``.``/``..``/empty segments, and
    segments starting with the temporary-file prefix. Nothing is written for a refused key.
    """
    if not isinstance(key, str) or not key:
        raise StorageKeyError("storage key is empty")
    _check_characters(key, "key")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise StorageKeyError(f"storage key is longer than {MAX_KEY_BYTES} bytes")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise StorageKeyError(f"storage key {key!r} has an empty, '.' or '..' part; '../' cannot leave the root")
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise StorageKeyError(f"storage key has a part longer than {MAX_SEGMENT_BYTES} bytes")
        if segment.startswith(TEMP_PREFIX):
            raise StorageKeyError(f"storage key {key!r} uses the reserved prefix {TEMP_PREFIX!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or the start of a valid key (it may end with '/').

    Only the complete parts (those before the last '/') must be proper folder names; the last
    part may be any start of a name, as ``".th"`` is of ``".thumbs"``."""
    if not isinstance(prefix, str):
        raise StorageKeyError("storage prefix must be a string")
    if not prefix:
        return prefix
    _check_characters(prefix, "prefix")
    if any(segment in ("", ".", "..") for segment in prefix.split("/")[:-1]):
        raise StorageKeyError(f"storage prefix {prefix!r} has an empty, '.' or '..' part")
    return prefix


@dataclass(frozen=True)
class StoredObject:
    """What a listing or a put returns about one object."""

    key: str
    size: int


class Storage(abc.ABC):
    """put, open, delete, list, url, exists. Writes are atomic: readers see all of a file or none."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> StoredObject:
        """Store ``data`` (bytes or a readable binary stream) under ``key``, replacing any
        object there, atomically. The stream is copied in chunks, never read whole."""

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
        """Copy the object into a local file (for tools like ffmpeg that want a path).

        The copy goes to a temporary file beside ``path`` and is renamed at the end, so a failed
        download never leaves a truncated file where a tool would read it.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.open(key) as source:
            fd, temp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as target:
                    while chunk := source.read(CHUNK_BYTES):
                        target.write(chunk)
                os.replace(temp_name, path)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
        return path

    @abc.abstractmethod
    def delete(self, key: str) -> bool:
        """Remove the object; returns whether there was one."""

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix``; returns how many."""
        return sum(1 for item in list(self.list(prefix)) if self.delete(item.key))

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Objects whose key starts with ``prefix``, in key order. Writes in progress never show."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    def check(self) -> str:
        """Prove the storage answers (for ``doctor``); returns where it is, or raises."""
        next(iter(self.list()), None)
        return repr(self)

    @abc.abstractmethod
    def url(self, key: str) -> str:
        """Where a client can fetch the object: a file:// URI locally, a presigned URL on S3.

        It does not check that the object exists (that would cost a request per URL)."""
