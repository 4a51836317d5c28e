"""Mixpanel through its ``/import`` endpoint, in the official SDK's event shape.

Each event is built by the ``mixpanel`` package itself (``Mixpanel.import_data`` into a consumer
that keeps what it is given), so token, ``distinct_id``, ``time``, ``$insert_id`` and the library
properties are exactly what the SDK would send. The request is the SDK consumer's too (form field
``data`` holding a JSON array, ``verbose=1``, ``ip=0``, the API secret as basic-auth user), sent
here rather than through the SDK because its consumer reads no per-event failure and cannot split
a batch: this sender adds ``strict=1``, so a 400 names each bad event (``failed_records``).

Limits (Mixpanel's): 2,000 events and 10 MB a request.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

import httpx
from mixpanel import Mixpanel

from odyssey_workers.providers.tracker_base import Answer, BadEvents, Limits, OutgoingEvent, Prepared, Tracker
from odyssey_workers.providers.tracker_http import common_answer, json_body, send, tracker_client

LIMITS = Limits(max_events=2000, max_bytes=10 * 1024 * 1024)

INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")
"""Mixpanel's rule for ``$insert_id``: at most 36 letters, digits or dashes."""

FORM_TAIL = "&verbose=1&ip=0"


def insert_id_for(event_id: str) -> str:
    """The event's id when Mixpanel takes it as ``$insert_id``, else a stable 32-hex digest of it."""
    return event_id if INSERT_ID.match(event_id) else hashlib.sha256(event_id.encode()).hexdigest()[:32]


def distinct_id_for(event: OutgoingEvent) -> str:
    return str(event.user_id) if event.user_id is not None else str(event.anonymous_id)


class _Keep:
    """A consumer that keeps the message the SDK built instead of sending it."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def send(self, endpoint: str, json_message: str, api_key: Any = None, api_secret: Any = None) -> None:
        self.messages.append(json_message)


class MixpanelTracker(Tracker):
    name = "mixpanel"
    limits = LIMITS
    envelope_bytes = len("data=") + len(quote_plus("[]")) + len(FORM_TAIL)

    def __init__(self, token: str, api_secret: str, import_url: str, timeout: float) -> None:
        self.api_secret = api_secret
        self.url = import_url
        self._kept = _Keep()
        self._sdk = Mixpanel(token, consumer=self._kept)
        self.client = tracker_client(timeout)

    def build(self, event: OutgoingEvent) -> dict[str, Any]:
        """The event as the SDK's ``import_data`` makes it."""
        properties: dict[str, Any] = dict(event.properties)
        properties["$insert_id"] = insert_id_for(event.insert_id)
        if event.user_id is not None:
            properties["$user_id"] = str(event.user_id)
        if event.anonymous_id is not None:
            properties["$device_id"] = event.anonymous_id
        milliseconds = int(event.occurred_at.timestamp() * 1000)
        self._sdk.import_data(
            None, distinct_id_for(event), event.name, milliseconds, properties, api_secret=self.api_secret
        )
        built: dict[str, Any] = json.loads(self._kept.messages.pop())
        return built

    def prepare(self, event: OutgoingEvent) -> Prepared:
        item = self.build(event)
        text = json.dumps(item, separators=(",", ":"))  # the SDK's own JSON form
        return Prepared(event=event, item=text, size=len(quote_plus(text)) + len(quote_plus(",")))

    def post(self, items: Sequence[Any]) -> Answer:
        form = {"data": "[" + ",".join(items) + "]", "verbose": "1", "ip": "0"}
        response = send(
            self.client, "Mixpanel", self.url, params={"strict": "1"}, data=form, auth=(self.api_secret, "")
        )
        if not isinstance(response, httpx.Response):
            return response
        if response.status_code == 400:
            return self._bad_events(response, len(items))
        return common_answer(response, "Mixpanel")

    def _bad_events(self, response: httpx.Response, count: int) -> Answer:
        body = json_body(response)
        failed = body.get("failed_records")
        if not isinstance(failed, list) or not failed:
            return common_answer(response, "Mixpanel")
        reasons = {
            record["index"]: f"Mixpanel: {record.get('field', '?')}: {record.get('message', 'invalid')}"
            for record in failed
            if isinstance(record, dict) and isinstance(record.get("index"), int)
        }
        # strict mode imports the valid records of a request it answers 400; their count says so.
        others_taken = body.get("num_records_imported") == count - len(reasons)
        return BadEvents(reasons, others_taken=others_taken) if reasons else common_answer(response, "Mixpanel")

    def close(self) -> None:
        self.client.close()
