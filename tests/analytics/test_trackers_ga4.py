"""GA4's Measurement Protocol against a loopback collect and debug endpoint that apply GA4's rules.

GA4 answers 2xx to anything, so the loopback's ``violations`` (what the real one would discard
in silence) must stay empty for everything the tracker sends, however hostile the events.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from redis import Redis

from jobs.analytics.trackers.sending import pieces
from odyssey_workers.db.base import utcnow
from odyssey_workers.providers.tracker_base import OutgoingEvent
from odyssey_workers.providers.tracker_ga4 import Ga4Tracker, request_body
from tests.analytics.tracker_servers import Ga4Collect
from tests.analytics.tracker_support import (
    GA4_SECRET,
    MEASUREMENT_ID,
    cursor_of,
    forward_once,
    last_event_row_id,
    loopback,
    settings_for,
    store_events,
)
from tests.support.recording_http import RecordingServer

HOSTILE = {
    "long": "y" * 101,
    "2starts_with_digit": 1,
    "has space": 1,
    "_reserved": 1,
    "firebase_x": 1,
    "nested": {"a": 1},
    "list": [1, 2],
    "nothing": None,
    "a_flag": True,
    "a_name_that_is_more_than_forty_characters_long": 1,
    **{f"extra_{n:02}": n for n in range(30)},
}


def ga4_settings(server: RecordingServer, tmp_path: Path, **changes: Any) -> Any:
    return settings_for(["ga4"], tmp_path, ga4_collect_url=f"{server.url}/mp/collect", **changes)


def test_what_is_sent_breaks_no_rule_of_the_debug_endpoint_however_hostile_the_events(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(30, user_id=7, properties=HOSTILE)
    store_events(3, type="session_start", user_id=None, anonymous_id="visitor-1", content_id=None)
    collect = Ga4Collect(MEASUREMENT_ID, GA4_SECRET)
    with loopback(collect) as server:
        run = forward_once(ga4_settings(server, tmp_path), "ga4")
        requests = list(server.requests)
        # The same bodies, asked of the debug endpoint: no validation message for any.
        debug = [
            httpx.post(f"{server.url}/debug/mp/collect", params=request.query, content=request.body).json()
            for request in requests
        ]
    assert collect.violations == [] and all(answer == {"validationMessages": []} for answer in debug)
    assert run.counts.forwarded == 33
    bodies = [json.loads(request.body) for request in requests]
    assert [len(body["events"]) for body in bodies] == [25, 5, 3]  # 25 a request, one client a request
    assert all(len(request.body) < 130_000 for request in requests)
    first, last = bodies[0], bodies[-1]
    assert (first["client_id"], first["user_id"]) == ("odyssey-user-7", "7")
    assert last["client_id"] == "visitor-1" and "user_id" not in last
    assert {event["name"] for event in last["events"]} == {"odyssey_session_start"}
    params = first["events"][0]["params"]
    assert len(params) == 25 and params["a_flag"] == "true" and params["creator_id"] == 3
    assert not {"long", "nested", "list", "nothing", "_reserved", "firebase_x", "has space"} & set(params)


def test_the_loopback_reports_what_ga4_would_discard() -> None:
    collect = Ga4Collect(MEASUREMENT_ID, GA4_SECRET)
    body = {"client_id": "c", "events": [{"name": "session_start", "params": {"v": "z" * 101}}] * 26}
    with loopback(collect) as server:
        query = {"measurement_id": MEASUREMENT_ID, "api_secret": GA4_SECRET}
        answer = httpx.post(f"{server.url}/mp/collect", params=query, json=body)
        debug = httpx.post(f"{server.url}/debug/mp/collect", params=query, json=body).json()
    assert answer.status_code == 204  # as GA4: no sign of trouble in the answer
    codes = {message["validationCode"] for message in collect.violations}
    assert codes == {"NAME_INVALID", "VALUE_INVALID"} and collect.collected == []
    assert debug["validationMessages"] == collect.violations


def test_events_over_72_hours_old_are_dropped_not_sent(env: dict[str, str], redis_conn: Redis, tmp_path: Path) -> None:
    store_events(2, at=utcnow() - timedelta(hours=73))
    kept = store_events(1)
    collect = Ga4Collect(MEASUREMENT_ID, GA4_SECRET)
    with loopback(collect) as server:
        run = forward_once(ga4_settings(server, tmp_path), "ga4")
    assert (run.counts.forwarded, run.counts.dropped) == (1, 2)
    assert [event["params"]["content_id"] for body in collect.collected for event in body["events"]] == [
        int(kept[0].removeprefix("evt-")) + 100
    ]
    assert cursor_of("ga4") == last_event_row_id()


def test_ga4_down_for_the_whole_run_then_each_event_collected_exactly_once(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(30)
    collect = Ga4Collect(MEASUREMENT_ID, GA4_SECRET)
    collect.down = True
    with loopback(collect) as server:
        settings = ga4_settings(server, tmp_path)
        down = forward_once(settings, "ga4")
        assert (down.counts.forwarded, cursor_of("ga4")) == (0, 0)
        collect.down = False
        collect.script.extend([500, 429])  # and a bad moment on the way back
        run = forward_once(settings, "ga4")
    events = [event for body in collect.collected for event in body["events"]]
    assert run.counts.forwarded == 30 and run.counts.retried == 2
    assert len(events) == 30 and len({event["params"]["content_id"] for event in events}) == 30


def test_one_request_carries_one_client_and_stays_under_130_kb() -> None:
    now = utcnow()
    events = [
        OutgoingEvent(n, f"e{n}", "like", 7, None, now, {f"p{k:02}": "v" * 100 for k in range(25)}) for n in range(60)
    ]
    tracker = Ga4Tracker(MEASUREMENT_ID, GA4_SECRET, "http://127.0.0.1:9/mp/collect", 1.0)
    prepared = [tracker.prepare(event) for event in events]
    tracker.close()
    sizes = []
    for piece in pieces([entry for entry in prepared if not isinstance(entry, str)], tracker):
        body = request_body(piece[0].item["client"], [entry.item["event"] for entry in piece])
        sizes.append((len(piece), len(json.dumps(body, separators=(",", ":")).encode())))
    assert all(count <= 25 and size < 130_000 for count, size in sizes) and sum(c for c, _ in sizes) == 60
