"""Email through SendGrid's v3 HTTP API (``POST /v3/mail/send``), up to 1,000 personalizations
per call. Each personalization has its own substitutions (escaped ones for the HTML part), its
own one-click unsubscribe headers and ``custom_args.delivery_key``, which event webhooks echo."""

from __future__ import annotations

from collections.abc import Sequence
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import httpx

from odyssey_workers.providers.batch import send_each, sent_or_raise
from odyssey_workers.providers.email_common import (
    EmailBatch,
    OutgoingEmail,
    Recipient,
    html_placeholders,
    send_in_chunks,
    unsubscribe_headers,
)
from odyssey_workers.providers.httpapi import provider_client, raise_for_outcome, request
from odyssey_workers.providers.outcomes import Outcome, Sent

MAX_PERSONALIZATIONS = 1000


class SendgridMailer:
    name = "sendgrid"

    def __init__(
        self,
        api_base: str,
        api_key: str,
        timeout: float = 10.0,
        ca_file: Path | str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = f"{api_base.rstrip('/')}/v3/mail/send"
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.client = client or provider_client(timeout, ca_file)

    def close(self) -> None:
        self.client.close()

    def send(self, mail: OutgoingEmail) -> Sent:
        return sent_or_raise(self.send_batch(EmailBatch.of_one(mail))[0])

    def send_many(self, mails: Sequence[OutgoingEmail]) -> list[Outcome]:
        return send_each(self.send, mails)

    def send_batch(self, batch: EmailBatch) -> list[Outcome]:
        return send_in_chunks(
            batch, MAX_PERSONALIZATIONS, self._post, lambda message_id: Sent(message_id=message_id, http_status=202)
        )

    def _personalization(self, r: Recipient) -> dict[str, Any]:
        substitutions = {f"%recipient.{k}%": v for k, v in r.values().items()}
        substitutions.update({f"%recipient.{k}_html%": v for k, v in r.values(html=True).items()})
        to: dict[str, str] = {"email": r.to}
        if r.name:
            to["name"] = r.name
        item: dict[str, Any] = {"to": [to], "substitutions": substitutions, "custom_args": {"delivery_key": r.key}}
        headers = unsubscribe_headers(r.unsubscribe_url)
        if headers:
            item["headers"] = headers
        return item

    def _post(self, batch: EmailBatch, recipients: list[Recipient]) -> str | None:
        name, address = parseaddr(batch.sender)
        sender: dict[str, str] = {"email": address}
        if name:
            sender["name"] = name
        body = {
            "personalizations": [self._personalization(r) for r in recipients],
            "from": sender,
            "subject": batch.subject,
            "content": [
                {"type": "text/plain", "value": batch.text},
                {"type": "text/html", "value": html_placeholders(batch.html)},
            ],
        }
        response = request(self.client, "POST", self.url, "SendGrid", json=body, headers=self.headers)
        raise_for_outcome(response, "SendGrid")
        message_id = response.headers.get("x-message-id")
        return str(message_id) if message_id else None
