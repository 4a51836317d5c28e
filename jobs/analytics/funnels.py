"""Funnels: how many actors went through an ordered list of event types within a window.

A funnel is two or more event types (no sign-up event type exists: the default funnel is
visit → view → follow → subscribe, i.e. ``session_start`` → ``view_start`` → ``follow`` →
``subscribe``). An actor is a signed-in user, else an anonymous id (one that signs in later is
a second actor: the events carry nothing that links the two).

Who enters: every actor with an event of the first type in [since, until); their entry time is
their first such event in that range. Step k is reached at the actor's earliest event of type k
at or after the time step k-1 was reached and no later than ``window`` after the entry, so the
steps happen in order, each within the window of the first. A later step may fall after
``until`` (a visit on the range's last day has its full window). Each step is one grouped join
in the database, over the events of that type in [since, until + window] (the ``occurred_at``
index). PostgreSQL needs the table's statistics (autovacuum's ``ANALYZE``) to join them by hash:
without them, as right after a bulk load, it may choose a nested loop that is far slower.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, String, cast, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from jobs.analytics.contracts import EventType
from jobs.analytics.models import AnalyticsEventRow

DEFAULT_FUNNEL = (EventType.SESSION_START, EventType.VIEW_START, EventType.FOLLOW, EventType.SUBSCRIBE)
"""Visit → view → follow → subscribe."""


@dataclass(frozen=True)
class FunnelStep:
    event_type: EventType
    actors: int  # actors who reached this step
    from_previous: float | None  # share of the previous step's actors (None for the first, or after 0)
    from_first: float | None  # share of the first step's actors (None when none entered)


@dataclass(frozen=True)
class FunnelResult:
    since: datetime
    until: datetime
    window: timedelta
    steps: tuple[FunnelStep, ...]


def _actor() -> ColumnElement[str]:
    events = AnalyticsEventRow
    return func.coalesce(literal("u:") + cast(events.user_id, String), literal("a:") + events.anonymous_id)


def _within(
    session: Session, moment: InstrumentedAttribute[datetime], entry: ColumnElement[Any], window: timedelta
) -> ColumnElement[bool]:
    """``moment`` is no later than ``window`` after ``entry`` (SQLite: Julian days; times are text)."""
    if session.get_bind().dialect.name == "postgresql":
        return moment <= entry + literal(window, Interval())
    return func.julianday(moment) <= func.julianday(entry) + window.total_seconds() / 86_400


def check_funnel(steps: list[EventType], since: datetime, until: datetime, window: timedelta) -> None:
    """Refuse a funnel that cannot be computed, naming what is wrong."""
    if len(steps) < 2:
        raise ValueError(f"a funnel needs at least 2 steps, got {len(steps)}")
    repeated = sorted({step.value for step in steps if steps.count(step) > 1})
    if repeated:  # a later step would match the very event an earlier one did
        raise ValueError(f"a funnel step may appear once; repeated: {', '.join(repeated)}")
    if since.tzinfo is None or until.tzinfo is None:
        raise ValueError("since and until must be timezone-aware (UTC)")
    if until <= since:
        raise ValueError(f"until ({until.isoformat()}) must be after since ({since.isoformat()})")
    if window <= timedelta(0):
        raise ValueError(f"the conversion window must be positive, got {window}")


def funnel(
    session: Session, steps: list[EventType], since: datetime, until: datetime, window: timedelta
) -> FunnelResult:
    """The actors reaching each step of ``steps`` (see the module's docstring for the rules)."""
    check_funnel(steps, since, until, window)
    events = AnalyticsEventRow
    actor = _actor().label("actor")
    reached = (
        select(actor, func.min(events.occurred_at).label("entry"))
        .where(events.type == steps[0], events.occurred_at >= since, events.occurred_at < until)
        .group_by(actor)
        .subquery("step_0")
    )
    counts = [session.scalar(select(func.count()).select_from(reached)) or 0]
    previous = reached.c.entry
    for index, step in enumerate(steps[1:], start=1):
        reached = (
            select(reached.c.actor, reached.c.entry, func.min(events.occurred_at).label("at"))
            .join_from(reached, events, _actor() == reached.c.actor)
            .where(
                events.type == step,
                # Implied by the two conditions below; stated so the occurred_at index bounds the scan.
                events.occurred_at >= since,
                events.occurred_at <= until + window,
                events.occurred_at >= previous,
                _within(session, events.occurred_at, reached.c.entry, window),
            )
            .group_by(reached.c.actor, reached.c.entry)
            .subquery(f"step_{index}")
        )
        previous = reached.c.at
        counts.append(session.scalar(select(func.count()).select_from(reached)) or 0)
    first = counts[0]
    result = []
    for index, (step, actors) in enumerate(zip(steps, counts, strict=True)):
        before = counts[index - 1] if index else None
        result.append(
            FunnelStep(
                event_type=step,
                actors=actors,
                from_previous=actors / before if before else None,
                from_first=actors / first if first else None,
            )
        )
    return FunnelResult(since=since, until=until, window=window, steps=tuple(result))


BAR_WIDTH = 40


def funnel_lines(result: FunnelResult) -> list[str]:
    """The bars ``analytics funnel`` and the demo print, the first step's actors as a full bar."""
    first = result.steps[0].actors
    days = result.window / timedelta(days=1)
    lines = [
        f"funnel of actors entering {result.since:%Y-%m-%d %H:%M} - {result.until:%Y-%m-%d %H:%M} UTC,"
        f" window {days:g} day(s):"
    ]
    name_width = max(len(step.event_type.value) for step in result.steps)
    for step in result.steps:
        bar = "#" * (round(BAR_WIDTH * step.actors / first) if first else 0)
        share = "" if step.from_first is None else f" {step.from_first:>6.1%}"
        lines.append(f"{step.event_type.value:<{name_width}} {step.actors:>7,}{share} {bar}".rstrip())
    return lines
