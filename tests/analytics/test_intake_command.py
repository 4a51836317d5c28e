"""``odyssey-workers analytics intake`` and the drain's time budget."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from redis import Redis

import odyssey_workers
from jobs.analytics.stream import intake_status
from odyssey_workers.cli import main
from odyssey_workers.settings import get_settings
from tests.analytics.conftest import an_event, drain_now


def test_the_intake_command_shows_the_backlog_the_pending_entries_and_the_counts(
    database_url: str, redis_conn: Redis
) -> None:
    odyssey_workers.track_many([an_event(), an_event(), an_event(type="rewind")])
    drain_now()
    odyssey_workers.track_many([an_event(), an_event()])  # not drained yet

    out = CliRunner().invoke(main, ["analytics", "intake"])

    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == "stream odyssey:events: 5 entries (kept: about 1,000,000)"
    assert lines[1] == "waiting for a drain: 2; read by a drain, not yet stored: 0 (0 drain consumer(s))"
    assert lines[2] == "drained so far: accepted 2, duplicate 0, rejected 1"
    assert lines[3].startswith("analytics_events: 2 stored (last drained ")
    assert lines[4] == "analytics_rejected_events: 1 set aside: unknown_type 1"


def test_a_drain_stops_at_its_time_budget_and_leaves_the_rest_for_the_next_run(
    database_url: str, redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_DRAIN_BATCH", "1")  # one commit per event: far slower than a second's worth
    monkeypatch.setenv("ANALYTICS_DRAIN_TIME_BUDGET_SECONDS", "1")
    get_settings.cache_clear()
    odyssey_workers.track_many([an_event() for _ in range(5000)])

    first = drain_now()

    assert 0 < first.accepted < 5000
    assert intake_status(redis_conn).lag == 5000 - first.accepted
