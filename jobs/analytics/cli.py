"""``odyssey-workers analytics intake``: the event stream's backlog and what the drains did;
``odyssey-workers analytics live``: the top content of the last minutes, from the live counters;
``odyssey-workers analytics partitions``: the raw events' months and what retention would drop.
``platform``, ``revenue`` and ``creator``: the platform's days, the revenue months, a creator's summary.
``retention``, ``funnel`` and ``affinities``: the user-behaviour tables and funnels.
``forward`` and ``opt-out``: forwarding to the trackers now, and a user's analytics opt-out.
``report``: one report rendered into storage now.

Every command works in this process against Redis and the database (no worker needed), so they
work while workers are down, which is when a growing backlog needs explaining; ``--refresh``,
``forward`` and ``report`` run the same code the scheduled jobs run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import click
from redis.exceptions import RedisError
from sqlalchemy import func, select

from jobs.analytics.behaviour_models import AffinityKind, CohortGrain
from jobs.analytics.cohorts import matrix_lines, period_start, retention_matrix, run_cohorts
from jobs.analytics.contracts import EventType
from jobs.analytics.creator_metrics import creator_summary
from jobs.analytics.funnels import DEFAULT_FUNNEL, funnel, funnel_lines
from jobs.analytics.live import top_content as live_top_content
from jobs.analytics.live_keys import window
from jobs.analytics.models import AnalyticsEventRow, RejectedEventRow, RollupGrain
from jobs.analytics.partition_report import storage_lines
from jobs.analytics.platform_metrics import describe as describe_platform_run
from jobs.analytics.platform_metrics import refresh_platform_days
from jobs.analytics.platform_reads import platform_lines, platform_series
from jobs.analytics.preferences import top_affinities
from jobs.analytics.reports.kinds import REPORT_KINDS, render_reports, report_kind
from jobs.analytics.reports.periods import ReportError, last_complete, parse_period
from jobs.analytics.revenue import revenue_lines, revenue_months
from jobs.analytics.rollup_reads import percent, top_content, top_content_lines
from jobs.analytics.rollups import describe, rebuild_rollup, run_rollup
from jobs.analytics.settings import analytics_settings
from jobs.analytics.stream import intake_status
from jobs.analytics.trends import platform_trends, trend_label
from odyssey_workers.cli import main
from odyssey_workers.connection import get_redis, redis_url, safe_url
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import get_engine, session_scope
from odyssey_workers.events import EVENT_STREAM
from odyssey_workers.monitoring import EVENT_OUTCOMES, EVENT_OUTCOMES_KEY
from odyssey_workers.settings import get_settings
from odyssey_workers.storage import get_storage


@main.group()
def analytics() -> None:
    """Analytics: the event intake, the live counters, the rollups, the raw events' months, the
    platform, creator and revenue metrics, user behaviour, forwarding to trackers, and the reports."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _stream_lines() -> list[str]:
    connection = get_redis()
    status = intake_status(connection)
    counted = {_text(key): int(value) for key, value in connection.hgetall(EVENT_OUTCOMES_KEY).items()}
    lag = "unknown" if status.lag is None else f"{status.lag:,}"
    return [
        f"stream {EVENT_STREAM}: {status.length:,} entries (kept: about {get_settings().event_stream_maxlen:,})",
        f"waiting for a drain: {lag}; read by a drain, not yet stored: {status.pending:,} "
        f"({status.consumers} drain consumer(s))",
        "drained so far: " + ", ".join(f"{outcome} {counted.get(outcome, 0):,}" for outcome in EVENT_OUTCOMES),
    ]


@analytics.command()
def intake() -> None:
    """Show the event stream's backlog, pending entries and the stored and set-aside counts."""
    try:
        lines = _stream_lines()
    except RedisError as exc:
        lines = [f"stream {EVENT_STREAM}: cannot reach Redis at {safe_url(redis_url())}: {exc}"]
    for line in lines:
        click.echo(line)
    with session_scope() as session:
        stored = session.scalar(select(func.count()).select_from(AnalyticsEventRow)) or 0
        latest = session.scalar(select(func.max(AnalyticsEventRow.received_at)))
        reasons = session.execute(
            select(RejectedEventRow.reason, func.count())
            .group_by(RejectedEventRow.reason)
            .order_by(RejectedEventRow.reason)
        ).all()
    since = f" (last drained {latest:%Y-%m-%d %H:%M:%S} UTC)" if latest else ""
    click.echo(f"analytics_events: {stored:,} stored{since}")
    set_aside = sum(count for _reason, count in reasons)
    by_reason = ", ".join(f"{reason} {count:,}" for reason, count in reasons)
    click.echo(f"analytics_rejected_events: {set_aside:,} set aside" + (f": {by_reason}" if by_reason else ""))


def _counted(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


@analytics.command()
@click.option("--minutes", default=15, show_default=True, type=click.IntRange(min=1), help="the window, up to now")
@click.option("--top", default=10, show_default=True, type=click.IntRange(min=1), help="how many content to list")
def live(minutes: int, top: int) -> None:
    """Show the content with the most views in the last minutes, with unique viewers."""
    retention = analytics_settings().analytics_live_retention_minutes
    if minutes > retention:
        raise click.BadParameter(
            f"the live counters keep {retention} minutes (ANALYTICS_LIVE_RETENTION_MINUTES)", param_hint="--minutes"
        )
    now = utcnow()
    minutes_read = window(now, minutes)
    try:
        ranked = live_top_content(get_redis(), minutes=minutes, top=top, now=now)
    except RedisError as exc:
        raise click.ClickException(f"cannot reach Redis at {safe_url(redis_url())}: {exc}") from exc
    span = f"{minutes_read[0]:%H:%M}-{minutes_read[-1]:%H:%M} UTC"
    if not ranked:
        click.echo(f"no views in the last {minutes} minute(s) ({span})")
        return
    click.echo(f"top content of the last {minutes} minute(s) ({span}), by views:")
    for place, (content_id, figures) in enumerate(ranked, start=1):
        views = _counted(figures.views, "view")
        viewers = _counted(figures.unique_viewers, "unique viewer")
        click.echo(f"{place:>3}. content {content_id}: {views}, {viewers}")


@analytics.command()
@click.option("--hourly", "grains", flag_value="hour", multiple=True, help="Run the hourly rollup.")
@click.option("--daily", "grains", flag_value="day", multiple=True, help="Run the daily rollup.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Recompute every bucket from all raw events (past the late window too), not only what is new.",
)
def rollup(grains: tuple[str, ...], rebuild: bool) -> None:
    """Run the hourly and/or daily rollup now, in this process (both when neither is named)."""
    chosen = [RollupGrain(grain) for grain in dict.fromkeys(grains)] or [RollupGrain.HOUR, RollupGrain.DAY]
    for grain in chosen:
        with session_scope() as session:  # one transaction per rollup, as the jobs do
            run = (rebuild_rollup if rebuild else run_rollup)(session, grain, analytics_settings())
        for line in describe([run]):
            click.echo(line)


@analytics.command()
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), help="UTC day (default: today).")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--creator", "creator_id", type=click.IntRange(1), help="Only this creator's content.")
def top(day: datetime | None, limit: int, creator_id: int | None) -> None:
    """Show a day's top content by views, from the daily rollup."""
    chosen = day.date() if day else datetime.now(UTC).date()
    whose = "" if creator_id is None else f" of creator {creator_id}"
    with session_scope() as session:
        entries = top_content(session, chosen, limit, creator_id)
    if not entries:
        click.echo(
            f"no content{whose} in the daily rollup for {chosen:%Y-%m-%d} (run: odyssey-workers analytics rollup)"
        )
        return
    click.echo(f"top content{whose} on {chosen:%Y-%m-%d} (UTC), from the daily rollup:")
    for line in top_content_lines(entries):
        click.echo(line)


# --- raw event storage and retention -------------------------------------------------------------
@analytics.command()
@click.option("--exact", is_flag=True, help="Count each partition's rows (PostgreSQL) instead of estimating.")
def partitions(exact: bool) -> None:
    """List the raw events' months with their rows, and what retention would drop."""
    with get_engine().connect() as connection:
        for line in storage_lines(connection, analytics_settings(), utcnow(), exact):
            click.echo(line)


# --- analytics: platform, creator and revenue metrics ---------------------------------------
_DAY = click.DateTime(formats=["%Y-%m-%d"])


def _span_of(since: datetime | None, until: datetime | None, default_days: int) -> tuple[date, date]:
    last = until.date() if until else datetime.now(UTC).date()
    first = since.date() if since else last - timedelta(days=default_days - 1)
    if last < first:
        raise click.BadParameter(f"--until {last} is before --since {first}", param_hint="--until")
    return first, last


@analytics.command()
@click.option("--since", type=_DAY, help="First UTC day (default: 13 days before --until).")
@click.option("--until", type=_DAY, help="Last UTC day (default: today).")
@click.option("--refresh", is_flag=True, help="Recompute the days new events change first, as the daily job does.")
def platform(since: datetime | None, until: datetime | None, refresh: bool) -> None:
    """Show the platform's DAU, WAU, MAU, stickiness, new users and sessions per day, with trends."""
    first, last = _span_of(since, until, 14)
    settings = analytics_settings()
    if refresh:
        with session_scope() as session:
            click.echo(describe_platform_run(refresh_platform_days(session, settings)))
    with session_scope() as session:
        days = platform_series(session, first, last)
        trends = (
            platform_trends(
                session, days[-1].day, settings.analytics_trend_baseline_days, settings.analytics_anomaly_z_threshold
            )
            if days
            else {}
        )
    if not days:
        click.echo(
            f"no platform days computed from {first} to {last} (run: odyssey-workers analytics platform --refresh)"
        )
        return
    click.echo(f"platform, {first} to {last} (UTC days), from analytics_platform_daily:")
    for line in platform_lines(days):
        click.echo(line)
    labels = ", ".join(f"{name} {trend_label(entry)}" for name, entry in trends.items())
    click.echo(f"trends on {days[-1].day} (baseline {settings.analytics_trend_baseline_days} days): {labels}")


@analytics.command()
@click.option("--month", required=True, help="YYYY-MM, or FROM:TO for several months.")
@click.option("--currency", default="USD", show_default=True, help="ISO 4217 code.")
def revenue(month: str, currency: str) -> None:
    """Show MRR movements, revenue, refunds, commission, ARPU, churn and LTV by month."""
    since, _, until = month.partition(":")
    try:
        with session_scope() as session:
            months = revenue_months(session, since, until or since, currency)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month/--currency") from exc
    for entry in months:
        for line in revenue_lines(entry):
            click.echo(line)


@analytics.command()
@click.argument("creator_id", type=click.IntRange(1))
@click.option("--since", type=_DAY, help="First UTC day (default: 29 days before --until).")
@click.option("--until", type=_DAY, help="Last UTC day (default: today).")
def creator(creator_id: int, since: datetime | None, until: datetime | None) -> None:
    """Show a creator's followers, earnings by currency and top content in a span of days."""
    first, last = _span_of(since, until, 30)
    with session_scope() as session:
        summary = creator_summary(session, creator_id, first, last)
    click.echo(
        f"creator {creator_id}, {first} to {last}: {summary.followers:,} followers "
        f"(+{summary.followers_gained:,} / -{summary.followers_lost:,} in the span)"
    )
    for earned in summary.earnings:
        click.echo(
            f"  {earned.currency}: gross {earned.gross_revenue:,}, earnings {earned.creator_earnings:,}, "
            f"refunds {earned.refunds:,} (minor units, from payment_daily_metrics)"
        )
    if not summary.earnings:
        click.echo("  no earnings in payment_daily_metrics for the span")
    for entry in summary.top_content:
        click.echo(
            f"  content {entry.content_id}: {entry.views:,} views, engagement {percent(entry.engagement_rate)}, "
            f"completion {percent(entry.completion_rate)}"
        )


# --- analytics: user behaviour ---------------------------------------------------------------


def _months_back(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


@analytics.command()
@click.option("--grain", type=click.Choice([grain.value for grain in CohortGrain]), default="week", show_default=True)
@click.option("--periods", type=click.IntRange(1, 120), default=8, show_default=True, help="cohorts to show, up to now")
@click.option("--refresh", is_flag=True, help="Recompute the cohorts first (what analytics.retention_cohorts does).")
def retention(grain: str, periods: int, refresh: bool) -> None:
    """Show the retention matrix of the last weekly or monthly cohorts (share active k periods later)."""
    chosen = CohortGrain(grain)
    today = utcnow().date()
    current = period_start(today, chosen)
    since = current - timedelta(weeks=periods - 1) if chosen is CohortGrain.WEEK else _months_back(current, periods - 1)
    if refresh:
        with session_scope() as session:
            run = run_cohorts(session, chosen, analytics_settings())
        click.echo(f"{chosen.value}ly cohorts recomputed from events up to {run.to_event_id}: {run.cohorts} cohorts")
    with session_scope() as session:
        matrix = retention_matrix(session, chosen, since, today + timedelta(days=1))
    for line in matrix_lines(matrix):
        click.echo(line)


def _event_type(_context: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[EventType]:
    known = [member.value for member in EventType]
    unknown = [value for value in values if value not in known]
    if unknown:
        raise click.BadParameter(f"unknown event type {', '.join(unknown)}; known: {', '.join(known)}")
    return [EventType(value) for value in values]


@analytics.command(name="funnel")
@click.argument("steps", nargs=-1, callback=_event_type)
@click.option(
    "--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="First UTC day of entry (default: 30 days ago)."
)
@click.option(
    "--until", type=click.DateTime(formats=["%Y-%m-%d"]), help="UTC day entries stop, excluded (default: tomorrow)."
)
@click.option(
    "--window-days", type=click.IntRange(1, 366), help="Conversion window (default: ANALYTICS_FUNNEL_WINDOW_DAYS)."
)
def funnel_command(
    steps: list[EventType], since: datetime | None, until: datetime | None, window_days: int | None
) -> None:
    """Show how many actors went through STEPS in order (default: session_start view_start follow subscribe)."""
    today = datetime.combine(utcnow().date(), time(), tzinfo=UTC)
    start = since.replace(tzinfo=UTC) if since else today - timedelta(days=30)
    end = until.replace(tzinfo=UTC) if until else today + timedelta(days=1)
    window = timedelta(days=window_days or analytics_settings().analytics_funnel_window_days)
    try:
        with session_scope() as session:
            result = funnel(session, steps or list(DEFAULT_FUNNEL), start, end, window)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    for line in funnel_lines(result):
        click.echo(line)


@analytics.command()
@click.argument("user_id", type=click.IntRange(1))
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
def affinities(user_id: int, limit: int) -> None:
    """Show a user's strongest creator and category affinities (from analytics.update_preferences)."""
    with session_scope() as session:
        found = {kind: top_affinities(session, user_id, kind, limit) for kind in AffinityKind}
    if not any(found.values()):
        click.echo(f"no affinities for user {user_id} (run: the analytics.update_preferences job)")
        return
    for kind, entries in found.items():
        click.echo(f"user {user_id}'s {kind.value} affinities:" + ("" if entries else " none"))
        for entry in entries:
            click.echo(f"  {entry.key:<24} {entry.score:>10.2f}  (as of {entry.updated_at:%Y-%m-%d %H:%M} UTC)")


# --- analytics: trackers ---------------------------------------------------------------------------
@analytics.command()
@click.option(
    "--tracker",
    "trackers",
    multiple=True,
    type=click.Choice(["file", "mixpanel", "amplitude", "ga4"]),
    help="Only this tracker (repeatable; default: every tracker in ANALYTICS_TRACKERS).",
)
def forward(trackers: tuple[str, ...]) -> None:
    """Forward newly accepted events to the trackers now, in this process, as the job does."""
    from jobs.analytics.trackers.forward import describe as describe_forwarding
    from jobs.analytics.trackers.forward import forward as forward_now

    settings = analytics_settings()
    not_enabled = [name for name in trackers if name not in settings.analytics_trackers]
    if not_enabled:
        raise click.BadParameter(
            f"{', '.join(not_enabled)} not in ANALYTICS_TRACKERS ({', '.join(settings.analytics_trackers)})",
            param_hint="--tracker",
        )
    runs = forward_now(settings, list(dict.fromkeys(trackers)) or None)
    for run in runs:
        click.echo(describe_forwarding(run))
    if any(run.refused for run in runs):
        raise click.ClickException("a tracker refused the events for good (see above); its cursor did not move")


@analytics.command("opt-out")
@click.argument("user_id", type=click.IntRange(min=1))
@click.option("--undo", is_flag=True, help="Opt the user back in.")
def opt_out(user_id: int, undo: bool) -> None:
    """Stop forwarding a user's events to every tracker (or, with --undo, start again)."""
    from jobs.analytics.trackers.opt_out import set_analytics_opt_out

    with session_scope() as session:
        changed = set_analytics_opt_out(session, user_id, opted_out=not undo)
    state = "opted back in to" if undo else "opted out of"
    click.echo(f"user {user_id} {state} analytics forwarding" + ("" if changed else " (already so)"))


# --- analytics: reports -----------------------------------------------------------------------
REPORT_HELP = (
    "Render report NAME from the stored analytics into storage now and print where its HTML and CSV are.\n\n"
    + "\n\n".join(f"{kind.name} (one {kind.grain.value}): {kind.description}" for kind in REPORT_KINDS.values())
)


@analytics.command(help=REPORT_HELP)
@click.argument("name", metavar="NAME")
@click.option(
    "--period",
    help="2026-12-03 (a day), 2026-W48 (an ISO week) or 2026-11 (a month), as NAME covers; "
    "default: the last complete one.",
)
@click.option("--creator", "creator_id", type=click.IntRange(1), help="Only this creator (per-creator reports).")
def report(name: str, period: str | None, creator_id: int | None) -> None:
    try:
        kind = report_kind(name)
        chosen = parse_period(kind.grain, period) if period is not None else last_complete(kind.grain, utcnow())
        with session_scope() as session:
            stored = render_reports(session, get_storage(), analytics_settings(), name, chosen, creator_id)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    if not stored:
        click.echo(f"no creator had activity in {chosen.label}: nothing rendered")
        return
    for item in stored:
        whose = f" ({item.subject})" if item.subject else ""
        click.echo(f"{item.kind} {item.period}{whose}: {item.html_key}")
        click.echo(f"  html: {item.url}")
        click.echo(f"  csv:  {item.csv_key}")
