"""``odyssey-workers analytics intake``: the event stream's backlog and what the drains did.

Reads Redis and the database only (no job code, no worker needed), so it works while workers
are down, which is when a growing backlog needs explaining.
"""

from __future__ import annotations

import click
from redis.exceptions import RedisError
from sqlalchemy import func, select

from jobs.analytics.models import AnalyticsEventRow, RejectedEventRow
from jobs.analytics.stream import intake_status
from odyssey_workers.cli import main
from odyssey_workers.connection import get_redis, redis_url, safe_url
from odyssey_workers.db.session import session_scope
from odyssey_workers.events import EVENT_STREAM
from odyssey_workers.monitoring import EVENT_OUTCOMES, EVENT_OUTCOMES_KEY
from odyssey_workers.settings import get_settings


@main.group()
def analytics() -> None:
    """Analytics: the event intake."""


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
