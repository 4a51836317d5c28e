"""The forwarding job end to end: a worker running it on SQLite and PostgreSQL, the safety lag,
the command, the settings that choose trackers, and two runs at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis

from jobs.analytics.settings import analytics_settings
from jobs.analytics.trackers.forward import CursorMoved, _Cursor
from jobs.analytics.trackers.run_lock import tracker_lock
from jobs.analytics.trackers.sending import Counts
from odyssey_workers import enqueue
from odyssey_workers.cli import main
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.queues import fetch_job
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
from tests.conftest import reset_runtime_caches
from tests.support.workers import start_worker


@pytest.mark.timeout(60)
def test_a_worker_runs_the_job_into_the_file_and_mixpanel_on_sqlite_and_postgresql(
    database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = store_events(5)
    importer = MixpanelImport(TOKEN, SECRET)
    with loopback(importer) as server:
        trackers = {
            "ANALYTICS_TRACKERS": '["file", "mixpanel"]',
            "ANALYTICS_TRACKER_FILE": str(tmp_path / "out.jsonl"),
            "ANALYTICS_ROLLUP_SAFETY_LAG_SECONDS": "0",
            "MIXPANEL_TOKEN": TOKEN,
            "MIXPANEL_API_SECRET": SECRET,
            "MIXPANEL_IMPORT_URL": f"{server.url}/import",
        }
        for name, value in trackers.items():
            monkeypatch.setenv(name, value)
        env.update(trackers)
        reset_runtime_caches()
        job = enqueue("analytics.forward_events")
        worker = start_worker(env, queues=("low",), burst=True, log=tmp_path / "worker.log")
        assert worker.wait(timeout=50) == 0
    finished = fetch_job(job.id)
    assert finished.get_status().value == "finished", (tmp_path / "worker.log").read_text()
    result = finished.return_value()
    assert [(run["tracker"], run["forwarded"], run["stopped"]) for run in result["trackers"]] == [
        ("file", 5, None),
        ("mixpanel", 5, None),
    ]
    written = [json.loads(line)["insert_id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert written == ids and sorted(importer.imported) == sorted(ids)
    assert cursor_of("file") == cursor_of("mixpanel") == last_event_row_id()


def test_on_postgresql_events_received_within_the_safety_lag_wait_for_a_later_run(
    database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(3)
    run = forward_once(settings_for(["file"], tmp_path, analytics_rollup_safety_lag_seconds=120), "file")
    if database_url.startswith("postgresql"):
        assert (run.counts.forwarded, cursor_of("file")) == (0, 0)
    else:  # SQLite gives ids in commit order: no lag needed, none applied
        assert run.counts.forwarded == 3


def test_choosing_a_tracker_without_its_keys_is_refused_naming_them(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_TRACKERS", '["file", "ga4"]')
    monkeypatch.setenv("GA4_MEASUREMENT_ID", "G-1")
    reset_runtime_caches()
    with pytest.raises(ConfigurationError, match=r"missing GA4_API_SECRET \(ANALYTICS_TRACKERS names ga4\)"):
        analytics_settings()
    monkeypatch.setenv("ANALYTICS_TRACKERS", '["segment"]')
    reset_runtime_caches()
    with pytest.raises(ConfigurationError, match="ANALYTICS_TRACKERS"):
        analytics_settings()


def test_the_forward_command_runs_each_enabled_tracker_and_refuses_one_not_enabled(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_TRACKER_FILE", str(tmp_path / "out.jsonl"))
    reset_runtime_caches()
    store_events(2)
    result = CliRunner().invoke(main, ["analytics", "forward"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("file: events 1..2; 2 forwarded, 0 dropped")
    again = CliRunner().invoke(main, ["analytics", "forward"])
    assert "file: nothing new since event 2" in again.output
    refused = CliRunner().invoke(main, ["analytics", "forward", "--tracker", "mixpanel"])
    assert refused.exit_code == 2 and "mixpanel not in ANALYTICS_TRACKERS (file)" in refused.output


def test_a_run_whose_cursor_another_run_moved_stops_instead_of_sending_twice(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(2)
    stale = _Cursor("file", 0, lambda: None)  # a second run that read the cursor at 0 too
    forward_once(settings_for(["file"], tmp_path), "file")
    with pytest.raises(CursorMoved, match="another forwarding run moved the cursor"):
        stale.commit(1, Counts(forwarded=1))
    assert cursor_of("file") == last_event_row_id()


def test_a_second_run_while_one_is_sending_to_the_tracker_sends_nothing(
    env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    store_events(2)
    settings = settings_for(["file"], tmp_path)
    with tracker_lock(redis_conn, "file"):  # a run in progress elsewhere
        run = forward_once(settings, "file")
    assert run.stopped == "file: another forwarding run is sending to it now"
    assert (run.counts.forwarded, cursor_of("file")) == (0, 0) and not (tmp_path / "trackers.jsonl").exists()
    assert forward_once(settings, "file").counts.forwarded == 2  # the lock is gone with its run
