"""Fixtures that start real servers: redis-server and PostgreSQL on loopback, SQLite files.

Every test gets its own ``var/`` folder, a flushed Redis and fresh settings. Tests that ask for
``database_url`` run twice: against a SQLite file and against a real PostgreSQL server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis

from tests.support.servers import PostgresServer, RedisServer
from tests.support.strays import become_subreaper, live_children, strays_since

os.environ.setdefault("ODYSSEY_EXTRA_CONTRACTS", "tests.support.contracts")
REPO_ROOT = Path(__file__).resolve().parents[1]
become_subreaper()


@pytest.fixture(autouse=True)
def no_stray_processes() -> Iterator[None]:
    """Fail the test that leaves a process running after its own teardown (see strays.py)."""
    before = live_children()
    yield
    strays = strays_since(before)
    if strays:
        pytest.fail("processes left running by this test (now killed): " + "; ".join(strays), pytrace=False)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    try:
        server = PostgresServer().start()
    except Exception as exc:
        if os.environ.get("ODYSSEY_REQUIRE_POSTGRES") == "1":
            raise RuntimeError(f"PostgreSQL is required for this run but could not start: {exc}") from exc
        yield None
        return
    yield server
    server.stop()


def reset_runtime_caches() -> None:
    from odyssey_workers.db.session import dispose_engines
    from odyssey_workers.settings import get_settings
    from odyssey_workers.storage import factory

    get_settings.cache_clear()
    factory._cache.clear()
    dispose_engines()


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy (migrating is slow)."""
    from odyssey_workers.db.migrate import upgrade
    from odyssey_workers.db.session import dispose_engines

    path = tmp_path_factory.mktemp("template") / "odyssey.db"
    upgrade(f"sqlite:///{path}")
    dispose_engines()
    return path


@pytest.fixture
def var_dir(tmp_path: Path, migrated_sqlite_template: Path) -> Path:
    """The test's ``var/`` folder, with the default SQLite database already migrated."""
    path = tmp_path / "var"
    path.mkdir()
    shutil.copyfile(migrated_sqlite_template, path / "odyssey.db")
    return path


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, var_dir: Path, redis_server: RedisServer) -> Iterator[dict[str, str]]:
    """The service's environment for this test (also handed to worker subprocesses)."""
    values = {
        "VAR_DIR": str(var_dir),
        "REDIS_URL": redis_server.url,
        "RQ_REDIS_URL": redis_server.url,
        "RQ_WORKER_CLASS": "odyssey_workers.worker.OdysseyWorker",
        "RQ_JOB_CLASS": "odyssey_workers.jobclass.CatalogJob",
        "ODYSSEY_EXTRA_CONTRACTS": "tests.support.contracts",
        "PYTHONPATH": str(REPO_ROOT),  # so worker subprocesses import tests.support
        "DATABASE_URL": "",
        "STORAGE_URL": "",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    reset_runtime_caches()
    yield values
    reset_runtime_caches()


@pytest.fixture
def redis_conn(env: dict[str, str], redis_server: RedisServer) -> Iterator[Redis]:
    connection = Redis.from_url(redis_server.url)
    connection.flushall()
    yield connection
    connection.close()


def fresh_database_url(
    request: pytest.FixtureRequest,
    env: dict[str, str],
    var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer | None,
    name: str,
    *,
    migrated: bool = False,
) -> str:
    """A new database for this test (``request.param``: sqlite or postgresql), made the service's
    ``DATABASE_URL``: empty, or a copy of the session's migrated template (``migrated``)."""
    if request.param == "sqlite":
        path = var_dir / f"{name}.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        if postgres_server is None:
            pytest.skip("PostgreSQL server binaries not installed (make test installs them as root)")
        template = request.getfixturevalue("migrated_postgres_template") if migrated else None
        database = f"{name}_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
        url = postgres_server.create_database(database, template=template)
        request.addfinalizer(lambda: postgres_server.drop_database(database))
    monkeypatch.setenv("DATABASE_URL", url)
    env["DATABASE_URL"] = url
    reset_runtime_caches()
    return url


@pytest.fixture(scope="session")
def migrated_postgres_template(postgres_server: PostgresServer | None) -> str:
    """A PostgreSQL database migrated once per session, cloned for each test that needs one."""
    from odyssey_workers.db.migrate import upgrade
    from odyssey_workers.db.session import dispose_engines

    assert postgres_server is not None
    name = "odyssey_migrated_template"
    upgrade(postgres_server.create_database(name))
    dispose_engines()  # a template with a connection open cannot be copied
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    env: dict[str, str],
    var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer | None,
) -> str:
    """A migrated, empty database: a SQLite file, then a real PostgreSQL database."""
    return fresh_database_url(request, env, var_dir, monkeypatch, postgres_server, "t", migrated=True)
