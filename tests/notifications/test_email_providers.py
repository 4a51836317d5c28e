"""Email through real loopback servers: SMTP with STARTTLS (aiosmtpd), Mailgun and SendGrid APIs."""

from __future__ import annotations

import email
import json
import time
from email import policy

from aiosmtpd.controller import Controller

from jobs.notifications.deliver import deliver_to
from tests.notifications.conftest import attempts, deliveries, drain, set_env
from tests.notifications.loopback import json_reply, server_tls
from tests.support.servers import free_port

RECEIPT = {"amount_minor": 1999, "currency": "EUR", "description": "Gold <tier>"}


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[bytes, bool, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.content, session.ssl is not None, list(envelope.rcpt_tos)))
        return "250 OK"


def smtp_server(tls=None) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), tls_context=tls, require_starttls=tls is not None
    )
    controller.start()
    return controller, inbox


def test_smtp_with_starttls_delivers_a_multipart_mail_the_server_can_parse(db, people, cert, monkeypatch) -> None:
    controller, inbox = smtp_server(server_tls(*cert))
    try:
        set_env(
            monkeypatch,
            email_provider="smtp",
            smtp_url=f"smtp://127.0.0.1:{controller.port}",
            notifications_ca_file=str(cert[0]),
        )
        uid = people(email="hal@example.com", display_name="Hal")
        deliver_to("payment_success", [uid], RECEIPT, key="smtp1")
        drain()
    finally:
        controller.stop()
    [(raw, over_tls, rcpts)] = inbox.messages
    assert over_tls and rcpts == ["hal@example.com"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "Payment received: 19.99 EUR"
    assert message.get_body(("plain",)).get_content().startswith("Hi Hal,")
    assert "Gold &lt;tier&gt;" in message.get_body(("html",)).get_content()
    assert message["List-Unsubscribe"].startswith("<http") and message["Message-ID"]
    [row] = deliveries()
    assert row.status == "sent" and row.provider == "smtp" and row.provider_message_id == message["Message-ID"]


def test_smtp_server_without_starttls_is_refused_not_sent_in_plain_text(db, people, monkeypatch) -> None:
    controller, inbox = smtp_server(tls=None)
    try:
        set_env(monkeypatch, email_provider="smtp", smtp_url=f"smtp://127.0.0.1:{controller.port}")
        deliver_to("payment_success", [people()], RECEIPT, key="smtp2")
        drain()
    finally:
        controller.stop()
    assert inbox.messages == []
    [row] = deliveries()
    assert row.status == "failed" and "does not offer STARTTLS" in row.error and row.attempts == 1


def mailgun_env(monkeypatch, url: str) -> None:
    set_env(
        monkeypatch,
        email_provider="mailgun",
        mailgun_api_base=url,
        mailgun_domain="mg.odyssey.test",
        mailgun_api_key="key-123",
        notifications_provider_timeout_seconds="0.5",
    )


def test_mailgun_batch_sends_one_call_with_recipient_variables(db, people, stub, monkeypatch) -> None:
    api = stub(lambda r: json_reply(200, {"id": "<batch1@mg.odyssey.test>", "message": "Queued. Thank you."}))
    mailgun_env(monkeypatch, api.url)
    fans = [people(display_name=f"F<{n}>") for n in range(3)]
    deliver_to("payment_success", fans, RECEIPT, key="mg1")
    drain()
    [call] = api.requests
    assert call.path == "/v3/mg.odyssey.test/messages"
    assert call.headers["authorization"].startswith("Basic ")
    form = call.form()
    tos = [v for k, v in form if k == "to"]
    variables = json.loads(dict(form)["recipient-variables"])
    assert len(tos) == 3 and set(variables) == set(tos)
    assert variables[tos[0]]["name"] == "F<0>" and variables[tos[0]]["name_html"] == "F&lt;0&gt;"
    assert "%recipient.name_html%" in dict(form)["html"] and "%recipient.name%" in dict(form)["text"]
    assert dict(form)["h:List-Unsubscribe"] == "<%recipient.unsubscribe_url%>"
    assert dict(form)["v:delivery-key"] == "%recipient.key%"
    rows = deliveries()
    assert {(d.status, d.provider_message_id) for d in rows} == {("sent", "<batch1@mg.odyssey.test>")}


def test_mailgun_4xx_fails_at_once_without_retry(db, people, stub, monkeypatch) -> None:
    api = stub(lambda r: json_reply(400, {"message": "'to' parameter is not a valid address"}))
    mailgun_env(monkeypatch, api.url)
    deliver_to("payment_success", [people()], RECEIPT, key="mg2")
    drain()
    [row] = deliveries()
    assert row.status == "failed" and row.attempts == 1 and "HTTP 400" in row.error
    assert len(api.requests) == 1


def test_mailgun_5xx_and_timeout_are_retried_then_sent_once(db, people, stub, monkeypatch) -> None:
    answers = iter(["500", "hang", "ok"])

    def flaky(request):
        answer = next(answers)
        if answer == "hang":
            time.sleep(1.5)  # past the 0.5 s provider timeout
        if answer == "500":
            return json_reply(500, {"message": "internal"})
        return json_reply(200, {"id": "<late@mg>", "message": "Queued"})

    api = stub(flaky)
    mailgun_env(monkeypatch, api.url)
    deliver_to("payment_success", [people()], RECEIPT, key="mg3")
    drain()
    [row] = deliveries()
    assert row.status == "sent" and row.attempts == 3 and row.provider_message_id == "<late@mg>"
    history = attempts(row.id)
    assert [a.status for a in history] == ["failed", "failed", "sent"]
    assert history[0].http_status == 500 and "timed out" in history[1].error


def test_sendgrid_personalizes_each_recipient_and_records_the_message_id(db, people, stub, monkeypatch) -> None:
    api = stub(lambda r: (202, {"x-message-id": "sg-abc"}, b""))
    set_env(monkeypatch, email_provider="sendgrid", sendgrid_api_base=api.url, sendgrid_api_key="SG.key")
    fans = [people(display_name="Ivy & co"), people(display_name="Jo")]
    deliver_to("payment_success", fans, RECEIPT, key="sg1")
    drain()
    [call] = api.requests
    assert call.path == "/v3/mail/send" and call.headers["authorization"] == "Bearer SG.key"
    body = call.json()
    first = body["personalizations"][0]
    assert first["substitutions"]["%recipient.name%"] == "Ivy & co"
    assert first["substitutions"]["%recipient.name_html%"] == "Ivy &amp; co"
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert first["custom_args"]["delivery_key"] == deliveries()[0].idempotency_key
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert {(d.status, d.provider_message_id) for d in deliveries()} == {("sent", "sg-abc")}
