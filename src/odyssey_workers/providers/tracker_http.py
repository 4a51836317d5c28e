"""The answers every HTTP tracker reads the same way: 2xx, 413, 429/5xx/no answer, other 4xx.

Each provider reads its own 400 (which events it names) before falling back on these.
"""

from __future__ import annotations

from typing import Any

import httpx

from odyssey_workers.providers.httpapi import PASSING_STATUSES, provider_client, retry_after_seconds, short_body
from odyssey_workers.providers.tracker_base import Accepted, Answer, Busy, Refused, TooLarge


def tracker_client(timeout: float) -> httpx.Client:
    return provider_client(timeout)


def send(client: httpx.Client, provider: str, url: str, **kwargs: Any) -> httpx.Response | Busy:
    """POST once; a timeout or a lost connection is a busy answer (the request may be sent again)."""
    try:
        return client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        return Busy(f"{provider}: timed out ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return Busy(f"{provider}: connection failed: {exc}")


def common_answer(response: httpx.Response, provider: str) -> Answer:
    """What a status means when the provider's body names nothing more."""
    status = response.status_code
    detail = f"{provider} answered HTTP {status}" + (f": {body}" if (body := short_body(response)) else "")
    if 200 <= status < 300:
        return Accepted()
    if status == 413:
        return TooLarge(detail)
    if status in PASSING_STATUSES or status >= 500:
        return Busy(detail, retry_after_seconds(response))
    return Refused(detail)


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or an empty one when it has none."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
