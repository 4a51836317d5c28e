"""Engines and sessions, safe across RQ's fork-per-job.

SQLite (the default) runs in WAL mode with a busy timeout, because several worker processes
write at once; PostgreSQL is used through psycopg 3. A process inherits no engine from its
parent: a forked work horse opens its own connections, so two processes never share a socket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from odyssey_workers.errors import ConfigurationError
from odyssey_workers.settings import get_settings

_engines: dict[tuple[int, str], Engine] = {}


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs; refuse what we cannot drive."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigurationError(
            "DATABASE_URL: expected a URL such as sqlite:///var/odyssey.db or postgresql://user@host/db"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigurationError("DATABASE_URL: only sqlite:// and postgresql:// databases are supported")
    return parsed.render_as_string(hide_password=False)


def missing_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` when it does not exist yet (None for PostgreSQL, memory, or
    a file that exists): read-only commands check this so they never create a database."""
    url = normalize_database_url(url)
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or Path(database).is_file():
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(get_settings().database_busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_sqlite_begin(conn: Any) -> None:
    # pysqlite's lazy BEGIN lets two writers both read, then one fails to upgrade its lock
    # with "database is locked" and no wait; BEGIN IMMEDIATE takes the write lock up front
    # and honours busy_timeout instead.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """A new engine for ``url`` with the service's connection settings."""
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        busy_seconds = get_settings().database_busy_timeout_ms / 1000
        engine = create_engine(url, connect_args={"timeout": busy_seconds, "isolation_level": None})
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def get_engine(url: str | None = None) -> Engine:
    """This process's engine for ``url`` (default: the settings' database)."""
    url = url or get_settings().resolved_database_url
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        engine = make_engine(url)
        _engines[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every engine of this process (tests, and shutdown)."""
    for (pid, url), engine in list(_engines.items()):
        if pid == os.getpid():
            engine.dispose()
        del _engines[(pid, url)]


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work: commit at the end, roll back on any error, always close."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
