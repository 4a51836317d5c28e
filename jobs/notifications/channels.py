"""Providers built from settings: the one place that knows which provider each channel uses.

Every channel has a local default that needs no account (email, SMS and push go to the outbox
folder). Webhooks, Discord and Web Push endpoints are user-supplied URLs, so they go through
the guarded client (connect-time address checks, no redirects, no proxies).
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

import httpx

from jobs.notifications.settings import NotificationsSettings, notifications_settings
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers.email_common import EmailBatch, OutgoingEmail, Signer
from odyssey_workers.providers.email_dkim import DkimSigner
from odyssey_workers.providers.email_mailgun import MailgunMailer
from odyssey_workers.providers.email_outbox import OutboxMailer
from odyssey_workers.providers.email_sendgrid import SendgridMailer
from odyssey_workers.providers.email_smtp import SmtpMailer
from odyssey_workers.providers.httpapi import provider_client, ssl_context
from odyssey_workers.providers.netguard import guarded_client
from odyssey_workers.providers.outcomes import Outcome, Sent
from odyssey_workers.settings import get_settings


class Mailer(Protocol):
    name: str

    def send(self, mail: OutgoingEmail) -> Sent: ...

    def send_batch(self, batch: EmailBatch) -> list[Outcome]: ...


def outbox_dir(settings: NotificationsSettings | None = None) -> Path:
    settings = settings or notifications_settings()
    return settings.notifications_outbox_dir or (get_settings().var_dir / "outbox")


def _secret(value: Any, variable: str) -> str:
    if value is None:
        raise ConfigurationError(f"{variable} is required for this provider")
    return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)


def dkim_signer(settings: NotificationsSettings | None = None) -> Signer | None:
    """The DKIM signer for mail this service formats itself, or None when no key is set."""
    s = settings or notifications_settings()
    if s.dkim_private_key is None:
        return None
    if not s.dkim_selector:
        raise ConfigurationError("DKIM_PRIVATE_KEY is set but DKIM_SELECTOR is not")
    domain = s.dkim_domain or parseaddr(s.email_from)[1].rpartition("@")[2]
    return DkimSigner(s.dkim_selector, domain, s.dkim_private_key.get_secret_value())


def mailer(settings: NotificationsSettings | None = None) -> Mailer:
    s = settings or notifications_settings()
    timeout, ca = s.notifications_provider_timeout_seconds, s.notifications_ca_file
    if s.email_provider == "smtp":
        if not s.smtp_url:
            raise ConfigurationError("EMAIL_PROVIDER=smtp needs SMTP_URL")
        return SmtpMailer(s.smtp_url, timeout=timeout, ca_file=ca, signer=dkim_signer(s))
    if s.email_provider == "mailgun":
        if not s.mailgun_domain:
            raise ConfigurationError("EMAIL_PROVIDER=mailgun needs MAILGUN_DOMAIN")
        return MailgunMailer(
            s.mailgun_api_base, s.mailgun_domain, _secret(s.mailgun_api_key, "MAILGUN_API_KEY"), timeout, ca
        )
    if s.email_provider == "sendgrid":
        return SendgridMailer(s.sendgrid_api_base, _secret(s.sendgrid_api_key, "SENDGRID_API_KEY"), timeout, ca)
    return OutboxMailer(outbox_dir(s), signer=dkim_signer(s))


def api_client(settings: NotificationsSettings | None = None, http2: bool = False) -> httpx.Client:
    s = settings or notifications_settings()
    return provider_client(s.notifications_provider_timeout_seconds, s.notifications_ca_file, http2=http2)


def user_url_client(settings: NotificationsSettings | None = None, timeout: float | None = None) -> httpx.Client:
    """For URLs users gave us (webhooks, Discord, Web Push endpoints)."""
    s = settings or notifications_settings()
    return guarded_client(
        s.webhook_allowed_hosts,
        timeout=timeout if timeout is not None else s.webhook_timeout_seconds,
        verify=ssl_context(s.notifications_ca_file),
    )


def retry_schedule(channel: str, settings: NotificationsSettings | None = None) -> list[float]:
    """Seconds before each re-send after a passing failure (webhooks: about a day in all)."""
    s = settings or notifications_settings()
    # Parsed and checked at start (NotificationsSettings), so a send never meets a bad schedule.
    return list(s.webhook_retry_schedule if channel in ("webhook", "discord") else s.notifications_retry_schedule)
