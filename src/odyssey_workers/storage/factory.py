"""Pick the storage backend from ``STORAGE_URL``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from odyssey_workers.errors import ConfigurationError
from odyssey_workers.settings import Settings, get_settings
from odyssey_workers.storage.base import Storage


def storage_from_url(url: str, settings: Settings | None = None) -> Storage:
    """``file:///abs/path`` or ``s3://bucket[/prefix]``; anything else is a ConfigurationError."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        from odyssey_workers.storage.local import LocalStorage

        return LocalStorage(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        from odyssey_workers.storage.s3 import S3Storage

        if not parts.netloc:
            raise ConfigurationError("STORAGE_URL: expected s3://bucket or s3://bucket/prefix")
        return S3Storage(parts.netloc, parts.path.strip("/"), settings or get_settings())
    raise ConfigurationError("STORAGE_URL: expected file:///path or s3://bucket/prefix")


_cache: dict[str, Storage] = {}


def get_storage(settings: Settings | None = None) -> Storage:
    """The configured storage, one instance per URL."""
    settings = settings or get_settings()
    url = settings.resolved_storage_url
    if url not in _cache:
        _cache[url] = storage_from_url(url, settings)
    return _cache[url]
