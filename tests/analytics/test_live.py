"""Live counters: views and unique viewers per content and creator per minute, counted by the
drain for the view_start events it newly stored, read back over windows of minutes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from redis import Redis

import odyssey_workers
from jobs.analytics.intake import store_batch
from jobs.analytics.live import LiveFigures, live_figures, top_content
from jobs.analytics.live_counting import count_new_views
from jobs.analytics.live_keys import expires_at, minute_of, top_key, viewers_key, views_key
from jobs.analytics.validation import StreamEntry
from odyssey_workers.cli import main
from odyssey_workers.settings import get_settings
from tests.analytics.conftest import an_event, drain_now, rejected_events, stored_events
from tests.support.servers import free_port


@pytest.fixture
def now() -> datetime:
    """The test's clock: taken when the test starts, not when the module is collected."""
    return datetime.now(UTC)


def a_view(content_id: int, at: datetime, creator_id: int | None = 9, **fields: Any) -> dict[str, Any]:
    """A view_start of ``content_id`` by user 1 unless ``fields`` say otherwise."""
    return an_event(
        type="view_start", content_id=content_id, creator_id=creator_id, occurred_at=at.isoformat(), **fields
    )


def live_keys(redis_conn: Redis) -> list[str]:
    return sorted(key.decode() for key in redis_conn.scan_iter("analytics:live:*"))


def test_views_and_unique_viewers_per_minute_match_a_hand_count(
    database_url: str, redis_conn: Redis, now: datetime
) -> None:
    this_minute = minute_of(now)
    minute = this_minute - timedelta(minutes=5)
    at = minute + timedelta(seconds=10)
    odyssey_workers.track_many(
        [
            a_view(100, at, user_id=1),
            a_view(100, at + timedelta(seconds=5), user_id=1),  # the same viewer again: a view, not a viewer
            a_view(100, at, user_id=None, anonymous_id="anon-1"),
            a_view(101, at, user_id=2),
            a_view(101, at, creator_id=None, user_id=3),  # counted for the content only
            an_event(type="like", content_id=100, user_id=4, occurred_at=at.isoformat()),  # not a view
            an_event(
                type="view_progress",
                content_id=100,
                user_id=5,
                occurred_at=at.isoformat(),
                properties={"seconds_watched": 3},
            ),
        ]
    )

    assert drain_now().accepted == 7

    assert int(redis_conn.get(views_key("content", 100, minute)) or 0) == 3
    assert redis_conn.pfcount(viewers_key("content", 100, minute)) == 2
    assert int(redis_conn.get(views_key("creator", 9, minute)) or 0) == 4
    assert redis_conn.pfcount(viewers_key("creator", 9, minute)) == 3
    assert live_figures(redis_conn, "content", 100, minutes=15, now=now) == LiveFigures(views=3, unique_viewers=2)
    assert live_figures(redis_conn, "content", 101, minutes=15, now=now) == LiveFigures(views=2, unique_viewers=2)
    assert live_figures(redis_conn, "creator", 9, minutes=15, now=now) == LiveFigures(views=4, unique_viewers=3)
    assert live_figures(redis_conn, "content", 100, minutes=5, now=now) == LiveFigures(0, 0), "the minute is outside"
    assert redis_conn.zscore(top_key(minute), "100") == 3


def test_a_window_over_several_minutes_merges_them(database_url: str, redis_conn: Redis, now: datetime) -> None:
    this_minute = minute_of(now)
    three_ago, one_ago = this_minute - timedelta(minutes=3), this_minute - timedelta(minutes=1)
    odyssey_workers.track_many(
        [
            a_view(300, three_ago, user_id=1),
            a_view(300, three_ago, user_id=2),
            a_view(300, one_ago, user_id=1),  # seen in both minutes: one viewer over the window
            a_view(301, one_ago, user_id=3),
            a_view(301, this_minute, user_id=3),
        ]
    )
    drain_now()

    assert live_figures(redis_conn, "content", 300, minutes=4, now=now) == LiveFigures(views=3, unique_viewers=2)
    assert live_figures(redis_conn, "content", 300, minutes=3, now=now) == LiveFigures(views=1, unique_viewers=1)
    assert live_figures(redis_conn, "content", 301, minutes=1, now=now) == LiveFigures(views=1, unique_viewers=1)
    assert top_content(redis_conn, minutes=4, now=now) == [
        (300, LiveFigures(views=3, unique_viewers=2)),
        (301, LiveFigures(views=2, unique_viewers=1)),
    ]
    assert top_content(redis_conn, minutes=2, top=1, now=now) == [(301, LiveFigures(views=2, unique_viewers=1))]
    assert not [key for key in live_keys(redis_conn) if ":merged:" in key], "the union key is gone"


def test_a_batch_delivered_twice_counts_its_views_once(database_url: str, redis_conn: Redis, now: datetime) -> None:
    this_minute = minute_of(now)
    at = this_minute - timedelta(minutes=2)
    entries = [
        StreamEntry(f"1700000000000-{i}", json.dumps(a_view(400, at, id=f"v{i}", user_id=i + 1))) for i in range(20)
    ]
    first_run, second_run = now, now + timedelta(seconds=61)

    store_batch(entries, first_run, timedelta(hours=72))
    assert count_new_views(redis_conn, entries, first_run, 60) == 20
    again = store_batch(entries, second_run, timedelta(hours=72))  # the drain died before XACK
    assert count_new_views(redis_conn, entries, second_run, 60) == 0

    assert again.duplicate == 20
    assert live_figures(redis_conn, "content", 400, now=now) == LiveFigures(views=20, unique_viewers=20)


def test_an_event_sent_twice_is_one_view(database_url: str, redis_conn: Redis, now: datetime) -> None:
    this_minute = minute_of(now)
    view = a_view(410, this_minute - timedelta(minutes=1), id="view-retried")
    odyssey_workers.track(view)
    odyssey_workers.track(view)  # the producer sent it again, in the same batch
    assert drain_now().as_dict() == {"accepted": 1, "duplicate": 1, "rejected": 0}
    odyssey_workers.track(view)  # and once more, for a later drain
    assert drain_now().duplicate == 1

    assert live_figures(redis_conn, "content", 410, now=now) == LiveFigures(views=1, unique_viewers=1)


def test_rejected_and_late_events_are_not_counted(database_url: str, redis_conn: Redis, now: datetime) -> None:
    this_minute = minute_of(now)
    at = this_minute - timedelta(minutes=2)
    odyssey_workers.track_many(
        [
            a_view(500, at, country="Germany"),  # invalid field
            a_view(500, at, user_id=None),  # no viewer
            a_view(500, now + timedelta(hours=1)),  # in the future
            a_view(500, now - timedelta(days=5)),  # past the late window
            an_event(type="view_begin", content_id=500, occurred_at=at.isoformat()),  # unknown type
            a_view(500, now - timedelta(hours=2), id="late-but-stored"),  # stored, older than the live retention
        ]
    )

    assert drain_now().as_dict() == {"accepted": 1, "duplicate": 0, "rejected": 5}

    assert [row.event_id for row in stored_events()] == ["late-but-stored"]
    assert len(rejected_events()) == 5
    assert live_figures(redis_conn, "content", 500, minutes=60, now=now) == LiveFigures(views=0, unique_viewers=0)
    assert live_keys(redis_conn) == []


def test_every_live_key_expires_after_the_retention(
    database_url: str, redis_conn: Redis, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    this_minute = minute_of(now)
    monkeypatch.setenv("ANALYTICS_LIVE_RETENTION_MINUTES", "5")
    get_settings.cache_clear()
    minute = this_minute - timedelta(minutes=2)
    odyssey_workers.track_many([a_view(600, minute, user_id=1), a_view(601, this_minute - timedelta(minutes=9))])

    drain_now()

    keys = live_keys(redis_conn)
    assert keys == sorted(
        [
            views_key("content", 600, minute),
            viewers_key("content", 600, minute),
            views_key("creator", 9, minute),
            viewers_key("creator", 9, minute),
            top_key(minute),
        ]
    ), "the view older than the 5 minutes kept is not counted"
    for key in keys:
        assert redis_conn.expiretime(key) == expires_at(minute, 5), key


def test_the_live_command_prints_the_top_content(database_url: str, redis_conn: Redis, now: datetime) -> None:
    this_minute = minute_of(now)
    at = this_minute - timedelta(minutes=1)
    odyssey_workers.track_many(
        [
            *(a_view(701, at, user_id=viewer) for viewer in (1, 1, 2)),
            *(a_view(702, at, user_id=viewer) for viewer in (3, 4)),
            a_view(703, at, user_id=5),
            a_view(704, this_minute - timedelta(minutes=20), user_id=6),  # outside the 15 minutes
        ]
    )
    drain_now()

    out = CliRunner().invoke(main, ["analytics", "live", "--top", "2"])

    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("top content of the last 15 minute(s) (")
    assert lines[1:] == [
        "  1. content 701: 3 views, 2 unique viewers",
        "  2. content 702: 2 views, 2 unique viewers",
    ]
    every = CliRunner().invoke(main, ["analytics", "live", "--minutes", "30"])
    assert every.output.splitlines()[1:] == [
        "  1. content 701: 3 views, 2 unique viewers",
        "  2. content 702: 2 views, 2 unique viewers",
        "  3. content 703: 1 view, 1 unique viewer",
        "  4. content 704: 1 view, 1 unique viewer",
    ]


def test_the_live_command_says_when_nothing_was_viewed_and_refuses_a_window_past_the_retention(
    database_url: str, redis_conn: Redis
) -> None:
    empty = CliRunner().invoke(main, ["analytics", "live"])
    assert empty.exit_code == 0, empty.output
    assert empty.output.startswith("no views in the last 15 minute(s) (")

    too_long = CliRunner().invoke(main, ["analytics", "live", "--minutes", "61"])
    assert too_long.exit_code == 2
    assert "the live counters keep 60 minutes (ANALYTICS_LIVE_RETENTION_MINUTES)" in too_long.output


def test_content_with_as_many_views_rank_by_id_and_anonymous_viewers_are_their_own(
    database_url: str, redis_conn: Redis, now: datetime
) -> None:
    at = minute_of(now) - timedelta(minutes=1)
    odyssey_workers.track_many(
        [
            a_view(802, at, user_id=5),
            a_view(802, at, user_id=None, anonymous_id="5"),  # not user 5
            a_view(801, at, user_id=6),
            a_view(801, at, user_id=7),
        ]
    )
    drain_now()

    assert top_content(redis_conn, now=now) == [
        (801, LiveFigures(views=2, unique_viewers=2)),
        (802, LiveFigures(views=2, unique_viewers=2)),
    ]
    with pytest.raises(ValueError, match="at least one"):
        top_content(redis_conn, top=0, now=now)
    with pytest.raises(ValueError, match="at least one minute"):
        live_figures(redis_conn, "content", 801, minutes=0, now=now)


def test_the_live_command_says_so_when_redis_is_out_of_reach(
    database_url: str, redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()

    out = CliRunner().invoke(main, ["analytics", "live"])

    assert out.exit_code == 1
    assert f"Error: cannot reach Redis at {url}: " in out.output
