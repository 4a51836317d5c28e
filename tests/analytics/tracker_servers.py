"""Loopback stand-ins for Mixpanel ``/import``, Amplitude's HTTP V2 API and GA4's Measurement
Protocol (collect and debug), each refusing what the real service refuses.

Written from the providers' documentation, not from the code under test (nothing here imports
``jobs.analytics.trackers``), so a tracker that breaks a provider's rule is caught here.
Each answerer keeps what the provider would have stored (deduplicated by insert id where the
provider deduplicates), and takes ``script``: statuses to answer next, one per request, before
any rule is checked (``"down"`` forever answers 503), to play 429s, 5xx and outages.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from typing import Any

from tests.support.recording_http import Answer, RecordedRequest

DOWN = 503


class Scripted:
    """Statuses to answer before the rules, one per request; ``down`` answers 503 to every request."""

    def __init__(self) -> None:
        self.script: deque[int] = deque()
        self.down = False
        self.lock = threading.Lock()
        self.requests = 0

    def scripted(self) -> int | None:
        with self.lock:
            self.requests += 1
            if self.down:
                return DOWN
            return self.script.popleft() if self.script else None


# --- Mixpanel /import -------------------------------------------------------------------------
MIXPANEL_MAX_EVENTS = 2000
MIXPANEL_MAX_BYTES = 10 * 1024 * 1024
MIXPANEL_MAX_PROPERTIES = 255
MIXPANEL_INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


class MixpanelImport(Scripted):
    """POST /import: basic auth with the project secret, ``data`` a JSON array (form field), at
    most 2,000 events and 10 MB; each event needs ``event``, a ``time``, a ``distinct_id``, an
    ``$insert_id`` (36 letters, digits or dashes) and fewer than 256 properties. ``strict=1``
    answers 400 with ``failed_records`` and imports the rest; without it the SDK's verbose answer."""

    def __init__(self, token: str, secret: str) -> None:
        super().__init__()
        self.token, self.secret = token, secret
        self.imported: dict[str, dict[str, Any]] = {}  # by $insert_id, as Mixpanel deduplicates
        self.received = 0  # events in requests it answered 200 or 400

    def _problem(self, event: Any) -> tuple[str, str] | None:
        if not isinstance(event, dict) or not event.get("event"):
            return "event", "'event' must be a non-empty string"
        properties = event.get("properties")
        if not isinstance(properties, dict):
            return "properties", "'properties' must be an object"
        if not isinstance(properties.get("time"), int):
            return "properties.time", "'properties.time' must be specified as seconds or milliseconds since epoch"
        if not properties.get("distinct_id"):
            return "properties.distinct_id", "'properties.distinct_id' is required"
        if not MIXPANEL_INSERT_ID.match(str(properties.get("$insert_id", ""))):
            return "properties.$insert_id", "'$insert_id' must be 1-36 alphanumeric characters or dashes"
        if properties.get("token") != self.token:
            return "properties.token", "'token' does not match the project"
        if len(properties) > MIXPANEL_MAX_PROPERTIES:
            return "properties", f"event has {len(properties)} properties, more than {MIXPANEL_MAX_PROPERTIES}"
        return None

    def __call__(self, request: RecordedRequest) -> Answer:
        if (status := self.scripted()) is not None:
            return Answer(status, {"error": "scripted", "status": 0})
        if request.method != "POST" or request.path != "/import":
            return Answer(404, {"error": "not found"})
        expected = "Basic " + base64.b64encode(f"{self.secret}:".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Answer(401, {"code": 401, "error": "Invalid credentials", "status": "Unauthorized"})
        if len(request.body) > MIXPANEL_MAX_BYTES:
            return Answer(413, {"code": 413, "error": "request body too large", "status": "Payload Too Large"})
        form = request.fields()
        events = json.loads(form["data"][0])
        events = events if isinstance(events, list) else [events]
        if len(events) > MIXPANEL_MAX_EVENTS:
            return Answer(413, {"code": 413, "error": "more than 2000 events", "status": "Payload Too Large"})
        failed = []
        for index, event in enumerate(events):
            problem = self._problem(event)
            if problem:
                insert_id = event.get("properties", {}).get("$insert_id") if isinstance(event, dict) else None
                failed.append({"index": index, "$insert_id": insert_id, "field": problem[0], "message": problem[1]})
        strict = request.query.get("strict") == ["1"]
        if failed and not strict:
            return Answer(200, {"status": 0, "error": failed[0]["message"]})  # verbose mode: all or nothing
        good = [event for index, event in enumerate(events) if index not in {f["index"] for f in failed}]
        for event in good:
            self.imported[event["properties"]["$insert_id"]] = event
        self.received += len(events)
        if not strict:
            return Answer(200, {"status": 1, "error": None})
        if failed:
            body = {"code": 400, "error": "some data points in the request failed validation", "status": "Bad Request"}
            return Answer(400, {**body, "failed_records": failed, "num_records_imported": len(good)})
        return Answer(200, {"code": 200, "num_records_imported": len(good), "status": "OK"})


# --- Amplitude HTTP V2 -----------------------------------------------------------------------
AMPLITUDE_MAX_EVENTS = 2000
AMPLITUDE_MAX_BYTES = 1_000_000
AMPLITUDE_EVENTS_PER_SECOND = 30


class AmplitudeHttpV2(Scripted):
    """POST /2/httpapi: JSON ``{api_key, events, options}``; over 2,000 events or 1 MB is 413; an
    event without ``event_type``, or without a ``user_id`` and a ``device_id`` (each at least
    ``min_id_length`` long, default 5), or with a ``time`` that is not integer milliseconds is
    named in a 400 and nothing of the request is stored; a user or device over 30 events in a
    second is a 429 naming it, nothing stored. ``refused_insert_ids``: events to name as invalid
    whatever they hold (the reasons a real project refuses an event are its own)."""

    def __init__(self, api_key: str, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.api_key = api_key
        self.clock = clock
        self.stored: dict[str, dict[str, Any]] = {}  # by insert_id: Amplitude ignores a repeat
        self.refused_insert_ids: set[str] = set()
        self.window: deque[tuple[float, str]] = deque()  # (when, identity) of events it took

    def _missing_or_invalid(self, events: list[Any], min_length: int) -> tuple[dict[str, list[int]], ...]:
        missing: dict[str, list[int]] = {}
        invalid: dict[str, list[int]] = {}
        for index, event in enumerate(events):
            if not isinstance(event, dict) or not event.get("event_type"):
                missing.setdefault("event_type", []).append(index)
                continue
            ids = [event.get(name) for name in ("user_id", "device_id") if event.get(name) is not None]
            if not ids:
                missing.setdefault("user_id", []).append(index)
            elif any(not isinstance(value, str) or len(value) < min_length for value in ids):
                invalid.setdefault("user_id", []).append(index)
            if "time" in event and not isinstance(event["time"], int):
                invalid.setdefault("time", []).append(index)
            if event.get("insert_id") in self.refused_insert_ids:
                invalid.setdefault("event_properties", []).append(index)
        return missing, invalid

    def _throttled(self, events: list[dict[str, Any]]) -> dict[str, int]:
        now = self.clock()
        while self.window and self.window[0][0] <= now - 1.0:
            self.window.popleft()
        counts: dict[str, int] = {}
        for _when, identity in self.window:
            counts[identity] = counts.get(identity, 0) + 1
        for event in events:
            for identity in (f"user:{event.get('user_id')}", f"device:{event.get('device_id')}"):
                if not identity.endswith(":None"):
                    counts[identity] = counts.get(identity, 0) + 1
        return {identity: count for identity, count in counts.items() if count > AMPLITUDE_EVENTS_PER_SECOND}

    def __call__(self, request: RecordedRequest) -> Answer:
        if (status := self.scripted()) is not None:
            return Answer(status, {"code": status, "error": "scripted"})
        if request.method != "POST" or request.path != "/2/httpapi":
            return Answer(404, {"code": 404, "error": "not found"})
        if request.content_type != "application/json":
            return Answer(400, {"code": 400, "error": "Invalid Content-Type header"})
        if len(request.body) > AMPLITUDE_MAX_BYTES:
            return Answer(413, {"code": 413, "error": "Payload too large"})
        body = json.loads(request.body)
        if body.get("api_key") != self.api_key:
            return Answer(400, {"code": 400, "error": "Invalid API key", "missing_field": "api_key"})
        events = body.get("events")
        if not isinstance(events, list) or not events:
            return Answer(400, {"code": 400, "error": "Request missing required field", "missing_field": "events"})
        if len(events) > AMPLITUDE_MAX_EVENTS:
            return Answer(413, {"code": 413, "error": "Payload too large"})
        min_length = (body.get("options") or {}).get("min_id_length", 5)
        missing, invalid = self._missing_or_invalid(events, min_length)
        if missing or invalid:
            return Answer(
                400,
                {
                    "code": 400,
                    "error": "Request has invalid or missing fields",
                    "events_with_missing_fields": missing,
                    "events_with_invalid_fields": invalid,
                },
            )
        throttled = self._throttled(events)
        if throttled:
            devices = {key[7:]: n for key, n in throttled.items() if key.startswith("device:")}
            users = {key[5:]: n for key, n in throttled.items() if key.startswith("user:")}
            answer = {"code": 429, "error": "Too many requests for some devices and users"}
            answer |= {"eps_threshold": AMPLITUDE_EVENTS_PER_SECOND}
            return Answer(429, {**answer, "throttled_devices": devices, "throttled_users": users})
        now = self.clock()
        for event in events:
            for name in ("user_id", "device_id"):
                if event.get(name) is not None:
                    self.window.append((now, f"{name.removesuffix('_id')}:{event[name]}"))
            self.stored.setdefault(event["insert_id"], event)
        answer = {"code": 200, "events_ingested": len(events), "payload_size_bytes": len(request.body)}
        return Answer(200, {**answer, "server_upload_time": int(time.time() * 1000)})


# --- GA4 Measurement Protocol ------------------------------------------------------------------
GA4_MAX_EVENTS = 25
GA4_MAX_BYTES = 130_000
GA4_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
GA4_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
GA4_RESERVED_EVENTS = {"ad_click", "ad_exposure", "app_remove", "error", "first_open", "first_visit"} | {
    "session_start",
    "user_engagement",
    "in_app_purchase",
    "notification_open",
    "app_update",
    "os_update",
}


def ga4_validation_messages(body: bytes) -> list[dict[str, str]]:
    """What ``/debug/mp/collect`` says of a request body (an empty list: GA4 takes all of it)."""
    messages: list[dict[str, str]] = []

    def say(path: str, code: str, description: str) -> None:
        messages.append({"fieldPath": path, "description": description, "validationCode": code})

    if len(body) > GA4_MAX_BYTES:
        say("", "VALUE_INVALID", f"request body is {len(body)} bytes, over 130 kB")
    try:
        data = json.loads(body)
    except ValueError:
        say("", "VALUE_INVALID", "body is not JSON")
        return messages
    if not isinstance(data.get("client_id"), str) or not data["client_id"]:
        say("client_id", "VALUE_REQUIRED", "client_id is required")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        say("events", "VALUE_REQUIRED", "events is required")
        return messages
    if len(events) > GA4_MAX_EVENTS:
        say("events", "VALUE_INVALID", f"{len(events)} events, more than {GA4_MAX_EVENTS}")
    for index, event in enumerate(events):
        name = event.get("name", "")
        if not GA4_NAME.match(name) or name.startswith(GA4_RESERVED_PREFIXES) or name in GA4_RESERVED_EVENTS:
            say(f"events[{index}].name", "NAME_INVALID", f"event name {name!r} is invalid or reserved")
        params = event.get("params", {})
        if len(params) > 25:
            say(f"events[{index}].params", "VALUE_INVALID", f"{len(params)} params, more than 25")
        for key, value in params.items():
            where = f"events[{index}].params.{key}"
            if not GA4_NAME.match(key) or key.startswith(GA4_RESERVED_PREFIXES):
                say(where, "NAME_INVALID", f"param name {key!r} is invalid or reserved")
            if isinstance(value, str) and len(value) > 100:
                say(where, "VALUE_INVALID", "param value longer than 100 characters")
            elif not isinstance(value, str | int | float) or isinstance(value, bool):
                say(where, "VALUE_INVALID", "param value must be a string or a number")
        micros = event.get("timestamp_micros")
        if micros is not None and micros < (time.time() - 72 * 3600) * 1_000_000:
            say(f"events[{index}].timestamp_micros", "VALUE_INVALID", "timestamp over 72 hours in the past")
    return messages


class Ga4Collect(Scripted):
    """POST /mp/collect (204 for any body it can read, as GA4 does, keeping the events only if
    valid, and noting every rule broken in ``violations``) and /debug/mp/collect (its
    ``validationMessages``); ``measurement_id`` and ``api_secret`` in the query."""

    def __init__(self, measurement_id: str, api_secret: str) -> None:
        super().__init__()
        self.measurement_id, self.api_secret = measurement_id, api_secret
        self.collected: list[dict[str, Any]] = []  # each valid request's body
        self.violations: list[dict[str, str]] = []

    def __call__(self, request: RecordedRequest) -> Answer:
        if (status := self.scripted()) is not None:
            return Answer(status)
        query = {key: values[0] for key, values in request.query.items()}
        if query.get("measurement_id") != self.measurement_id or query.get("api_secret") != self.api_secret:
            return Answer(204)  # GA4 says nothing of a wrong key either: the events just vanish
        messages = ga4_validation_messages(request.body)
        if request.path == "/debug/mp/collect":
            return Answer(200, {"validationMessages": messages})
        if request.path != "/mp/collect":
            return Answer(404)
        if messages:
            self.violations.extend(messages)
        else:
            self.collected.append(json.loads(request.body))
        return Answer(204)
