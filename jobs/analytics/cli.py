"""``odyssey-workers analytics intake``: the event stream's backlog and what the drains did;
``odyssey-workers analytics live``: the top content of the last minutes, from the live counters.

Reads Redis and the database only (no job code, no worker needed), so it works while workers
are down, which is when a growing backlog needs explaining.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from redis.exceptions import RedisError
from sqlalchemy import func, select

from jobs.analytics.live import top_content as live_top_content
from jobs.analytics.live_keys import window
from jobs.analytics.models import AnalyticsEventRow, RejectedEventRow, RollupGrain
from jobs.analytics.rollup_reads import top_content, top_content_lines
from jobs.analytics.rollups import describe, rebuild_rollup, run_rollup
from jobs.analytics.settings import analytics_settings
from jobs.analytics.stream import intake_status
from odyssey_workers.cli import main
from odyssey_workers.connection import get_redis, redis_url, safe_url
from odyssey_workers.db.base import utcnow
from odyssey_workers.db.session import session_scope
from odyssey_workers.events import EVENT_STREAM
from odyssey_workers.monitoring import EVENT_OUTCOMES, EVENT_OUTCOMES_KEY
from odyssey_workers.settings import get_settings


@main.group()
def analytics() -> None:
    """Analytics: the event intake, the live counters and the rollups."""


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
