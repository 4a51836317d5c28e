"""Reading ``analytics_platform_daily``: a day series with its derived rates, and a month summary.

Only days a refresh has computed are returned: a day no event could change (more than 30 days
after the last event before it) has no row rather than a row of zeros.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.analytics.metric_models import PlatformDayRow
from jobs.analytics.rollup_reads import percent


@dataclass(frozen=True)
class PlatformDay:
    day: date
    dau: int
    wau: int
    mau: int
    new_users: int
    sessions: int
    session_seconds: float

    @property
    def stickiness(self) -> float | None:
        """DAU / MAU: the share of the month's users who came that day (None when MAU is 0)."""
        return self.dau / self.mau if self.mau else None

    @property
    def average_session_seconds(self) -> float | None:
        return self.session_seconds / self.sessions if self.sessions else None


def platform_series(session: Session, since: date, until: date) -> list[PlatformDay]:
    """The computed days from ``since`` to ``until`` (both included), oldest first."""
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    rows = session.scalars(
        select(PlatformDayRow)
        .where(PlatformDayRow.day >= since, PlatformDayRow.day <= until)
        .order_by(PlatformDayRow.day)
    )
    return [
        PlatformDay(row.day, row.dau, row.wau, row.mau, row.new_users, row.sessions, row.session_seconds)
        for row in rows
    ]


@dataclass(frozen=True)
class PlatformMonth:
    """A calendar month of platform days: averages of the daily figures, totals of the additive ones,
    and the MAU of the month's last computed day."""

    month: str  # "2026-11"
    days: int  # computed days in the month
    average_dau: float | None
    mau_at_end: int | None
    average_stickiness: float | None
    new_users: int
    sessions: int
    average_session_seconds: float | None


def month_bounds(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``; a clear error for anything else."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from None
    return first, date(year, number, monthrange(year, number)[1])


def month_summary(session: Session, month: str) -> PlatformMonth:
    first, last = month_bounds(month)
    days = platform_series(session, first, last)
    rates = [day.stickiness for day in days if day.stickiness is not None]
    sessions = sum(day.sessions for day in days)
    return PlatformMonth(
        month=f"{first:%Y-%m}",
        days=len(days),
        average_dau=sum(day.dau for day in days) / len(days) if days else None,
        mau_at_end=days[-1].mau if days else None,
        average_stickiness=sum(rates) / len(rates) if rates else None,
        new_users=sum(day.new_users for day in days),
        sessions=sessions,
        average_session_seconds=sum(day.session_seconds for day in days) / sessions if sessions else None,
    )


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def platform_lines(days: list[PlatformDay]) -> list[str]:
    """The table ``analytics platform`` and the demo print."""
    lines = [f"{'day':<10} {'dau':>7} {'wau':>7} {'mau':>7} {'sticky':>6} {'new':>6} {'sessions':>8} {'avg s':>7}"]
    for day in days:
        lines.append(
            f"{day.day:%Y-%m-%d} {day.dau:>7,} {day.wau:>7,} {day.mau:>7,} {percent(day.stickiness):>6} "
            f"{day.new_users:>6,} {day.sessions:>8,} {_seconds(day.average_session_seconds):>7}"
        )
    return lines
