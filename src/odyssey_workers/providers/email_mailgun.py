"""Email through Mailgun's HTTP API, batch sending with recipient variables.

One ``POST /v3/<domain>/messages`` carries up to 1,000 recipients: the rendered message keeps
its ``%recipient.name%`` holes and Mailgun fills them from ``recipient-variables``, so each
recipient sees only their own address. ``v:delivery-key`` comes back in event webhooks and ties
each event to its delivery.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import httpx

from odyssey_workers.providers.batch import send_each, sent_or_raise
from odyssey_workers.providers.email_common import (
    EmailBatch,
    OutgoingEmail,
    Recipient,
    html_placeholders,
    send_in_chunks,
)
from odyssey_workers.providers.httpapi import provider_client, raise_for_outcome, request
from odyssey_workers.providers.outcomes import Outcome, Sent

MAX_BATCH = 1000


class MailgunMailer:
    name = "mailgun"

    def __init__(
        self,
        api_base: str,
        domain: str,
        api_key: str,
        timeout: float = 10.0,
        ca_file: Path | str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = f"{api_base.rstrip('/')}/v3/{domain}/messages"
        self.auth = ("api", api_key)
        self.client = client or provider_client(timeout, ca_file)

    def close(self) -> None:
        self.client.close()

    def send(self, mail: OutgoingEmail) -> Sent:
        return sent_or_raise(self.send_batch(EmailBatch.of_one(mail))[0])

    def send_many(self, mails: Sequence[OutgoingEmail]) -> list[Outcome]:
        return send_each(self.send, mails)

    def send_batch(self, batch: EmailBatch) -> list[Outcome]:
        return send_in_chunks(batch, MAX_BATCH, self._post, lambda message_id: Sent(message_id=message_id))

    def _post(self, batch: EmailBatch, recipients: list[Recipient]) -> str | None:
        variables = {
            r.to: {**r.values(), **{f"{k}_html": v for k, v in r.values(html=True).items()}, "key": r.key}
            for r in recipients
        }
        form: dict[str, str | list[str]] = {
            "from": batch.sender,
            "to": [r.to for r in recipients],  # each sees only their own address (recipient-variables)
            "subject": batch.subject,
            "text": batch.text,
            "html": html_placeholders(batch.html),
            "recipient-variables": json.dumps(variables),
            "v:delivery-key": "%recipient.key%",
            "h:List-Unsubscribe": "<%recipient.unsubscribe_url%>",
            "h:List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        response = request(self.client, "POST", self.url, "Mailgun", data=form, auth=self.auth)
        raise_for_outcome(response, "Mailgun")
        try:
            body = response.json()
        except ValueError:
            return None
        return str(body.get("id")) if isinstance(body, dict) and body.get("id") else None
