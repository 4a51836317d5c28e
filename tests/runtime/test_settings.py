"""Settings: one line naming the variable for every bad value, and no secret in it."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
    settings = load_settings()
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
    assert settings.mixpanel_token is not None


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
