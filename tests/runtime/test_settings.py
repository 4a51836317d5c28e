"""Settings: one line naming the variable for every bad value, and no secret in it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from jobs.analytics.settings import analytics_settings
from jobs.notifications.settings import notifications_settings
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.settings import load_settings


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("http://localhost:6379", "expected a redis://, rediss://, unix:// or redis+sentinel:// URL"),
        ("redis://:6379", "expected a host"),
        ("redis://localhost:notaport/0", "expected a numeric port"),
    ],
)
def test_malformed_redis_url_names_the_variable_and_what_it_expects(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("REDIS_URL", value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert f"REDIS_URL: {reason}" in str(caught.value)


def test_bad_number_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_PROCESSES", "lots")
    with pytest.raises(ConfigurationError, match="WORKER_PROCESSES: Input should be a valid integer"):
        load_settings()


def test_secrets_never_appear_in_errors_or_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.super-secret-value")
    monkeypatch.setenv("REDIS_URL", "redis://:hunter2-password@localhost:notaport/0")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "hunter2" not in str(caught.value)
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    settings = notifications_settings(load_settings())  # SENDGRID_API_KEY is the notifications domain's
    assert "super-secret" not in repr(settings)
    assert settings.sendgrid_api_key is not None
    assert settings.sendgrid_api_key.get_secret_value() == "SG.super-secret-value"


def test_dotenv_file_is_read(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / ".env").write_text("WORKER_PROCESSES=7\nMIXPANEL_TOKEN=abc\n")
    monkeypatch.chdir(folder)
    monkeypatch.delenv("WORKER_PROCESSES", raising=False)
    settings = load_settings()
    assert settings.worker_processes == 7
    assert analytics_settings(settings).mixpanel_token is not None  # a domain's model reads .env too


def test_command_with_malformed_redis_url_prints_one_line_and_no_traceback(tmp_path: object) -> None:
    import os

    env = {**os.environ, "REDIS_URL": "http://nope", "VAR_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "odyssey_workers.cli", "worker", "--burst"], env=env, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    expected = "REDIS_URL: expected a redis://, rediss://, unix:// or redis+sentinel:// URL"
    assert lines == [f"Error: invalid configuration: {expected}"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NOTIFICATIONS_RATE_LIMITS", "garbage", "expected provider=sends-per-second pairs, as smtp=20,mailgun=100"),
        ("NOTIFICATIONS_RATE_LIMITS", "smtp=0", "expected provider=sends-per-second pairs, as smtp=20,mailgun=100"),
        ("WEBHOOK_RETRY_SCHEDULE", "a,b", "expected comma-separated seconds, as 5,300,1800"),
        ("NOTIFICATIONS_RETRY_SCHEDULE", "10,-1", "expected comma-separated seconds, as 5,300,1800"),
        ("LOG_LEVEL", "bogus", "expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("CONTENT_IMAGE_WIDTHS", "abc", "expected a JSON list, as [320,640,1280,2048]"),
        ("CONTENT_IMAGE_FORMATS", '["jpeg", "bmp"]', "item 2: Input should be 'jpeg', 'webp' or 'avif'"),
        ("CONTENT_PREVIEW_FORMAT", "gif", "Input should be 'webp' or 'mp4'"),
        (
            "CONTENT_WATERMARK_POSITION",
            "middle",
            "Input should be 'top-left', 'top-right', 'bottom-left', 'bottom-right' or 'center'",
        ),
        (
            "CONTENT_VIDEO_X264_PRESET",
            "turbo",
            "Input should be 'ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower'"
            " or 'veryslow'",
        ),
        ("PAYOUT_MINIMUMS", "JPY", "expected a JSON object, as {}"),
        (
            "REDIS_URL",
            "redis://localhost:6379/abc",
            "expected a database number after the host, as redis://host:6379/0",
        ),
    ],
)
def test_malformed_setting_stops_start_up_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert str(caught.value) == f"invalid configuration: {variable}: {expected}"


def test_log_level_is_read_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "debug")
    assert load_settings().log_level == "DEBUG"


def test_log_level_setting_is_the_commands_default_level(tmp_path: object) -> None:
    import os

    env = {**os.environ, "LOG_LEVEL": "DEBUG", "VAR_DIR": str(tmp_path)}
    script = "from odyssey_workers.cli import main; import logging; main(['jobs'], standalone_mode=False); "
    script += "print('level', logging.getLevelName(logging.getLogger().level))"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "level DEBUG"


def test_bad_log_level_stops_any_command_with_one_line(tmp_path: object) -> None:
    import os

    env = {**os.environ, "LOG_LEVEL": "bogus", "VAR_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "odyssey_workers.cli", "jobs"], env=env, capture_output=True)
    assert out.returncode == 1
    lines = [line for line in out.stderr.decode().splitlines() if line.strip()]
    assert lines == ["Error: invalid configuration: LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL"]
