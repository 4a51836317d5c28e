"""Raw event retention on both databases: SQLite's chunked expiry, the job run by a real worker,
the retention setting checked against the late window, and ``analytics partitions``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from redis import Redis
from sqlalchemy import event, select, text

from jobs.analytics import retention_jobs
from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.partitions import retention_cut
from jobs.analytics.retention_jobs import maintain
from jobs.analytics.settings import AnalyticsSettings, analytics_settings
from odyssey_workers.cli import main
from odyssey_workers.db.session import get_engine, session_scope
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.queues import enqueue, fetch_job
from odyssey_workers.settings import get_settings
from tests.analytics.partition_support import store_at
from tests.support.workers import start_worker


def stored_moments() -> list[datetime]:
    with session_scope() as session:
        return list(session.scalars(select(AnalyticsEventRow.occurred_at).order_by(AnalyticsEventRow.id)))


def test_the_cut_keeps_the_current_month_and_the_retention_months_before_it() -> None:
    assert retention_cut(datetime(2026, 12, 4, 9, tzinfo=UTC), 13) == datetime(2025, 11, 1, tzinfo=UTC)
    assert retention_cut(datetime(2027, 1, 1, tzinfo=UTC), 1) == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_deletes_expired_rows_in_bounded_chunks_and_keeps_the_rest(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime(2031, 3, 10, tzinfo=UTC)
    cut = datetime(2030, 2, 1, tzinfo=UTC)
    expired = [cut - timedelta(minutes=minutes) for minutes in range(1, 8)]  # 7 rows before the cut
    kept = [cut, now - timedelta(hours=1)]
    store_at(*expired, *kept)
    monkeypatch.setattr(retention_jobs, "SQLITE_EXPIRY_CHUNK", 3)
    deletes: list[int] = []

    def count_deletes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(1)

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", count_deletes)
    try:
        run = maintain(engine, analytics_settings(), now)
    finally:
        event.remove(engine, "before_cursor_execute", count_deletes)

    assert (run.cut, run.deleted_rows, run.dropped, run.created) == (cut, 7, [], [])
    assert len(deletes) == 3, "chunks of 3, 3 and 1, each its own statement and transaction"
    assert stored_moments() == kept
    assert maintain(engine, analytics_settings(), now).deleted_rows == 0


@pytest.mark.timeout(90)
def test_the_scheduled_job_runs_on_a_real_worker_from_queue_low(
    database_url: str, redis_conn: Redis, env: dict[str, str], tmp_path: Path
) -> None:
    old = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) - timedelta(days=500)
    store_at(old, datetime.now(UTC))
    job = enqueue("analytics.maintain_partitions")
    assert job.origin == "low"
    worker = start_worker(env, queues=("low",), burst=True, log=tmp_path / "worker.log")
    assert worker.wait(timeout=60) == 0
    done = fetch_job(job.id)
    assert done.get_status().value == "finished", (tmp_path / "worker.log").read_text()
    result = done.return_value()
    if database_url.startswith("sqlite"):
        assert result["deleted_rows"] == 1 and result["dropped"] == []
    else:
        assert f"analytics_events_{old:%Y_%m}" in result["dropped"] and result["deleted_rows"] == 0
    assert len(stored_moments()) == 1


def test_a_retention_not_outlasting_the_late_window_is_refused_naming_both(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_RAW_RETENTION_MONTHS", "2")
    monkeypatch.setenv("ANALYTICS_LATE_WINDOW_HOURS", str(24 * 60))
    get_settings.cache_clear()
    refused = (
        r"ANALYTICS_RAW_RETENTION_MONTHS=2 keeps as little as 1344 hours,"
        r" not more than ANALYTICS_LATE_WINDOW_HOURS=1440"
    )
    with pytest.raises(ConfigurationError, match=refused):
        analytics_settings()
    three_months = AnalyticsSettings(analytics_raw_retention_months=3, analytics_late_window_hours=1440)
    assert three_months.analytics_raw_retention_months == 3  # 3 x 28 days is more than 60


def test_the_partitions_command_lists_months_rows_and_what_retention_would_drop(database_url: str) -> None:
    now = datetime.now(UTC)
    long_ago = now.replace(day=15) - timedelta(days=31 * 15)  # past 13 months of retention
    store_at(long_ago, now, now)
    postgres = not database_url.startswith("sqlite")
    result = CliRunner().invoke(main, ["analytics", "partitions", *(["--exact"] if postgres else [])])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].startswith("retention: 13 month(s) before the current one (ANALYTICS_RAW_RETENTION_MONTHS)")
    month_lines = {line.split()[0]: line for line in lines[2:]}
    old_line, current_line = month_lines[f"{long_ago:%Y-%m}"], month_lines[f"{now:%Y-%m}"]
    if postgres:
        assert lines[0].startswith("analytics_events: partitioned by month (PostgreSQL)")
        assert f"analytics_events_{long_ago:%Y_%m}  1 row  dropped by the next" in old_line
        assert current_line.endswith(f"analytics_events_{now:%Y_%m}  2 rows")
        with get_engine().begin() as connection:
            connection.execute(text(f"ANALYZE analytics_events_{long_ago:%Y_%m}"))
        estimated = CliRunner().invoke(main, ["analytics", "partitions"]).output.splitlines()
        assert "PostgreSQL's estimates (pg_class.reltuples; --exact counts them)" in estimated[0]
        assert f"analytics_events_{long_ago:%Y_%m}  ~1 row  dropped by the next" in "\n".join(estimated)
    else:
        assert lines[0].startswith("analytics_events: one table (SQLite has no partitions), 2 month(s)")
        assert old_line.endswith("1 row  deleted by the next analytics.maintain_partitions")
        assert current_line.endswith("2 rows")
