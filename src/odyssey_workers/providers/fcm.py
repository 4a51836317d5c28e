"""Firebase Cloud Messaging, HTTP v1 API (``POST /v1/projects/<id>/messages:send``).

v1 has no multicast call (the legacy batch endpoint is gone), so a batch is one request per
token over one kept-alive connection, all in one job. Auth is an OAuth2 access token: either
``FCM_SERVER_KEY`` holds one, or a service-account JSON file is exchanged for one (JWT bearer
grant at the file's ``token_uri``) and cached until shortly before it expires.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers import jwt
from odyssey_workers.providers.batch import send_each
from odyssey_workers.providers.httpapi import raise_for_outcome, request
from odyssey_workers.providers.outcomes import Outcome, ProviderRejected, RecipientGone, Sent
from odyssey_workers.providers.push_common import PushMessage

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GONE_CODES = frozenset({"UNREGISTERED", "NOT_FOUND"})


class ServiceAccountToken:
    """An access token from a Google service-account key, refreshed before it expires."""

    def __init__(self, path: Path, client: httpx.Client) -> None:
        try:
            info = json.loads(Path(path).read_text())
            self.email = info["client_email"]
            self.token_uri = info["token_uri"]
            self.key = jwt.load_private_key(info["private_key"], "FCM service account private_key")
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigurationError(f"FCM_SERVICE_ACCOUNT_FILE: not a usable service-account key ({exc})") from None
        self.client = client
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or time.time() > self._expires - 60:
                now = int(time.time())
                claims = {"iss": self.email, "scope": SCOPE, "aud": self.token_uri, "iat": now, "exp": now + 3600}
                assertion = jwt.sign({"alg": "RS256", "typ": "JWT"}, claims, self.key)
                response = request(
                    self.client,
                    "POST",
                    self.token_uri,
                    "Google OAuth",
                    data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
                )
                raise_for_outcome(response, "Google OAuth")
                body = response.json()
                self._token = str(body["access_token"])
                self._expires = time.time() + float(body.get("expires_in", 3600))
            return self._token


class FcmSender:
    name = "fcm"

    def __init__(self, api_base: str, project_id: str, access_token: Any, client: httpx.Client) -> None:
        self.url = f"{api_base.rstrip('/')}/v1/projects/{project_id}/messages:send"
        self.token = access_token if callable(access_token) else (lambda: str(access_token))
        self.client = client

    def _body(self, token: str, message: PushMessage) -> dict[str, Any]:
        data = {**message.data, "url": message.url, "key": message.key}
        return {
            "message": {
                "token": token,
                "notification": {"title": message.title, "body": message.body},
                "data": data,
                "android": {"priority": "high" if message.urgent else "normal"},
            }
        }

    def send(self, token: str, message: PushMessage) -> Sent:
        headers = {"Authorization": f"Bearer {self.token()}"}
        response = request(self.client, "POST", self.url, "FCM", json=self._body(token, message), headers=headers)
        if response.status_code in (400, 404):
            code = _error_code(response)
            if code in GONE_CODES or response.status_code == 404:
                raise RecipientGone(f"FCM token is no longer registered ({code or response.status_code})", 404)
            raise ProviderRejected(f"FCM refused the message: {code or response.text[:200]}", response.status_code)
        raise_for_outcome(response, "FCM")
        return Sent(message_id=str(response.json().get("name")), http_status=response.status_code)

    def send_many(self, tokens: Sequence[str], message: PushMessage) -> list[Outcome]:
        """Per-token v1 sends in one job, one connection; one outcome per token, in order."""
        return send_each(lambda token: self.send(token, message), tokens)


def _error_code(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return None
    for detail in error.get("details", []):
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    return str(error.get("status")) if error.get("status") else None
