"""Hand claimed deliveries to their providers, batched where the provider has a batch API.

Returns one outcome per delivery id (``Sent``, ``Suppressed`` or the exception), never raises
for a provider's answer: the caller records each outcome and schedules the retries. An outcome
that ``is_bug`` (a ``TypeError`` in a provider or a render step) is not a provider's answer: the
caller logs its traceback and fails the delivery at once instead of retrying it.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import redis
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from jobs.notifications import channels, links
from jobs.notifications.models import EmailSuppression, PushSubscription, WebhookEndpoint
from jobs.notifications.settings import notifications_settings
from odyssey_workers.connection import get_redis
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import ConfigurationError, OdysseyError, PermanentError, RetryableError
from odyssey_workers.providers.discord import DiscordSender
from odyssey_workers.providers.email_common import EmailBatch, Recipient
from odyssey_workers.providers.endpoint_urls import InvalidEndpointUrl, undeliverable_reason
from odyssey_workers.providers.outcomes import Outcome, ProviderUnavailable
from odyssey_workers.providers.push_common import PushMessage, PushOutbox
from odyssey_workers.providers.ratelimit import TokenBucket
from odyssey_workers.providers.sms import SmsOutbox, TwilioSms
from odyssey_workers.providers.webhooks import WebhookSender

logger = logging.getLogger(__name__)
RATE_WAIT_SECONDS = 20.0  # longest a job waits for its provider's quota before rescheduling


class Suppressed(OdysseyError):
    """Not sent on purpose (suppressed address, inactive device or endpoint)."""


PASSING_FAULTS: tuple[type[Exception], ...] = (
    RetryableError,  # ProviderUnavailable: 5xx, 429, timeouts, lost connections
    ConfigurationError,  # a provider not set up yet: retried while an operator fixes it
    OSError,  # sockets, TLS, SMTP (smtplib's errors are OSErrors), a full outbox disk
    httpx.TransportError,
    redis.RedisError,  # the rate limiter's Redis
    OperationalError,  # the database was busy or away
)
"""The exceptions a send may meet without anything being wrong with the code: retried."""


def is_bug(outcome: object) -> bool:
    """Whether an outcome is an exception no retry can fix because the code is wrong (a bug)."""
    return (
        isinstance(outcome, Exception)
        and not isinstance(outcome, (Suppressed, PermanentError))
        and not isinstance(outcome, PASSING_FAULTS)
    )


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    user_id: int
    channel: str
    target: str
    priority: int
    attempts: int
    message_id: int
    parts: dict[str, str]
    event: str
    category: str
    display_name: str


@dataclass
class Effects:
    """Side facts learned while sending, applied with the outcomes."""

    provider: dict[int, str]
    dead_subscriptions: dict[int, str]
    endpoint_ok: set[int]
    endpoint_gone: dict[int, str]
    endpoint_of: dict[int, int]  # delivery id → endpoint id


def _rate_limited(name: str, count: int, send: Callable[[], list[Outcome]]) -> list[Outcome]:
    rate = notifications_settings().notifications_rate_limits.get(name)
    if rate and name != "outbox":
        bucket = TokenBucket(get_redis(), name, rate)
        try:
            remaining = count
            while remaining > 0:
                step = min(remaining, int(bucket.capacity))
                bucket.take(step, max_wait=RATE_WAIT_SECONDS)
                remaining -= step
        except ProviderUnavailable as exc:
            return [exc] * count
    return send()


def _email(items: Sequence[Claimed], out: dict[int, Outcome], fx: Effects, stack: ExitStack) -> None:
    settings = notifications_settings()
    with session_scope() as session:
        addresses = sorted({d.target.lower() for d in items})
        suppressed = set(session.scalars(select(EmailSuppression.email).where(EmailSuppression.email.in_(addresses))))
    mailer = channels.mailer(settings)
    _closes(stack, mailer)
    by_message: dict[int, list[Claimed]] = defaultdict(list)
    for d in items:
        fx.provider[d.id] = mailer.name
        if d.target.lower() in suppressed:
            out[d.id] = Suppressed(f"email to {d.target} is suppressed (bounce or complaint)")
        else:
            by_message[d.message_id].append(d)
    for group in by_message.values():
        parts = group[0].parts
        recipients = [
            Recipient(d.target, d.key, d.display_name, links.unsubscribe_url(d.user_id, d.category)) for d in group
        ]
        batch = EmailBatch(settings.email_from, parts["subject"], parts["text"], parts["html"], recipients)
        results = _rate_limited(mailer.name, len(group), functools.partial(mailer.send_batch, batch))
        out.update({d.id: result for d, result in zip(group, results, strict=True)})


def _sms(items: Sequence[Claimed], out: dict[int, Outcome], fx: Effects, stack: ExitStack) -> None:
    s = notifications_settings()
    if s.sms_provider == "twilio":
        if not (s.twilio_account_sid and s.twilio_auth_token and s.twilio_from_number):
            raise ConfigurationError(
                "SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER"
            )
        sender: Any = TwilioSms(
            s.twilio_api_base,
            s.twilio_account_sid,
            s.twilio_auth_token.get_secret_value(),
            s.twilio_from_number,
            s.notifications_provider_timeout_seconds,
            s.notifications_ca_file,
        )
    else:
        sender = SmsOutbox(channels.outbox_dir(s))
    _closes(stack, sender)
    for d in items:
        fx.provider[d.id] = sender.name
        out[d.id] = _one(sender.name, functools.partial(sender.send, d.target, d.parts["text"], d.key))


def _closes(stack: ExitStack, provider: Any) -> None:
    """Close the provider's HTTP client when the job is done with it."""
    close = getattr(provider, "close", None)
    if callable(close):
        stack.callback(close)


def _one(name: str, call: Callable[[], Any]) -> Outcome:
    """One rate-limited send whose failure becomes its outcome."""
    return _rate_limited(name, 1, lambda: [_try(call)])[0]


def _try(fn: Callable[..., Any], *args: Any) -> Outcome:
    try:
        result: Outcome = fn(*args)
        return result
    except Exception as exc:  # noqa: BLE001 - every failure becomes this delivery's recorded outcome
        return exc


def _push(items: Sequence[Claimed], out: dict[int, Outcome], fx: Effects, stack: ExitStack) -> None:
    from jobs.notifications import push_senders

    ids = [int(d.target.split(":", 1)[1]) for d in items]
    with session_scope() as session:
        subs = {p.id: p for p in session.scalars(select(PushSubscription).where(PushSubscription.id.in_(ids)))}
    settings = notifications_settings()
    senders = push_senders.PushSenders(settings, stack)
    for d, sub_id in zip(items, ids, strict=True):
        sub = subs.get(sub_id)
        if sub is None or not sub.active:
            out[d.id] = Suppressed("push subscription is no longer active")
            continue
        message = PushMessage(
            d.parts["title"], d.parts["body"], d.key, url=d.parts.get("url", ""), urgent=d.priority >= 10
        )
        name = "outbox" if settings.push_provider == "outbox" else sub.kind
        fx.provider[d.id] = name
        if name == "outbox":
            out[d.id] = _try(PushOutbox(channels.outbox_dir(settings)).send, sub.kind, sub.token, message)
        else:
            out[d.id] = _one(name, functools.partial(senders.send, sub, message))
        if isinstance(out[d.id], push_senders.RecipientGone):
            fx.dead_subscriptions[sub_id] = str(out[d.id])


def _endpoints(items: Sequence[Claimed], out: dict[int, Outcome], fx: Effects, stack: ExitStack) -> None:
    ids = [int(d.target.split(":", 1)[1]) for d in items]
    with session_scope() as session:
        endpoints = {e.id: e for e in session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(ids)))}
    client = stack.enter_context(channels.user_url_client())
    webhook, discord = WebhookSender(client), DiscordSender(client)
    now: datetime = utcnow()
    for d, endpoint_id in zip(items, ids, strict=True):
        endpoint = endpoints.get(endpoint_id)
        fx.provider[d.id] = d.channel
        fx.endpoint_of[d.id] = endpoint_id
        if endpoint is None or not endpoint.active:
            out[d.id] = Suppressed("endpoint was removed or disabled")
            continue
        never = undeliverable_reason(endpoint.url)
        if never:  # a stored URL no retry can fix: fail now, not after a day of retries
            out[d.id] = InvalidEndpointUrl(f"endpoint URL can never be delivered to: {never}")
            continue
        if d.channel == "discord":
            parts = d.parts
            call = functools.partial(
                discord.send, endpoint.url, parts["title"], parts["description"], parts.get("url", "")
            )
        else:
            keys = [k for k in (endpoint.secret,) if k]
            expires = endpoint.previous_secret_expires_at
            if endpoint.previous_secret and (expires is None or expires > now):
                keys.append(endpoint.previous_secret)  # rotation: sign with both until the old one expires
            call = functools.partial(webhook.send, endpoint.url, d.key, d.parts["body"].encode(), keys)
        out[d.id] = _one(d.channel, call)


def dispatch(claimed: Sequence[Claimed]) -> tuple[dict[int, Outcome], Effects]:
    out: dict[int, Outcome] = {}
    fx = Effects({}, {}, set(), {}, {})
    by_channel: dict[str, list[Claimed]] = defaultdict(list)
    for d in claimed:
        by_channel[d.channel].append(d)
    with ExitStack() as stack:
        for channel, items in by_channel.items():
            try:
                if channel == "email":
                    _email(items, out, fx, stack)
                elif channel == "sms":
                    _sms(items, out, fx, stack)
                elif channel == "push":
                    _push(items, out, fx, stack)
                else:
                    _endpoints(items, out, fx, stack)
            except Exception as exc:  # noqa: BLE001 - a channel-wide fault (configuration, provider down)
                if not is_bug(exc):  # a bug is logged with its traceback where it is recorded
                    logger.warning("%s channel failed for %d deliveries: %s", channel, len(items), exc)
                for d in items:
                    out.setdefault(d.id, exc)
    return out, fx
