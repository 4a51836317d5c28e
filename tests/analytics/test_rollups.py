"""The hourly and daily rollups on SQLite and PostgreSQL: the numbers of a hand-counted hour
and day, re-runs that change nothing, late events, and a watermark that reads only what is new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from jobs.analytics.models import ContentRollupRow, RollupGrain, RollupWatermarkRow
from jobs.analytics.rollups import bucket_of
from odyssey_workers.db.session import session_scope
from tests.analytics.rollup_support import (
    computed_times,
    content_rows,
    creator_rows,
    platform_rows,
    raw,
    roll,
    store,
)

HOUR, DAY = RollupGrain.HOUR, RollupGrain.DAY


def yesterday_at(hour: int, minute: int = 0) -> datetime:
    """A time yesterday (UTC), well inside the 72-hour late window and wholly in the past."""
    midnight = bucket_of(datetime.now(UTC), DAY) - timedelta(days=1)
    return midnight + timedelta(hours=hour, minutes=minute)


def a_known_hour() -> list[dict[str, object]]:
    """Yesterday 10:00-11:00 and one view at 11:20, with the numbers counted by hand in the test."""
    at = yesterday_at(10, 15)
    on_10 = {"content_id": 10, "creator_id": 3}
    return [
        raw("view_start", at, **on_10, session_id="s-a"),
        raw("view_start", at, **on_10, session_id="s-b"),  # user 1 again: 2 views, 1 viewer
        raw("view_start", at, **on_10, anonymous_id="anon-x", session_id="s-c"),
        raw("view_progress", at, **on_10, session_id="s-a", seconds=30),
        raw("view_progress", at + timedelta(minutes=1), **on_10, session_id="s-a", seconds=60),  # max: 60
        raw("view_progress", at, **on_10, session_id="s-b", seconds=20),
        raw("view_progress", at, **on_10, anonymous_id="anon-x", session_id="s-c", seconds=45),
        raw("view_end", at, **on_10, session_id="s-a"),
        raw("like", at, **on_10),
        raw("like", at, **on_10, user_id=2),
        raw("comment", at, **on_10),
        raw("share", at, **on_10),
        raw("view_start", at, content_id=11, creator_id=3, user_id=2),
        raw("view_progress", at, content_id=11, creator_id=3, user_id=2, seconds=10.5),
        raw("follow", at, creator_id=3, user_id=5),
        raw("unfollow", at, creator_id=3, user_id=6),
        raw("subscribe", at, creator_id=3, user_id=5),
        raw("purchase", at, creator_id=3, user_id=5),
        raw("session_start", at),
        raw("search", at, properties={"q": "tour"}),  # counted nowhere, yet in the platform's bucket
        raw("view_start", yesterday_at(11, 20), content_id=10, creator_id=3, user_id=9),
    ]


CONTENT_10 = {"views": 3, "unique_viewers": 2, "watch_seconds": 125, "view_ends": 1, "likes": 2, "comments": 1}
CONTENT_10 = {**CONTENT_10, "shares": 1}
CONTENT_11 = {"views": 1, "unique_viewers": 1, "watch_seconds": 10.5}
CREATOR_3 = {**CONTENT_10, "views": 4, "unique_viewers": 3, "watch_seconds": 135.5}
CREATOR_3 = {**CREATOR_3, "follows": 1, "unfollows": 1, "subscribes": 1, "purchases": 1}


def test_each_bucket_holds_the_numbers_counted_by_hand(database_url: str) -> None:
    store(*a_known_hour())
    ten, eleven, day = yesterday_at(10), yesterday_at(11), yesterday_at(0)

    hourly, daily = roll(HOUR), roll(DAY)

    assert (hourly.events_read, hourly.buckets) == (21, [ten, eleven])
    assert (daily.events_read, daily.buckets) == (21, [day])
    assert content_rows(HOUR) == {
        (ten, 10): CONTENT_10,
        (ten, 11): CONTENT_11,
        (eleven, 10): {"views": 1, "unique_viewers": 1},
    }
    assert creator_rows(HOUR) == {(ten, 3): CREATOR_3, (eleven, 3): {"views": 1, "unique_viewers": 1}}
    assert platform_rows(HOUR) == {
        ten: {**CREATOR_3, "sessions": 1},
        eleven: {"views": 1, "unique_viewers": 1},
    }
    with session_scope() as session:  # each content's row names the creator its events name
        creators = session.execute(select(ContentRollupRow.content_id, ContentRollupRow.creator_id).distinct()).all()
    assert sorted(creators) == [(10, 3), (11, 3)]
    # The day is counted from the raw events, not summed from its hours: user 9 is a fourth
    # viewer of the creator, while user 1 is still one.
    assert content_rows(DAY) == {(day, 10): {**CONTENT_10, "views": 4, "unique_viewers": 3}, (day, 11): CONTENT_11}
    assert creator_rows(DAY) == {(day, 3): {**CREATOR_3, "views": 5, "unique_viewers": 4}}
    assert platform_rows(DAY) == {day: {**CREATOR_3, "views": 5, "unique_viewers": 4, "sessions": 1}}


def test_a_second_run_after_no_new_events_reads_and_touches_nothing(database_url: str) -> None:
    store(*a_known_hour())
    first = roll(HOUR)
    before = computed_times()

    again = roll(HOUR)

    assert (again.from_event_id, again.to_event_id) == (first.to_event_id, first.to_event_id)
    assert (again.events_read, again.buckets, again.rows_written) == (0, [], 0)
    assert computed_times() == before


def test_recomputing_every_bucket_from_scratch_gives_identical_tables(database_url: str) -> None:
    store(*a_known_hour())
    roll(HOUR), roll(DAY)
    tables = (content_rows(HOUR), creator_rows(HOUR), platform_rows(HOUR), content_rows(DAY), platform_rows(DAY))
    with session_scope() as session:  # forget how far both rollups read: they read it all again
        session.execute(delete(RollupWatermarkRow))

    again = roll(HOUR), roll(DAY)

    assert [run.events_read for run in again] == [21, 21]
    assert (content_rows(HOUR), creator_rows(HOUR), platform_rows(HOUR), content_rows(DAY), platform_rows(DAY)) == (
        tables
    )


def test_a_late_event_recomputes_its_old_bucket_and_nothing_else(database_url: str) -> None:
    store(*a_known_hour(), raw("like", yesterday_at(3, 30), content_id=10, creator_id=3))
    roll(HOUR)
    before = computed_times()
    three = yesterday_at(3)
    assert content_rows(HOUR)[(three, 10)] == {"likes": 1}

    store(raw("like", yesterday_at(3, 45), content_id=10, creator_id=3, user_id=4))  # arrives late
    late = roll(HOUR)

    assert (late.events_read, late.buckets) == (1, [three])
    assert content_rows(HOUR)[(three, 10)] == {"likes": 2}
    after = computed_times()
    changed = {key for key in after if after[key] != before.get(key)}
    assert changed == {("content", "hour", three, 10), ("creator", "hour", three, 3), ("platform", "hour", three, None)}


def test_an_event_older_than_the_late_window_is_not_re_aggregated(database_url: str) -> None:
    now = datetime.now(UTC)
    too_old = now - timedelta(hours=80)  # stored before a long rollup outage, say; window: 72 h
    store(raw("like", too_old, content_id=10, creator_id=3), raw("like", now - timedelta(hours=1), content_id=10))

    run = roll(HOUR, now=now)

    assert (run.events_read, run.too_old_events, run.buckets) == (2, 1, [bucket_of(now - timedelta(hours=1), HOUR)])
    assert bucket_of(too_old, HOUR) not in platform_rows(HOUR)
    assert roll(HOUR, now=now).events_read == 0  # the watermark moved past it all the same


def test_a_bucket_with_more_content_than_one_insert_holds_is_written_whole(database_url: str) -> None:
    at = yesterday_at(8, 30)
    store(*(raw("like", at, content_id=1000 + number, creator_id=3) for number in range(700)))  # 2 inserts

    run = roll(HOUR)

    assert run.rows_written == 700 + 1 + 1  # each content, the creator, the platform
    rows = content_rows(HOUR)
    assert len(rows) == 700
    assert all(value == {"likes": 1} for value in rows.values())
    assert creator_rows(HOUR) == {(yesterday_at(8), 3): {"likes": 700}}
