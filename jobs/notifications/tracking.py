"""Provider status callbacks (Mailgun and SendGrid event webhooks) applied to deliveries.

The web service that receives the callback enqueues ``notifications.process_provider_event``
with the body as posted (the raw JSON string is best: it lets this job check SendGrid's
signature). Each event is applied once (``notification_provider_events`` is its key), found by
the delivery key we sent along (Mailgun ``v:delivery-key``, SendGrid ``custom_args``), and:

* delivered → the delivery becomes ``delivered``;
* a permanent failure (hard bounce) → ``bounced`` and the address is suppressed;
* a complaint (spam report) or an unsubscribe → the address is suppressed;
* temporary failures and deferrals are recorded as attempts only (the provider retries them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.notifications.models import Delivery, DeliveryAttempt, DeliveryStatus, EmailSuppression, ProviderEvent
from jobs.notifications.settings import notifications_settings
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError

logger = logging.getLogger(__name__)
SENDGRID_SIGNATURE = "x-twilio-email-event-webhook-signature"
SENDGRID_TIMESTAMP = "x-twilio-email-event-webhook-timestamp"


@dataclass(frozen=True)
class StatusEvent:
    event_id: str
    kind: str  # delivered | bounced | failed | complained | unsubscribed | deferred | other
    email: str | None
    delivery_key: str | None
    provider_message_id: str | None
    detail: str


def _mailgun_events(body: Any) -> list[StatusEvent]:
    key = notifications_settings().mailgun_webhook_signing_key
    if key is not None and isinstance(body, dict):
        sig = body.get("signature") or {}
        expected = hmac.new(
            key.get_secret_value().encode(),
            f"{sig.get('timestamp', '')}{sig.get('token', '')}".encode(),
            hashlib.sha256,
        ).hexdigest()
        if not hmac.compare_digest(expected, str(sig.get("signature", ""))):
            raise PermanentError("Mailgun event: signature does not match MAILGUN_WEBHOOK_SIGNING_KEY")
    if not isinstance(body, dict):
        raise PermanentError("Mailgun event: expected a JSON object")
    data = body.get("event-data")
    if not isinstance(data, dict):
        raise PermanentError("Mailgun event: no 'event-data' object in the body")
    event = str(data.get("event", ""))
    severity = data.get("severity")
    kind = {
        "delivered": "delivered",
        "complained": "complained",
        "unsubscribed": "unsubscribed",
    }.get(event, "other")
    if event == "failed":
        kind = "bounced" if severity == "permanent" else "deferred"
    status = data.get("delivery-status") or {}
    headers = (data.get("message") or {}).get("headers") or {}
    return [
        StatusEvent(
            event_id=str(data.get("id") or f"{data.get('timestamp')}:{event}:{data.get('recipient')}"),
            kind=kind,
            email=data.get("recipient"),
            delivery_key=(data.get("user-variables") or {}).get("delivery-key"),
            provider_message_id=headers.get("message-id"),
            detail=" ".join(
                str(x)
                for x in (
                    "mailgun",
                    event,
                    severity,
                    status.get("code"),
                    status.get("message") or status.get("description"),
                )
                if x
            ),
        )
    ]


def _verify_sendgrid(raw: str, headers: dict[str, str]) -> None:
    public_key = notifications_settings().sendgrid_webhook_public_key
    if not public_key:
        return
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        signature = base64.b64decode(lowered[SENDGRID_SIGNATURE])
        timestamp = lowered[SENDGRID_TIMESTAMP]
    except (KeyError, ValueError):
        raise PermanentError("SendGrid event: signature headers missing") from None
    pem = public_key if "BEGIN" in public_key else f"-----BEGIN PUBLIC KEY-----\n{public_key}\n-----END PUBLIC KEY-----"
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise PermanentError("SENDGRID_WEBHOOK_PUBLIC_KEY is not an ECDSA key")
    try:
        key.verify(signature, (timestamp + raw).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise PermanentError("SendGrid event: signature does not verify") from None


def _sendgrid_events(body: Any) -> list[StatusEvent]:
    if not isinstance(body, list):
        raise PermanentError("SendGrid event: expected a JSON array of events")
    events = []
    for item in body:
        event = str(item.get("event", ""))
        kind = {
            "delivered": "delivered",
            "dropped": "failed",
            "spamreport": "complained",
            "unsubscribe": "unsubscribed",
            "group_unsubscribe": "unsubscribed",
            "deferred": "deferred",
        }.get(event, "other")
        if event == "bounce":
            kind = "failed" if item.get("type") == "blocked" else "bounced"
        events.append(
            StatusEvent(
                event_id=str(item.get("sg_event_id") or f"{item.get('timestamp')}:{event}:{item.get('email')}"),
                kind=kind,
                email=item.get("email"),
                delivery_key=item.get("delivery_key"),
                provider_message_id=str(item.get("sg_message_id") or "").split(".")[0] or None,
                detail=" ".join(
                    str(x)
                    for x in ("sendgrid", event, item.get("type"), item.get("reason") or item.get("response"))
                    if x
                ),
            )
        )
    return events


def _find_delivery(session: Session, event: StatusEvent) -> Delivery | None:
    if event.delivery_key:
        found = session.scalar(select(Delivery).where(Delivery.idempotency_key == event.delivery_key))
        if found is not None:
            return found
    if event.provider_message_id and event.email:
        query = select(Delivery).where(
            Delivery.provider_message_id.in_([event.provider_message_id, f"<{event.provider_message_id}>"]),
            Delivery.target == event.email,
        )
        return session.scalar(query.limit(1))
    return None


def _suppress(session: Session, email: str | None, reason: str, provider: str) -> None:
    if not email:
        return
    address = email.lower()
    if session.get(EmailSuppression, address) is None:
        session.add(EmailSuppression(email=address, reason=reason, source=provider))
        session.flush()


def _apply(session: Session, provider: str, event: StatusEvent) -> str:
    if session.scalar(
        select(ProviderEvent.id).where(ProviderEvent.provider == provider, ProviderEvent.event_id == event.event_id)
    ):
        return "duplicate"
    delivery = _find_delivery(session, event)
    session.add(
        ProviderEvent(
            provider=provider,
            event_id=event.event_id,
            kind=event.kind,
            provider_message_id=event.provider_message_id,
            delivery_id=delivery.id if delivery else None,
        )
    )
    if event.kind == "bounced":
        _suppress(session, event.email, "bounce", provider)
    elif event.kind in ("complained", "unsubscribed"):
        _suppress(session, event.email, "complaint" if event.kind == "complained" else "unsubscribe", provider)
    if delivery is None:
        return "unmatched"
    new_status = {
        "delivered": DeliveryStatus.DELIVERED,
        "bounced": DeliveryStatus.BOUNCED,
        "failed": DeliveryStatus.FAILED,
    }.get(event.kind)
    if new_status == "delivered" and delivery.status not in ("sent", "delivered"):
        new_status = None  # a late "delivered" never undoes a bounce
    if new_status:
        delivery.status = new_status
        if new_status != "delivered":
            delivery.error = event.detail
    session.add(
        DeliveryAttempt(
            delivery_id=delivery.id,
            attempt=0,
            status=event.kind,
            provider=provider,
            provider_message_id=event.provider_message_id,
            error=None if event.kind == "delivered" else event.detail,
        )
    )
    return event.kind


def process_provider_event(provider: str, body: Any, headers: dict[str, str] | None = None) -> dict[str, int]:
    if isinstance(body, str):
        if provider == "sendgrid":
            _verify_sendgrid(body, headers or {})
        try:
            body = json.loads(body)
        except ValueError:
            raise PermanentError(f"{provider} event: body is not JSON") from None
    elif provider == "sendgrid" and notifications_settings().sendgrid_webhook_public_key:
        raise PermanentError("SendGrid event: signature checking needs the raw body as a string")
    events = _mailgun_events(body) if provider == "mailgun" else _sendgrid_events(body)
    summary: dict[str, int] = {}
    with session_scope() as session:
        for event in events:
            result = _apply(session, provider, event)
            summary[result] = summary.get(result, 0) + 1
    logger.info("%s events applied: %s", provider, summary)
    return summary
