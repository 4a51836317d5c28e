"""Amplitude through its HTTP V2 API (``/2/httpapi``): 2,000 events under 1 MB a request, 30 a second per device.

One request: ``{"api_key", "events", "options": {"min_id_length": 1}}`` (platform user ids are
short numbers; Amplitude's default minimum is 5 characters). Each event has ``insert_id`` (the
producer's id; Amplitude ignores a repeat within 7 days), ``user_id`` and/or ``device_id`` and
``time`` in milliseconds.

Limits (Amplitude's, for the HTTP V2 API): 2,000 events and under 1 MB a request; 30 events a
second for each user or device, else 429 naming the throttled ones, and a pause (30 s, as
Amplitude asks: ``AMPLITUDE_THROTTLE_PAUSE_SECONDS``) before sending again. A request holds at
most 30 events of one user or device, and sends are paced so a run stays within the 30 a second
on its own (a 429 then comes only from other senders' events of the same user or device).
A 400 names bad events by index (``events_with_invalid_fields``, ``events_with_missing_fields``);
those are dropped and the rest sent again (Amplitude stored none of that request).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from odyssey_workers.providers.tracker_base import (
    Answer,
    BadEvents,
    Busy,
    Limits,
    OutgoingEvent,
    Prepared,
    Tracker,
    compact_json,
)
from odyssey_workers.providers.tracker_http import common_answer, json_body, send, tracker_client

LIMITS = Limits(max_events=2000, max_bytes=1_000_000)

EVENTS_PER_SECOND = 30
"""Amplitude's HTTP V2 throttle, per user and per device."""

NAMED_FIELDS = ("events_with_invalid_fields", "events_with_missing_fields")


def identities(item: dict[str, Any]) -> list[str]:
    """The user and device an event counts against in Amplitude's throttle."""
    found = []
    if "user_id" in item:
        found.append(f"user:{item['user_id']}")
    if "device_id" in item:
        found.append(f"device:{item['device_id']}")
    return found


class EventPacer:
    """Keeps each identity at ``rate`` events in any one-second window, sleeping when it must."""

    def __init__(
        self,
        rate: int = EVENTS_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self.sent: deque[tuple[float, dict[str, int]]] = deque()  # (when, events per identity)

    def _in_window(self, now: float) -> dict[str, int]:
        while self.sent and self.sent[0][0] <= now - 1.0:
            self.sent.popleft()
        totals: dict[str, int] = {}
        for _when, counts in self.sent:
            for identity, count in counts.items():
                totals[identity] = totals.get(identity, 0) + count
        return totals

    def wait_for(self, counts: dict[str, int]) -> None:
        """Sleep until sending ``counts`` more keeps every identity within the rate."""
        while True:
            now = self.clock()
            totals = self._in_window(now)
            if not self.sent or all(totals.get(identity, 0) + count <= self.rate for identity, count in counts.items()):
                return
            self.sleep(max(self.sent[0][0] + 1.0 - now, 0.001))

    def note(self, counts: dict[str, int]) -> None:
        """Count events the provider took, from now: it counted them when they arrived, so noting
        them only once it answered keeps this window from ending before the provider's does."""
        self.sent.append((self.clock(), counts))


def identity_counts(items: Sequence[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        for identity in identities(item):
            counts[identity] = counts.get(identity, 0) + 1
    return counts


class AmplitudeTracker(Tracker):
    name = "amplitude"
    limits = LIMITS
    max_per_identity = EVENTS_PER_SECOND  # so a request never breaks the rate alone

    def __init__(self, api_key: str, url: str, timeout: float, throttle_pause: float) -> None:
        self.api_key = api_key
        self.url = url
        self.throttle_pause = throttle_pause
        self.client = tracker_client(timeout)
        self.pacer = EventPacer()
        envelope = {"api_key": api_key, "events": [], "options": {"min_id_length": 1}}
        self.envelope_bytes = len(compact_json(envelope).encode())

    def prepare(self, event: OutgoingEvent) -> Prepared:
        item: dict[str, Any] = {
            "event_type": event.name,
            "time": int(event.occurred_at.timestamp() * 1000),
            "insert_id": event.insert_id,
            "event_properties": event.properties,
        }
        if event.user_id is not None:
            item["user_id"] = str(event.user_id)
        if event.anonymous_id is not None:
            item["device_id"] = event.anonymous_id
        country = event.properties.get("country")
        if isinstance(country, str):
            item["country"] = country
        size = len(compact_json(item).encode()) + 1
        return Prepared(event=event, item=item, size=size, identities=tuple(identities(item)))

    def pace(self, items: Sequence[Prepared]) -> None:
        # A request holds at most the rate of each identity (max_per_identity), so this wait ends.
        self.pacer.wait_for(identity_counts([entry.item for entry in items]))

    def post(self, items: Sequence[Any]) -> Answer:
        body = compact_json({"api_key": self.api_key, "events": list(items), "options": {"min_id_length": 1}})
        response = send(
            self.client, "Amplitude", self.url, content=body.encode(), headers={"content-type": "application/json"}
        )
        if not isinstance(response, httpx.Response):
            return response
        if response.is_success:
            self.pacer.note(identity_counts(items))
        if response.status_code == 400:
            return self._bad_events(response)
        if response.status_code == 429:
            answer = json_body(response)
            throttled = {
                key: answer[key]
                for key in ("throttled_devices", "throttled_users", "exceeded_daily_quota_devices")
                if answer.get(key)
            }
            return Busy(f"Amplitude throttled {throttled or 'the request'} (HTTP 429)", self.throttle_pause)
        return common_answer(response, "Amplitude")

    def _bad_events(self, response: httpx.Response) -> Answer:
        body = json_body(response)
        reasons: dict[int, str] = {}
        for kind in NAMED_FIELDS:
            by_field = body.get(kind)
            if not isinstance(by_field, dict):
                continue
            for field_name, indices in by_field.items():
                for index in indices if isinstance(indices, list) else []:
                    if isinstance(index, int):
                        what = "invalid" if kind == "events_with_invalid_fields" else "missing"
                        reasons.setdefault(index, f"Amplitude: {field_name} {what}")
        return BadEvents(reasons) if reasons else common_answer(response, "Amplitude")

    def close(self) -> None:
        self.client.close()
