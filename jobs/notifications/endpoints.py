"""Webhook endpoints' front door: register, list, rotate the secret of and disable an endpoint.

The API and web services call these (or run ``odyssey-workers webhooks …``) instead of writing
``webhook_endpoints`` rows themselves, so every stored URL has passed the rules of
``providers.endpoint_urls`` — the same rules the send path applies — and a DNS name has been
checked against the refused address ranges (``netguard`` checks it again on every connect).

Secrets are Standard Webhooks ``whsec_…`` values, returned once by ``register_endpoint`` and
``rotate_secret`` and never by ``list_endpoints``. A rotation keeps the old secret signing
beside the new one for a grace period (deliveries carry one signature per secret), so a
receiver can switch keys without dropping a message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from jobs.notifications.contracts import event_spec
from jobs.notifications.models import WebhookEndpoint
from jobs.notifications.settings import notifications_settings
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import OdysseyError
from odyssey_workers.providers.endpoint_urls import InvalidEndpointUrl, check_registration
from odyssey_workers.providers.outcomes import AddressRefused

KINDS = ("webhook", "discord")
DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600  # the old secret keeps signing this long after a rotation
MAX_ROTATION_GRACE_SECONDS = 30 * 24 * 3600


class EndpointError(OdysseyError):
    """A request about an endpoint that cannot be carried out (unknown id, user or event, wrong kind)."""


@dataclass(frozen=True)
class EndpointInfo:
    """An endpoint as callers see it: everything but its secrets."""

    id: int
    user_id: int
    kind: str
    url: str
    events: list[str]
    active: bool
    failing: bool
    failing_since: datetime | None
    last_error: str | None
    previous_secret_expires_at: datetime | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EndpointWithSecret:
    """What registration and rotation return: the endpoint and its new secret (None for Discord)."""

    endpoint: EndpointInfo
    secret: str | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.endpoint.as_dict(), "secret": self.secret}


def _new_secret() -> str:
    from odyssey_workers.providers.webhooks import generate_secret  # imports httpx: load on use

    return generate_secret()


def _info(row: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        url=row.url,
        events=list(row.events or []),
        active=row.active,
        failing=row.failing,
        failing_since=row.failing_since,
        last_error=row.last_error,
        previous_secret_expires_at=row.previous_secret_expires_at if row.previous_secret else None,
        created_at=row.created_at,
    )


def _events(events: Iterable[str]) -> list[str]:
    chosen = []
    for name in events:
        try:
            chosen.append(event_spec(name).name)
        except ValueError as exc:
            raise EndpointError(str(exc)) from None
    return sorted(set(chosen))


def check_endpoint_url(url: str, resolve: bool = True) -> str:
    """``url`` when it may be registered; InvalidEndpointUrl naming the broken rule otherwise.

    With ``resolve``, a DNS name must resolve, and to no refused address (the connect-time guard
    checks again on every delivery, so a later change of the DNS answer is caught there).
    """
    allow = notifications_settings().webhook_allowed_hosts
    check_registration(url, allow)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not resolve or host in allow:
        return url
    port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    import httpcore  # the HTTP stack loads only when a URL is checked (the CLI and producers stay light)

    from odyssey_workers.providers import netguard

    try:
        netguard.checked_addresses(host, port, allow)
    except AddressRefused as exc:
        raise InvalidEndpointUrl(f"endpoint URL refused: {exc}") from None
    except httpcore.ConnectError as exc:
        raise InvalidEndpointUrl(f"endpoint URL refused: {exc}") from None
    return url


def register_endpoint(
    user_id: int, url: str, *, kind: str = "webhook", events: Sequence[str] = (), resolve: bool = True
) -> EndpointWithSecret:
    """Validate ``url`` and store a new active endpoint for ``user_id``; returns its secret once.

    ``events`` limits it to those event names (empty: every event). ``kind`` is ``webhook``
    (Standard Webhooks, signed) or ``discord`` (a Discord webhook URL, unsigned).
    """
    if kind not in KINDS:
        raise EndpointError(f"unknown endpoint kind {kind!r} (kinds: {', '.join(KINDS)})")
    chosen = _events(events)
    check_endpoint_url(url, resolve=resolve)
    secret = _new_secret() if kind == "webhook" else None
    with session_scope() as session:
        if session.get(User, user_id) is None:
            raise EndpointError(f"no user with id {user_id}")
        duplicate = session.scalars(
            select(WebhookEndpoint.id).where(
                WebhookEndpoint.user_id == user_id, WebhookEndpoint.url == url, WebhookEndpoint.active.is_(True)
            )
        ).first()
        if duplicate is not None:
            raise EndpointError(f"user {user_id} already has an active endpoint {duplicate} with this URL")
        row = WebhookEndpoint(user_id=user_id, kind=kind, url=url, secret=secret, events=chosen, active=True)
        session.add(row)
        session.flush()
        return EndpointWithSecret(_info(row), secret)


def list_endpoints(user_id: int | None = None, include_disabled: bool = True) -> list[EndpointInfo]:
    """Endpoints (of one user, or all), oldest first, without their secrets."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if user_id is not None:
        query = query.where(WebhookEndpoint.user_id == user_id)
    if not include_disabled:
        query = query.where(WebhookEndpoint.active.is_(True))
    with session_scope() as session:
        return [_info(row) for row in session.scalars(query)]


def _endpoint(session: Any, endpoint_id: int) -> WebhookEndpoint:
    row: WebhookEndpoint | None = session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise EndpointError(f"no webhook endpoint with id {endpoint_id}")
    return row


def rotate_secret(endpoint_id: int, grace_seconds: float = DEFAULT_ROTATION_GRACE_SECONDS) -> EndpointWithSecret:
    """Give the endpoint a new secret; the current one keeps signing for ``grace_seconds`` more.

    One previous secret is kept: rotating again within the grace period drops the oldest. With
    ``grace_seconds=0`` the old secret stops at once.
    """
    if not 0 <= grace_seconds <= MAX_ROTATION_GRACE_SECONDS:
        raise EndpointError(f"grace period must be 0 to {MAX_ROTATION_GRACE_SECONDS} seconds, not {grace_seconds:g}")
    with session_scope() as session:
        row = _endpoint(session, endpoint_id)
        if row.kind != "webhook":
            raise EndpointError(f"endpoint {endpoint_id} is a {row.kind} endpoint; it has no signing secret")
        if not row.active:
            raise EndpointError(f"endpoint {endpoint_id} is disabled; register a new endpoint instead")
        secret = _new_secret()
        now = utcnow()
        keep_old = grace_seconds > 0 and row.secret is not None
        row.previous_secret = row.secret if keep_old else None
        row.previous_secret_expires_at = now + timedelta(seconds=grace_seconds) if keep_old else None
        row.secret = secret
        session.flush()
        return EndpointWithSecret(_info(row), secret)


def disable_endpoint(endpoint_id: int, reason: str = "disabled on request") -> EndpointInfo:
    """Stop every delivery to the endpoint, queued ones included (they end ``suppressed``)."""
    with session_scope() as session:
        row = _endpoint(session, endpoint_id)
        if row.active:
            row.active = False
            row.last_error = reason[:2000]
            session.flush()
        return _info(row)
