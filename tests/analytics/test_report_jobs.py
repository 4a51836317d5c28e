"""The report jobs in a real worker: the daily one stores its report; the weekly one stores the
platform's and each active creator's, and notifies each creator once however often it runs."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from jobs.analytics.report_jobs import notification_key, performance_report
from jobs.analytics.reports.periods import Grain, last_complete, parse_period
from jobs.notifications.models import Delivery, Notification
from odyssey_workers.db.models import Creator, User
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import enqueue, fetch_job
from odyssey_workers.storage import get_storage
from tests.analytics.report_support import DAY, WEEK, compute_behaviour_and_platform_days, store_week_of_events
from tests.support.workers import start_worker

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def add_creators() -> dict[int, int]:
    """Creator 3 (user ana) and creator 5 (user bo), as the events name them: creator id → user id."""
    with session_scope() as session:
        users = {3: User(email="ana@example.com", display_name="Ana"), 5: User(email="bo@example.com")}
        session.add_all(users.values())
        session.flush()
        session.add_all(Creator(id=cid, user_id=user.id, handle=f"c{cid}") for cid, user in users.items())
        return {cid: user.id for cid, user in users.items()}


def run_in_a_worker(env: dict[str, str]) -> None:
    worker = start_worker(env, burst=True)
    assert worker.wait(timeout=120) == 0


def test_the_weekly_job_run_twice_notifies_each_active_creator_once_with_a_link_to_their_report(
    env: dict[str, str], redis_conn: Redis, var_dir: Path
) -> None:
    store_week_of_events()
    users = add_creators()

    first = enqueue("analytics.performance_report", period=WEEK)
    second = enqueue("analytics.performance_report", period=WEEK)  # a manual re-run of the same week
    run_in_a_worker(env)  # runs both, then the notify and send jobs they enqueued

    assert first.origin == "low"
    results = [fetch_job(job.id).return_value() for job in (first, second)]
    assert results[0] == results[1]
    assert results[0]["creator_reports"] == 2 and results[0]["notified_creators"] == [3, 5]
    with session_scope() as session:
        notes = session.scalars(select(Notification).order_by(Notification.user_id)).all()
        deliveries = session.scalars(select(Delivery)).all()
    assert [(n.user_id, n.event, n.dedupe_key) for n in notes] == [
        (users[3], "creator_weekly_report", notification_key(parse_period(Grain.WEEK, WEEK), 3)),
        (users[5], "creator_weekly_report", notification_key(parse_period(Grain.WEEK, WEEK), 5)),
    ]
    assert (notes[0].data["views"], notes[0].data["unique_viewers"], notes[0].data["follows"]) == (4, 3, 1)
    assert sorted((d.user_id, d.channel, d.status) for d in deliveries) == [
        (users[3], "email", "sent"),
        (users[5], "email", "sent"),
    ]
    key = notes[0].data["report_key"]
    assert key == f"reports/analytics/performance/{WEEK}/creator-3/performance-{WEEK}.html"
    assert get_storage().exists(key) and notes[0].data["url"] == get_storage().url(key)
    mails = sorted((var_dir / "outbox" / "email").glob("*.eml"))
    assert len(mails) == 2
    ana = next(m for m in mails if b"ana@example.com" in m.read_bytes())
    message = email.message_from_bytes(ana.read_bytes(), policy=policy.default)
    assert message["Subject"] == f"Your week on Odyssey: {WEEK}"
    body = message.get_body(("plain",))
    assert body is not None and "4 views from 3 viewers, 1 new followers" in body.get_content()
    assert get_storage().exists(f"reports/analytics/platform_weekly/{WEEK}/platform_weekly-{WEEK}.html")


def test_the_daily_and_monthly_jobs_store_their_reports_and_a_day_that_does_not_exist_fails(
    env: dict[str, str], redis_conn: Redis
) -> None:
    store_week_of_events()
    compute_behaviour_and_platform_days()

    daily = enqueue("analytics.engagement_report", period=DAY)
    retention = enqueue("analytics.retention_report", period="2026-11")
    platform = enqueue("analytics.platform_report", period="2026-11")
    bad = enqueue("analytics.engagement_report", period="2026-02-30")  # the right shape, no such day
    run_in_a_worker(env)

    assert {job.origin for job in (daily, retention, platform)} == {"low"}
    assert fetch_job(daily.id).return_value() == {
        "kind": "engagement",
        "period": DAY,
        "subject": None,
        "html_key": f"reports/analytics/engagement/{DAY}/engagement-{DAY}.html",
        "csv_key": f"reports/analytics/engagement/{DAY}/engagement-{DAY}.csv",
    }
    assert (
        fetch_job(retention.id).return_value()["html_key"]
        == "reports/analytics/retention/2026-11/retention-2026-11.html"
    )
    assert fetch_job(platform.id).return_value()["csv_key"] == (
        "reports/analytics/platform_monthly/2026-11/platform_monthly-2026-11.csv"
    )
    failed = fetch_job(bad.id)
    assert failed.get_status() == "failed" and failed.retries_left in (None, 0)
    assert "period '2026-02-30' does not exist" in (failed.latest_result().exc_string or "")
    assert len([item.key for item in get_storage().list("reports/")]) == 6  # three pairs, nothing of the bad day


def test_with_no_period_the_jobs_take_the_last_complete_day_and_week() -> None:
    monday_morning = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert last_complete(Grain.DAY, monday_morning).label == "2026-11-29"
    assert last_complete(Grain.WEEK, monday_morning).label == "2026-W48"
    assert last_complete(Grain.MONTH, monday_morning).label == "2026-10"
    assert last_complete(Grain.WEEK, datetime(2027, 1, 4, 7, 0, tzinfo=UTC)).label == "2026-W53"
    assert last_complete(Grain.MONTH, datetime(2027, 1, 1, 8, 30, tzinfo=UTC)).label == "2026-12"


def test_a_creator_with_no_creator_row_gets_a_report_but_no_notification(
    env: dict[str, str], redis_conn: Redis
) -> None:
    store_week_of_events()
    with session_scope() as session:  # only creator 3 is on the platform; the events also name 5
        user = User(email="ana@example.com")
        session.add(user)
        session.flush()
        session.add(Creator(id=3, user_id=user.id, handle="c3"))

    result = performance_report(WEEK)  # in this process: notify is enqueued, not run

    assert (result["creator_reports"], result["notified_creators"], result["unknown_creators"]) == (2, [3], [5])
    assert get_storage().exists(f"reports/analytics/performance/{WEEK}/creator-5/performance-{WEEK}.html")
    [queued] = Queue("high", connection=redis_conn, serializer=JSONSerializer).get_jobs()
    assert queued.kwargs["event"] == "creator_weekly_report" and queued.kwargs["recipients"] == [user.id]
