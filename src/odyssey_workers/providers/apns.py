"""Apple Push Notification service: HTTP/2 with token (JWT ES256) authentication.

``POST /3/device/<token>`` over HTTP/2 (APNs accepts nothing else), with the provider token
refreshed every 50 minutes (Apple refuses tokens older than an hour and throttles ones renewed
more often than every 20 minutes). ``apns-id`` is derived from the delivery's key, so a re-send
carries the same id. 410 (Unregistered) and BadDeviceToken mean the device is gone.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

import httpx

from odyssey_workers.providers import jwt
from odyssey_workers.providers.batch import send_each
from odyssey_workers.providers.httpapi import raise_for_outcome, request
from odyssey_workers.providers.outcomes import Outcome, ProviderRejected, RecipientGone, Sent
from odyssey_workers.providers.push_common import PushMessage

TOKEN_LIFETIME_SECONDS = 50 * 60
GONE_REASONS = frozenset({"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"})


def apns_id(key: str) -> str:
    return str(uuid.UUID(hashlib.sha256(key.encode()).hexdigest()[:32]))


class ApnsSender:
    name = "apns"

    def __init__(
        self, api_base: str, key_id: str, team_id: str, private_key_pem: str, topic: str, client: httpx.Client
    ) -> None:
        self.base = api_base.rstrip("/")
        self.key_id, self.team_id, self.topic = key_id, team_id, topic
        self.key = jwt.load_private_key(private_key_pem, "APNS_PRIVATE_KEY")
        self.client = client
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def provider_token(self) -> str:
        with self._lock:
            if self._token is None or time.time() - self._token[1] > TOKEN_LIFETIME_SECONDS:
                issued = int(time.time())
                token = jwt.sign({"alg": "ES256", "kid": self.key_id}, {"iss": self.team_id, "iat": issued}, self.key)
                self._token = (token, issued)
            return self._token[0]

    def send(self, device_token: str, message: PushMessage) -> Sent:
        payload: dict[str, Any] = {
            "aps": {"alert": {"title": message.title, "body": message.body}, "sound": "default"},
            "url": message.url,
            **message.data,
        }
        headers = {
            "authorization": f"bearer {self.provider_token()}",
            "apns-topic": self.topic,
            "apns-push-type": "alert",
            "apns-priority": "10" if message.urgent else "5",
            "apns-id": apns_id(message.key),
        }
        url = f"{self.base}/3/device/{device_token}"
        response = request(self.client, "POST", url, "APNs", json=payload, headers=headers)
        if response.status_code in (400, 410):
            reason = _reason(response)
            if response.status_code == 410 or reason in GONE_REASONS:
                raise RecipientGone(
                    f"APNs device token is gone ({reason or response.status_code})", response.status_code
                )
            raise ProviderRejected(f"APNs refused the notification: {reason}", response.status_code)
        raise_for_outcome(response, "APNs")
        return Sent(message_id=response.headers.get("apns-id"), http_status=response.status_code)

    def send_many(self, device_tokens: Sequence[str], message: PushMessage) -> list[Outcome]:
        """All tokens multiplexed on one HTTP/2 connection; one outcome per token, in order."""
        return send_each(lambda token: self.send(token, message), device_tokens)


def _reason(response: httpx.Response) -> str | None:
    try:
        return str(response.json().get("reason"))
    except ValueError:
        return None
