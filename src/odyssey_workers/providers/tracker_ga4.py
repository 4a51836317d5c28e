"""GA4 through the Measurement Protocol (``/mp/collect``).

One request is one client: ``{"client_id", "user_id", "events": [{"name", "params",
"timestamp_micros"}]}``, so consecutive events of one visitor go together. ``client_id`` is the
event's anonymous id, else ``odyssey-user-<user_id>`` (GA4 requires one). GA4 keeps no insert id
to deduplicate by, so exactly-once rests on the cursor: it moves after each request.

Event names are the event types, except ``session_start``, a name GA4 reserves for itself, sent
as ``odyssey_session_start``. Parameters: the event's context first (content, creator, session,
country, device), then its properties by key, each kept only if GA4 takes it (``ga4_rules``).
Limits (GA4's): 25 events and under 130 kB a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from odyssey_workers.providers import tracker_ga4_rules as ga4_rules
from odyssey_workers.providers.tracker_base import Answer, Limits, OutgoingEvent, Prepared, Tracker, compact_json
from odyssey_workers.providers.tracker_http import common_answer, send, tracker_client

LIMITS = Limits(max_events=ga4_rules.MAX_EVENTS, max_bytes=ga4_rules.MAX_BODY_BYTES)

RENAMED = {"session_start": "odyssey_session_start"}
"""Event types whose own name GA4 reserves."""

CONTEXT_KEYS = ("content_id", "creator_id", "session_id", "country", "device")


def client_for(event: OutgoingEvent) -> tuple[str, str | None]:
    """The (client_id, user_id) a request of this event's visitor carries."""
    user = None if event.user_id is None else str(event.user_id)
    return (event.anonymous_id or f"odyssey-user-{event.user_id}", user)


def ga4_event(event: OutgoingEvent) -> dict[str, Any]:
    properties = event.properties
    ordered = [(key, properties[key]) for key in CONTEXT_KEYS if key in properties]
    ordered += sorted((key, value) for key, value in properties.items() if key not in CONTEXT_KEYS)
    return {
        "name": RENAMED.get(event.name, event.name),
        "params": ga4_rules.clean_params(ordered),
        "timestamp_micros": int(event.occurred_at.timestamp() * 1_000_000),
    }


def request_body(client: tuple[str, str | None], events: Sequence[Any]) -> dict[str, Any]:
    client_id, user_id = client
    body: dict[str, Any] = {"client_id": client_id}
    if user_id is not None:
        body["user_id"] = user_id
    body["events"] = list(events)
    return body


class Ga4Tracker(Tracker):
    name = "ga4"
    limits = LIMITS

    def __init__(self, measurement_id: str, api_secret: str, url: str, timeout: float) -> None:
        self.params = {"measurement_id": measurement_id, "api_secret": api_secret}
        self.url = url
        self.client = tracker_client(timeout)
        self.now: datetime = datetime.now(UTC)

    def prepare(self, event: OutgoingEvent) -> Prepared | str:
        item = ga4_event(event)
        problem = ga4_rules.event_problem(item["name"], event.occurred_at, self.now)
        if problem:
            return f"GA4 would discard it: {problem}"
        client = client_for(event)
        # The envelope (client and user ids) counts once per request: with each event, to be safe.
        size = len(compact_json(item).encode()) + 1 + len(compact_json(request_body(client, [])).encode())
        return Prepared(event=event, item={"client": client, "event": item}, size=size, group=client)

    def post(self, items: Sequence[Any]) -> Answer:
        body = request_body(items[0]["client"], [item["event"] for item in items])
        response = send(
            self.client,
            "GA4",
            self.url,
            params=self.params,
            content=compact_json(body).encode(),
            headers={"content-type": "application/json"},
        )
        if not isinstance(response, httpx.Response):
            return response
        return common_answer(response, "GA4")

    def close(self) -> None:
        self.client.close()
