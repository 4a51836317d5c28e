"""Web Push (RFC 8030) with VAPID (RFC 8292) and aes128gcm payload encryption (RFC 8291).

pywebpush encrypts the payload for the subscription's keys and py_vapid signs the VAPID JWT;
the POST itself goes through the guarded client, because a subscription's endpoint URL comes
from a browser, i.e. from a user. A 404 or 410 means the subscription is gone for good.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid
from pywebpush import WebPusher

from odyssey_workers.providers.httpapi import raise_for_outcome, request
from odyssey_workers.providers.outcomes import InvalidAddress, RecipientGone, Sent
from odyssey_workers.providers.push_common import PushMessage

VAPID_LIFETIME_SECONDS = 12 * 3600


class WebPushSender:
    name = "webpush"

    def __init__(self, vapid_private_key: str, subject: str, client: httpx.Client, ttl: int = 24 * 3600) -> None:
        self.vapid = Vapid.from_string(vapid_private_key)
        self.subject = subject
        self.client = client
        self.ttl = ttl

    def _vapid_header(self, endpoint: str) -> str:
        parts = urlsplit(endpoint)
        claims = {
            "sub": self.subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + VAPID_LIFETIME_SECONDS,
        }
        return str(self.vapid.sign(claims)["Authorization"])

    def send(self, endpoint: str, p256dh: str, auth: str, message: PushMessage) -> Sent:
        if urlsplit(endpoint).scheme not in ("https", "http"):
            raise InvalidAddress(f"invalid Web Push endpoint {endpoint!r}: expected an https:// URL")
        subscription = {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}
        try:
            encoded = WebPusher(subscription).encode(json.dumps(message.payload()).encode(), "aes128gcm")
        except Exception as exc:  # noqa: BLE001 - pywebpush raises bare errors for malformed keys
            raise InvalidAddress(f"invalid Web Push subscription keys: {exc}") from None
        headers = {
            "Authorization": self._vapid_header(endpoint),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self.ttl),
            "Urgency": "high" if message.urgent else "normal",
        }
        response = request(self.client, "POST", endpoint, "Web Push service", content=encoded["body"], headers=headers)
        if response.status_code in (404, 410):
            raise RecipientGone(f"Web Push subscription expired (HTTP {response.status_code})", response.status_code)
        raise_for_outcome(response, "Web Push service")
        return Sent(message_id=response.headers.get("location"), http_status=response.status_code)
