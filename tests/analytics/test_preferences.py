"""Each user's creator and category affinities on SQLite and PostgreSQL: decayed weights counted
by hand, incremental runs equal to one run, re-runs that change nothing, late events, two runs at
once, and ``top_affinities`` as the social domain reads it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import delete

from jobs.analytics.behaviour_models import AffinityKind, BehaviourWatermarkRow, UserAffinityRow
from jobs.analytics.preferences import PreferencesRun, run_preferences, top_affinities
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from tests.analytics.behaviour_support import affinity_rows, at, preferences, scores
from tests.analytics.rollup_support import no_lag, raw, store

NOW = at("2026-11-30 12:00")
MONTH_AGO = NOW - timedelta(days=30)  # one half-life (ANALYTICS_AFFINITY_HALF_LIFE_DAYS, 30): weights halve


def first_half() -> list[dict[str, object]]:
    music, cooking = {"category": "music"}, {"category": "cooking"}
    return [
        raw("like", NOW, content_id=10, creator_id=3, properties=music),  # creator 3 +2, music +2
        raw("follow", MONTH_AGO, creator_id=3),  # creator 3 +5 / 2
        raw("view_start", MONTH_AGO, content_id=11, creator_id=5, properties=cooking),  # +1 / 2 each
        raw("view_progress", MONTH_AGO, content_id=11, creator_id=5, properties={**cooking, "seconds_watched": 60}),
    ]


def second_half() -> list[dict[str, object]]:
    cooking = {"category": "cooking"}
    return [
        # the same view reports 240 s in all: 3 more minutes, 4 in all, (4 * 1) / 2 each
        raw("view_progress", MONTH_AGO, content_id=11, creator_id=5, properties={**cooking, "seconds_watched": 240}),
        raw("subscribe", NOW, creator_id=4),  # creator 4 +10
        raw("comment", NOW, content_id=10, creator_id=3, properties={"category": 42}),  # creator 3 +3, no category
        raw("like", NOW, content_id=10, creator_id=3, anonymous_id="anon-1", properties={"category": "music"}),
        raw("follow", NOW, creator_id=3, user_id=2),
        raw("unfollow", NOW, creator_id=3, user_id=2),  # cancels the follow: 0
    ]


EXPECTED = {
    (1, "creator", "3"): 7.5,
    (1, "creator", "4"): 10.0,
    (1, "creator", "5"): 2.5,
    (1, "category", "music"): 2.0,
    (1, "category", "cooking"): 2.5,
    (2, "creator", "3"): 0.0,
}


def test_each_affinity_is_the_decayed_weights_counted_by_hand(database_url: str) -> None:
    store(*first_half(), *second_half())

    run = preferences(NOW)

    assert (run.events_read, run.users, run.rows_written) == (10, 2, 6)
    assert scores() == EXPECTED
    assert {updated for _score, updated in affinity_rows().values()} == {NOW}


def test_two_incremental_runs_give_what_one_run_over_every_event_gives(database_url: str) -> None:
    store(*first_half())
    preferences(NOW)
    store(*second_half())  # late, as far as the first run is concerned: a month-old view's progress

    second = preferences(NOW)

    assert (second.from_event_id, second.events_read) == (4, 6)
    assert scores() == EXPECTED


def test_a_stored_score_decays_by_half_over_a_half_life_before_new_weight_is_added(database_url: str) -> None:
    store(raw("follow", MONTH_AGO, creator_id=3))
    preferences(MONTH_AGO)
    assert scores() == {(1, "creator", "3"): 5.0}

    store(raw("like", NOW, content_id=10, creator_id=3))
    preferences(NOW)

    assert scores() == {(1, "creator", "3"): 4.5}  # 5 / 2 + 2


def test_a_run_with_nothing_new_changes_nothing_and_a_full_recompute_is_identical(database_url: str) -> None:
    store(*first_half(), *second_half())
    first = preferences(NOW)
    before = affinity_rows()

    again = preferences(NOW + timedelta(hours=1))
    assert (again.from_event_id, again.to_event_id, again.rows_written) == (first.to_event_id, first.to_event_id, 0)
    assert affinity_rows() == before

    with session_scope() as session:
        session.execute(delete(BehaviourWatermarkRow))
        session.execute(delete(UserAffinityRow))
    preferences(NOW)
    assert scores() == EXPECTED


def test_a_second_run_started_during_the_first_waits_and_counts_nothing_twice(database_url: str) -> None:
    preferences(NOW)  # the watermark row exists: only its lock can serialize
    store(*first_half(), *second_half())
    second: list[PreferencesRun] = []
    finished = threading.Event()

    def run_second() -> None:
        second.append(preferences(NOW))
        finished.set()

    with session_scope() as session:
        first = run_preferences(session, no_lag(), NOW)
        thread = threading.Thread(target=run_second)
        thread.start()
        assert not finished.wait(1.0), "the second run went ahead while the first held the watermark"
    thread.join(timeout=30)

    assert first.events_read == 10 and second[0].events_read == 0
    assert scores() == EXPECTED


def test_top_affinities_ranks_one_users_positive_scores_strongest_first(database_url: str) -> None:
    store(*first_half(), *second_half())
    preferences(NOW)

    with session_scope() as session:
        creators = top_affinities(session, 1, AffinityKind.CREATOR, limit=2)
        categories = top_affinities(session, 1, AffinityKind.CATEGORY)
        unfollowed = top_affinities(session, 2, AffinityKind.CREATOR)
        with pytest.raises(ValueError, match="limit must be at least 1, got 0"):
            top_affinities(session, 1, AffinityKind.CREATOR, limit=0)

    assert [(entry.key, round(entry.score, 9)) for entry in creators] == [("4", 10.0), ("3", 7.5)]
    assert [(entry.key, round(entry.score, 9)) for entry in categories] == [("cooking", 2.5), ("music", 2.0)]
    assert unfollowed == []


def test_the_affinities_command_lists_both_kinds(database_url: str) -> None:
    store(*first_half(), *second_half())
    preferences(NOW)
    runner = CliRunner()

    shown = runner.invoke(main, ["analytics", "affinities", "1", "--limit", "1"])
    nobody = runner.invoke(main, ["analytics", "affinities", "99"])

    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        "user 1's creator affinities:",
        "  4                             10.00  (as of 2026-11-30 12:00 UTC)",
        "user 1's category affinities:",
        "  cooking                        2.50  (as of 2026-11-30 12:00 UTC)",
    ]
    assert nobody.output.strip() == "no affinities for user 99 (run: the analytics.update_preferences job)"


def test_the_affinities_command_says_none_for_a_kind_the_user_has_no_score_in(database_url: str) -> None:
    store(raw("follow", NOW, creator_id=3))
    preferences(NOW)

    shown = CliRunner().invoke(main, ["analytics", "affinities", "1"])

    assert shown.output.splitlines() == [
        "user 1's creator affinities:",
        "  3                              5.00  (as of 2026-11-30 12:00 UTC)",
        "user 1's category affinities: none",
    ]
