"""Amplitude's HTTP V2 API against a loopback one: limits, the per-device throttle, and every answer."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from redis import Redis

from odyssey_workers.providers.tracker_amplitude import AmplitudeTracker, EventPacer
from odyssey_workers.providers.tracker_base import BadEvents
from tests.analytics.tracker_servers import AmplitudeHttpV2
from tests.analytics.tracker_support import (
    AMPLITUDE_KEY,
    cursor_of,
    forward_once,
    last_event_row_id,
    loopback,
    settings_for,
    store_events,
)
from tests.support.recording_http import RecordingServer


def amplitude_settings(server: RecordingServer, tmp_path: Path, **changes: Any) -> Any:
    return settings_for(["amplitude"], tmp_path, amplitude_url=f"{server.url}/2/httpapi", **changes)


def bodies(server: RecordingServer) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in server.requests]


def test_events_carry_insert_id_ids_and_milliseconds_in_requests_under_1_mb(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    # 30 users x 10 events with 4 kB of properties each: about 1.2 MB, so more than one request.
    for user in range(30):
        store_events(10, user_id=1000 + user, anonymous_id=f"dev-{user}", properties={"blob": "x" * 4000})
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    with loopback(amplitude) as server:
        run = forward_once(amplitude_settings(server, tmp_path), "amplitude")
        sent = bodies(server)
        sizes = [len(request.body) for request in server.requests]
    assert run.counts.forwarded == 300 and len(amplitude.stored) == 300
    assert len(sent) >= 2 and max(sizes) < 1_000_000
    event = sent[0]["events"][0]
    assert sent[0]["api_key"] == AMPLITUDE_KEY and sent[0]["options"] == {"min_id_length": 1}
    assert (event["user_id"], event["device_id"], event["event_type"]) == ("1000", "dev-0", "like")
    assert event["insert_id"].startswith("evt-") and isinstance(event["time"], int) and event["time"] > 10**12
    assert event["event_properties"]["country"] == "DE" and event["country"] == "DE"


def test_one_busy_user_is_paced_to_30_events_a_second_and_never_throttled(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(45, user_id=5)
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    with loopback(amplitude) as server:
        started = time.monotonic()
        run = forward_once(amplitude_settings(server, tmp_path, analytics_forward_batch=15), "amplitude")
        took = time.monotonic() - started
        statuses = len(server.requests)
    assert (run.counts.forwarded, run.counts.retried) == (45, 0)
    assert statuses == 3 and took >= 1.0  # the third page of 15 waited for the first to leave the window


def test_one_devices_backlog_goes_30_events_a_request_a_second_apart_never_throttled(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(40, user_id=5, anonymous_id="dev-busy")  # more than Amplitude takes from one device a second
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    with loopback(amplitude) as server:
        started = time.monotonic()
        run = forward_once(amplitude_settings(server, tmp_path), "amplitude")
        took = time.monotonic() - started
        sizes = [len(body["events"]) for body in bodies(server)]
    assert sizes == [30, 10] and took >= 1.0
    assert (run.counts.forwarded, run.counts.retried, run.stopped) == (40, 0, None) and len(amplitude.stored) == 40


def test_a_429_from_other_senders_events_of_the_device_pauses_then_sends_again(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(20, user_id=5, anonymous_id="dev-busy")
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    amplitude.window.extend((time.monotonic(), "device:dev-busy") for _ in range(20))  # another sender's events
    with loopback(amplitude) as server:
        run = forward_once(amplitude_settings(server, tmp_path, amplitude_throttle_pause_seconds=0.4), "amplitude")
        requests = len(server.requests)
    assert (run.counts.forwarded, run.stopped) == (20, None)
    assert run.counts.retried >= 1 and requests == run.counts.retried + 1 and len(amplitude.stored) == 20


def test_a_400_drops_only_the_events_it_names_and_sends_the_rest_again(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    ids = store_events(6)
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    amplitude.refused_insert_ids = {ids[1], ids[4]}
    with loopback(amplitude) as server:
        run = forward_once(amplitude_settings(server, tmp_path), "amplitude")
        sent = [[event["insert_id"] for event in body["events"]] for body in bodies(server)]
    assert sent == [ids, [ids[0], ids[2], ids[3], ids[5]]]
    assert (run.counts.forwarded, run.counts.dropped) == (4, 2)
    assert sorted(amplitude.stored) == sorted([ids[0], ids[2], ids[3], ids[5]])
    assert cursor_of("amplitude") == last_event_row_id()


def test_the_400_amplitude_sends_for_events_without_ids_names_them_by_index() -> None:
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    with loopback(amplitude) as server:
        tracker = AmplitudeTracker(AMPLITUDE_KEY, f"{server.url}/2/httpapi", 5.0, 0.0)
        good = {"event_type": "like", "user_id": "7", "insert_id": "a", "time": 1}
        answer = tracker.post([good, {"event_type": "like", "insert_id": "b"}, {"user_id": "7", "insert_id": "c"}])
        tracker.close()
    assert answer == BadEvents({1: "Amplitude: user_id missing", 2: "Amplitude: event_type missing"})


def test_a_413_and_5xx_are_split_and_waited_out(env: dict[str, str], redis_conn: Redis, tmp_path: Path) -> None:
    store_events(8)
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    amplitude.script.extend([413, 503])
    with loopback(amplitude) as server:
        run = forward_once(amplitude_settings(server, tmp_path), "amplitude")
        sizes = [len(body["events"]) for body in bodies(server)]
    assert sizes == [8, 4, 4, 4]
    assert (run.counts.forwarded, run.counts.retried) == (8, 1) and len(amplitude.stored) == 8


def test_amplitude_down_for_the_whole_run_forwards_each_event_once_later(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    ids = store_events(4)
    amplitude = AmplitudeHttpV2(AMPLITUDE_KEY)
    amplitude.down = True
    with loopback(amplitude) as server:
        settings = amplitude_settings(server, tmp_path)
        assert forward_once(settings, "amplitude").counts.forwarded == 0
        assert cursor_of("amplitude") == 0
        amplitude.down = False
        run = forward_once(settings, "amplitude")
        sent = [event["insert_id"] for body in bodies(server) if "events" in body for event in body["events"]]
    assert run.counts.forwarded == 4 and sorted(amplitude.stored) == sorted(ids)
    assert sent.count(ids[0]) == 5  # four refused attempts, then the one that was stored


def test_the_pacer_waits_only_for_an_identity_over_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = EventPacer(rate=30, clock=lambda: now[0], sleep=sleep)
    pacer.wait_for({"user:1": 30})
    pacer.note({"user:1": 30})
    pacer.wait_for({"user:2": 30})
    pacer.note({"user:2": 30})
    assert slept == []
    now[0] = 0.25
    pacer.wait_for({"user:1": 1})
    assert slept == [0.75]
