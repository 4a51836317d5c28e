"""The period a report covers: a UTC day (``2026-12-03``), ISO week (``2026-W48``) or month (``2026-11``).

A period is half-open, ``[start, end)``, in UTC, so it lines up with the daily rollup's buckets.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from odyssey_workers.errors import PermanentError


class ReportError(PermanentError):
    """A report cannot be made as asked: unknown name, bad period, missing subject."""


class Grain(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


EXPECTED_FORM = {
    Grain.DAY: "a UTC day as YYYY-MM-DD, e.g. 2026-12-03",
    Grain.WEEK: "an ISO week as YYYY-Www, e.g. 2026-W48",
    Grain.MONTH: "a month as YYYY-MM, e.g. 2026-11",
}
_FORMS = {
    Grain.DAY: re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    Grain.WEEK: re.compile(r"^(\d{4})-W(\d{2})$"),
    Grain.MONTH: re.compile(r"^(\d{4})-(\d{2})$"),
}


@dataclass(frozen=True)
class Period:
    grain: Grain
    label: str  # the period as written: 2026-12-03, 2026-W48, 2026-11
    start: datetime  # inclusive, UTC midnight
    end: datetime  # exclusive

    @property
    def days(self) -> list[date]:
        """Each UTC day of the period, in order."""
        first = self.start.date()
        return [first + timedelta(days=n) for n in range((self.end - self.start).days)]

    def previous(self) -> Period:
        """The period of the same grain just before this one."""
        return period_holding(self.grain, self.start - timedelta(days=1))


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_of(grain: Grain, first: date) -> Period:
    """The period of ``grain`` starting on ``first`` (a Monday for weeks, the 1st for months)."""
    if grain is Grain.DAY:
        return Period(grain, first.isoformat(), _midnight(first), _midnight(first + timedelta(days=1)))
    if grain is Grain.WEEK:
        year, week, _weekday = first.isocalendar()
        return Period(grain, f"{year}-W{week:02d}", _midnight(first), _midnight(first + timedelta(days=7)))
    return Period(grain, f"{first:%Y-%m}", _midnight(first), _midnight(_month_after(first)))


def period_holding(grain: Grain, moment: datetime | date) -> Period:
    """The period of ``grain`` that holds ``moment`` (a datetime is taken in UTC)."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    if grain is Grain.WEEK:
        day -= timedelta(days=day.weekday())
    elif grain is Grain.MONTH:
        day = day.replace(day=1)
    return period_of(grain, day)


def last_complete(grain: Grain, now: datetime) -> Period:
    """The latest period of ``grain`` that has ended by ``now``: yesterday, last week, last month."""
    return period_holding(grain, now).previous()


def parse_period(grain: Grain, text: str) -> Period:
    """``text`` as a period of ``grain``; a ReportError naming the expected form otherwise."""
    found = _FORMS[grain].match(text.strip()) if isinstance(text, str) else None
    bad = ReportError(f"period {text!r} is not {EXPECTED_FORM[grain]}")
    if found is None:
        raise bad
    numbers = [int(part) for part in found.groups()]
    try:
        if grain is Grain.DAY:
            return period_of(grain, date(*numbers))
        if grain is Grain.WEEK:
            return period_of(grain, date.fromisocalendar(numbers[0], numbers[1], 1))
        return period_of(grain, date(numbers[0], numbers[1], 1))
    except ValueError as exc:  # 2026-02-30, 2026-W54, 2026-13: the right shape, no such period
        raise ReportError(f"period {text!r} does not exist ({exc}); expected {EXPECTED_FORM[grain]}") from None
