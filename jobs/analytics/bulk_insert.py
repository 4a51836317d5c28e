"""The drain's insert-if-absent: the statement and the result of the runtime's
``odyssey_workers.db.idempotent.insert_if_absent``, for batches of thousands of rows a second.

The runtime's version hands each chunk to SQLAlchemy, which compiles the statement and runs
every value of every row through its execution context; for a round of 5,000 events that was
most of the drain's database time. Here the multi-row ``INSERT ... ON CONFLICT DO NOTHING
RETURNING`` text is built once per table, columns and chunk size, each value is bound by its
column's own type (the same conversions SQLAlchemy applies: aware datetimes to UTC, enums to
their values, JSON to text), and the text goes to the driver on the session's connection, in the
session's transaction (on PostgreSQL through psycopg's ``RawCursor``, with ``$n`` placeholders).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session

INSERT_CHUNK = 500
"""Rows per statement: at a dozen columns, far below SQLite's 32,766 and PostgreSQL's 65,535 parameters."""

Processor = Callable[[Any], Any]


@lru_cache(maxsize=64)
def _statement(table: Table, columns: tuple[str, ...], keys: tuple[str, ...], rows: int, dialect: Dialect) -> str:
    quote = dialect.identifier_preparer.quote
    if dialect.name == "postgresql":  # numbered, for psycopg's RawCursor (see _postgres_inserted)
        numbers = iter(range(1, rows * len(columns) + 1))
        values = ", ".join("(" + ", ".join(f"${next(numbers)}" for _ in columns) + ")" for _ in range(rows))
    elif dialect.paramstyle == "qmark":  # sqlite3
        values = ", ".join(["(" + ", ".join(["?"] * len(columns)) + ")"] * rows)
    else:
        raise NotImplementedError(f"insert_if_absent: no placeholder for the {dialect.paramstyle!r} paramstyle")
    # Only the table's own, quoted names and placeholders go into the text; values are bound.
    into = f"{dialect.identifier_preparer.format_table(table)} ({', '.join(quote(c) for c in columns)})"
    conflict, returned = ", ".join(quote(k) for k in keys), quote(keys[0])
    return f"INSERT INTO {into} VALUES {values} ON CONFLICT ({conflict}) DO NOTHING RETURNING {returned}"  # noqa: S608


@lru_cache(maxsize=64)
def _processors(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[Processor | None, ...]:
    # dialect_impl: the dialect's own type (SQLite's DATETIME writes its text form), as SQLAlchemy binds it.
    return tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns)


def _columns_of(table: Table, rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    first = rows[0]
    columns = tuple(first)
    odd = next((row for row in rows if row.keys() != first.keys()), None)
    if odd is not None:
        raise ValueError(f"every row must name the columns the first does ({', '.join(columns)}), not {sorted(odd)}")
    unknown = [name for name in columns if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    # Defaults are SQLAlchemy's to apply, and this insert bypasses it: a row must name them.
    unnamed = [c.name for c in table.c if c.default is not None and not c.primary_key and c.name not in first]
    if unnamed:
        raise ValueError(f"rows for {table.name} must name {', '.join(unnamed)} (this insert applies no defaults)")
    return columns


def _values(
    rows: Sequence[Mapping[str, Any]], columns: tuple[str, ...], processors: Sequence[Processor | None]
) -> list[Any]:
    values: list[Any] = []
    # A batch repeats values (its one clock in received_at, the same enum members): the value
    # bound for the previous row is reused when a column holds the very same object again.
    last_in: list[Any] = [object()] * len(columns)
    last_out: list[Any] = [None] * len(columns)
    for row in rows:
        for index, name in enumerate(columns):
            value = row[name]
            process = processors[index]
            if process is None:
                values.append(value)
            elif value is last_in[index]:
                values.append(last_out[index])
            elif type(value) is dict and not value and type(last_in[index]) is dict and not last_in[index]:
                values.append(last_out[index])  # another empty JSON object: most events' properties
            else:
                last_in[index], last_out[index] = value, process(value)  # None too: JSON's makes it null
                values.append(last_out[index])
    return values


def insert_if_absent(
    session: Session,
    target: Table | type[DeclarativeBase],
    rows: Iterable[Mapping[str, Any]],
    keys: Sequence[str],
) -> int:
    """Insert each row whose ``keys`` (columns of a unique constraint) are not taken yet; returns how
    many this call inserted. Every row names the same columns, including those with defaults."""
    rows = list(rows)
    if not rows:
        return 0
    table: Table = target if isinstance(target, Table) else target.__table__  # type: ignore[assignment]
    connection = session.connection()
    dialect = connection.dialect
    columns = _columns_of(table, rows)  # all checked before the first statement
    processors = _processors(table, columns, dialect)
    inserted = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        sql = _statement(table, columns, tuple(keys), len(chunk), dialect)
        values = _values(chunk, columns, processors)
        if dialect.name == "postgresql":
            inserted += _postgres_inserted(connection, sql, values)
        else:
            inserted += len(connection.exec_driver_sql(sql, tuple(values)).all())
    return inserted


def _postgres_inserted(connection: Connection, sql: str, values: list[Any]) -> int:
    """Run the statement on psycopg's ``RawCursor``, in the session's transaction; the rows inserted.

    psycopg's ordinary cursor rewrites ``%s`` placeholders into ``$n`` by scanning the query text on
    every call when a statement has more than 50 parameters (it caches only small ones): for 500
    rows of a dozen columns that took longer than PostgreSQL took to insert them. A raw cursor takes
    ``$n`` as written. Errors are raised as SQLAlchemy raises the driver's (``IntegrityError``,
    ``DataError``...), so callers handle both paths alike.
    """
    import psycopg

    driver = connection.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise NotImplementedError(f"insert_if_absent: PostgreSQL through psycopg only, not {type(driver).__name__}")
    try:
        with psycopg.RawCursor(driver) as cursor:
            cursor.execute(sql, values)
            return len(cursor.fetchall())
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, values, exc, psycopg.Error, dialect=connection.dialect) from exc
