"""The platform's daily user metrics: DAU, WAU, MAU, new users, sessions and their length.

Written to ``analytics_platform_daily`` incrementally, as the rollups are: a run reads the event
ids past its watermark and recomputes, from every raw event, each day those events can change:

- the event's own day and the 29 days after it (up to today), whose 7- and 30-day windows hold it;
- every day a touched session has an event on (its first day may move, its length changes);
- the day a touched user's first earlier-stored event fell on (that day may lose a new user).

A day's row is always the whole day, never an increment, so a re-run counts nothing twice.

Definitions (users: ``user_id``, else ``anonymous_id``; days are UTC):

- DAU: distinct users with any event that day; WAU, MAU: the same over the 7 and 30 days ending
  that day; stickiness = DAU / MAU;
- new users: users whose earliest stored event is that day (raw events removed by retention
  make a returning user look new);
- sessions: distinct ``session_id`` values whose earliest event is that day; a session's length
  is its last event's time minus its first's (a session of one event lasts 0 s), and the average
  session length is the sum of lengths over the day's sessions divided by their number.

Each recomputed day scans the events of its 30-day window, and new users scan the events before
the day: fine for the SQLite default and for PostgreSQL at moderate volume, a partitioned or
pre-aggregated source past that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, cast, distinct, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jobs.analytics.metric_models import MetricWatermarkRow, PlatformDayRow
from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.rollups import safe_upper_id
from jobs.analytics.settings import AnalyticsSettings
from jobs.analytics.watermarks import lock_watermark_row
from odyssey_workers.db.base import utcnow

WATERMARK = "platform_daily"
WEEK_DAYS, MONTH_DAYS = 7, 30
CHUNK = 500
"""Users or sessions per IN list: far below either database's parameter limit."""


@dataclass
class PlatformRun:
    """What one refresh did: the ids it read and the days it recomputed."""

    from_event_id: int  # exclusive: the watermark before the run
    to_event_id: int  # inclusive: the watermark after it
    events_read: int = 0
    days: list[date] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from_event_id": self.from_event_id,
            "to_event_id": self.to_event_id,
            "events_read": self.events_read,
            "days": [day.isoformat() for day in self.days],
        }


def user_key() -> ColumnElement[str]:
    """One text per user: a signed-in user by id, else an anonymous visitor by their id."""
    events = AnalyticsEventRow
    # Inline text prefixes, not bound parameters: PostgreSQL sees two bound ones as different
    # expressions and refuses a GROUP BY on this key with the key also selected.
    user, anonymous = literal_column("'u:'", String), literal_column("'a:'", String)
    return func.coalesce(user + cast(events.user_id, String), anonymous + events.anonymous_id)


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for first in range(0, len(values), CHUNK):
        yield values[first : first + CHUNK]


def days_touched(session: Session, after_id: int, upto_id: int, today: date) -> tuple[int, set[date]]:
    """How many events were ingested in (after_id, upto_id], and the days they can change."""
    events = AnalyticsEventRow
    new = (events.id > after_id, events.id <= upto_id)
    count = 0
    days: set[date] = set()
    users: set[str] = set()
    sessions: set[str] = set()
    for moment, user, session_id in session.execute(
        select(events.occurred_at, user_key(), events.session_id).where(*new).execution_options(yield_per=10_000)
    ):
        count += 1
        first = moment.date()
        last = max(first, min(first + timedelta(days=MONTH_DAYS - 1), today))
        days.update(first + timedelta(days=offset) for offset in range((last - first).days + 1))
        users.add(user)
        if session_id is not None:
            sessions.add(session_id)
    for chunk in _chunks(sorted(sessions)):
        for first_at, last_at in session.execute(
            select(func.min(events.occurred_at), func.max(events.occurred_at))
            .where(events.session_id.in_(chunk))
            .group_by(events.session_id)
        ):
            days.update(first_at.date() + timedelta(days=n) for n in range((last_at.date() - first_at.date()).days + 1))
    for chunk in _chunks(sorted(users)):
        earlier = select(func.min(events.occurred_at)).where(events.id <= after_id, user_key().in_(chunk))
        days.update(moment.date() for moment in session.scalars(earlier.group_by(user_key())))
    return count, days


def _distinct_users(session: Session, start: datetime, end: datetime) -> int:
    events = AnalyticsEventRow
    window = (events.occurred_at >= start, events.occurred_at < end)
    return session.scalar(select(func.count(distinct(user_key()))).where(*window)) or 0


def compute_day(session: Session, day: date) -> dict[str, Any]:
    """One day's row, computed from the raw events (see the module's definitions)."""
    events = AnalyticsEventRow
    start = day_start(day)
    end = start + timedelta(days=1)
    firsts = select(user_key()).where(events.occurred_at < end).group_by(user_key())
    new_users = firsts.having(func.min(events.occurred_at) >= start).subquery()
    that_day = select(events.session_id).where(
        events.occurred_at >= start, events.occurred_at < end, events.session_id.is_not(None)
    )
    spans = session.execute(
        select(func.min(events.occurred_at), func.max(events.occurred_at))
        .where(events.session_id.in_(that_day))
        .group_by(events.session_id)
        .having(func.min(events.occurred_at) >= start)
    ).all()
    return {
        "day": day,
        "dau": _distinct_users(session, start, end),
        "wau": _distinct_users(session, end - timedelta(days=WEEK_DAYS), end),
        "mau": _distinct_users(session, end - timedelta(days=MONTH_DAYS), end),
        "new_users": session.scalar(select(func.count()).select_from(new_users)) or 0,
        "sessions": len(spans),
        "session_seconds": sum((last - first).total_seconds() for first, last in spans),
    }


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    for first in range(0, len(rows), CHUNK):
        statement = _insert(session)(PlatformDayRow).values(rows[first : first + CHUNK])
        updated = {name: statement.excluded[name] for name in rows[0] if name != "day"}
        session.execute(statement.on_conflict_do_update(index_elements=["day"], set_=updated))


def refresh_platform_days(session: Session, settings: AnalyticsSettings, now: datetime | None = None) -> PlatformRun:
    """One incremental run, in the caller's transaction (commit to keep it)."""
    now = now or utcnow()
    watermark = lock_watermark_row(session, MetricWatermarkRow, "name", WATERMARK)
    postgres = session.get_bind().dialect.name == "postgresql"
    lag = timedelta(seconds=settings.analytics_rollup_safety_lag_seconds if postgres else 0)
    upto = safe_upper_id(session, watermark.last_event_id, now, lag)
    run = PlatformRun(from_event_id=watermark.last_event_id, to_event_id=upto)
    if upto == watermark.last_event_id:
        return run
    run.events_read, days = days_touched(session, watermark.last_event_id, upto, now.date())
    run.days = sorted(days)
    computed_at = utcnow()
    _upsert(session, [{**compute_day(session, day), "computed_at": computed_at} for day in run.days])
    watermark.last_event_id, watermark.updated_at = upto, now
    return run


def describe(run: PlatformRun) -> str:
    if run.to_event_id == run.from_event_id:
        return f"platform metrics: nothing new since event {run.from_event_id}"
    span = f"{run.days[0]:%Y-%m-%d}..{run.days[-1]:%Y-%m-%d}" if run.days else "none"
    return (
        f"platform metrics: events {run.from_event_id + 1}..{run.to_event_id} ({run.events_read:,} read), "
        f"{len(run.days)} day(s) recomputed ({span})"
    )
