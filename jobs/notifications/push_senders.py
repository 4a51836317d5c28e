"""Live push senders per device kind, built on first use from settings (PUSH_PROVIDER=live)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from jobs.notifications import channels
from jobs.notifications.models import PushSubscription
from jobs.notifications.settings import NotificationsSettings
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers.apns import ApnsSender
from odyssey_workers.providers.fcm import FcmSender, ServiceAccountToken
from odyssey_workers.providers.outcomes import RecipientGone, Sent
from odyssey_workers.providers.push_common import PushMessage
from odyssey_workers.providers.webpush import WebPushSender

__all__ = ["PushSenders", "RecipientGone"]


class PushSenders:
    def __init__(self, settings: NotificationsSettings, stack: ExitStack) -> None:
        self.settings = settings
        self.stack = stack
        self._senders: dict[str, Any] = {}

    def _build(self, kind: str) -> Any:
        s = self.settings
        if kind == "webpush":
            if s.vapid_private_key is None:
                raise ConfigurationError("PUSH_PROVIDER=live needs VAPID_PRIVATE_KEY for Web Push")
            client = self.stack.enter_context(
                channels.user_url_client(s, timeout=s.notifications_provider_timeout_seconds)
            )
            return WebPushSender(s.vapid_private_key.get_secret_value(), s.vapid_subject, client)
        if kind == "fcm":
            if not s.fcm_project_id:
                raise ConfigurationError("PUSH_PROVIDER=live needs FCM_PROJECT_ID for FCM devices")
            client = self.stack.enter_context(channels.api_client(s))
            if s.fcm_service_account_file:
                token: Any = ServiceAccountToken(s.fcm_service_account_file, client)
            elif s.fcm_server_key is not None:
                token = s.fcm_server_key.get_secret_value()
            else:
                raise ConfigurationError("FCM needs FCM_SERVICE_ACCOUNT_FILE or an access token in FCM_SERVER_KEY")
            return FcmSender(s.fcm_api_base, s.fcm_project_id, token, client)
        if kind == "apns":
            if not (s.apns_key_id and s.apns_team_id and s.apns_private_key and s.apns_topic):
                raise ConfigurationError("APNs needs APNS_KEY_ID, APNS_TEAM_ID, APNS_PRIVATE_KEY and APNS_TOPIC")
            client = self.stack.enter_context(channels.api_client(s, http2=True))
            return ApnsSender(
                s.apns_api_base,
                s.apns_key_id,
                s.apns_team_id,
                s.apns_private_key.get_secret_value(),
                s.apns_topic,
                client,
            )
        raise ConfigurationError(f"unknown push device kind {kind!r}")

    def send(self, sub: PushSubscription, message: PushMessage) -> Sent:
        if sub.kind not in self._senders:
            self._senders[sub.kind] = self._build(sub.kind)
        sender = self._senders[sub.kind]
        if sub.kind == "webpush":
            return sender.send(sub.token, sub.p256dh or "", sub.auth or "", message)  # type: ignore[no-any-return]
        return sender.send(sub.token, message)  # type: ignore[no-any-return]
