"""The drain's insert-if-absent: what it stores is what SQLAlchemy's insert stores, value for value,
on SQLite and PostgreSQL; it counts only new rows; rows it cannot insert as given are refused whole."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, text

from jobs.analytics.bulk_insert import INSERT_CHUNK, insert_if_absent
from jobs.analytics.contracts import EventType
from jobs.analytics.models import EVENT_KEY, AnalyticsEventRow, RejectedEventRow, RejectReason
from jobs.analytics.partitions import ensure_months
from odyssey_workers.db.idempotent import insert_if_absent as runtime_insert_if_absent
from odyssey_workers.db.session import get_engine, session_scope

RECEIVED = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def event_key() -> list[str]:
    """The drain's conflict key on this database (PostgreSQL's also holds the partition key)."""
    return list(EVENT_KEY[get_engine().dialect.name])


@pytest.fixture(autouse=True)
def _march_partition(database_url: str) -> None:
    """On PostgreSQL the events' month must exist first, as the drain makes it."""
    if get_engine().dialect.name == "postgresql":
        ensure_months(get_engine(), [RECEIVED])


def an_event_row(event_id: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event_id,
        "type": EventType.VIEW_PROGRESS,
        "user_id": 7,
        "anonymous_id": None,
        "content_id": 41,
        "creator_id": 3,
        # Not UTC on purpose: both inserts must store the same UTC instant.
        "occurred_at": datetime(2026, 3, 1, 13, 59, 58, 5, tzinfo=timezone(timedelta(hours=2))),
        "session_id": "s-1",
        "country": "DE",
        "device": "ios",
        "properties": {"seconds_watched": 12.5, "nested": {"list": [1, "two", None]}, "text": "ünï"},
        "received_at": RECEIVED,
    }
    row.update(fields)
    return row


def raw_rows(table: str, key: str) -> dict[str, tuple[Any, ...]]:
    """Each row as the database holds it (no SQLAlchemy type on the way out), by ``key``."""
    with session_scope() as session:
        result = session.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        columns = list(result.keys())
        return {
            row[columns.index(key)]: tuple(value for name, value in zip(columns, row, strict=True) if name != "id")
            for row in result
        }


def test_rows_are_stored_exactly_as_the_runtime_insert_stores_them(database_url: str) -> None:
    variants: list[dict[str, Any]] = [
        {},
        {"user_id": None, "anonymous_id": "anon-1", "properties": {}},
        {"type": EventType.SEARCH, "content_id": None, "creator_id": None, "country": None, "device": None},
    ]
    with session_scope() as session:
        for number, fields in enumerate(variants):
            assert insert_if_absent(session, AnalyticsEventRow, [an_event_row(f"ours-{number}", **fields)], event_key())
            runtime_insert_if_absent(
                session, AnalyticsEventRow, [an_event_row(f"theirs-{number}", **fields)], event_key()
            )
        rejected = {
            "event_id": None,
            "reason": RejectReason.MALFORMED,
            "detail": "not JSON",
            "raw": "{oops",
            "received_at": RECEIVED,
        }
        insert_if_absent(session, RejectedEventRow, [{**rejected, "stream_id": "1-1"}], ["stream_id"])
        runtime_insert_if_absent(session, RejectedEventRow, [{**rejected, "stream_id": "1-2"}], ["stream_id"])

    events = raw_rows("analytics_events", "event_id")
    for number in range(len(variants)):
        ours, theirs = events[f"ours-{number}"], events[f"theirs-{number}"]
        assert ours[1:] == theirs[1:]  # every column but the producer's id itself
    set_aside = raw_rows("analytics_rejected_events", "stream_id")
    assert set_aside["1-1"][1:] == set_aside["1-2"][1:]

    with session_scope() as session:  # and they read back as the model's values
        stored = session.scalars(select(AnalyticsEventRow).where(AnalyticsEventRow.event_id == "ours-0")).one()
        assert stored.occurred_at == datetime(2026, 3, 1, 11, 59, 58, 5, tzinfo=UTC)
        assert stored.type is EventType.VIEW_PROGRESS
        assert stored.properties == an_event_row("x")["properties"]
        assert stored.received_at == RECEIVED


def test_only_rows_whose_key_is_new_are_inserted_and_counted(database_url: str) -> None:
    rows = [an_event_row(f"e{number}") for number in range(INSERT_CHUNK * 2 + 7)]  # three statements
    with session_scope() as session:
        assert insert_if_absent(session, AnalyticsEventRow, rows[:5] + rows[-3:], event_key()) == 8
    with session_scope() as session:
        assert insert_if_absent(session, AnalyticsEventRow, rows, event_key()) == len(rows) - 8
        assert insert_if_absent(session, AnalyticsEventRow, rows, event_key()) == 0
        assert insert_if_absent(session, AnalyticsEventRow, [], event_key()) == 0
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsEventRow)) == len(rows)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        # The odd row comes after a whole statement's worth of good ones: none of them is written.
        (
            [an_event_row(f"good-{number}") for number in range(INSERT_CHUNK + 1)]
            + [{**an_event_row("b"), "colour": "red"}],
            "every row must name the columns the first does",
        ),
        ([{**an_event_row("a"), "colour": "red"}], "analytics_events has no column(s) colour"),
        ([{k: v for k, v in an_event_row("a").items() if k != "received_at"}], "must name received_at"),
    ],
    ids=["rows-differ", "unknown-column", "default-left-out"],
)
def test_rows_it_cannot_insert_as_given_are_refused_before_anything_is_written(
    database_url: str, rows: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        with session_scope() as session:
            insert_if_absent(session, AnalyticsEventRow, rows, event_key())
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsEventRow)) == 0
