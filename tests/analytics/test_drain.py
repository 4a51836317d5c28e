"""analytics.drain_events: good events into analytics_events with their fields, bad ones set
aside with their reason, each event counted once however often it is delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

import odyssey_workers
from jobs.analytics.contracts import EventType
from jobs.analytics.intake import store_batch
from jobs.analytics.models import RejectReason
from jobs.analytics.stream import GROUP, intake_status
from jobs.analytics.validation import StreamEntry
from odyssey_workers.events import EVENT_FIELD, EVENT_STREAM
from odyssey_workers.monitoring import metrics_registry
from odyssey_workers.settings import get_settings
from tests.analytics.conftest import an_event, drain_now, rejected_events, stored_events


def event_metrics(redis_conn: Redis) -> dict[str, float]:
    text = generate_latest(metrics_registry(redis_conn)).decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("odyssey_events_")
    }


def test_drained_events_are_stored_with_every_field(database_url: str, redis_conn: Redis) -> None:
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
    progress = {
        "id": "evt-progress-1",
        "type": "view_progress",
        "user_id": 12,
        "content_id": 501,
        "creator_id": 9,
        "occurred_at": when.astimezone(timezone_plus_two()).isoformat(),  # any offset; stored as UTC
        "session_id": "sess-77",
        "country": "FR",
        "device": "android",
        "properties": {"seconds_watched": 42.5, "quality": "720p"},
    }
    search = {"type": "search", "anonymous_id": "anon-5", "occurred_at": when, "properties": {"q": "tour"}}
    ids = odyssey_workers.track_many([progress, search])

    counts = drain_now()

    assert counts.as_dict() == {"accepted": 2, "duplicate": 0, "rejected": 0}
    first, second = stored_events()
    assert (first.event_id, first.type, first.user_id, first.anonymous_id) == (
        "evt-progress-1",
        EventType.VIEW_PROGRESS,
        12,
        None,
    )
    assert (first.content_id, first.creator_id, first.session_id, first.country, first.device) == (
        501,
        9,
        "sess-77",
        "FR",
        "android",
    )
    assert first.occurred_at == when and first.occurred_at.utcoffset() == timedelta(0)
    assert first.properties == {"seconds_watched": 42.5, "quality": "720p"}
    assert (second.event_id, second.type, second.user_id, second.anonymous_id) == (
        ids[1],
        EventType.SEARCH,
        None,
        "anon-5",
    )
    assert (second.content_id, second.properties) == (None, {"q": "tour"})
    assert rejected_events() == []
    status = intake_status(redis_conn)
    assert (status.pending, status.lag) == (0, 0), "acknowledged once stored"
    assert event_metrics(redis_conn) == {
        "odyssey_events_accepted_total": 2.0,
        "odyssey_events_duplicate_total": 0.0,
        "odyssey_events_rejected_total": 0.0,
    }


def timezone_plus_two():  # type: ignore[no-untyped-def]
    from datetime import timezone

    return timezone(timedelta(hours=2))


def now_iso(offset: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + offset).isoformat()


BAD_EVENTS = {
    "unknown type": (an_event(id="bad-type", type="rewind"), RejectReason.UNKNOWN_TYPE, "type: Input should be"),
    "no occurred_at": (
        an_event(id="bad-missing", occurred_at=None),
        RejectReason.MISSING_FIELD,
        "occurred_at: Field required",
    ),
    "no user": (
        an_event(id="bad-nobody", user_id=None),
        RejectReason.MISSING_FIELD,
        "user_id is required (or anonymous_id)",
    ),
    "like without content": (
        an_event(id="bad-what", content_id=None),
        RejectReason.MISSING_FIELD,
        "content_id is required for like",
    ),
    "progress without seconds": (
        an_event(id="bad-seconds", type="view_progress"),
        RejectReason.MISSING_FIELD,
        "properties.seconds_watched is required",
    ),
    "in the future": (
        an_event(id="bad-future", occurred_at=now_iso(timedelta(minutes=6))),
        RejectReason.IN_FUTURE,
        "ahead of the drain's clock",
    ),
    "older than the late window": (
        an_event(id="bad-old", occurred_at=now_iso(-timedelta(hours=73))),
        RejectReason.TOO_OLD,
        "past the late window of 3 days",
    ),
    "properties over 8 KB": (
        an_event(id="bad-big", properties={"blob": "x" * 8200}),
        RejectReason.PROPERTIES_TOO_LARGE,
        "over the 8192-byte limit",
    ),
    "naive occurred_at": (
        an_event(id="bad-naive", occurred_at="2026-12-04T09:30:00"),
        RejectReason.INVALID_FIELD,
        "occurred_at: Input should have timezone info",
    ),
    "unknown field": (
        an_event(id="bad-field", colour="red"),
        RejectReason.INVALID_FIELD,
        "colour: Extra inputs are not permitted",
    ),
}


def test_each_kind_of_bad_event_is_set_aside_with_its_reason_and_never_stored(
    database_url: str, redis_conn: Redis
) -> None:
    good_ids = odyssey_workers.track_many([an_event(), an_event(occurred_at=now_iso(timedelta(minutes=4)))])
    odyssey_workers.track_many([event for event, _reason, _detail in BAD_EVENTS.values()])
    redis_conn.xadd(EVENT_STREAM, {EVENT_FIELD: "{not json"})
    redis_conn.xadd(EVENT_STREAM, {"something": "else"})

    counts = drain_now()

    assert counts.as_dict() == {"accepted": 2, "duplicate": 0, "rejected": len(BAD_EVENTS) + 2}
    assert sorted(row.event_id for row in stored_events()) == sorted(good_ids)
    rejected = rejected_events()
    by_id = {row.event_id: row for row in rejected}
    for name, (event, reason, detail) in BAD_EVENTS.items():
        row = by_id[event["id"]]
        assert row.reason == reason, name
        assert detail in row.detail, (name, row.detail)
        assert json.loads(row.raw)["id"] == event["id"]
    malformed = [row for row in rejected if row.event_id is None]
    assert [(row.reason, row.raw) for row in malformed] == [
        (RejectReason.MALFORMED, "{not json"),
        (RejectReason.MALFORMED, '{"something": "else"}'),
    ]
    assert event_metrics(redis_conn)["odyssey_events_rejected_total"] == len(BAD_EVENTS) + 2


def test_an_event_sent_twice_is_stored_once_and_counted_as_a_duplicate(database_url: str, redis_conn: Redis) -> None:
    event = an_event(id="evt-retried")
    odyssey_workers.track(event)
    odyssey_workers.track(event)  # the producer lost the first XADD's answer and sent it again
    assert drain_now().as_dict() == {"accepted": 1, "duplicate": 1, "rejected": 0}
    odyssey_workers.track(event)  # and once more, after the first drain
    assert drain_now().as_dict() == {"accepted": 0, "duplicate": 1, "rejected": 0}
    assert [row.event_id for row in stored_events()] == ["evt-retried"]


def test_the_same_batch_delivered_twice_counts_once(database_url: str, redis_conn: Redis) -> None:
    entries = [StreamEntry(f"1700000000000-{i}", json.dumps({"id": f"b{i}", **an_event()})) for i in range(50)]
    entries.append(StreamEntry("1700000000000-99", json.dumps(an_event(id="b-bad", type="rewind"))))
    late_window = timedelta(hours=72)

    first = store_batch(entries, datetime.now(UTC), late_window)
    again = store_batch(entries, datetime.now(UTC), late_window)

    assert first.as_dict() == {"accepted": 50, "duplicate": 0, "rejected": 1}
    assert again.as_dict() == {"accepted": 0, "duplicate": 51, "rejected": 0}
    assert len(stored_events()) == 50
    assert len(rejected_events()) == 1


def test_a_drain_works_off_the_stream_in_batches_until_it_is_empty(
    database_url: str, redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_DRAIN_BATCH", "100")
    get_settings.cache_clear()
    ids = odyssey_workers.track_many([an_event() for _ in range(250)])
    assert drain_now().as_dict() == {"accepted": 250, "duplicate": 0, "rejected": 0}
    assert [row.event_id for row in stored_events()] == ids, "stored in stream order"
    assert drain_now().as_dict() == {"accepted": 0, "duplicate": 0, "rejected": 0}
    assert redis_conn.xinfo_consumers(EVENT_STREAM, GROUP) == [], "a finished run leaves no consumer behind"


def test_events_postgresql_could_not_store_are_set_aside_and_never_block_the_stream(
    database_url: str, redis_conn: Redis
) -> None:
    # Each would fail the whole batch's INSERT on PostgreSQL, run after run, if it got that far.
    nan = json.dumps(an_event(id="nan", properties={"ratio": float("nan")}))  # Python writes NaN
    assert "NaN" in nan
    redis_conn.xadd(EVENT_STREAM, {EVENT_FIELD: nan})
    redis_conn.xadd(EVENT_STREAM, {EVENT_FIELD: json.dumps(an_event(id="nul-device", device="ios\x00"))})
    redis_conn.xadd(EVENT_STREAM, {EVENT_FIELD: '{"id": "nul\x00id", "type": "like"'})  # a NUL in broken JSON
    redis_conn.xadd(EVENT_STREAM, {EVENT_FIELD: b"\xff\xfe not utf-8"})
    redis_conn.xadd(EVENT_STREAM, {"payload": "wrong field name"})
    odyssey_workers.track(an_event(id="nul-in-properties", properties={"q": "a\x00b"}))

    assert drain_now().as_dict() == {"accepted": 1, "duplicate": 0, "rejected": 5}
    [stored] = stored_events()
    assert (stored.event_id, stored.properties) == ("nul-in-properties", {"q": "a\x00b"})
    rejected = rejected_events()
    assert [(row.event_id, row.reason) for row in rejected] == [
        ("nan", RejectReason.INVALID_FIELD),
        ("nul-device", RejectReason.INVALID_FIELD),
        (None, RejectReason.MALFORMED),
        (None, RejectReason.MALFORMED),
        (None, RejectReason.MALFORMED),
    ]
    assert "properties holds NaN or Infinity" in rejected[0].detail
    assert rejected[1].detail.startswith("device: String should match pattern")
    assert rejected[2].raw == '{"id": "nul\\u0000id", "type": "like"', "kept, with the NUL written out"
    assert rejected[3].raw == "\ufffd\ufffd not utf-8"
    assert rejected[4].raw == '{"payload": "wrong field name"}'
    assert intake_status(redis_conn).pending == 0


def test_an_event_the_database_refuses_is_set_aside_alone_and_the_rest_of_its_batch_is_stored(
    database_url: str, redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A row the checks let through but the database refuses (here: a type lost on the way, so
    # NOT NULL fails) would fail its batch on every run; it must not hold up the others.
    from jobs.analytics import validation

    accepted_row = validation._accepted

    def losing_the_type(event, now):  # type: ignore[no-untyped-def]
        row = accepted_row(event, now)
        return {**row, "type": None} if event.id == "poison" else row

    monkeypatch.setattr(validation, "_accepted", losing_the_type)
    ids = odyssey_workers.track_many([an_event() for _ in range(6)] + [an_event(id="poison")] + [an_event()])

    assert drain_now().as_dict() == {"accepted": 7, "duplicate": 0, "rejected": 1}
    assert sorted(row.event_id for row in stored_events()) == sorted(i for i in ids if i != "poison")
    [refused] = rejected_events()
    assert (refused.event_id, refused.reason) == ("poison", RejectReason.UNSTORABLE)
    assert refused.detail.startswith("the database refused it: ") and "null" in refused.detail.lower()
    assert intake_status(redis_conn).pending == 0
