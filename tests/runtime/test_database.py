"""The database: migrations, a second writer waiting its turn, a locked or outdated database."""

from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import func, select

import odyssey_workers
from odyssey_workers.db.migrate import current_revisions, ensure_up_to_date, head_revisions
from odyssey_workers.db.models import User
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.queues import fetch_job
from tests.support.workers import start_worker, stop_worker, wait_until


def test_upgrade_brings_sqlite_and_postgresql_to_every_head(database_url: str) -> None:
    assert current_revisions(database_url) == head_revisions()
    ensure_up_to_date(database_url)
    with session_scope(database_url) as session:
        session.add(User(email="a@example.com", locale="fr", time_zone="Europe/Paris"))
    with session_scope(database_url) as session:
        user = session.scalars(select(User)).one()
        assert user.created_at.tzinfo is not None and user.created_at.utcoffset().total_seconds() == 0


def test_naive_datetime_is_refused(database_url: str) -> None:
    with pytest.raises(Exception, match="naive datetime refused"), session_scope(database_url) as session:
        session.add(User(email="b@example.com", created_at=datetime(2026, 1, 1)))


def test_database_behind_on_migrations_stops_the_worker_with_one_line(env: dict[str, str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    out = subprocess.run(
        [sys.executable, "-m", "odyssey_workers.cli", "worker", "--burst"],
        env={**env, "DATABASE_URL": f"sqlite:///{empty}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "Error: database is at migration none, this code needs" in out.stderr
    assert "run 'odyssey-workers db upgrade'" in out.stderr


def test_ensure_up_to_date_names_the_missing_migrations(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="database is at migration none"):
        ensure_up_to_date(f"sqlite:///{tmp_path / 'blank.db'}")


def _insert_users(url: str, prefix: str, count: int) -> None:
    from odyssey_workers.db.session import dispose_engines

    dispose_engines()
    for i in range(count):
        with session_scope(url) as session:
            session.add(User(email=f"{prefix}{i}@example.com"))


def test_four_processes_writing_sqlite_at_once_all_succeed(env: dict[str, str], var_dir: Path) -> None:
    url = f"sqlite:///{var_dir / 'odyssey.db'}"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_insert_users, args=(url, f"w{n}-", 40)) for n in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
    assert [writer.exitcode for writer in writers] == [0, 0, 0, 0]
    with session_scope(url) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 160


def test_writer_waits_for_a_sqlite_lock_held_by_another_process(env: dict[str, str], var_dir: Path) -> None:
    database = var_dir / "odyssey.db"
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    released = threading.Event()

    def release_the_lock() -> None:
        released.set()  # before the rollback: the writer cannot commit until after it
        holder.rollback()

    release = threading.Timer(1.5, release_the_lock)
    release.start()
    with session_scope() as session:
        session.add(User(email="patient@example.com"))
    committed_after_release = released.is_set()
    release.join()
    holder.close()
    assert committed_after_release, "the write must have waited for the lock, not failed or skipped it"
    with session_scope() as session:
        assert session.scalar(select(User.email)) == "patient@example.com"


@pytest.mark.timeout(60)
def test_job_meeting_a_database_locked_past_its_timeout_is_retried_and_writes_once(
    redis_conn: Redis, env: dict[str, str], var_dir: Path, tmp_path: Path
) -> None:
    worker = start_worker({**env, "DATABASE_BUSY_TIMEOUT_MS": "300"}, log=tmp_path / "worker.log")
    try:
        ready = odyssey_workers.enqueue("system.ping")
        wait_until(lambda: fetch_job(ready.id).get_status().value == "finished", timeout=30)
        holder = sqlite3.connect(var_dir / "odyssey.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # someone holds the write lock past the job's busy timeout
        job = odyssey_workers.enqueue("testing.db_write", email="locked@example.com")
        wait_until(lambda: redis_conn.get("test:attempts:locked@example.com") == b"1", timeout=30)
        time.sleep(0.8)  # the first attempt gives up after 300 ms with "database is locked"
        holder.rollback()
        holder.close()
        wait_until(lambda: fetch_job(job.id).get_status().value == "finished", timeout=30)
    finally:
        stop_worker(worker)
    assert int(redis_conn.get("test:attempts:locked@example.com") or 0) >= 2
    assert "database is locked" in (tmp_path / "worker.log").read_text()
    with session_scope() as session:
        assert session.scalar(select(func.count()).where(User.email == "locked@example.com")) == 1
