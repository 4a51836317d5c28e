"""``odyssey-workers analytics rollup`` and ``analytics top``, on events tracked and drained for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from redis import Redis

import odyssey_workers
from jobs.analytics.rollup_jobs import aggregate_daily, rollup_hourly
from odyssey_workers.cli import main
from odyssey_workers.settings import get_settings
from tests.analytics.conftest import an_event, drain_now


@pytest.fixture
def no_safety_lag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_ROLLUP_SAFETY_LAG_SECONDS", "0")  # read what was drained just now
    get_settings.cache_clear()


def test_rollup_then_top_shows_the_days_content_by_views_with_its_rates(
    database_url: str, redis_conn: Redis, no_safety_lag: None
) -> None:
    at = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    watched = {"content_id": 501, "creator_id": 9, "occurred_at": at}
    events = [
        *(an_event(type="view_start", user_id=user, session_id=f"s-{user}", **watched) for user in (1, 2, 3, 4)),
        an_event(type="view_progress", user_id=1, session_id="s-1", **watched, properties={"seconds_watched": 90}),
        an_event(type="view_end", user_id=1, session_id="s-1", **watched),
        an_event(type="like", user_id=2, **watched),
        an_event(type="view_start", user_id=5, content_id=502, creator_id=9, occurred_at=at),
    ]
    odyssey_workers.track_many(events)
    assert drain_now().accepted == 8
    runner = CliRunner()

    rolled = runner.invoke(main, ["analytics", "rollup"])
    day = f"{datetime.fromisoformat(at):%Y-%m-%d}"
    shown = runner.invoke(main, ["analytics", "top", "--day", day])

    assert rolled.exit_code == 0, rolled.output
    hourly, daily = rolled.output.splitlines()
    assert hourly.startswith("hour rollup: events 1..8 (8 read), buckets recomputed: ")
    assert hourly.endswith("; 4 rows written")  # content 501 and 502, creator 9, the platform
    assert daily.startswith("day rollup: events 1..8 (8 read)") and daily.endswith("; 4 rows written")
    again = runner.invoke(main, ["analytics", "rollup", "--hourly"])
    assert again.output.splitlines() == ["hour rollup: nothing new since event 8"]
    assert shown.exit_code == 0, shown.output
    header, first, second = shown.output.splitlines()[1:]
    assert header.split() == ["content", "views", "viewers", "watch", "s", "likes", "engage", "complete"]
    assert first.split() == ["501", "4", "4", "90", "1", "25%", "25%"]
    assert second.split() == ["502", "1", "1", "0", "0", "0%", "0%"]
    theirs = runner.invoke(main, ["analytics", "top", "--day", day, "--creator", "9"])
    assert [line.split()[0] for line in theirs.output.splitlines()[2:]] == ["501", "502"]
    others = runner.invoke(main, ["analytics", "top", "--day", day, "--creator", "8"])
    assert others.output.startswith("no content of creator 8 in the daily rollup")


def test_the_jobs_report_what_they_read_and_a_rerun_reads_nothing(
    database_url: str, redis_conn: Redis, no_safety_lag: None
) -> None:
    odyssey_workers.track_many([an_event(), an_event()])
    drain_now()

    assert rollup_hourly()["events_read"] == 2
    assert aggregate_daily()["events_read"] == 2
    again = rollup_hourly()
    assert (again["events_read"], again["buckets"], again["rows_written"]) == (0, [], 0)
    empty = CliRunner().invoke(main, ["analytics", "top", "--day", "2001-01-01"])
    assert empty.output.startswith("no content in the daily rollup for 2001-01-01")
