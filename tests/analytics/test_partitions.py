"""analytics_events on PostgreSQL: monthly partitions the drain writes into (made on demand), each
event stored once, and whole months dropped by analytics.maintain_partitions, never row by row."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import inspect, select, text

import odyssey_workers
from jobs.analytics.intake import drain, store_batch
from jobs.analytics.models import AnalyticsEventRow
from jobs.analytics.partitions import ensure_months, months_between
from jobs.analytics.retention_jobs import MaintenanceRun, maintain
from jobs.analytics.settings import analytics_settings
from jobs.analytics.validation import StreamEntry
from odyssey_workers.db.session import get_engine, session_scope
from tests.analytics.conftest import an_event, stored_events
from tests.analytics.partition_support import attached_partitions, partition_of_each_event, store_at, table_exists
from tests.conftest import fresh_database_url
from tests.support.servers import PostgresServer

# A clock far from today's, so every month these tests touch is one no migration made.
NEW_YEAR = datetime(2031, 1, 1, tzinfo=UTC)
LATE_WINDOW = timedelta(hours=72)


@pytest.fixture(params=["postgresql"])
def postgres_url(
    request: pytest.FixtureRequest,
    env: dict[str, str],
    var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer | None,
) -> str:
    """A migrated, empty PostgreSQL database (partitions are PostgreSQL's alone)."""
    return fresh_database_url(request, env, var_dir, monkeypatch, postgres_server, "part", migrated=True)


def entry(number: int, event_id: str, at: datetime) -> StreamEntry:
    """A stream entry holding a like with the producer's id ``event_id``, happening at ``at``."""
    return StreamEntry(f"1700000000000-{number}", json.dumps(an_event(id=event_id, occurred_at=at.isoformat())))


def test_the_table_is_partitioned_with_keys_holding_occurred_at(postgres_url: str) -> None:
    with get_engine().connect() as connection:
        strategy = connection.execute(
            text("SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'analytics_events'::regclass")
        ).scalar()
        schema = inspect(connection)
        assert strategy == "r"  # RANGE
        assert schema.get_pk_constraint("analytics_events")["constrained_columns"] == ["id", "occurred_at"]
        uniques = schema.get_unique_constraints("analytics_events")
        assert [unique["column_names"] for unique in uniques] == [["event_id", "occurred_at"]]
    now = datetime.now(UTC)
    made = {f"analytics_events_{month:%Y_%m}" for month in months_between(now - LATE_WINDOW, now + timedelta(days=62))}
    assert made <= attached_partitions(), "the migration made the late window's months to two ahead"


def test_drained_events_land_in_their_months_partition_made_on_demand_at_the_months_edge(
    postgres_url: str, redis_conn: Redis
) -> None:
    assert not table_exists("analytics_events_2030_12") and not table_exists("analytics_events_2031_01")
    last_instant = NEW_YEAR - timedelta(microseconds=1)
    events = {"dec-31": last_instant, "jan-1": NEW_YEAR, "jan-1-later": NEW_YEAR + timedelta(minutes=1)}
    odyssey_workers.track_many([an_event(id=name, occurred_at=at.isoformat()) for name, at in events.items()])

    counts = drain(redis_conn, analytics_settings(), clock=lambda: NEW_YEAR + timedelta(minutes=2))

    assert counts.as_dict() == {"accepted": 3, "duplicate": 0, "rejected": 0}
    assert partition_of_each_event() == {
        "dec-31": "analytics_events_2030_12",
        "jan-1": "analytics_events_2031_01",
        "jan-1-later": "analytics_events_2031_01",
    }
    assert {"analytics_events_2030_12", "analytics_events_2031_01"} <= attached_partitions()
    ids = [row.id for row in stored_events()]
    assert ids == sorted(ids) and len(set(ids)) == 3, "one sequence for every month: ids in drain order"


def test_two_callers_making_the_same_month_at_once_make_it_once(postgres_url: str) -> None:
    made: list[list[str]] = []
    start = threading.Barrier(2)

    def make() -> None:
        start.wait()
        made.append(ensure_months(get_engine(), [datetime(2032, 3, 15, tzinfo=UTC)]))

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(made) == [[], ["analytics_events_2032_03"]]
    assert ensure_months(get_engine(), [datetime(2032, 3, 1, tzinfo=UTC)]) == []


def test_the_same_batch_delivered_twice_is_stored_once_in_its_partition(postgres_url: str, redis_conn: Redis) -> None:
    now = NEW_YEAR + timedelta(minutes=2)
    entries = [entry(i, f"b{i}", NEW_YEAR - timedelta(minutes=i)) for i in range(6)]  # both sides of the edge

    first = store_batch(entries, now, LATE_WINDOW)
    again = store_batch(entries, now, LATE_WINDOW)

    assert first.as_dict() == {"accepted": 6, "duplicate": 0, "rejected": 0}
    assert again.as_dict() == {"accepted": 0, "duplicate": 6, "rejected": 0}
    assert sorted(partition_of_each_event().items()) == [
        ("b0", "analytics_events_2031_01"),
        *((f"b{i}", "analytics_events_2030_12") for i in range(1, 6)),
    ]


def test_an_event_re_sent_with_another_occurred_at_is_stored_once(postgres_url: str, redis_conn: Redis) -> None:
    now = NEW_YEAR + timedelta(minutes=2)
    first = store_batch([entry(1, "moved", NEW_YEAR - timedelta(hours=5))], now, LATE_WINDOW)
    # The producer re-sent it with a new time, in another month; and twice within one batch.
    again = store_batch([entry(2, "moved", NEW_YEAR + timedelta(minutes=1))], now, LATE_WINDOW)
    twice_in_a_batch = store_batch(
        [entry(3, "pair", NEW_YEAR - timedelta(hours=1)), entry(4, "pair", NEW_YEAR)], now, LATE_WINDOW
    )

    assert (first.accepted, again.accepted, again.duplicate) == (1, 0, 1)
    assert (twice_in_a_batch.accepted, twice_in_a_batch.duplicate) == (1, 1)
    assert partition_of_each_event() == {"moved": "analytics_events_2030_12", "pair": "analytics_events_2030_12"}


def test_the_edge_left_open_an_event_first_stored_before_the_windows_month_is_stored_again(
    postgres_url: str, redis_conn: Redis
) -> None:
    """event_dedupe.py's documented limit: its look-up starts at the late window's first month."""
    december = datetime(2030, 12, 20, tzinfo=UTC)
    assert store_batch([entry(1, "old", december)], december, LATE_WINDOW).accepted == 1
    later = NEW_YEAR + timedelta(days=40)  # the window now starts in February
    assert store_batch([entry(2, "old", later)], later, LATE_WINDOW).accepted == 1
    assert len([row for row in stored_events() if row.event_id == "old"]) == 2


NOW = datetime(2031, 3, 10, 12, tzinfo=UTC)  # 13 months of retention keep February 2030 on
EXPIRED = ("analytics_events_2029_12", "analytics_events_2030_01")


@pytest.fixture
def old_and_kept_months(postgres_url: str) -> dict[str, list[int]]:
    """Two expired months and two kept ones, with rows; a trigger refuses any row deleted."""
    ids = {
        "analytics_events_2029_12": store_at(datetime(2029, 12, 31, 23, 59, tzinfo=UTC)),
        "analytics_events_2030_01": store_at(datetime(2030, 1, 5, tzinfo=UTC), datetime(2030, 1, 31, tzinfo=UTC)),
        "analytics_events_2030_02": store_at(datetime(2030, 2, 1, tzinfo=UTC)),
        "analytics_events_2031_03": store_at(NOW - timedelta(hours=1)),
    }
    with get_engine().begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'a row of % was deleted', TG_TABLE_NAME; END $$"
            )
        )
        # Declared on the parent, PostgreSQL clones it onto every partition, present and future.
        connection.execute(
            text(
                "CREATE TRIGGER no_row_deletes BEFORE DELETE ON analytics_events"
                " FOR EACH ROW EXECUTE FUNCTION refuse_delete()"
            )
        )
    return ids


def kept_rows() -> dict[int, datetime]:
    with session_scope() as session:
        rows = session.execute(select(AnalyticsEventRow.id, AnalyticsEventRow.occurred_at))
        return {row_id: at for row_id, at in rows}


def expired_partitions() -> list[str]:
    """The partitions wholly before NOW's retention cut (the test's and the migration's own months)."""
    return sorted(name for name in attached_partitions() if name < "analytics_events_2030_02")


def test_retention_drops_whole_expired_months_and_makes_the_months_ahead(
    old_and_kept_months: dict[str, list[int]],
) -> None:
    before, expired = kept_rows(), expired_partitions()
    assert set(EXPIRED) <= set(expired)
    run = maintain(get_engine(), analytics_settings(), NOW)

    assert run.cut == datetime(2030, 2, 1, tzinfo=UTC)
    assert run.dropped == expired
    assert run.created == ["analytics_events_2031_04", "analytics_events_2031_05"]
    assert run.deleted_rows == 0
    attached = attached_partitions()
    for name in expired:
        assert name not in attached and not table_exists(name), f"{name} detached and dropped"
    assert {"analytics_events_2030_02", "analytics_events_2031_03", "analytics_events_2031_05"} <= attached
    expired_ids = {row_id for name in EXPIRED for row_id in old_and_kept_months[name]}
    assert kept_rows() == {row_id: at for row_id, at in before.items() if row_id not in expired_ids}
    with pytest.raises(Exception, match="a row of analytics_events_2030_02 was deleted"):
        with get_engine().begin() as connection:  # the trigger is armed: a DELETE would have failed the run
            connection.execute(text("DELETE FROM analytics_events WHERE occurred_at < '2030-03-01+00'"))


def test_retention_run_twice_and_twice_at_once_drops_each_month_once(
    old_and_kept_months: dict[str, list[int]],
) -> None:
    expired = expired_partitions()
    runs: list[MaintenanceRun] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        runs.append(maintain(get_engine(), analytics_settings(), NOW))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(runs) == 2
    assert sorted(name for done in runs for name in done.dropped) == expired
    assert sorted(name for done in runs for name in done.created) == [
        "analytics_events_2031_04",
        "analytics_events_2031_05",
    ]
    third = maintain(get_engine(), analytics_settings(), NOW)
    assert (third.dropped, third.created) == ([], [])
    assert len(kept_rows()) == 2
