"""Funnels on SQLite and PostgreSQL: steps in order, each within the window of the first, counted
by hand; bad funnels refused; ``odyssey-workers analytics funnel`` printing the bars."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from jobs.analytics.contracts import EventType
from jobs.analytics.funnels import DEFAULT_FUNNEL, funnel
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from tests.analytics.behaviour_support import at
from tests.analytics.rollup_support import raw, store

SINCE, UNTIL = at("2026-11-01 00:00"), at("2026-11-08 00:00")


def journeys() -> list[dict[str, object]]:
    """Entries in the first week of November; what each actor reaches is in the comments."""
    follow, subscribe = {"creator_id": 3}, {"creator_id": 3}
    return [
        # user 1: every step, the subscribe 8 days after the visit.
        raw("session_start", at("2026-11-02 10:00"), user_id=1),
        raw("view_start", at("2026-11-02 10:05"), user_id=1, content_id=9),
        raw("follow", at("2026-11-03 10:00"), user_id=1, **follow),
        raw("subscribe", at("2026-11-10 10:00"), user_id=1, **subscribe),
        # user 2: a view before the visit does not count, the one after does; the follow is 18 days on.
        raw("view_start", at("2026-11-01 09:00"), user_id=2, content_id=9),
        raw("session_start", at("2026-11-02 10:00"), user_id=2),
        raw("view_start", at("2026-11-04 10:00"), user_id=2, content_id=9),
        raw("follow", at("2026-11-20 10:00"), user_id=2, **follow),
        # user 3: follows before viewing, so the follow step is never reached; nor the subscribe.
        raw("session_start", at("2026-11-03 10:00"), user_id=3),
        raw("follow", at("2026-11-03 11:00"), user_id=3, **follow),
        raw("view_start", at("2026-11-04 10:00"), user_id=3, content_id=9),
        raw("subscribe", at("2026-11-05 10:00"), user_id=3, **subscribe),
        # an anonymous visitor: visit and view.
        raw("session_start", at("2026-11-05 10:00"), anonymous_id="anon-1"),
        raw("view_start", at("2026-11-05 10:01"), anonymous_id="anon-1", content_id=9),
        # user 4: a visit before the range; enters at the one on 11-06; subscribes 15 days after it.
        raw("session_start", at("2026-10-30 10:00"), user_id=4),
        raw("session_start", at("2026-11-06 10:00"), user_id=4),
        raw("view_start", at("2026-11-07 10:00"), user_id=4, content_id=9),
        raw("follow", at("2026-11-08 10:00"), user_id=4, **follow),
        raw("subscribe", at("2026-11-21 12:00"), user_id=4, **subscribe),
        # user 5: visits after the range: never enters.
        raw("session_start", at("2026-11-09 10:00"), user_id=5),
        raw("view_start", at("2026-11-09 10:00"), user_id=5, content_id=9),
    ]


def counts(window_days: int) -> list[tuple[str, int, float | None, float | None]]:
    with session_scope() as session:
        result = funnel(session, list(DEFAULT_FUNNEL), SINCE, UNTIL, timedelta(days=window_days))
    return [(step.event_type.value, step.actors, step.from_previous, step.from_first) for step in result.steps]


def test_the_default_funnel_counts_steps_in_order_within_fourteen_days_of_the_visit(database_url: str) -> None:
    store(*journeys())

    assert counts(14) == [
        ("session_start", 5, None, 1.0),  # users 1-4 and anon-1
        ("view_start", 5, 1.0, 1.0),
        ("follow", 2, 0.4, 0.4),  # users 1 and 4
        ("subscribe", 1, 0.5, 0.2),  # user 1; user 4's is 15 days and 2 hours after the visit
    ]


def test_a_wider_window_lets_the_later_steps_in(database_url: str) -> None:
    store(*journeys())

    assert [actors for _step, actors, _previous, _first in counts(20)] == [5, 5, 3, 2]


def test_a_funnel_with_no_one_entering_has_no_rates(database_url: str) -> None:
    store(raw("view_start", at("2026-11-02 10:00"), user_id=1, content_id=9))

    assert counts(14) == [(step.value, 0, None, None) for step in DEFAULT_FUNNEL]


@pytest.mark.parametrize(
    ("steps", "since", "until", "window", "message"),
    [
        ([EventType.SESSION_START], SINCE, UNTIL, timedelta(days=14), "at least 2 steps, got 1"),
        ([EventType.LIKE, EventType.SHARE, EventType.LIKE], SINCE, UNTIL, timedelta(days=1), "repeated: like"),
        ([EventType.LIKE, EventType.SHARE], UNTIL, SINCE, timedelta(days=1), "must be after since"),
        ([EventType.LIKE, EventType.SHARE], SINCE.replace(tzinfo=None), UNTIL, timedelta(days=1), "timezone-aware"),
        ([EventType.LIKE, EventType.SHARE], SINCE, UNTIL, timedelta(0), "window must be positive"),
    ],
)
def test_a_funnel_that_cannot_be_computed_is_refused_with_what_is_wrong(
    steps: list[EventType], since: object, until: object, window: timedelta, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        funnel(None, steps, since, until, window)  # type: ignore[arg-type]  # refused before any query


def test_the_funnel_command_prints_a_bar_per_step(database_url: str) -> None:
    store(*journeys())
    arguments = ["analytics", "funnel", "session_start", "view_start", "follow", "--since", "2026-11-01"]

    result = CliRunner().invoke(main, [*arguments, "--until", "2026-11-08"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "funnel of actors entering 2026-11-01 00:00 - 2026-11-08 00:00 UTC, window 14 day(s):",
        "session_start       5 100.0% " + "#" * 40,
        "view_start          5 100.0% " + "#" * 40,
        "follow              2  40.0% " + "#" * 16,
    ]


def test_the_funnel_command_refuses_an_unknown_step_naming_it(database_url: str) -> None:
    result = CliRunner().invoke(main, ["analytics", "funnel", "session_start", "sign_up"])

    assert result.exit_code == 2
    assert "unknown event type sign_up; known: view_start" in result.output
