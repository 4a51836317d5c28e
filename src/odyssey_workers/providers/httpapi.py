"""HTTP calls to provider APIs: one client recipe and one mapping from responses to outcomes.

2xx is success; 408, 429 and 5xx are passing (``ProviderUnavailable``, with ``Retry-After``
when given); every other status is permanent (``ProviderRejected``). Timeouts and lost
connections are passing. Redirects are never followed: a provider API does not redirect, and a
redirect from a user's endpoint is not a success.
"""

from __future__ import annotations

import ssl
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from odyssey_workers.providers.outcomes import ProviderRejected, ProviderUnavailable

PASSING_STATUSES = frozenset({408, 425, 429})
ERROR_BODY_CHARS = 300


def ssl_context(ca_file: Path | str | None = None) -> ssl.SSLContext:
    """The system trust store, plus ``ca_file`` when given (a private CA, or a test server's)."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def provider_client(timeout: float, ca_file: Path | str | None = None, http2: bool = False) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout),
        verify=ssl_context(ca_file),
        http2=http2,
        follow_redirects=False,
        trust_env=False,
    )


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), if the response has it."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def short_body(response: httpx.Response) -> str:
    try:
        text = response.text
    except Exception:  # noqa: BLE001 - a body that cannot be decoded says nothing useful
        return ""
    text = " ".join(text.split())
    return text[:ERROR_BODY_CHARS]


def raise_for_outcome(response: httpx.Response, provider: str) -> None:
    """Nothing for 2xx; otherwise the permanent or passing error the status means."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"{provider} answered HTTP {status}"
    body = short_body(response)
    if body:
        detail += f": {body}"
    if 300 <= status < 400:
        location = response.headers.get("location", "")
        raise ProviderRejected(f"{provider} answered a redirect (HTTP {status} to {location!r}); not followed", status)
    if status in PASSING_STATUSES or status >= 500:
        raise ProviderUnavailable(detail, status, retry_after_seconds(response))
    raise ProviderRejected(detail, status)


def request(client: httpx.Client, method: str, url: str, provider: str, **kwargs: Any) -> httpx.Response:
    """One request; transport faults become ``ProviderUnavailable`` naming the provider."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(f"{provider}: timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise ProviderUnavailable(f"{provider}: connection failed: {exc}") from None
