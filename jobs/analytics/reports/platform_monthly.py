"""``platform_monthly``: a calendar month of the platform's daily metrics, and its revenue.

Read, never recomputed: the days are ``platform_reads.platform_series`` (what the platform
metrics jobs stored: DAU, WAU, MAU, new users, sessions), the month's figures
``platform_reads.month_summary``, the revenue ``revenue.revenue_months`` for each currency a
plan is priced in, and the trend of each metric on the month's last day ``trends.platform_trends``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.analytics.payments_tables import plans
from jobs.analytics.platform_reads import PlatformDay, month_summary, platform_series
from jobs.analytics.reports.model import Figures, LineChart, Number, Report, Row, Series, Table, Unit
from jobs.analytics.reports.periods import Period
from jobs.analytics.reports.trend_rows import from_trend, trend_row, trends_table
from jobs.analytics.revenue import revenue_months
from jobs.analytics.settings import AnalyticsSettings
from jobs.analytics.trends import platform_trends

DAILY = {
    "dau": ("Daily active users", Unit.COUNT),
    "wau": ("Weekly active users", Unit.COUNT),
    "mau": ("Monthly active users", Unit.COUNT),
    "stickiness": ("Stickiness (DAU / MAU)", Unit.RATE),
    "new_users": ("New users", Unit.COUNT),
    "sessions": ("Sessions", Unit.COUNT),
    "average_session_seconds": ("Average session", Unit.SECONDS),
}


def _line(period: Period, days: list[PlatformDay], name: str) -> Series:
    """One point per day of the month; none for a day not computed or a value that does not exist."""
    label, unit = DAILY[name]
    by_day = {day.day: day for day in days}
    points = []
    for day in period.days:
        found = by_day.get(day)
        value = None if found is None else getattr(found, name)
        points.append(None if value is None else Number(f"daily.{name}.{day.isoformat()}", label, value, unit))
    return Series(label, tuple(points))


def _currencies(session: Session) -> list[str]:
    return sorted(str(code) for code in session.scalars(select(plans.c.currency).distinct()) if code)


def _revenue_table(session: Session, period: Period) -> Table:
    rows = []
    for currency in _currencies(session):
        [month] = revenue_months(session, period.label, period.label, currency)
        key = f"revenue.{currency}"
        paid = month.payments
        figures = (
            Number(f"{key}.mrr_start", f"MRR at start ({currency}, minor units)", month.mrr.mrr_start),
            Number(f"{key}.mrr_end", f"MRR at end ({currency}, minor units)", month.mrr.mrr_end),
            Number(f"{key}.gross_revenue", f"Gross revenue ({currency})", paid.gross_revenue if paid else None),
            Number(f"{key}.net_revenue", f"Net revenue ({currency})", paid.net_revenue if paid else None),
            Number(f"{key}.commission", f"Platform commission ({currency})", paid.commission if paid else None),
            Number(f"{key}.refunds", f"Refunds ({currency})", paid.refunds if paid else None),
            Number(f"{key}.arpu", f"ARPU ({currency})", paid.arpu if paid else None),
            Number(
                f"{key}.churn_rate",
                f"Churn rate ({currency})",
                float(paid.churn_rate) if paid and paid.churn_rate is not None else None,
                Unit.RATE,
            ),
        )
        rows.append(Row(currency, figures))
    return Table(
        "Revenue (amounts in minor units of the currency)",
        ("Currency", "MRR at start", "MRR at end", "Gross", "Net", "Commission", "Refunds", "ARPU", "Churn rate"),
        tuple(rows),
        empty="no plan is priced in any currency: no revenue",
    )


def platform_monthly_report(session: Session, period: Period, settings: AnalyticsSettings) -> Report:
    days = platform_series(session, period.start.date(), period.days[-1])
    summary = month_summary(session, period.label)
    labels = tuple(f"{day:%d %b}" for day in period.days)
    figures = (
        Number("month.days", "Days computed", summary.days),
        Number("month.average_dau", "Average DAU", summary.average_dau),
        Number("month.mau_at_end", "MAU at the month's end", summary.mau_at_end),
        Number("month.average_stickiness", "Average stickiness", summary.average_stickiness, Unit.RATE),
        Number("month.new_users", "New users", summary.new_users),
        Number("month.sessions", "Sessions", summary.sessions),
        Number("month.average_session_seconds", "Average session", summary.average_session_seconds, Unit.SECONDS),
    )
    trends = platform_trends(
        session, period.days[-1], settings.analytics_trend_baseline_days, settings.analytics_anomaly_z_threshold
    )
    trend_rows = [
        trend_row(
            name,
            DAILY[name][0],
            DAILY[name][1],
            from_trend(t),
        )
        for name, t in trends.items()
    ]
    notes = () if days else ("No platform days are computed for this month (the job analytics.platform_daily does).",)
    return Report(
        kind="platform_monthly",
        title="Monthly platform metrics",
        period=period,
        notes=notes,
        sections=(
            Figures("This month", figures),
            LineChart(
                "Daily, weekly and monthly active users",
                labels,
                tuple(_line(period, days, n) for n in ("dau", "wau", "mau")),
            ),
            LineChart("Stickiness (DAU / MAU)", labels, (_line(period, days, "stickiness"),)),
            LineChart(
                "New users and sessions", labels, tuple(_line(period, days, n) for n in ("new_users", "sessions"))
            ),
            trends_table("Trends on the month's last day", trend_rows, weekly=False),
            _revenue_table(session, period),
        ),
    )
