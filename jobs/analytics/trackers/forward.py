"""``analytics.forward_events``: accepted events to each enabled tracker, past its cursor.

Per tracker, in id order: a page of ``analytics_events`` rows past the cursor (and, on
PostgreSQL, older than the rollups' safety lag, for the same reason: a lower id may still
commit), opted-out users' events left out, contact data stripped, sent in pieces within the
provider's limits (``sending``). The cursor moves after each piece is taken or dropped on
purpose, so a tracker that is down for the whole run keeps its events for a later run, and
each is sent once (a piece cut short by a crash is sent again: Mixpanel and Amplitude drop the
repeat by insert id; GA4 has none, so there the piece is one request).

One tracker's trouble never holds up another: a tracker down is reported and tried again by
the next run; a tracker refusing for good (bad keys) is reported and fails the job once the
others are done.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.rollups import safe_upper_id
from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from jobs.analytics.trackers.jsonlines import JsonLinesTracker
from jobs.analytics.trackers.models import TrackerCursorRow
from jobs.analytics.trackers.privacy import clean_properties, holds_contact_data, opted_out
from jobs.analytics.trackers.registry import build_tracker
from jobs.analytics.trackers.run_lock import ForwardingLocked, tracker_lock
from jobs.analytics.trackers.sending import Counts, Sender
from odyssey_workers.connection import get_redis
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import OdysseyError, PermanentError
from odyssey_workers.monitoring import add_tracker_outcomes
from odyssey_workers.providers.tracker_base import OutgoingEvent, TrackerDown, TrackerRefused

logger = logging.getLogger(__name__)

CONTEXT_COLUMNS = ("content_id", "creator_id", "session_id", "country", "device")
"""Event columns sent as properties (after the event's own, so a property cannot pose as one)."""


class CursorMoved(OdysseyError):
    """Another forwarding run moved this tracker's cursor meanwhile; this run stops for it."""


class TrackersRefused(PermanentError):
    """At least one tracker refused requests for good; the message names each and why."""


@dataclass
class TrackerRun:
    """What one run did for one tracker."""

    tracker: str
    from_event_id: int  # exclusive: the cursor before the run
    to_event_id: int  # inclusive: the cursor after it
    counts: Counts = field(default_factory=Counts)
    stopped: str | None = None  # why the run stopped before the newest event, if it did
    refused: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "tracker": self.tracker,
            "from_event_id": self.from_event_id,
            "to_event_id": self.to_event_id,
            **self.counts.as_dict(),
            "stopped": self.stopped,
        }


def outgoing(row: AnalyticsEventRow) -> OutgoingEvent | None:
    """The row as it may leave, or None when it cannot be sent without contact data."""
    anonymous_id = row.anonymous_id if row.anonymous_id and not holds_contact_data(row.anonymous_id) else None
    if row.user_id is None and anonymous_id is None:
        return None
    context = {name: getattr(row, name) for name in CONTEXT_COLUMNS if getattr(row, name) is not None}
    return OutgoingEvent(
        row_id=row.id,
        insert_id=row.event_id,
        name=row.type.value,
        user_id=row.user_id,
        anonymous_id=anonymous_id,
        occurred_at=row.occurred_at,
        properties=clean_properties({**row.properties, **context}),
    )


def _cursor(session: Session, tracker: str) -> TrackerCursorRow:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        insert(TrackerCursorRow)
        .values(tracker=tracker, last_event_id=0, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tracker"])
    )
    return session.scalars(
        select(TrackerCursorRow).where(TrackerCursorRow.tracker == tracker).execution_options(populate_existing=True)
    ).one()


class _Cursor:
    """The cursor as this run moves it: compare-and-set on the id it last read, so two runs at
    once cannot both move it (the second stops)."""

    def __init__(self, tracker: str, last_event_id: int, position: Any) -> None:
        self.tracker = tracker
        self.last_event_id = last_event_id
        self.position = position
        self.totals = Counts()

    def commit(self, upto_id: int, counts: Counts) -> None:
        if upto_id <= self.last_event_id and not (counts.forwarded or counts.dropped or counts.retried):
            return
        values: dict[str, Any] = {"last_event_id": max(upto_id, self.last_event_id), "updated_at": utcnow()}
        length = self.position()
        if length is not None:
            values["file_length"] = length
        with session_scope() as session:
            moved = session.execute(
                update(TrackerCursorRow)
                .where(TrackerCursorRow.tracker == self.tracker, TrackerCursorRow.last_event_id == self.last_event_id)
                .values(**values)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise CursorMoved(f"{self.tracker}: another forwarding run moved the cursor; this one stops")
        self.last_event_id = values["last_event_id"]
        self.totals.add(counts)
        try:
            with get_redis().pipeline(transaction=False) as pipe:
                add_tracker_outcomes(pipe, self.tracker, counts.as_dict())
                pipe.execute()
        except Exception as exc:  # noqa: BLE001 - a metrics failure never undoes a forwarded piece
            logger.warning("could not count %s's forwarded events: %s", self.tracker, exc)


def _page(session: Session, after_id: int, upto_id: int, size: int) -> tuple[list[OutgoingEvent], int, int]:
    """Up to ``size`` rows past ``after_id``: the sendable events, how many were left out, the last id read."""
    rows = list(
        session.scalars(
            select(AnalyticsEventRow)
            .where(AnalyticsEventRow.id > after_id, AnalyticsEventRow.id <= upto_id)
            .order_by(AnalyticsEventRow.id)
            .limit(size)
        )
    )
    if not rows:
        return [], 0, upto_id  # rows gone meanwhile (retention): nothing left to read below upto_id
    out = opted_out(session, (row.user_id for row in rows if row.user_id is not None))
    events = [event for row in rows if row.user_id not in out and (event := outgoing(row)) is not None]
    return events, len(rows) - len(events), rows[-1].id


def forward_to(
    name: str, settings: AnalyticsSettings, now: datetime | None = None, budget_seconds: float | None = None
) -> TrackerRun:
    """One run for one tracker: forward what is new, until done, the time budget (default: all of
    ``ANALYTICS_FORWARD_TIME_BUDGET_SECONDS``), or trouble."""
    budget = settings.analytics_forward_time_budget_seconds if budget_seconds is None else budget_seconds
    try:
        with tracker_lock(get_redis(), name):
            return _forward_to(name, settings, now, time.monotonic() + budget)
    except ForwardingLocked as exc:  # nothing was read or sent
        logger.warning("forwarding to %s skipped: %s", name, exc)
        with session_scope() as session:
            at = _cursor(session, name).last_event_id
        return TrackerRun(tracker=name, from_event_id=at, to_event_id=at, stopped=str(exc))


def _forward_to(name: str, settings: AnalyticsSettings, now: datetime | None, deadline: float) -> TrackerRun:
    now = now or utcnow()
    tracker = build_tracker(name, settings)
    try:
        with session_scope() as session:
            row = _cursor(session, name)
            start, file_length = row.last_event_id, row.file_length
            postgres = session.get_bind().dialect.name == "postgresql"
            lag = timedelta(seconds=settings.analytics_rollup_safety_lag_seconds if postgres else 0)
            upto = safe_upper_id(session, start, now, lag)
        if isinstance(tracker, JsonLinesTracker):
            tracker.restore(file_length)
        cursor = _Cursor(name, start, tracker.position)
        sender = Sender(
            tracker,
            cursor.commit,
            settings.analytics_tracker_attempts,
            settings.analytics_tracker_backoff_seconds,
            deadline=deadline,
        )
        run = TrackerRun(tracker=name, from_event_id=start, to_event_id=start)
        try:
            while cursor.last_event_id < upto:
                if time.monotonic() >= deadline:
                    run.stopped = "time budget spent; the next run goes on"
                    break
                with session_scope() as session:
                    events, left_out, last_id = _page(
                        session, cursor.last_event_id, upto, settings.analytics_forward_batch
                    )
                sender.send_page(events, last_id, skipped=left_out)
        except (TrackerDown, CursorMoved) as exc:
            run.stopped = str(exc)
            logger.warning("forwarding to %s stopped at event %d: %s", name, cursor.last_event_id, exc)
        except TrackerRefused as exc:
            run.stopped, run.refused = str(exc), True
            logger.error("forwarding to %s stopped at event %d: %s", name, cursor.last_event_id, exc)
        run.to_event_id, run.counts = cursor.last_event_id, cursor.totals
        return run
    finally:
        tracker.close()


def forward(settings: AnalyticsSettings, trackers: list[str] | None = None) -> list[TrackerRun]:
    """One run for each enabled tracker (or the ``trackers`` named), one after the other, within
    ``ANALYTICS_FORWARD_TIME_BUDGET_SECONDS`` in all: each gets an equal share of what is left,
    so a slow tracker cannot take the time of those after it, and a quick one leaves its rest."""
    chosen = trackers if trackers is not None else list(dict.fromkeys(settings.analytics_trackers))
    now = utcnow()
    deadline = time.monotonic() + settings.analytics_forward_time_budget_seconds
    runs = []
    for position, name in enumerate(chosen):
        share = max(deadline - time.monotonic(), 0.0) / (len(chosen) - position)
        runs.append(forward_to(name, settings, now, budget_seconds=share))
    return runs


def describe(run: TrackerRun) -> str:
    """One line per tracker, as the command prints it."""
    counts = run.counts
    span = (
        f"nothing new since event {run.from_event_id}"
        if run.to_event_id == run.from_event_id
        else f"events {run.from_event_id + 1}..{run.to_event_id}"
    )
    line = (
        f"{run.tracker}: {span}; {counts.forwarded:,} forwarded, {counts.dropped:,} dropped, "
        f"{counts.skipped:,} skipped (opted out or no id to send), {counts.retried:,} requests retried"
    )
    return line + (f"; stopped: {run.stopped}" if run.stopped else "")


def forward_events() -> dict[str, Any]:
    """The job: forward new events to every enabled tracker; returns each tracker's run."""
    runs = forward(analytics_settings())
    for run in runs:
        logger.info(describe(run))
    refused = [run for run in runs if run.refused]
    if refused:
        raise TrackersRefused("; ".join(f"{run.tracker}: {run.stopped}" for run in refused))
    return {"trackers": [run.as_dict() for run in runs]}
