"""Domain discovery: a new domain is one folder, and the runtime finds all of it.

The sample domain ``tests/support/greetings`` has one scheduled job, one table, one setting and
one command. Named in ``ODYSSEY_EXTRA_DOMAINS`` (as a plug-in would be), the real service
migrates its table, lists its job, validates its setting at start, runs its command, fires its
schedule and runs its job in a real worker, with no runtime file naming it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis import Redis

from odyssey_workers.scheduling.periods import period_tick
from tests.support.workers import VENV_BIN, start_worker, stop_worker

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "tests.support.greetings"
SCHEDULE = """schedules:
  - name: greetings.nightly
    cron: "0 3 * * *"
    job: greetings.greet
    args: {name: "fans"}
    description: Greet the fans every night (sample domain).
"""


@pytest.fixture
def domain_env(env: dict[str, str], tmp_path: Path, redis_conn: Redis) -> dict[str, str]:
    schedules = tmp_path / "schedules.yaml"
    schedules.write_text(SCHEDULE)
    database = tmp_path / "greetings.db"
    return {
        **env,
        "ODYSSEY_EXTRA_DOMAINS": SAMPLE,
        "DATABASE_URL": f"sqlite:///{database}",
        "SCHEDULES_FILE": str(schedules),
    }


def command(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "odyssey-workers"), *args],
        env={**os.environ, **env, "COLUMNS": "200"},  # rich tables: one row per job, unwrapped
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
        cwd=REPO_ROOT,
    )


def test_the_runtime_lists_the_domains_under_jobs_and_the_extra_ones_after_them() -> None:
    code = "from odyssey_workers.domains import discover_domains; print(','.join(discover_domains()))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "ODYSSEY_EXTRA_DOMAINS": SAMPLE, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    domains = out.stdout.strip().split(",")
    assert domains == [*sorted(d for d in domains if d.startswith("jobs.")), SAMPLE]
    assert {"jobs.content", "jobs.notifications", "jobs.payments", "jobs.system"} <= set(domains)


@pytest.mark.parametrize("started_as", ["console script", "python -m"])
def test_a_domain_that_cannot_be_imported_is_one_line_naming_the_variable(
    domain_env: dict[str, str], started_as: str
) -> None:
    bad = {**domain_env, "ODYSSEY_EXTRA_DOMAINS": "tests.support.no_such_domain"}
    if started_as == "console script":
        result = command(bad, "jobs", check=False)
    else:
        result = subprocess.run(
            [sys.executable, "-m", "odyssey_workers.cli", "jobs"],
            env={**os.environ, **bad},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO_ROOT,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: ODYSSEY_EXTRA_DOMAINS: no package named 'tests.support.no_such_domain' can be imported"
    ]


def test_the_sample_domain_migrates_lists_validates_and_runs_its_command(domain_env: dict[str, str]) -> None:
    upgraded = command(domain_env, "db", "upgrade")
    assert "0900" in upgraded.stdout
    tables = sqlite3.connect(domain_env["DATABASE_URL"].removeprefix("sqlite:///"))
    assert tables.execute("select name from sqlite_master where name = 'greetings'").fetchall() == [("greetings",)]
    tables.close()

    assert "greetings.greet" in command(domain_env, "jobs").stdout
    assert "Writes one greeting" in command(domain_env, "jobs", "greetings.greet").stdout

    bad = command({**domain_env, "GREETINGS_STYLE": "shout"}, "greetings", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "Error: invalid configuration: GREETINGS_STYLE: Input should be 'plain' or 'loud'"

    assert command(domain_env, "greetings").stdout == ""  # nothing greeted yet
    assert command(domain_env, "scheduler", "--check").returncode == 0


def test_the_sample_domains_schedule_fires_its_job_in_a_real_worker(
    domain_env: dict[str, str], redis_conn: Redis
) -> None:
    command(domain_env, "db", "upgrade")
    loud = {**domain_env, "GREETINGS_STYLE": "loud"}
    command(loud, "scheduler", "--once")  # syncs the entry; its next tick is hours away
    # Make the entry due now, as a scheduler that died before moving its ticket leaves it.
    tick = period_tick("0 3 * * *", datetime.now(UTC))
    redis_conn.zadd("rq:scheduler:scheduled_jobs", {"schedule-greetings-nightly": int(tick.timestamp())})
    command(loud, "scheduler", "--once")
    worker = start_worker(loud, burst=True)
    try:
        worker.wait(timeout=60)
    finally:
        stop_worker(worker)
    lines = command(loud, "greetings").stdout.strip().splitlines()
    assert [line.split("\t")[1] for line in lines] == ["HELLO, FANS!"]
