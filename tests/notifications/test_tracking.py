"""Provider status callbacks: delivered, bounces and complaints (which suppress the address)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from jobs.notifications.deliver import deliver_to
from jobs.notifications.models import EmailSuppression, Notification
from jobs.notifications.send import send_deliveries
from jobs.notifications.tracking import process_provider_event
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PermanentError
from tests.notifications.conftest import attempts, deliveries, set_env

RECEIPT = {"amount_minor": 1200, "currency": "EUR", "description": "Gold tier"}


def sent_email(people, address: str = "gil@example.com") -> tuple[int, str]:
    uid = people(email=address)
    deliver_to("payment_success", [uid], RECEIPT, key=f"t-{address}")
    [row] = deliveries()
    send_deliveries([row.id])
    return uid, row.idempotency_key


def mailgun_event(
    key: str, event: str, severity: str | None = None, event_id: str = "ev1", signing_key: str = ""
) -> dict:
    body = {
        "event-data": {
            "id": event_id,
            "event": event,
            "recipient": "gil@example.com",
            "user-variables": {"delivery-key": key},
            "delivery-status": {"code": 550, "message": "mailbox does not exist"},
            **({"severity": severity} if severity else {}),
        }
    }
    if signing_key:
        token, timestamp = "tok", "1700000000"
        digest = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
        body["signature"] = {"timestamp": timestamp, "token": token, "signature": digest}
    return body


def suppressed() -> dict[str, str]:
    with session_scope() as session:
        return {s.email: s.reason for s in session.scalars(select(EmailSuppression))}


def test_delivered_event_marks_the_delivery_and_a_replayed_event_changes_nothing(db, people) -> None:
    _, key = sent_email(people)
    assert process_provider_event("mailgun", mailgun_event(key, "delivered")) == {"delivered": 1}
    assert process_provider_event("mailgun", mailgun_event(key, "delivered")) == {"duplicate": 1}
    [row] = deliveries()
    assert row.status == "delivered"
    assert [a.status for a in attempts(row.id)] == ["sent", "delivered"]


def test_hard_bounce_suppresses_the_address_for_later_notifications(db, people) -> None:
    uid, key = sent_email(people)
    process_provider_event("mailgun", mailgun_event(key, "failed", "permanent"))
    [row] = deliveries()
    assert row.status == "bounced" and "550" in row.error
    assert suppressed() == {"gil@example.com": "bounce"}
    deliver_to("payment_success", [uid], RECEIPT, key="after-bounce")
    with session_scope() as session:
        note = session.scalars(select(Notification).where(Notification.dedupe_key == "after-bounce")).one()
    assert note.outcome == "no_channel" and "email: address suppressed" in note.reason


def test_temporary_failure_is_recorded_without_changing_the_delivery(db, people) -> None:
    _, key = sent_email(people)
    process_provider_event("mailgun", mailgun_event(key, "failed", "temporary"))
    [row] = deliveries()
    assert row.status == "sent" and suppressed() == {}
    assert [a.status for a in attempts(row.id)] == ["sent", "deferred"]


def test_mailgun_event_with_a_wrong_signature_is_refused(db, people, monkeypatch) -> None:
    _, key = sent_email(people)
    set_env(monkeypatch, mailgun_webhook_signing_key="right-key")
    with pytest.raises(PermanentError, match="signature does not match"):
        process_provider_event("mailgun", mailgun_event(key, "failed", "permanent", signing_key="wrong-key"))
    assert deliveries()[0].status == "sent" and suppressed() == {}
    assert process_provider_event("mailgun", mailgun_event(key, "delivered", signing_key="right-key")) == {
        "delivered": 1
    }


def test_signed_sendgrid_spam_report_suppresses_and_a_tampered_one_is_refused(db, people, monkeypatch) -> None:
    _, key = sent_email(people)
    private = ec.generate_private_key(ec.SECP256R1())
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    set_env(monkeypatch, sendgrid_webhook_public_key=public_pem)
    raw = json.dumps([{"email": "gil@example.com", "event": "spamreport", "sg_event_id": "sg1", "delivery_key": key}])
    timestamp = "1700000000"
    signature = base64.b64encode(private.sign((timestamp + raw).encode(), ec.ECDSA(hashes.SHA256()))).decode()
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }
    with pytest.raises(PermanentError, match="does not verify"):
        process_provider_event("sendgrid", raw.replace("spamreport", "delivered"), headers)
    assert suppressed() == {}
    assert process_provider_event("sendgrid", raw, headers) == {"complained": 1}
    assert suppressed() == {"gil@example.com": "complaint"}
