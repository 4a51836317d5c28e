"""Calendar arithmetic for billing periods and ISO weeks (all timezone-aware UTC)."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta

from odyssey_workers.errors import PermanentError

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus whole calendar months, the day clamped to the month's length (Jan 31 + 1 = Feb 28)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def period_end(anchor: datetime, periods: int, interval: str) -> datetime:
    """End of the ``periods``-th period counted from ``anchor``; counting from the anchor keeps month ends."""
    return add_months(anchor, periods * (12 if interval == "year" else 1))


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(week: str) -> date:
    """The Monday of ISO week '2026-W48'; anything else is a PermanentError naming the format."""
    match = WEEK_PATTERN.match(week or "")
    if not match:
        raise PermanentError(f"week {week!r} is not an ISO week such as 2026-W48")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise PermanentError(f"week {week!r} does not exist") from None


def parse_month(month: str) -> tuple[datetime, datetime]:
    """[start, end) of month '2026-11' in UTC."""
    match = MONTH_PATTERN.match(month or "")
    if not match or not 1 <= int(match[2]) <= 12:
        raise PermanentError(f"month {month!r} is not a month such as 2026-11")
    start = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
    return start, add_months(start, 1)


def previous_month(now: datetime) -> str:
    first = now.astimezone(UTC).replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"
