"""One-click unsubscribe headers reach parsers as a plain ``<URL>``; SMTP and outbox mail is DKIM-signed."""

from __future__ import annotations

import base64
import email
import re
from email import policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import dkim
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jobs.notifications import channels
from jobs.notifications.deliver import deliver_to
from jobs.notifications.links import verify_token
from jobs.notifications.settings import NotificationsSettings
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.providers.email_common import fold_at_whitespace
from tests.notifications.conftest import deliveries, drain, set_env
from tests.notifications.test_email_providers import RECEIPT, Inbox
from tests.support.servers import free_port

SELECTOR, DOMAIN = "mail2026", "odyssey.local"


@pytest.fixture(scope="module")
def dkim_key() -> tuple[str, bytes]:
    """(private key PEM, the TXT record a receiver would find at mail2026._domainkey.odyssey.local)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def dns_with(record: bytes):  # dkimpy's dnsfunc shape: (name, timeout) -> TXT bytes
    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() else None

    return lookup


def outbox_files(folder: Path) -> list[Path]:
    return sorted((folder / "email").glob("*.eml"))


def signed_headers(raw: bytes) -> list[str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    tags = dict(
        part.strip().split("=", 1) for part in "".join(str(message["DKIM-Signature"]).split()).split(";") if part
    )
    return tags["h"].lower().split(":")


def test_long_list_unsubscribe_is_folded_without_encoding_and_parses_as_a_url(
    db, people, tmp_path, monkeypatch
) -> None:
    set_env(monkeypatch, notifications_outbox_dir=str(tmp_path))  # default UNSUBSCRIBE_BASE_URL: a long URL
    uid = people(email="lena@example.com")
    deliver_to("payment_success", [uid], RECEIPT, key="fold1")
    drain()
    [eml] = outbox_files(tmp_path)
    raw = eml.read_bytes()
    [header_line] = [line for line in raw.split(b"\n") if line.startswith(b"List-Unsubscribe:")]
    assert b"=?" not in header_line and len(header_line) > 78  # one unbroken <URL>, as RFC 2369 wants
    value = email.message_from_bytes(raw, policy=policy.default)["List-Unsubscribe"]
    assert re.fullmatch(r"<[^<>\s]+>", str(value))
    url = urlsplit(str(value)[1:-1])
    assert url.scheme == "http" and url.path == "/notifications/unsubscribe"
    assert verify_token(parse_qs(url.query)["token"][0]) == (uid, "payments")
    assert deliveries()[0].status == "sent"


def test_several_unsubscribe_urls_fold_at_the_space_after_a_comma_never_inside_a_url() -> None:
    value = "<mailto:unsubscribe@odyssey.local?subject=unsubscribe>, <https://odyssey.example/u?token=" + "x" * 90 + ">"
    folded = fold_at_whitespace("List-Unsubscribe", value, 78, "\r\n")
    lines = folded.split("\r\n")[:-1]
    first = "List-Unsubscribe: <mailto:unsubscribe@odyssey.local?subject=unsubscribe>,"
    assert lines == [first, " " + value.split()[1]]
    assert str(email.message_from_string(folded + "\r\n", policy=policy.default)["List-Unsubscribe"]) == value


def test_outbox_mail_is_dkim_signed_over_both_unsubscribe_headers(db, people, tmp_path, monkeypatch, dkim_key) -> None:
    pem, record = dkim_key
    set_env(monkeypatch, notifications_outbox_dir=str(tmp_path), dkim_selector=SELECTOR, dkim_private_key=pem)
    deliver_to("payment_success", [people(email="ode@example.com")], RECEIPT, key="dkim1")
    drain()
    [eml] = outbox_files(tmp_path)
    raw = eml.read_bytes()
    assert dkim.verify(raw, dnsfunc=dns_with(record))
    assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= set(
        signed_headers(raw)
    )
    forged = re.sub(rb"(List-Unsubscribe: <)http://[^>]+", rb"\1https://attacker.example/x", raw)
    assert forged != raw and not dkim.verify(forged, dnsfunc=dns_with(record))


def test_smtp_mail_arrives_with_a_signature_that_verifies(db, people, monkeypatch, dkim_key) -> None:
    pem, record = dkim_key
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        set_env(
            monkeypatch,
            email_provider="smtp",
            smtp_url=f"smtp+plain://127.0.0.1:{controller.port}",
            dkim_selector=SELECTOR,
            dkim_private_key=pem,
        )
        deliver_to("payment_success", [people(email="sam@example.com")], RECEIPT, key="dkim2")
        drain()
    finally:
        controller.stop()
    [(raw, _, rcpts)] = inbox.messages
    assert rcpts == ["sam@example.com"]
    assert dkim.verify(raw, dnsfunc=dns_with(record))
    assert "list-unsubscribe-post" in signed_headers(raw)
    message = email.message_from_bytes(raw, policy=policy.default)
    assert str(message["List-Unsubscribe"]).startswith("<http://localhost:8000/notifications/unsubscribe?token=")
    assert deliveries()[0].status == "sent"


def test_without_a_dkim_key_mail_goes_unsigned(db, people, tmp_path, monkeypatch) -> None:
    set_env(monkeypatch, notifications_outbox_dir=str(tmp_path))
    deliver_to("payment_success", [people()], RECEIPT, key="dkim3")
    drain()
    [eml] = outbox_files(tmp_path)
    assert b"DKIM-Signature" not in eml.read_bytes() and channels.dkim_signer(NotificationsSettings()) is None


def test_dkim_key_without_a_selector_or_an_unusable_key_is_a_configuration_error(dkim_key) -> None:
    with pytest.raises(ConfigurationError, match="DKIM_PRIVATE_KEY is set but DKIM_SELECTOR is not"):
        channels.dkim_signer(NotificationsSettings(dkim_private_key=dkim_key[0]))
    with pytest.raises(ConfigurationError, match="DKIM_PRIVATE_KEY: not a usable RSA private key"):
        unusable = NotificationsSettings(dkim_selector=SELECTOR, dkim_private_key="-----BEGIN PRIVATE KEY-----\nnope")
        channels.dkim_signer(unusable)
