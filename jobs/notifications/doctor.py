"""What ``odyssey-workers doctor`` says about the notification providers."""

from __future__ import annotations

from jobs.notifications.settings import NotificationsSettings, notifications_settings
from odyssey_workers.cli.doctor import Provider
from odyssey_workers.settings import Settings

OUTBOX = "file outbox under var/"
PROVIDERS: list[Provider] = [
    Provider("email: SMTP", ("smtp_url",), ("email_provider", "smtp"), OUTBOX),
    Provider("email: SendGrid", ("sendgrid_api_key",), ("email_provider", "sendgrid"), OUTBOX),
    Provider("email: Mailgun", ("mailgun_api_key", "mailgun_domain"), ("email_provider", "mailgun"), OUTBOX),
    Provider("email: DKIM signing", ("dkim_selector", "dkim_private_key"), None, "SMTP and outbox mail unsigned"),
    Provider("push: Web Push", ("vapid_private_key",), ("push_provider", "live"), OUTBOX, optional=True),
    Provider(
        "push: FCM",
        ("fcm_project_id",),
        ("push_provider", "live"),
        OUTBOX,
        any_of=("fcm_service_account_file", "fcm_server_key"),
        optional=True,
    ),
    Provider(
        "push: APNs",
        ("apns_key_id", "apns_team_id", "apns_private_key", "apns_topic"),
        ("push_provider", "live"),
        OUTBOX,
        optional=True,
    ),
    Provider(
        "sms: Twilio",
        ("twilio_account_sid", "twilio_auth_token", "twilio_from_number"),
        ("sms_provider", "twilio"),
        OUTBOX,
    ),
]
"""Only providers with code behind them: a setting here is read by the module that uses it."""

SELECTORS = [("email", "email_provider", OUTBOX), ("push", "push_provider", OUTBOX), ("sms", "sms_provider", OUTBOX)]
UNREAD = {"vapid_public_key": "Web Push signs with VAPID_PRIVATE_KEY alone"}


def settings_for(settings: Settings) -> NotificationsSettings:
    return notifications_settings(settings)
