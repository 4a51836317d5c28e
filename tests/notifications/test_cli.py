"""``odyssey-workers notify`` and the status section, with a real worker process."""

from __future__ import annotations

import json

from click.testing import CliRunner

from odyssey_workers.cli import main
from odyssey_workers.queues import get_queue
from tests.notifications.conftest import deliveries
from tests.support.workers import start_worker, stop_worker

LIVE = {"creator_name": "Ana", "stream_title": "Sound <check>", "url": "https://odyssey.test/live/1"}


def test_preview_renders_every_channel_and_sends_nothing(db, people) -> None:
    uid = people(locale="es")
    result = CliRunner().invoke(
        main, ["notify", "live_alert", "--user", str(uid), "--preview", "--data", json.dumps(LIVE)]
    )
    assert result.exit_code == 0, result.output
    assert "== live_alert / email / es" in result.output and "Ana está en directo: Sound <check>" in result.output
    assert "Sound &lt;check&gt;" in result.output  # the HTML part is escaped
    assert "== live_alert / webhook / es" in result.output and "== live_alert / discord / es" in result.output
    assert deliveries() == [] and len(get_queue("high")) == 0


def test_preview_names_a_missing_variable_and_an_unknown_event(db) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["notify", "live_alert", "--preview", "--data", '{"creator_name": "Ana"}'])
    assert missing.exit_code == 1 and "missing variable: 'stream_title' is undefined" in missing.output
    unknown = runner.invoke(main, ["notify", "live_alrt", "--preview"])
    assert unknown.exit_code == 2 and "unknown event 'live_alrt'" in unknown.output
    bad_json = runner.invoke(main, ["notify", "live_alert", "--user", "1", "--data", "{oops"])
    assert bad_json.exit_code == 2 and "--data" in bad_json.output and "not valid JSON" in bad_json.output


def test_notify_wait_prints_each_delivery_outcome_and_status_counts_them(db, people, env, tmp_path) -> None:
    with_email, without = people(), people(email=None)
    worker = start_worker(env, log=tmp_path / "worker.log")
    try:
        args = [
            "notify",
            "content_upload",
            "--user",
            str(with_email),
            "--user",
            str(without),
            "--wait",
            "--timeout",
            "60",
        ]
        result = CliRunner().invoke(
            main, [*args, "--data", json.dumps({"creator_name": "Ana", "title": "T", "url": "u"})]
        )
    finally:
        stop_worker(worker)
    assert result.exit_code == 0, result.output + (tmp_path / "worker.log").read_text()[-2000:]
    assert f"user {with_email}  email    sent" in result.output
    assert f"user {without}  -        no_channel" in result.output and "email: no address" in result.output
    status = CliRunner().invoke(main, ["status", "--json"])
    assert status.exit_code == 0, status.output
    counts = json.loads(status.output)["notification deliveries"]
    assert counts == [{"channel": "email", "status": "sent", "deliveries": 1}]
