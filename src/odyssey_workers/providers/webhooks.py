"""Signed webhooks to endpoints that creators register, per the Standard Webhooks scheme.

Headers: ``webhook-id`` (the delivery's idempotency key — the same on every retry, so receivers
can drop duplicates), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` keyed with the secret's bytes (the part after
``whsec_``, base64-decoded). During a rotation the header carries one signature per secret,
space-separated, and a receiver accepts any that matches.

Only a 2xx counts. Redirects are not followed. A 410 means the endpoint is gone; anything else
(3xx, 4xx, 5xx, timeout) is retried on the delivery's schedule.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence

import httpx

from odyssey_workers.providers.httpapi import request, short_body
from odyssey_workers.providers.outcomes import ProviderUnavailable, RecipientGone, Sent

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """A received webhook's signature or timestamp does not check out."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_bytes(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(
    secrets_: Sequence[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets_),
    }


def verify(
    secrets_: Iterable[str],
    headers: Mapping[str, str],
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Receiver side: raise WebhookVerificationError unless a signature matches a fresh timestamp."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id = lowered["webhook-id"]
        timestamp = int(lowered["webhook-timestamp"])
        offered = lowered["webhook-signature"].split()
    except (KeyError, ValueError):
        raise WebhookVerificationError("missing or malformed webhook headers") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError("timestamp outside the tolerance window (stale or from the future)")
    for secret in secrets_:
        expected = sign(secret, msg_id, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return
    raise WebhookVerificationError("no signature matches")


class WebhookSender:
    name = "webhook"

    def __init__(self, client: httpx.Client) -> None:
        self.client = client  # a netguard.guarded_client: checked connects, no redirects

    def send(self, url: str, msg_id: str, body: bytes, secrets_: Sequence[str]) -> Sent:
        headers = {"content-type": "application/json", "user-agent": "Odyssey-Webhooks/1"}
        headers.update(signature_headers(secrets_, msg_id, body))
        response = request(self.client, "POST", url, "webhook endpoint", content=body, headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            return Sent(message_id=msg_id, http_status=status)
        if status == 410:
            raise RecipientGone("webhook endpoint answered 410 Gone; it is disabled", status)
        if 300 <= status < 400:
            location = response.headers.get("location", "")
            raise ProviderUnavailable(
                f"webhook endpoint redirected (HTTP {status} to {location!r}); redirects are not followed", status
            )
        raise ProviderUnavailable(
            f"webhook endpoint answered HTTP {status}: {short_body(response)}".rstrip(": "), status
        )
