"""The notifications domain's settings, read from the same variables as always (``SMTP_URL``, ...).

Lists arrive as comma-separated text (``NOTIFICATIONS_RETRY_SCHEDULE=10,60,300``,
``NOTIFICATIONS_RATE_LIMITS=smtp=20,mailgun=100``) and are parsed here, at start: a bad value
stops start-up with one line naming the variable, not each send.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from odyssey_workers.settings import DomainSettings, Settings, domain_settings


def parse_seconds(value: object) -> list[float]:
    """``"5,300,1800"`` (or a list) → seconds; each finite and not negative."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list | tuple):
        raise ValueError("expected comma-separated seconds, as 5,300,1800")
    try:
        seconds = [float(str(part)) for part in parts if str(part).strip()]
    except (TypeError, ValueError):
        seconds = [-1.0]
    if not seconds or any(not 0 <= second < float("inf") for second in seconds):
        raise ValueError("expected comma-separated seconds, as 5,300,1800")
    return seconds


def parse_rates(value: object) -> dict[str, float]:
    """``"smtp=20,mailgun=100"`` (or a mapping) → sends per second per provider, each positive."""
    if isinstance(value, dict):
        items = [f"{name}={rate}" for name, rate in value.items()]
    else:
        items = [part.strip() for part in str(value).split(",") if part.strip()]
    rates: dict[str, float] = {}
    for item in items:
        name, equals, rate = item.partition("=")
        try:
            valid = bool(equals and name.strip()) and 0 < float(rate) < float("inf")
        except ValueError:
            valid = False
        if not valid:
            raise ValueError("expected provider=sends-per-second pairs, as smtp=20,mailgun=100")
        rates[name.strip()] = float(rate)
    return rates


Seconds = Annotated[list[float], NoDecode, BeforeValidator(parse_seconds)]
Rates = Annotated[dict[str, float], NoDecode, BeforeValidator(parse_rates)]


class NotificationsSettings(DomainSettings):
    # --- notifications: providers --------------------------------------------------------------
    smtp_url: str | None = None
    email_from: str = "Odyssey <no-reply@odyssey.local>"
    sendgrid_api_key: SecretStr | None = None
    sendgrid_api_base: str = "https://api.sendgrid.com"
    mailgun_api_key: SecretStr | None = None
    mailgun_domain: str | None = None
    mailgun_api_base: str = "https://api.mailgun.net"
    fcm_server_key: SecretStr | None = None
    fcm_project_id: str | None = None
    fcm_api_base: str = "https://fcm.googleapis.com"
    fcm_service_account_file: Path | None = None  # Google service-account JSON (else FCM_SERVER_KEY is a token)
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_private_key: SecretStr | None = None
    apns_topic: str | None = None
    apns_api_base: str = "https://api.push.apple.com"
    vapid_private_key: SecretStr | None = None
    vapid_public_key: str | None = None
    vapid_subject: str = "mailto:ops@odyssey.local"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    webhook_allow_hosts: str = ""  # comma-separated hosts exempt from the private-address refusal

    # --- notifications: which provider each channel uses, and how it sends -------------------
    email_provider: Literal["outbox", "smtp", "mailgun", "sendgrid"] = "outbox"
    sms_provider: Literal["outbox", "twilio"] = "outbox"
    push_provider: Literal["outbox", "live"] = "outbox"  # live: Web Push / FCM / APNs per device
    notifications_outbox_dir: Path | None = None  # default: VAR_DIR/outbox
    notifications_default_locale: str = "en"
    notifications_chunk_size: Annotated[int, Field(ge=1, le=10_000)] = 500  # recipients per fan-out job
    notifications_provider_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    notifications_retry_schedule: Seconds = parse_seconds("10,60,300")  # seconds before each re-send of a 5xx/timeout
    notifications_rate_limits: Rates = parse_rates(
        "smtp=20,mailgun=100,sendgrid=100,twilio=10,webpush=200,fcm=500,apns=500,webhook=200,discord=5"
    )  # sends per second per provider, shared by every worker
    notifications_ca_file: Path | None = None  # extra CA bundle for provider HTTPS/SMTP (tests, private CAs)
    unsubscribe_base_url: str = "http://localhost:8000/notifications/unsubscribe"
    unsubscribe_secret: SecretStr | None = None  # default: a key file created under VAR_DIR
    mailgun_webhook_signing_key: SecretStr | None = None
    sendgrid_webhook_public_key: str | None = None  # PEM/base64 ECDSA key of the signed event webhook
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 15.0
    webhook_retry_schedule: Seconds = parse_seconds(
        "5,300,1800,7200,18000,36000,36000"
    )  # ~27 h, then the endpoint is failing
    dkim_selector: str | None = None  # DKIM for SMTP and the outbox (Mailgun/SendGrid sign themselves)
    dkim_domain: str | None = None  # d= of the signature; default: the domain of EMAIL_FROM
    dkim_private_key: SecretStr | None = None  # RSA private key, PEM; unset: mail goes unsigned

    @field_validator("smtp_url")
    @classmethod
    def _empty_means_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def webhook_allowed_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower() for h in self.webhook_allow_hosts.split(",") if h.strip())


SETTINGS = NotificationsSettings


def notifications_settings(settings: Settings | None = None) -> NotificationsSettings:
    """The notifications settings, read at start with every other domain's."""
    return domain_settings(NotificationsSettings, settings)
