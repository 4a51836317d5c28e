"""Pick the storage backend from ``STORAGE_URL``.

Accepted forms (anything else is a one-line ConfigurationError naming ``STORAGE_URL``):

* unset: the folder ``$VAR_DIR/storage`` (``var/storage``);
* ``file:///absolute/folder`` or a plain folder path;
* ``s3://bucket`` or ``s3://bucket/prefix`` (``S3_ENDPOINT_URL`` for S3-compatible stores).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from odyssey_workers.errors import ConfigurationError, StorageKeyError
from odyssey_workers.settings import Settings, get_settings
from odyssey_workers.storage.base import Storage, validate_key

EXPECTED = "expected file:///absolute/folder, a folder path, or s3://bucket[/prefix]"
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _local(path: Path) -> Storage:
    from odyssey_workers.storage.local import LocalStorage

    try:
        return LocalStorage(path)
    except OSError as exc:
        raise ConfigurationError(f"STORAGE_URL: cannot use folder {path} ({exc.strerror or exc})") from None


def storage_from_url(url: str, settings: Settings | None = None) -> Storage:
    """The backend ``url`` names; a ConfigurationError (one line) when it names none."""
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ConfigurationError(f"STORAGE_URL: no query or fragment allowed; {EXPECTED}")
    if parts.scheme == "" and url.strip():
        return _local(Path(url))
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigurationError(
                f"STORAGE_URL: file URL has a host {parts.netloc!r}; write file:///absolute/folder (three slashes)"
            )
        if not parts.path.startswith("/"):
            raise ConfigurationError(f"STORAGE_URL: file URL needs an absolute folder; {EXPECTED}")
        return _local(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        if not BUCKET_PATTERN.match(parts.netloc) or ".." in parts.netloc:
            raise ConfigurationError(
                "STORAGE_URL: s3 bucket name must be 3-63 lower-case letters, digits, dots or hyphens"
            )
        prefix = parts.path.strip("/")
        if prefix:
            try:
                validate_key(prefix)
            except StorageKeyError as exc:
                raise ConfigurationError(f"STORAGE_URL: bad s3 prefix: {exc}") from None
        from odyssey_workers.storage.s3 import S3Storage

        return S3Storage(parts.netloc, prefix, settings or get_settings())
    scheme = f"scheme {parts.scheme!r}" if parts.scheme else "an empty value"
    raise ConfigurationError(f"STORAGE_URL: unsupported {scheme}; {EXPECTED}")


_cache: dict[tuple[int, str], Storage] = {}


def get_storage(settings: Settings | None = None) -> Storage:
    """The configured storage, one instance per URL and process (tests clear ``_cache``).

    Per process because a work horse is forked from its worker: an S3 client's pooled HTTP
    connections must never be shared by two processes.
    """
    settings = settings or get_settings()
    key = (os.getpid(), settings.resolved_storage_url)
    if key not in _cache:
        _cache[key] = storage_from_url(key[1], settings)
    return _cache[key]
