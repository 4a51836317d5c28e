"""SMS: numbers validated as E.164; Twilio's Messages API, or an outbox folder (the default).

Twilio-compatible: ``POST /2010-04-01/Accounts/<sid>/Messages.json`` with ``To``, ``From``,
``Body`` and basic auth, answering 201 with the message ``sid``.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from odyssey_workers.providers.httpapi import provider_client, raise_for_outcome, request
from odyssey_workers.providers.outcomes import InvalidAddress, Sent
from odyssey_workers.providers.push_common import JsonOutbox

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_BODY_CHARS = 1600  # Twilio's limit for one message (it splits into segments itself)


def check_e164(number: str) -> str:
    """The number, or InvalidAddress saying why it is not E.164 (``+`` and 7-15 digits)."""
    compact = number.strip()
    if not E164.match(compact):
        raise InvalidAddress(
            f"invalid phone number {number!r}: expected E.164, a '+' then 7 to 15 digits, as +14155550123"
        )
    return compact


class SmsOutbox(JsonOutbox):
    def __init__(self, folder: Path) -> None:
        super().__init__(folder, "sms")

    def send(self, to: str, body: str, key: str) -> Sent:
        return self.write(key, {"to": check_e164(to), "body": body[:MAX_BODY_CHARS], "key": key})


class TwilioSms:
    name = "twilio"

    def __init__(
        self,
        api_base: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        timeout: float = 10.0,
        ca_file: Path | str | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.from_number = check_e164(from_number)
        self.client = client or provider_client(timeout, ca_file)

    def close(self) -> None:
        self.client.close()

    def send(self, to: str, body: str, key: str) -> Sent:
        form = {"To": check_e164(to), "From": self.from_number, "Body": body[:MAX_BODY_CHARS]}
        response = request(self.client, "POST", self.url, "Twilio", data=form, auth=self.auth)
        raise_for_outcome(response, "Twilio")
        return Sent(message_id=str(response.json().get("sid")), http_status=response.status_code)
