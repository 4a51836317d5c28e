"""Cloudinary's Upload API: signed uploads and deletions of delivery copies.

Plain values in, plain results out; nothing here knows of assets or jobs. Requests are signed as
Cloudinary documents: every parameter except ``file``, ``cloud_name``, ``resource_type`` and
``api_key``, sorted by name, joined as ``k=v`` with ``&``, the API secret appended, SHA-1 in
hex. 4xx answers are ``CloudinaryRejected`` (permanent), 5xx/429/timeouts are
``CloudinaryUnavailable`` (retryable). The API base is configurable (``CLOUDINARY_API_BASE``)
so tests talk to a loopback server speaking the same API.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import httpx

from odyssey_workers.errors import PermanentError, RetryableError

TIMEOUT_SECONDS = 60.0
"""How long one upload or deletion may take, connect to last byte, in seconds."""

UNSIGNED_PARAMS = frozenset({"file", "cloud_name", "resource_type", "api_key", "signature"})
RESOURCE_TYPES = frozenset({"image", "video", "raw"})


class CloudinaryRejected(PermanentError):
    """Cloudinary refused the request for good (bad credentials, bad parameters, a bad file)."""


class CloudinaryUnavailable(RetryableError):
    """Cloudinary could not answer now (5xx, 429, timeout, lost connection)."""


@dataclass(frozen=True)
class CloudinaryConfig:
    cloud_name: str
    api_key: str
    api_secret: str
    api_base: str = "https://api.cloudinary.com"


@dataclass(frozen=True)
class Uploaded:
    public_id: str
    resource_type: str
    secure_url: str
    version: int | None
    bytes: int | None
    format: str | None


def signature(params: Mapping[str, Any], api_secret: str) -> str:
    """Cloudinary's request signature of ``params`` (hex SHA-1)."""
    signed = sorted((k, v) for k, v in params.items() if k not in UNSIGNED_PARAMS and v not in (None, ""))
    to_sign = "&".join(f"{key}={_text(value)}" for key, value in signed)
    return hashlib.sha1((to_sign + api_secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


class CloudinaryClient:
    """Upload and destroy through one HTTP client (close it, or use it as a context manager)."""

    def __init__(self, config: CloudinaryConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self._client = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False)

    def __enter__(self) -> CloudinaryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _endpoint(self, resource_type: str, action: str) -> str:
        if resource_type not in RESOURCE_TYPES:
            raise CloudinaryRejected(f"Cloudinary resource_type must be image, video or raw, not {resource_type!r}")
        return f"{self.config.api_base}/v1_1/{self.config.cloud_name}/{resource_type}/{action}"

    def _signed(self, params: Mapping[str, Any]) -> dict[str, str]:
        fields = {key: _text(value) for key, value in params.items() if value not in (None, "")}
        fields["timestamp"] = str(int(time.time()))
        fields["signature"] = signature(fields, self.config.api_secret)
        fields["api_key"] = self.config.api_key
        return fields

    def _post(self, url: str, data: dict[str, str], files: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._client.post(url, data=data, files=files)
        except httpx.TimeoutException:
            raise CloudinaryUnavailable(f"Cloudinary did not answer within {TIMEOUT_SECONDS:g} s") from None
        except httpx.TransportError as exc:
            raise CloudinaryUnavailable(f"Cloudinary connection failed: {exc}") from None
        try:
            body: Any = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        message = (body.get("error") or {}).get("message") if isinstance(body.get("error"), dict) else None
        status = response.status_code
        if status == 429 or status >= 500:
            raise CloudinaryUnavailable(f"Cloudinary answered HTTP {status}: {message or 'no message'}")
        if status >= 300:
            raise CloudinaryRejected(f"Cloudinary refused the request (HTTP {status}): {message or 'no message'}")
        return dict(body)

    def upload(
        self,
        data: bytes | IO[bytes],
        *,
        public_id: str,
        resource_type: str = "image",
        filename: str = "file",
        overwrite: bool = True,
    ) -> Uploaded:
        """Upload ``data`` (bytes, or a stream sent in chunks) as ``public_id``, overwriting by
        default so a retry is harmless."""
        url = self._endpoint(resource_type, "upload")
        fields = self._signed({"public_id": public_id, "overwrite": overwrite, "invalidate": overwrite})
        body = self._post(url, fields, files={"file": (filename, data, "application/octet-stream")})
        secure_url = body.get("secure_url")
        if not isinstance(secure_url, str) or not secure_url:
            raise CloudinaryUnavailable("Cloudinary's upload answer had no secure_url")
        return Uploaded(
            public_id=str(body.get("public_id", public_id)),
            resource_type=str(body.get("resource_type", resource_type)),
            secure_url=secure_url,
            version=body.get("version"),
            bytes=body.get("bytes"),
            format=body.get("format"),
        )

    def destroy(self, public_id: str, resource_type: str = "image") -> bool:
        """Delete ``public_id``; True if it existed (Cloudinary says "ok"), False if "not found"."""
        url = self._endpoint(resource_type, "destroy")
        body = self._post(url, self._signed({"public_id": public_id, "invalidate": True}))
        result = body.get("result")
        if result not in ("ok", "not found"):
            raise CloudinaryUnavailable(f"Cloudinary could not delete {public_id!r}: {result!r}")
        return bool(result == "ok")
