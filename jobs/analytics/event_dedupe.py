"""Storing an event once on PostgreSQL, where the unique key is ``(event_id, occurred_at)``.

The partitioned table cannot hold a unique key on ``event_id`` alone (a unique key must hold the
partition key), so the key alone would store a re-sent event twice if its producer sent it again
with another ``occurred_at``. The drain therefore, in the batch's own transaction:

1. takes ``DRAIN_WRITE_LOCK`` (transaction-scoped), so two drains' batches are checked and
   written one after the other and none can slip an event between another's check and insert;
2. keeps the first row of each ``event_id`` in the batch;
3. drops the rows whose ``event_id`` is already stored with ``occurred_at`` from ``since`` on:
   the first of the month the late window reaches back into. Every event the drain accepts now
   happened after that, and partition pruning limits the look-up to those months' tables, each
   searched through its unique index (which leads with ``event_id``).

What remains possible: an event first stored with an ``occurred_at`` before ``since`` and
re-sent with a different ``occurred_at`` inside the late window is stored a second time. That
takes a producer changing an event's time by more than the late window while re-sending it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from jobs.analytics.models import AnalyticsEventRow

DRAIN_WRITE_LOCK = 0x0A_4E_A1_06
"""The advisory lock key (a bigint) a drain's batch holds from its check to its commit."""


def lock_for_batch(session: Session) -> None:
    """Wait for any other drain's batch to commit, then hold the lock until this one does."""
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DRAIN_WRITE_LOCK})


def first_of_each_event(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with an ``event_id`` no earlier row of the batch has (first wins, as ON CONFLICT's)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row["event_id"] not in seen:
            seen.add(row["event_id"])
            kept.append(row)
    return kept


def not_stored_yet(session: Session, rows: Sequence[dict[str, Any]], since: datetime) -> list[dict[str, Any]]:
    """``rows`` less those whose event is stored already with ``occurred_at >= since``, and less
    repeats within the batch; call it under ``lock_for_batch``."""
    rows = first_of_each_event(rows)
    if not rows:
        return []
    events = AnalyticsEventRow
    stored = set(
        session.scalars(
            select(events.event_id).where(
                # One array parameter, however large the batch (ANALYTICS_DRAIN_BATCH goes to 50,000).
                events.event_id == any_(bindparam("ids", [row["event_id"] for row in rows], type_=ARRAY(String))),
                events.occurred_at >= since,
            )
        )
    )
    return [row for row in rows if row["event_id"] not in stored]
