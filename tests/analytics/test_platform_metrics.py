"""The platform's daily metrics on SQLite and PostgreSQL: a hand-counted fortnight, re-runs that
change nothing, late events that move a user's first day and a session's start, two runs at once,
the read side's trends, and the jobs run by a worker."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import select

from jobs.analytics.metric_models import PlatformDayRow
from jobs.analytics.platform_metrics import PlatformRun, refresh_platform_days
from jobs.analytics.platform_reads import month_summary, platform_series
from jobs.analytics.trends import platform_trends
from odyssey_workers.db.session import session_scope
from odyssey_workers.queues import enqueue, fetch_job
from tests.analytics.rollup_support import no_lag, raw, store
from tests.support.workers import start_worker

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def refresh(now: datetime = NOW) -> PlatformRun:
    with session_scope() as session:
        return refresh_platform_days(session, no_lag(), now)


def rows() -> dict[date, dict[str, Any]]:
    with session_scope() as session:
        return {
            row.day: {
                "dau": row.dau,
                "wau": row.wau,
                "mau": row.mau,
                "new": row.new_users,
                "sessions": row.sessions,
                "seconds": row.session_seconds,
            }
            for row in session.scalars(select(PlatformDayRow))
        }


def figures(dau: int, wau: int, mau: int, new: int = 0, sessions: int = 0, seconds: float = 0) -> dict[str, Any]:
    return {"dau": dau, "wau": wau, "mau": mau, "new": new, "sessions": sessions, "seconds": seconds}


def a_known_fortnight() -> list[dict[str, Any]]:
    """Users 1, 2 and anonymous "a" on March 1, users 1 and 2 on the 2nd, user 3 on the 9th."""
    return [
        raw("session_start", at(1, 10), session_id="s1"),
        raw("like", at(1, 10, 5), session_id="s1", content_id=5),  # s1 lasts 300 s
        raw("search", at(1, 11), anonymous_id="a", session_id="s2"),  # one event: 0 s
        raw("session_start", at(1, 12), user_id=2, session_id="s3"),
        raw("like", at(2, 0, 10), user_id=2, session_id="s3", content_id=5),  # s3 crosses midnight: 43,800 s
        raw("session_start", at(2, 9), session_id="s4"),
        raw("view_start", at(2, 9, 1), session_id="s4", content_id=5),  # 60 s
        raw("session_start", at(9, 8), user_id=3, session_id="s5"),
        raw("follow", at(9, 8), user_id=3, session_id=None, creator_id=4),  # no session: counts as a user only
    ]


KNOWN = {
    date(2026, 3, 1): figures(3, 3, 3, new=3, sessions=3, seconds=44_100),
    date(2026, 3, 2): figures(2, 3, 3, sessions=1, seconds=60),
    **{date(2026, 3, day): figures(0, 3, 3) for day in range(3, 8)},
    date(2026, 3, 8): figures(0, 2, 3),  # the week of the 2nd to the 8th: users 1 and 2
    date(2026, 3, 9): figures(1, 1, 4, new=1, sessions=1),
    date(2026, 3, 10): figures(0, 1, 4),  # today: the last day computed
}


def test_each_day_holds_the_numbers_counted_by_hand(database_url: str) -> None:
    store(*a_known_fortnight())

    run = refresh()

    assert (run.events_read, run.days) == (9, sorted(KNOWN))
    assert rows() == KNOWN
    with session_scope() as session:
        first, second = platform_series(session, date(2026, 3, 1), date(2026, 3, 2))
        ninth = platform_series(session, date(2026, 3, 9), date(2026, 3, 9))[0]
    assert (first.stickiness, first.average_session_seconds) == (1.0, 14_700)
    assert (second.stickiness, second.average_session_seconds) == (pytest.approx(2 / 3), 60)
    assert (ninth.stickiness, ninth.average_session_seconds) == (0.25, 0)


def test_a_second_run_finds_nothing_new_and_rewrites_nothing(database_url: str) -> None:
    store(*a_known_fortnight())
    refresh()
    with session_scope() as session:
        before = {row.day: row.computed_at for row in session.scalars(select(PlatformDayRow))}

    again = refresh()

    assert (again.events_read, again.days) == (0, [])
    with session_scope() as session:
        assert {row.day: row.computed_at for row in session.scalars(select(PlatformDayRow))} == before
    assert rows() == KNOWN


def test_late_events_recompute_the_days_they_change_and_only_those(database_url: str) -> None:
    store(*a_known_fortnight())
    first = refresh()
    store(
        raw("like", at(28, 23, 55, month=2), session_id="s1", content_id=5),  # s1 now starts on Feb 28
        raw("search", at(2, 8), user_id=3, session_id="s6"),  # user 3's first day moves to the 2nd
    )

    late = refresh()

    assert late.from_event_id == first.to_event_id and late.events_read == 2
    assert late.days == [date(2026, 2, 28), *sorted(KNOWN)]
    expected = {
        **KNOWN,
        date(2026, 2, 28): figures(1, 1, 1, new=1, sessions=1, seconds=36_600),  # 23:55 to 10:05
        date(2026, 3, 1): figures(3, 3, 3, new=2, sessions=2, seconds=43_800),  # s1 left with Feb 28
        date(2026, 3, 2): figures(3, 4, 4, new=1, sessions=2, seconds=60),
        **{date(2026, 3, day): figures(0, 4, 4) for day in range(3, 8)},
        date(2026, 3, 8): figures(0, 3, 4),  # the 2nd to the 8th: users 1, 2 and now 3
        date(2026, 3, 9): figures(1, 1, 4, sessions=1),  # user 3 is no longer new here
        date(2026, 3, 10): figures(0, 1, 4),
    }
    assert rows() == expected


def test_a_user_whose_first_day_is_months_after_a_late_event_loses_it(database_url: str) -> None:
    store(raw("like", at(9, 8), user_id=8, content_id=5))
    refresh()
    store(raw("like", at(20, 8, month=1), user_id=8, content_id=5))  # 48 days earlier

    late = refresh()

    assert date(2026, 3, 9) in late.days  # past the late event's 30 days, yet its new user moved
    assert rows()[date(2026, 3, 9)]["new"] == 0
    assert rows()[date(2026, 1, 20)]["new"] == 1


def test_a_second_refresh_started_during_the_first_waits_and_then_finds_nothing_new(database_url: str) -> None:
    assert refresh().events_read == 0  # the watermark row exists: only its lock can serialize
    store(*a_known_fortnight())
    second: list[PlatformRun] = []
    finished = threading.Event()

    def run_second() -> None:
        second.append(refresh())
        finished.set()

    with session_scope() as session:
        first = refresh_platform_days(session, no_lag(), NOW)
        thread = threading.Thread(target=run_second)
        thread.start()
        assert not finished.wait(1.0), "the second refresh ran while the first held the watermark"
    thread.join(timeout=30)

    assert first.events_read == 9
    assert second[0].events_read == 0 and second[0].from_event_id == first.to_event_id
    assert rows() == KNOWN


def test_the_month_summary_and_the_trends_read_the_stored_days(database_url: str) -> None:
    store(*a_known_fortnight())
    refresh()

    with session_scope() as session:
        march = month_summary(session, "2026-03")
        trends = platform_trends(session, date(2026, 3, 9), baseline_days=7)
        empty = month_summary(session, "2026-04")

    assert (march.days, march.mau_at_end, march.new_users, march.sessions) == (10, 4, 4, 5)
    assert march.average_dau == pytest.approx(6 / 10)
    assert march.average_session_seconds == pytest.approx(44_160 / 5)
    # DAU on the 9th (1) against the 2nd-8th (2, 0, 0, 0, 0, 0, 0): the week before is the 2nd.
    dau = trends["dau"]
    assert (dau.latest, dau.week_before, dau.week_over_week) == (1, 2, -0.5)
    assert dau.baseline_mean == pytest.approx(2 / 7)
    assert dau.z_score == pytest.approx((1 - 2 / 7) / 0.7559289, rel=1e-6)
    assert not dau.anomaly
    assert (empty.days, empty.average_dau, empty.mau_at_end) == (0, None, None)


def test_a_bad_month_or_span_is_refused_with_what_was_wrong(database_url: str) -> None:
    with session_scope() as session:
        with pytest.raises(ValueError, match="month must be YYYY-MM, got '2026-13'"):
            month_summary(session, "2026-13")
        with pytest.raises(ValueError, match=r"until \(2026-03-01\) is before since \(2026-03-02\)"):
            platform_series(session, date(2026, 3, 2), date(2026, 3, 1))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_worker_runs_the_daily_and_the_monthly_jobs_on_queue_low(
    database_url: str, env: dict[str, str], redis_conn: Redis, tmp_path: Path
) -> None:
    recent = datetime.now(UTC) - timedelta(hours=3)
    store(raw("session_start", recent, session_id="w1"), raw("like", recent, user_id=2, content_id=5))
    month = f"{recent:%Y-%m}"
    jobs = [enqueue("analytics.platform_daily"), enqueue("analytics.platform_metrics", month=month)]
    assert {job.origin for job in jobs} == {"low"}

    worker = start_worker(env, queues=("low",), burst=True, log=tmp_path / "worker.log")
    assert worker.wait(timeout=90) == 0

    daily, monthly = (fetch_job(job.id).return_value() for job in jobs)
    assert daily["events_read"] == 2 and recent.date().isoformat() in daily["days"]
    assert monthly["refresh"]["events_read"] == 0  # the daily job had read them
    assert monthly["month"]["month"] == month and monthly["month"]["new_users"] == 2
