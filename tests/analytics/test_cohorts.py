"""Weekly and monthly retention cohorts on SQLite and PostgreSQL: a matrix counted by hand,
re-runs that change nothing, late events (one moving a user into an earlier cohort), and the
matrix the report reads."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import delete

from jobs.analytics.behaviour_models import BehaviourWatermarkRow, CohortGrain
from jobs.analytics.cohorts import CohortRun, matrix_lines, retention_matrix, run_cohorts
from odyssey_workers.db.session import session_scope
from tests.analytics.behaviour_support import at, cohort_cells, cohorts
from tests.analytics.rollup_support import no_lag, raw, store

WEEK, MONTH = CohortGrain.WEEK, CohortGrain.MONTH


def known_users() -> list[dict[str, object]]:
    """Five users and an anonymous visitor; the weeks start on the Mondays 10-26, 11-02, 11-09..."""
    return [
        raw("session_start", at("2026-10-31 23:30"), user_id=5),  # Saturday: week 10-26, October
        raw("like", at("2026-11-01 00:00"), user_id=5, content_id=1),  # Sunday: same week, November
        raw("session_start", at("2026-11-03 09:00"), user_id=1),
        raw("view_start", at("2026-11-10 09:00"), user_id=1, content_id=1),
        raw("session_start", at("2026-11-17 09:00"), user_id=1),
        raw("session_start", at("2026-12-01 09:00"), user_id=1),  # week 11-30, December
        raw("search", at("2026-11-04 12:00"), user_id=2),
        raw("session_start", at("2026-11-18 12:00"), user_id=2),
        raw("session_start", at("2026-11-05 08:00"), user_id=3),
        raw("session_start", at("2026-11-08 23:59"), user_id=3),  # Sunday: still its first week
        raw("session_start", at("2026-11-09 00:00"), user_id=4),  # Monday 00:00: week 11-09
        raw("session_start", at("2026-11-19 00:00"), user_id=4),
        raw("session_start", at("2026-11-03 09:00"), anonymous_id="anon-1"),  # anonymous: not counted
        raw("session_start", at("2026-11-10 09:00"), anonymous_id="anon-1"),
    ]


WEEKLY = {
    ("2026-10-26", 0): (1, 1),
    ("2026-11-02", 0): (3, 3),
    ("2026-11-02", 1): (3, 1),
    ("2026-11-02", 2): (3, 2),
    ("2026-11-02", 4): (3, 1),
    ("2026-11-09", 0): (1, 1),
    ("2026-11-09", 1): (1, 1),
}
MONTHLY = {
    ("2026-10-01", 0): (1, 1),
    ("2026-10-01", 1): (1, 1),
    ("2026-11-01", 0): (4, 4),
    ("2026-11-01", 1): (4, 1),
}


def test_each_cohort_holds_the_users_counted_by_hand(database_url: str) -> None:
    store(*known_users())

    weekly, monthly = cohorts(WEEK), cohorts(MONTH)

    assert (weekly.cohorts, weekly.rows_written, monthly.cohorts, monthly.rows_written) == (3, 7, 2, 4)
    assert cohort_cells(WEEK) == WEEKLY
    assert cohort_cells(MONTH) == MONTHLY


def test_the_matrix_fills_the_periods_with_no_one_active_and_stops_at_until(database_url: str) -> None:
    store(*known_users())
    cohorts(WEEK)

    with session_scope() as session:
        matrix = retention_matrix(session, WEEK, date(2026, 10, 26), date(2026, 12, 7))
        cut = retention_matrix(session, WEEK, date(2026, 11, 2), date(2026, 11, 16))

    assert [(c.start, c.size, c.active) for c in matrix.cohorts] == [
        (date(2026, 10, 26), 1, (1, 0, 0, 0, 0, 0)),
        (date(2026, 11, 2), 3, (3, 1, 2, 0, 1)),
        (date(2026, 11, 9), 1, (1, 1, 0, 0)),
    ]
    assert matrix.cohorts[1].rates == (1.0, 1 / 3, 2 / 3, 0.0, 1 / 3)
    assert [(c.start, c.active) for c in cut.cohorts] == [(date(2026, 11, 2), (3, 1)), (date(2026, 11, 9), (1,))]
    assert matrix_lines(cut)[1:] == ["2026-11-02      3  100%   33%", "2026-11-09      1  100%"]


def test_the_monthly_matrix_counts_calendar_months(database_url: str) -> None:
    store(*known_users())
    cohorts(MONTH)

    with session_scope() as session:
        matrix = retention_matrix(session, MONTH, date(2026, 10, 1), date(2026, 12, 2))

    assert [(c.start, c.size, c.active) for c in matrix.cohorts] == [
        (date(2026, 10, 1), 1, (1, 1, 0)),
        (date(2026, 11, 1), 4, (4, 1)),
    ]
    assert matrix.cohorts[1].rates == (1.0, 0.25)


def test_a_second_run_with_nothing_new_changes_nothing_and_a_full_recompute_is_identical(database_url: str) -> None:
    store(*known_users())
    first = cohorts(WEEK)

    again = cohorts(WEEK)
    with session_scope() as session:
        session.execute(delete(BehaviourWatermarkRow))
    recomputed = cohorts(WEEK)

    assert (again.from_event_id, again.to_event_id, again.rows_written) == (first.to_event_id, first.to_event_id, 0)
    assert recomputed.to_event_id == first.to_event_id
    assert cohort_cells(WEEK) == WEEKLY


def test_a_late_event_moving_a_user_into_an_earlier_cohort_empties_the_later_one(database_url: str) -> None:
    store(*known_users())
    cohorts(WEEK)

    store(raw("like", at("2026-11-06 10:00"), user_id=4, content_id=2))  # user 4 was first seen 11-09
    late = cohorts(WEEK)

    assert late.from_event_id == 14 and late.to_event_id == 15
    assert cohort_cells(WEEK) == {
        ("2026-10-26", 0): (1, 1),
        ("2026-11-02", 0): (4, 4),
        ("2026-11-02", 1): (4, 2),  # users 1 and 4
        ("2026-11-02", 2): (4, 3),  # users 1, 2 and 4
        ("2026-11-02", 4): (4, 1),
    }


def test_a_second_run_started_during_the_first_waits_and_then_finds_nothing_new(database_url: str) -> None:
    cohorts(WEEK)  # the watermark row exists: only its lock can serialize
    store(*known_users())
    second: list[CohortRun] = []
    finished = threading.Event()

    def run_second() -> None:
        second.append(cohorts(WEEK))
        finished.set()

    with session_scope() as session:
        first = run_cohorts(session, WEEK, no_lag())
        thread = threading.Thread(target=run_second)
        thread.start()
        assert not finished.wait(1.0), "the second run went ahead while the first held the watermark"
    thread.join(timeout=30)

    assert first.rows_written == 7
    assert (second[0].from_event_id, second[0].rows_written) == (first.to_event_id, 0)
    assert cohort_cells(WEEK) == WEEKLY


def test_a_matrix_whose_until_is_not_after_since_is_refused(database_url: str) -> None:
    with session_scope() as session, pytest.raises(ValueError, match=r"until \(2026-11-02\) must be after since"):
        retention_matrix(session, MONTH, date(2026, 11, 2), date(2026, 11, 2))
