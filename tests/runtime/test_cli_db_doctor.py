"""``odyssey-workers db upgrade``/``db current`` and ``doctor``, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from redis import Redis

from odyssey_workers.cli import main
from odyssey_workers.cli.doctor import all_providers, all_unread_settings
from odyssey_workers.settings import Settings, domain_models
from tests.conftest import REPO_ROOT, fresh_database_url, reset_runtime_caches
from tests.support.servers import PostgresServer, free_port


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(
    request: pytest.FixtureRequest,
    env: dict[str, str],
    var_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    postgres_server: PostgresServer | None,
) -> str:
    """A database with no tables yet: a new SQLite file, then a new PostgreSQL database."""
    return fresh_database_url(request, env, var_dir, monkeypatch, postgres_server, "empty")


def test_db_current_says_an_empty_database_is_behind_and_upgrade_brings_it_up(empty_database_url: str) -> None:
    if empty_database_url.startswith("sqlite:///"):
        Path(empty_database_url.removeprefix("sqlite:///")).touch()  # an empty SQLite database is an empty file
    behind = CliRunner().invoke(main, ["db", "current"])
    assert behind.exit_code == 1
    assert "current:  none (empty database)" in behind.stdout
    assert behind.stderr.strip() == "Error: the database is not up to date: run 'odyssey-workers db upgrade'"

    upgraded = CliRunner().invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    again = CliRunner().invoke(main, ["db", "upgrade"])  # running it twice changes nothing
    assert again.exit_code == 0
    assert again.stdout == upgraded.stdout

    current = CliRunner().invoke(main, ["db", "current"])
    assert current.exit_code == 0, current.output
    assert current.stdout.strip().endswith("up to date")


def doctor(*args: str) -> tuple[int, dict[str, dict[str, str]], str]:
    result = CliRunner().invoke(main, ["doctor", "--json", *args])
    checks = {row["part"]: row for row in json.loads(result.stdout)}
    return result.exit_code, checks, result.stderr


def test_doctor_finds_every_part_working_and_leaves_no_probe_behind(
    env: dict[str, str], redis_conn: Redis, database_url: str, var_dir: Path
) -> None:
    code, checks, stderr = doctor()
    assert code == 0, stderr
    for part in ("redis", "database", "storage", "ffmpeg", "ffprobe"):
        assert checks[part]["status"] == "ok", checks[part]
    assert checks["redis"]["detail"].startswith(env["REDIS_URL"] + ": version ")
    assert checks["database"]["detail"].endswith("migrations current")
    # The test Redis keeps no append-only file: a warning, not a failure.
    assert checks["redis config"]["status"] == "warn"
    assert "appendonly is off" in checks["redis config"]["detail"]
    assert checks["email: provider"] == {
        "part": "email: provider",
        "status": "default",
        "detail": "EMAIL_PROVIDER=outbox; using: file outbox under var/",
    }
    assert "email: SendGrid" not in checks  # neither selected nor configured: nothing to say
    assert checks["analytics: JSON-lines file"]["status"] == "default"  # the default tracker, and where it writes
    assert not [part for part in checks if part.startswith(("analytics: Mixpanel", "moderation"))]
    storage = var_dir / "storage"
    assert storage.is_dir()  # the probe was written there...
    assert [path for path in storage.rglob("*") if path.is_file()] == []  # ...and removed


def test_doctor_fails_naming_redis_when_it_is_unreachable(
    env: dict[str, str], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("REDIS_URL", url)
    reset_runtime_caches()
    code, checks, stderr = doctor()
    assert code == 1
    assert checks["redis"]["status"] == "FAIL"
    assert checks["redis"]["detail"].startswith(f"cannot reach Redis at {url}")
    assert checks["database"]["status"] == "ok"
    assert stderr.strip() == "Error: 1 check(s) failed: redis"


def test_doctor_fails_when_the_database_is_behind_its_migrations(
    env: dict[str, str], redis_conn: Redis, empty_database_url: str
) -> None:
    code, checks, stderr = doctor()
    assert code == 1
    assert stderr.strip() == "Error: 1 check(s) failed: database"
    assert checks["database"]["status"] == "FAIL"
    assert checks["database"]["detail"].endswith("run 'odyssey-workers db upgrade'")


def test_doctor_fails_when_storage_cannot_be_written(
    env: dict[str, str], redis_conn: Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the storage folder should be")
    monkeypatch.setenv("STORAGE_URL", (blocker / "storage").as_uri())
    reset_runtime_caches()
    code, checks, _ = doctor()
    assert code == 1
    assert checks["storage"]["status"] == "FAIL"
    assert checks["storage"]["detail"].startswith((blocker / "storage").as_uri())


def test_doctor_names_a_half_configured_provider_and_never_shows_its_secret(
    env: dict[str, str], redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMAIL_PROVIDER", "mailgun")
    monkeypatch.setenv("MAILGUN_API_KEY", "key-very-secret-value")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.another-secret")
    reset_runtime_caches()
    result = CliRunner().invoke(main, ["doctor"], terminal_width=250)
    assert result.exit_code == 1
    assert "very-secret" not in result.output
    assert "another-secret" not in result.output
    code, checks, stderr = doctor()
    assert code == 1
    assert checks["email: Mailgun"]["status"] == "FAIL"
    assert checks["email: Mailgun"]["detail"] == "MAILGUN_DOMAIN missing (MAILGUN_API_KEY set)"
    assert checks["email: SendGrid"] == {
        "part": "email: SendGrid",
        "status": "warn",
        "detail": "SENDGRID_API_KEY set but not used: EMAIL_PROVIDER is mailgun, not sendgrid; "
        "using: file outbox under var/",
    }
    assert stderr.strip() == "Error: 1 check(s) failed: email: Mailgun"


def test_doctor_says_a_configured_selected_provider_is_ok_and_names_its_selector(
    env: dict[str, str], redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMAIL_PROVIDER", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.secret")
    reset_runtime_caches()
    _, checks, _ = doctor()
    assert checks["email: SendGrid"]["status"] == "ok"
    assert checks["email: SendGrid"]["detail"] == "configured (EMAIL_PROVIDER=sendgrid) (SENDGRID_API_KEY)"
    assert "email: provider" not in checks


def test_doctor_says_which_analytics_trackers_are_configured_and_chosen(
    env: dict[str, str], redis_conn: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIXPANEL_TOKEN", "mp-secret-token")
    reset_runtime_caches()
    code, checks, _ = doctor()
    assert code == 0  # a key set for a tracker not chosen is no failure
    assert checks["analytics: Mixpanel"] == {
        "part": "analytics: Mixpanel",
        "status": "warn",
        "detail": "MIXPANEL_TOKEN set but not used: ANALYTICS_TRACKERS is file, not mixpanel; "
        "using: not forwarded there",
    }
    monkeypatch.setenv("ANALYTICS_TRACKERS", '["file", "mixpanel"]')
    monkeypatch.setenv("MIXPANEL_API_SECRET", "mp-api-secret")
    reset_runtime_caches()
    code, checks, _ = doctor()
    assert code == 0
    assert checks["analytics: Mixpanel"]["status"] == "ok"
    assert checks["analytics: Mixpanel"]["detail"] == (
        "configured (ANALYTICS_TRACKERS=mixpanel) (MIXPANEL_TOKEN, MIXPANEL_API_SECRET)"
    )
    assert checks["analytics: JSON-lines file"]["status"] == "default"
    assert "analytics: Amplitude" not in checks  # neither chosen nor configured: nothing to say
    assert "mp-secret-token" not in json.dumps(checks) and "mp-api-secret" not in json.dumps(checks)


def _read_outside_settings(name: str) -> list[Path]:
    """The source files (not a settings.py, not a doctor.py) that read setting ``name``."""
    pattern = re.compile(rf"\.{name}\b|[\"']{name}[\"']")
    skip = {Path("src/odyssey_workers/settings.py"), Path("src/odyssey_workers/cli/doctor.py")}
    return [
        path
        for root in ("src", "jobs")
        for path in sorted((REPO_ROOT / root).rglob("*.py"))
        if path.relative_to(REPO_ROOT) not in skip and path.name not in ("settings.py", "doctor.py")
        if pattern.search(path.read_text())
    ]


def test_every_setting_doctor_reports_as_used_is_read_by_code_and_every_unread_one_is_not() -> None:
    used = {name for p in all_providers() for name in (*p.needs, *p.any_of, *(p.selector[:1] if p.selector else ()))}
    for name in sorted(used):
        assert _read_outside_settings(name), f"doctor reports {name.upper()} but no code reads it"
    for name in all_unread_settings():
        assert not _read_outside_settings(name), f"{name.upper()} is read now: move it into doctor's PROVIDERS"
        assert any(name in model.model_fields for model in (Settings, *domain_models()))


def test_db_current_on_a_missing_sqlite_file_says_so_and_creates_nothing(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "nowhere" / "deeper"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'odyssey.db'}")
    reset_runtime_caches()
    result = CliRunner().invoke(main, ["db", "current"])
    assert result.exit_code == 1
    expected = f"Error: no database at {folder / 'odyssey.db'}: run 'odyssey-workers db upgrade' to create it"
    assert result.stderr.strip() == expected
    assert not (tmp_path / "nowhere").exists()


def test_doctor_on_a_missing_sqlite_file_fails_the_database_check_and_creates_nothing(
    env: dict[str, str], redis_conn: Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "nowhere"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{folder / 'odyssey.db'}")
    reset_runtime_caches()
    code, checks, _ = doctor()
    assert code == 1
    assert checks["database"]["detail"] == f"no database at {folder / 'odyssey.db'}: run 'odyssey-workers db upgrade'"
    assert not folder.exists()
