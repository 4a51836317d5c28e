"""The dashboard in headless Chromium: job data with markup stays text, and the CSP breaks nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.serializers import JSONSerializer

from odyssey_workers.queues import enqueue, fetch_job
from tests.runtime.test_dashboard import dashboard, needs_chromium
from tests.support.browser import Browser
from tests.support.workers import kill_group, start_worker, wait_until

__all__ = ["dashboard"]  # the fixture, imported to be used here

# Were it parsed as HTML, its onerror would retitle the page (and a CSP would log a refusal).
MARKUP = "<img src=x onerror=\"document.title='script ran'\"><b>bold</b>"

pytestmark = [needs_chromium, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    with Browser(tmp_path / "profile") as browser:
        yield browser


def errors_and_violations(browser: Browser) -> list[str]:
    """Every error Chromium logged: CSP refusals, failed loads, uncaught exceptions."""
    return [line for line in browser.logs if line.startswith("error") or "Content Security Policy" in line]


def finished_jobs_with_markup(env: dict[str, str], redis_conn: Redis) -> tuple[str, str, str]:
    """A succeeded ping echoing the markup, a failed job whose reason has it, a plain RQ job's metadata."""
    pinged = enqueue("system.ping", message=MARKUP)
    failed = enqueue("testing.permanent", token=MARKUP)
    plain = Queue("default", connection=redis_conn, serializer=JSONSerializer).enqueue(
        "tests.support.jobs.permanent", token="plain", meta={"note": MARKUP}, description=MARKUP
    )
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=60) == 0
    assert fetch_job(pinged.id).get_status() == "finished"
    return pinged.id, failed.id, plain.id


def open_job(browser: Browser, dashboard: str, job_id: str) -> str:
    """The job page's text, once its script has filled in the job's fields."""
    browser.open(f"{dashboard}/0/view/job/{job_id}")
    origin = fetch_job(job_id).origin
    browser.wait_for(f"document.querySelector('#job-data').textContent.includes('Origin queue:{origin}')")
    text: str = browser.evaluate("document.querySelector('#job-data').textContent")
    return text


def test_job_fields_with_markup_show_as_text_and_run_no_script(
    env: dict[str, str], redis_conn: Redis, dashboard: str, browser: Browser
) -> None:
    pinged, failed, plain = finished_jobs_with_markup(env, redis_conn)

    for job_id in (pinged, failed, plain):
        text = open_job(browser, dashboard, job_id)
        assert browser.evaluate("document.querySelectorAll('#job-data img, #job-data b').length") == 0
        assert browser.evaluate("document.title") == "RQ dashboard"
        assert MARKUP in text.replace('\\"', '"'), job_id  # the result and metadata show as JSON
    assert "testing.permanent" in open_job(browser, dashboard, plain)  # its catalog name, not the markup

    browser.open(f"{dashboard}/0/view/jobs/default/failed/8/asc/1")
    browser.wait_for("document.querySelectorAll('tr[data-role=job]').length === 2")
    assert browser.evaluate("document.querySelectorAll('#jobs img, #jobs b').length") == 0
    assert MARKUP in browser.evaluate("document.querySelector('#jobs').textContent")
    assert browser.evaluate("document.querySelector('#page-selection li.active').textContent") == "1"
    assert browser.evaluate("document.title") == "RQ dashboard"
    assert errors_and_violations(browser) == []


def test_queue_jobs_and_worker_pages_work_under_the_policy(
    env: dict[str, str], redis_conn: Redis, dashboard: str, browser: Browser
) -> None:
    job = enqueue("system.sleep", seconds=30, steps=30)
    worker = start_worker(env)
    try:
        wait_until(lambda: fetch_job(job.id).get_status() == "started", timeout=60)
        browser.open(f"{dashboard}/")
        assert browser.wait_for("document.querySelectorAll('tr[data-role=queue]').length") == 3
        browser.open(f"{dashboard}/0/view/jobs/default/started/8/asc/1")
        browser.wait_for("document.querySelectorAll('tr[data-role=job]').length === 1")
        assert "system.sleep" in browser.evaluate("document.querySelector('#jobs').textContent")
        browser.open(f"{dashboard}/0/view/workers")
        browser.wait_for("document.querySelectorAll('tr[data-role=worker]').length >= 1")
        assert "system.sleep" in browser.evaluate("document.querySelector('#workers').textContent")
        assert errors_and_violations(browser) == []
    finally:
        kill_group(worker)  # its work horse too, still in the 30 s job


def test_the_dashboards_own_requeue_delete_and_requeue_all_buttons_work(
    env: dict[str, str], redis_conn: Redis, dashboard: str, browser: Browser
) -> None:
    first = enqueue("testing.permanent", token="first")
    second = enqueue("testing.permanent", token="second")
    third = enqueue("testing.permanent", token="third")
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=60) == 0

    open_job(browser, dashboard, first.id)
    browser.wait_for("!document.querySelector('#requeue-job-btn').hidden")
    browser.evaluate("document.querySelector('#requeue-job-btn').click()")
    wait_until(lambda: fetch_job(first.id).get_status() == "queued", timeout=30)

    browser.open(f"{dashboard}/0/view/jobs/default/failed/8/asc/1")
    browser.wait_for("document.querySelectorAll('tr[data-role=job]').length === 2")
    browser.evaluate(f"document.querySelector('tr[data-job-id=\"{second.id}\"] [data-role=delete-job-btn]').click()")
    browser.evaluate("document.querySelector('#confirmation-modal-yes').click()")

    def deleted() -> bool:
        try:
            fetch_job(second.id)
        except NoSuchJobError:
            return True
        return False

    wait_until(deleted, timeout=30)

    browser.evaluate("document.querySelector('#requeue-all-btn').click()")
    browser.evaluate("document.querySelector('#confirmation-modal-yes').click()")
    wait_until(lambda: fetch_job(third.id).get_status() == "queued", timeout=30)
    assert errors_and_violations(browser) == []


def test_a_button_refused_for_a_stale_token_says_why_and_changes_nothing(
    env: dict[str, str], redis_conn: Redis, dashboard: str, browser: Browser
) -> None:
    job = enqueue("testing.permanent", token="stale")
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=60) == 0

    open_job(browser, dashboard, job.id)
    # As after a dashboard restart: the page still holds a token no session matches.
    browser.evaluate("$.ajaxSetup({headers: {'X-CSRFToken': 'stale'}}); 1")
    browser.evaluate("window.alert = function (text) { document.body.dataset.alerted = text; }; 1")
    browser.wait_for("!document.querySelector('#requeue-job-btn').hidden")
    browser.evaluate("document.querySelector('#requeue-job-btn').click()")
    alerted = browser.wait_for("document.body.dataset.alerted")
    assert alerted == "Refused: a state change needs the X-CSRFToken header of this session: reload the page\n"
    assert fetch_job(job.id).get_status() == "failed"
