"""``rebuild_rollup`` and ``analytics rollup --rebuild``: every bucket recomputed from the raw
events, on SQLite and PostgreSQL, with the watermark left where the next incremental run goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from jobs.analytics.models import ContentRollupRow, RollupGrain, RollupWatermarkRow
from jobs.analytics.rollups import RollupRun, bucket_of, rebuild_rollup
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from odyssey_workers.settings import get_settings
from tests.analytics.rollup_support import content_rows, creator_rows, no_lag, platform_rows, raw, roll, store
from tests.analytics.test_rollups import a_known_hour, yesterday_at

HOUR, DAY = RollupGrain.HOUR, RollupGrain.DAY


def rebuild(grain: RollupGrain, now: datetime | None = None) -> RollupRun:
    with session_scope() as session:
        return rebuild_rollup(session, grain, no_lag(), now)


def tables() -> tuple[object, ...]:
    return tuple(rows(grain) for grain in (HOUR, DAY) for rows in (content_rows, creator_rows, platform_rows))


def test_a_rebuild_restores_what_incremental_runs_built_and_the_next_run_reads_nothing(database_url: str) -> None:
    store(*a_known_hour())
    roll(HOUR), roll(DAY)
    built = tables()
    with session_scope() as session:  # a damaged table: a row lost, another's numbers wrong
        session.execute(delete(ContentRollupRow).where(ContentRollupRow.content_id == 11))
        session.execute(update(ContentRollupRow).values(views=999))
        watermark = session.scalars(select(RollupWatermarkRow).where(RollupWatermarkRow.grain == HOUR)).one()
        read_up_to = watermark.last_event_id

    hourly, daily = rebuild(HOUR), rebuild(DAY)

    assert tables() == built
    assert (hourly.from_event_id, hourly.to_event_id, hourly.events_read) == (0, read_up_to, 21)
    assert hourly.buckets == [yesterday_at(10), yesterday_at(11)]
    assert daily.buckets == [yesterday_at(0)]
    assert roll(HOUR).events_read == 0  # the watermark is where the rebuild read up to


def test_a_rebuild_also_recomputes_buckets_past_the_late_window(database_url: str) -> None:
    now = datetime.now(UTC)
    old = now - timedelta(days=10)  # past the 72-hour window: incremental runs leave it out
    store(raw("like", old, content_id=10, creator_id=3), raw("like", now - timedelta(hours=1), content_id=10))
    assert roll(DAY, now=now).too_old_events == 1
    assert bucket_of(old, DAY) not in platform_rows(DAY)

    run = rebuild(DAY, now=now)

    assert run.buckets == [bucket_of(old, DAY), bucket_of(now - timedelta(hours=1), DAY)]
    assert platform_rows(DAY)[bucket_of(old, DAY)] == {"likes": 1}


def test_a_rebuild_of_an_empty_table_writes_nothing(database_url: str) -> None:
    run = rebuild(HOUR)
    assert (run.to_event_id, run.buckets, run.rows_written) == (0, [], 0)


def test_the_command_rebuilds_the_grain_it_is_given(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_ROLLUP_SAFETY_LAG_SECONDS", "0")  # read what was stored just now
    get_settings.cache_clear()
    store(*a_known_hour())
    result = CliRunner().invoke(main, ["analytics", "rollup", "--daily", "--rebuild"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("day rollup: events 1..21 (21 read), buckets recomputed: ")
    assert content_rows(DAY) and not content_rows(HOUR)
