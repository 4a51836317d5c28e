"""Migration 0405 on PostgreSQL: the plain table's rows, ids and sequence carried into the monthly
partitions, and back into a plain table by the downgrade."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from odyssey_workers.db.migrate import alembic_config, upgrade
from odyssey_workers.db.session import get_engine
from tests.analytics.partition_support import attached_partitions
from tests.conftest import fresh_database_url
from tests.support.servers import PostgresServer

ROWS = {  # event_id: occurred_at, in three months, one of them long before the late window
    "old": datetime(2024, 5, 31, 23, 59, 59, tzinfo=UTC),
    "june": datetime(2024, 6, 1, tzinfo=UTC),
    "now": datetime.now(UTC),
}


@pytest.fixture(params=["postgresql"])
def unmigrated_postgres(
    request: pytest.FixtureRequest,
    env: dict[str, str],
    var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer | None,
) -> str:
    return fresh_database_url(request, env, var_dir, monkeypatch, postgres_server, "convert")


def insert_plain_rows(connection: Connection) -> None:
    for event_id, at in ROWS.items():
        connection.execute(
            text(
                "INSERT INTO analytics_events (event_id, type, user_id, occurred_at, properties, received_at)"
                " VALUES (:event_id, 'like', 1, :at, '{}', now())"
            ),
            {"event_id": event_id, "at": at},
        )


def events_by_id(connection: Connection) -> dict[int, tuple[str, datetime, str]]:
    rows = connection.execute(text("SELECT id, event_id, occurred_at, tableoid::regclass::text FROM analytics_events"))
    return {row_id: (event_id, at, table) for row_id, event_id, at, table in rows}


@pytest.mark.timeout(120)
def test_upgrade_moves_the_rows_into_their_months_and_downgrade_brings_the_plain_table_back(
    unmigrated_postgres: str,
) -> None:
    config = alembic_config(unmigrated_postgres)
    command.upgrade(config, "0401")
    with get_engine().begin() as connection:
        insert_plain_rows(connection)

    upgrade(unmigrated_postgres)

    with get_engine().begin() as connection:
        moved = events_by_id(connection)
        assert sorted(moved) == [1, 2, 3], "ids kept"
        assert {event_id: table for event_id, _at, table in moved.values()} == {
            "old": "analytics_events_2024_05",
            "june": "analytics_events_2024_06",
            "now": f"analytics_events_{ROWS['now']:%Y_%m}",
        }
        # The same sequence goes on: the next id follows the moved ones.
        next_id = connection.execute(text("SELECT nextval('analytics_events_id_seq')")).scalar_one()
        assert next_id == 4
    assert {"analytics_events_2024_05", "analytics_events_2024_06"} <= attached_partitions()

    command.downgrade(config, "analytics@-1")

    with get_engine().connect() as connection:
        assert events_by_id(connection) == {
            row_id: (event_id, at, "analytics_events") for row_id, (event_id, at, _table) in moved.items()
        }
        schema = inspect(connection)
        assert schema.get_pk_constraint("analytics_events")["constrained_columns"] == ["id"]
        assert [u["column_names"] for u in schema.get_unique_constraints("analytics_events")] == [["event_id"]]
        assert connection.execute(text("SELECT to_regclass('analytics_events_2024_05')")).scalar() is None
        assert connection.execute(text("SELECT nextval('analytics_events_id_seq')")).scalar_one() == 5
