"""A bug inside a delivery (not a provider's answer) is logged with its traceback and fails at once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jobs.notifications.dispatch import is_bug
from odyssey_workers.errors import ConfigurationError, PermanentError
from odyssey_workers.providers.outcomes import ProviderRejected, ProviderUnavailable
from odyssey_workers.queues import enqueue
from tests.notifications.conftest import attempts, deliveries
from tests.support.workers import start_worker

UPLOAD = {"creator_name": "Ana", "title": "Tour", "url": "https://odyssey.test/p/1"}

BUGGY_OUTBOX = '''
"""Loaded by the worker through ODYSSEY_EXTRA_CONTRACTS: the outbox mailer gets a bug."""
from odyssey_workers.providers import email_outbox


def send(self, mail):
    return mail.to + 1  # TypeError: a bug in the provider code, not the provider being down


email_outbox.OutboxMailer.send = send
'''


def test_a_type_error_in_a_provider_is_logged_with_its_traceback_and_fails_the_delivery_at_once(
    db, people, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "buggy_outbox.py").write_text(BUGGY_OUTBOX)
    worker_env = {
        **env,
        "ODYSSEY_EXTRA_CONTRACTS": f"{env['ODYSSEY_EXTRA_CONTRACTS']},buggy_outbox",
        "PYTHONPATH": os.pathsep.join([str(tmp_path), env["PYTHONPATH"]]),
        "NOTIFICATIONS_RETRY_SCHEDULE": "0,0",
    }
    fan = people()
    enqueue("notifications.notify", event="content_upload", recipients=[fan], data=UPLOAD)

    log_path = tmp_path / "worker.log"
    start_worker(worker_env, burst=True, log=log_path).wait(timeout=60)
    log = log_path.read_text()

    [delivery] = deliveries()
    assert delivery.channel == "email"
    assert delivery.status == "failed", log
    assert delivery.attempts == 1  # not retried
    assert delivery.error.startswith("bug, not retried: TypeError:")
    assert [a.status for a in attempts(delivery.id)] == ["failed"]
    error_lines = [line for line in log.splitlines() if " ERROR " in line and "failed on a bug" in line]
    assert len(error_lines) == 1, log
    assert f"ids {delivery.id}" in error_lines[0]
    assert "Traceback (most recent call last)" in log
    assert 'buggy_outbox.py", line' in log  # the traceback reaches the line at fault


@pytest.mark.parametrize(
    ("outcome", "bug"),
    [
        (TypeError("unsupported operand"), True),
        (KeyError("subject"), True),
        (AttributeError("'NoneType' object has no attribute 'lower'"), True),
        (ProviderUnavailable("503"), False),
        (ConnectionResetError("reset"), False),
        (ConfigurationError("SMTP_URL is required"), False),
        (ProviderRejected("550 no such user"), False),
        (PermanentError("bad input"), False),
    ],
)
def test_only_exceptions_no_provider_answer_explains_are_bugs(outcome: Exception, bug: bool) -> None:
    assert is_bug(outcome) is bug
