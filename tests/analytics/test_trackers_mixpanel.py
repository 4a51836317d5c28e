"""Mixpanel /import against a loopback /import: the official SDK's request, its limits, and every answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mixpanel import BufferedConsumer, Mixpanel
from prometheus_client import generate_latest
from redis import Redis

from jobs.analytics.trackers.forward import TrackersRefused, forward_events
from odyssey_workers.monitoring import metrics_registry
from tests.analytics.conftest import stored_events
from tests.analytics.tracker_servers import MixpanelImport
from tests.analytics.tracker_support import (
    SECRET,
    TOKEN,
    cursor_of,
    forward_once,
    last_event_row_id,
    loopback,
    settings_for,
    store_events,
)
from tests.support.recording_http import RecordingServer


def mixpanel_settings(server: RecordingServer, tmp_path: Path, **changes: Any) -> Any:
    return settings_for(["mixpanel"], tmp_path, mixpanel_import_url=f"{server.url}/import", **changes)


def sent_events(server: RecordingServer) -> list[list[dict[str, Any]]]:
    return [json.loads(request.fields()["data"][0]) for request in server.requests]


def test_the_request_is_the_official_sdks_plus_strict(env: dict[str, str], redis_conn: Redis, tmp_path: Path) -> None:
    store_events(3, anonymous_id="anon-1", properties={"source": "feed"})
    importer = MixpanelImport(TOKEN, SECRET)
    with loopback(importer) as server:
        run = forward_once(mixpanel_settings(server, tmp_path), "mixpanel")
        ours = server.take()
        # The same stored events through the SDK's own batching consumer, as its docs show for
        # /import, with the properties this test expects (not the ones the tracker made).
        sdk = Mixpanel(TOKEN, consumer=BufferedConsumer(import_url=f"{server.url}/import"))
        for row in stored_events():
            context = {"content_id": row.content_id, "creator_id": 3, "session_id": "s-1", "country": "DE"}
            expected = {"source": "feed", **context, "device": "ios", "$insert_id": row.event_id}
            expected |= {"$user_id": "7", "$device_id": "anon-1"}
            milliseconds = int(row.occurred_at.timestamp() * 1000)
            sdk.import_data(None, "7", "like", milliseconds, expected, api_secret=SECRET)
        sdk._consumer.flush()
        theirs = server.take()
    assert run.counts.forwarded == 3
    assert len(ours) == len(theirs) == 1
    mine, official = ours[0], theirs[0]
    assert (mine.method, mine.path, mine.content_type) == (official.method, official.path, official.content_type)
    assert mine.headers["authorization"] == official.headers["authorization"]
    assert mine.query == {"strict": ["1"]} and official.query == {}  # the one addition, for per-event errors
    mine_fields, official_fields = mine.fields(), official.fields()
    mine_events = json.loads(mine_fields.pop("data")[0])
    official_events = json.loads(official_fields.pop("data")[0])
    assert mine_fields == official_fields == {"verbose": ["1"], "ip": ["0"]}
    assert mine_events == official_events
    assert mine_events[0]["properties"]["token"] == TOKEN and mine_events[0]["properties"]["mp_lib"] == "python"


def test_a_backlog_goes_in_requests_of_at_most_2000_events(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(4500)
    importer = MixpanelImport(TOKEN, SECRET)
    with loopback(importer) as server:
        run = forward_once(mixpanel_settings(server, tmp_path), "mixpanel")
        sizes = [len(batch) for batch in sent_events(server)]
        biggest = max(len(request.body) for request in server.requests)
    assert sizes == [2000, 2000, 500]
    assert biggest <= 10 * 1024 * 1024
    assert run.counts.forwarded == 4500 and len(importer.imported) == 4500
    assert cursor_of("mixpanel") == last_event_row_id()


def test_a_413_halves_the_request_until_it_fits(env: dict[str, str], redis_conn: Redis, tmp_path: Path) -> None:
    store_events(10)
    importer = MixpanelImport(TOKEN, SECRET)
    importer.script.extend([413, 413])  # the whole request, then its first half, were too large
    with loopback(importer) as server:
        run = forward_once(mixpanel_settings(server, tmp_path), "mixpanel")
        sizes = [len(batch) for batch in sent_events(server)]
    assert sizes == [10, 5, 2, 3, 5]
    assert run.counts.forwarded == 10 and len(importer.imported) == 10


def test_a_400_drops_only_the_event_it_names(env: dict[str, str], redis_conn: Redis, tmp_path: Path) -> None:
    store_events(2)
    [bad] = store_events(1, properties={f"p{n}": n for n in range(300)})  # Mixpanel takes < 256 properties
    store_events(2)
    importer = MixpanelImport(TOKEN, SECRET)
    with loopback(importer) as server:
        run = forward_once(mixpanel_settings(server, tmp_path), "mixpanel")
        requests = len(server.requests)
        metrics = generate_latest(metrics_registry(redis_conn)).decode()
    assert (run.counts.forwarded, run.counts.dropped) == (4, 1)
    assert bad not in importer.imported and len(importer.imported) == 4
    assert requests == 1  # strict mode imported the other four in that same request
    assert cursor_of("mixpanel") == last_event_row_id()
    assert 'odyssey_tracker_events_forwarded_total{tracker="mixpanel"} 4.0' in metrics
    assert 'odyssey_tracker_events_dropped_total{tracker="mixpanel"} 1.0' in metrics


def test_429_and_5xx_are_waited_out_then_sent(env: dict[str, str], redis_conn: Redis, tmp_path: Path) -> None:
    store_events(5)
    importer = MixpanelImport(TOKEN, SECRET)
    importer.script.extend([429, 502, 500])
    with loopback(importer) as server:
        run = forward_once(mixpanel_settings(server, tmp_path), "mixpanel")
    assert (run.counts.forwarded, run.counts.retried, run.stopped) == (5, 3, None)
    assert len(importer.imported) == 5 and importer.requests == 4


def test_mixpanel_down_for_the_whole_run_keeps_the_events_for_a_later_run_that_sends_each_once(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    ids = store_events(5)
    importer = MixpanelImport(TOKEN, SECRET)
    importer.down = True
    with loopback(importer) as server:
        settings = mixpanel_settings(server, tmp_path)
        run = forward_once(settings, "mixpanel")
        assert run.counts.forwarded == 0 and run.stopped and "still unavailable after 4 attempts" in run.stopped
        assert cursor_of("mixpanel") == 0 and importer.imported == {}
        later = store_events(2)
        importer.down = False
        after = forward_once(settings, "mixpanel")
    assert after.counts.forwarded == 7 and after.stopped is None
    assert sorted(importer.imported) == sorted(ids + later) and importer.received == 7  # each sent once
    assert cursor_of("mixpanel") == last_event_row_id()


def test_a_wrong_secret_fails_the_job_with_the_reason_and_moves_nothing(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_events(2)
    importer = MixpanelImport(TOKEN, "the-real-secret")
    with loopback(importer) as server:
        settings = mixpanel_settings(server, tmp_path)
        monkeypatch.setattr("jobs.analytics.trackers.forward.analytics_settings", lambda: settings)
        with pytest.raises(TrackersRefused, match=r"mixpanel: .*HTTP 401.*Invalid credentials"):
            forward_events()
    assert cursor_of("mixpanel") == 0 and importer.imported == {}


def test_a_retry_whose_wait_would_pass_the_time_budget_is_left_to_the_next_run(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(3)
    importer = MixpanelImport(TOKEN, SECRET)
    importer.script.append(503)
    with loopback(importer) as server:
        settings = mixpanel_settings(
            server, tmp_path, analytics_forward_time_budget_seconds=2, analytics_tracker_backoff_seconds=30
        )
        run = forward_once(settings, "mixpanel")
        assert run.stopped and "would pass the run's time budget" in run.stopped
        assert (importer.requests, cursor_of("mixpanel")) == (1, 0)  # no wait: stopped at once
        assert forward_once(settings, "mixpanel").counts.forwarded == 3
