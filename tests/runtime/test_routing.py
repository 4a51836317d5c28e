"""JOB_ROUTES: chosen jobs or whole domains on queues of their own, served only by workers
started for them; without routes everything stays on high, default and low."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from redis import Redis

from odyssey_workers.catalog import get_catalog
from odyssey_workers.errors import ConfigurationError
from odyssey_workers.queues import enqueue, fetch_job, get_queue
from odyssey_workers.routing import queue_names
from tests.conftest import reset_runtime_caches
from tests.support.workers import VENV_BIN, start_worker


def set_routes(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], routes: dict[str, str]) -> None:
    env["JOB_ROUTES"] = json.dumps(routes)
    monkeypatch.setenv("JOB_ROUTES", env["JOB_ROUTES"])
    reset_runtime_caches()


def test_without_routes_every_job_stays_on_its_declared_queue(env: dict[str, str]) -> None:
    assert queue_names() == ("high", "default", "low")
    assert all(spec.routed_queue == spec.queue for spec in get_catalog())


def test_an_exact_name_beats_a_glob_and_a_longer_glob_beats_a_shorter(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    set_routes(
        monkeypatch,
        env,
        {"testing.*": "testbox", "testing.mark_*": "marks", "testing.mark_high": "high", "content.*": "media"},
    )
    catalog = get_catalog()
    assert catalog.get("testing.flaky").routed_queue == "testbox"
    assert catalog.get("testing.mark_low").routed_queue == "marks"
    assert catalog.get("testing.mark_high").routed_queue == "high"  # a route may name a standard queue
    assert catalog.get("content.transcode_video").routed_queue == "media"
    assert catalog.get("payments.pay_creators").routed_queue == catalog.get("payments.pay_creators").queue
    assert queue_names() == ("high", "default", "low", "marks", "media", "testbox")
    assert catalog.get("testing.mark").queue == "default"  # the declaration itself is unchanged


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"contnet.*": "media"}, "route 'contnet.*' matches no job in the catalog"),
        ({"content.*": "Media Queue"}, "route 'content.*' names queue 'Media Queue'"),
    ],
)
def test_a_bad_route_is_refused_naming_it(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, routes: dict[str, str], message: str
) -> None:
    set_routes(monkeypatch, env, routes)
    with pytest.raises(ConfigurationError, match=message.replace("*", r"\*")):
        queue_names()


def test_a_worker_refuses_to_start_on_a_bad_route_and_job_routes_that_are_not_json(env: dict[str, str]) -> None:
    command = [str(VENV_BIN / "odyssey-workers"), "worker", "--burst"]
    for value, expected in [('{"nosuch.*": "video"}', "matches no job"), ("video", "JOB_ROUTES")]:
        routed_env = {**env, "JOB_ROUTES": value, "PATH": "/usr/bin:/bin"}
        result = subprocess.run(command, env=routed_env, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert expected in result.stderr + result.stdout
        assert "Traceback" not in result.stderr


def test_a_routed_job_waits_for_a_worker_of_its_queue(
    env: dict[str, str], redis_conn: Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_routes(monkeypatch, env, {"testing.mark": "video"})
    routed = enqueue("testing.mark", token="routed")
    plain = enqueue("testing.mark_low", token="plain")
    assert routed.origin == "video"
    assert get_queue("video").count == 1

    log = tmp_path / "worker.log"
    standard = start_worker(env, burst=True, log=log)  # high default low only
    assert standard.wait(timeout=60) == 0, log.read_text()
    assert fetch_job(plain.id).get_status() == "finished"
    assert fetch_job(routed.id).get_status() == "queued"
    assert redis_conn.get("test:runs:routed") is None

    video = start_worker(env, queues=("video",), burst=True, log=log)
    assert video.wait(timeout=60) == 0, log.read_text()
    assert fetch_job(routed.id).get_status() == "finished"
    assert redis_conn.get("test:runs:routed") == b"1"
