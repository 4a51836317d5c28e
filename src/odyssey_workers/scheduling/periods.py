"""Cron ticks and periods, all in UTC.

A firing is identified by its *period key*, the durable key that makes an entry run once per
period however many schedulers fire it: ``analytics.daily:2026-11-29`` for an entry that runs
once a day, ``payouts.weekly:2026-W48`` (ISO week) once a week, ``revenue.monthly:2026-11``
once a month, and the cron tick itself (``sync.every_minute:2026-11-29T02:05Z``) for anything
else. A firing time is first brought back to the latest cron tick at or before it, so a
scheduler that fires a few seconds late still names the same period.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from croniter import croniter

FIRE_JOB = "schedules.fire"
"""The catalog job every cron firing enqueues; it claims the period, then enqueues the target."""

TICKET_PREFIX = "schedule-"
"""Job id prefix of the scheduler's tickets (one per enabled entry) in rq-scheduler."""

TARGET_PREFIX = "scheduled-"
"""Job id prefix of the target job a firing enqueues (one per period)."""

PeriodKind = Literal["daily", "weekly", "monthly", "tick"]


def _single(values: Sequence[object]) -> bool:
    """One plain value: not '*', not a list or range, not 'L' (last day of the month)."""
    return len(values) == 1 and isinstance(values[0], int)


def period_kind(cron: str) -> PeriodKind:
    """Whether ``cron`` fires once a day, once a week, once a month, or otherwise."""
    (minutes, hours, days, months, weekdays), nth_weekday = croniter.expand(cron)
    if not (_single(minutes) and _single(hours)) or months != ["*"] or nth_weekday:
        return "tick"
    if days == ["*"] and weekdays == ["*"]:
        return "daily"
    if days == ["*"] and _single(weekdays):
        return "weekly"
    if _single(days) and weekdays == ["*"]:
        return "monthly"
    return "tick"


def as_utc(moment: datetime) -> datetime:
    """``moment`` as aware UTC; a naive datetime is refused, never guessed."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime refused: schedules work in timezone-aware UTC")
    return moment.astimezone(UTC)


def period_tick(cron: str, moment: datetime) -> datetime:
    """The latest tick of ``cron`` at or before ``moment`` (cron has minute resolution)."""
    minute = as_utc(moment).replace(second=0, microsecond=0)
    if croniter.match(cron, minute):
        return minute
    tick: datetime = croniter(cron, minute).get_prev(datetime)
    return as_utc(tick)


def period_label(cron: str, tick: datetime) -> str:
    """The period part of the key for a tick of ``cron``."""
    tick = as_utc(tick)
    kind = period_kind(cron)
    if kind == "daily":
        return tick.strftime("%Y-%m-%d")
    if kind == "weekly":
        year, week, _ = tick.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "monthly":
        return tick.strftime("%Y-%m")
    return tick.strftime("%Y-%m-%dT%H:%MZ")


def period_key(entry: str, cron: str, moment: datetime) -> str:
    """The durable key of the period ``moment`` falls in, e.g. ``payouts.weekly:2026-W48``."""
    return f"{entry}:{period_label(cron, period_tick(cron, moment))}"


def target_job_id(key: str) -> str:
    """The RQ job id of the target job for a period key (RQ ids allow ``[A-Za-z0-9_-]``).

    Entry names are ``[a-z0-9_.]`` and period labels ``[0-9A-Z:-]``, so mapping ``.`` and ``:``
    to ``-`` keeps distinct keys distinct: no name segment starts with a digit, and the period
    label's shape is fixed.
    """
    return TARGET_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", key)


def ticket_id(entry: str) -> str:
    """The fixed rq-scheduler job id of an entry's ticket, e.g. ``schedule-payouts-weekly``."""
    return TICKET_PREFIX + entry.replace(".", "-")


def next_run(cron: str, after: datetime | None = None) -> datetime:
    """The first tick of ``cron`` strictly after ``after`` (default: now), in UTC.

    Raises ``ValueError`` (croniter's CroniterBadDateError) for an expression that never fires.
    """
    start = as_utc(after) if after is not None else datetime.now(UTC)
    tick: datetime = croniter(cron, start).get_next(datetime)
    return as_utc(tick)
