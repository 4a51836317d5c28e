"""Content performance and creator summaries on SQLite and PostgreSQL, from real daily rollups of
stored events and payments' daily metrics rows; and the platform and creator commands."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from jobs.analytics.creator_metrics import CreatorSummary, Earnings, content_performance, creator_summary
from jobs.analytics.models import RollupGrain
from jobs.analytics.rollups import bucket_of
from jobs.analytics.trends import content_trends
from jobs.payments.models import DailyRevenueMetric
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from odyssey_workers.settings import get_settings
from tests.analytics.rollup_support import raw, roll, store
from tests.payments.conftest import make_creator

TODAY = bucket_of(datetime.now(UTC), RollupGrain.DAY)
DAY_1, DAY_2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)  # inside the 72-hour late window


def two_days_of_creator(creator: int) -> None:
    """Content 10 and 11 of ``creator``, content 20 of creator 99, over two days; rolled up daily."""
    mine = {"creator_id": creator}
    store(
        *(raw("view_start", DAY_1 + timedelta(hours=1), content_id=10, user_id=user, **mine) for user in (1, 2, 3)),
        raw("view_end", DAY_1 + timedelta(hours=1), content_id=10, user_id=1, **mine),
        raw("view_progress", DAY_1 + timedelta(hours=1), content_id=10, user_id=1, seconds=90, **mine),
        raw("like", DAY_1 + timedelta(hours=2), content_id=10, user_id=2, **mine),
        raw("view_start", DAY_2 + timedelta(hours=1), content_id=10, user_id=1, **mine),  # day 2: user 1 again
        raw("share", DAY_2 + timedelta(hours=1), content_id=10, user_id=1, **mine),
        raw("view_start", DAY_2 + timedelta(hours=3), content_id=11, user_id=4, **mine),
        raw("comment", DAY_2 + timedelta(hours=3), content_id=11, user_id=4, **mine),
        *(raw("view_start", DAY_2, content_id=20, user_id=user, creator_id=99) for user in range(1, 8)),
        raw("follow", DAY_1 + timedelta(hours=4), user_id=5, **mine),
        raw("follow", DAY_1 + timedelta(hours=4), user_id=6, **mine),
        raw("follow", DAY_2 + timedelta(hours=4), user_id=7, **mine),
        raw("unfollow", DAY_2 + timedelta(hours=5), user_id=5, **mine),
    )
    roll(RollupGrain.DAY)


def test_content_performance_sums_the_days_and_derives_the_rates(database_url: str) -> None:
    two_days_of_creator(3)

    with session_scope() as session:
        everyone = content_performance(session, DAY_1.date(), DAY_2.date())
        ten, eleven = content_performance(session, DAY_1.date(), DAY_2.date(), creator_id=3)
        first_day = content_performance(session, DAY_1.date(), DAY_1.date(), creator_id=3)

    assert [entry.content_id for entry in everyone] == [20, 10, 11]
    assert (ten.views, ten.unique_viewers, ten.view_ends, ten.watch_seconds) == (4, 4, 1, 90)  # 3 + 1 viewers
    assert (ten.engagement_rate, ten.completion_rate, ten.average_watch_seconds) == (0.5, 0.25, 22.5)  # 2/4, 1/4
    assert (eleven.views, eleven.comments, eleven.engagement_rate, eleven.completion_rate) == (1, 1, 1.0, 0.0)
    assert [(entry.content_id, entry.views) for entry in first_day] == [(10, 3)]


def test_a_creator_summary_has_followers_earnings_by_currency_and_top_content(database_url: str) -> None:
    with session_scope() as session:
        creator = make_creator(session).id
        session.add_all(
            DailyRevenueMetric(day=day, creator_id=owner, currency=currency, churn_rate=Decimal(0), **figures)
            for day, owner, currency, figures in [
                (DAY_1.date(), creator, "USD", {"gross_revenue": 1000, "creator_earnings": 800}),
                (DAY_2.date(), creator, "USD", {"gross_revenue": 500, "creator_earnings": 400, "refunds": 100}),
                (DAY_2.date(), creator, "EUR", {"gross_revenue": 900, "creator_earnings": 720}),
                (DAY_2.date(), 0, "USD", {"gross_revenue": 9999, "creator_earnings": 9999}),  # the platform's row
                (TODAY.date(), creator, "USD", {"gross_revenue": 7, "creator_earnings": 7}),  # after the span
            ]
        )
    two_days_of_creator(creator)

    with session_scope() as session:
        summary = creator_summary(session, creator, DAY_2.date(), DAY_2.date(), top=1)
        before = creator_summary(session, creator, DAY_1.date(), DAY_1.date())

    assert isinstance(summary, CreatorSummary)
    assert (summary.followers, summary.followers_gained, summary.followers_lost) == (2, 1, 1)  # 3 follows - 1
    assert summary.earnings == [Earnings("EUR", 900, 720, 0), Earnings("USD", 500, 400, 100)]
    assert [(entry.content_id, entry.views) for entry in summary.top_content] == [(10, 1)]  # 10 before 11 on a tie: id
    assert (before.followers, before.followers_gained, before.followers_lost) == (2, 2, 0)


def test_a_span_ending_before_it_starts_is_refused(database_url: str) -> None:
    with session_scope() as session, pytest.raises(ValueError, match=r"until \(2026-01-01\) is before since"):
        creator_summary(session, 3, date(2026, 1, 2), date(2026, 1, 1))


def test_the_platform_and_creator_commands_print_the_figures(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_ROLLUP_SAFETY_LAG_SECONDS", "0")  # read what was stored just now
    get_settings.cache_clear()
    two_days_of_creator(3)
    runner = CliRunner()

    platform = runner.invoke(main, ["analytics", "platform", "--refresh", "--since", f"{DAY_1:%Y-%m-%d}"])
    creator = runner.invoke(
        main, ["analytics", "creator", "3", "--since", f"{DAY_1:%Y-%m-%d}", "--until", f"{DAY_2:%Y-%m-%d}"]
    )

    assert platform.exit_code == 0, platform.output
    lines = platform.output.splitlines()
    assert lines[0].startswith("platform metrics: events 1..") and "3 day(s) recomputed" in lines[0]
    # Day 1: users 1, 2, 3, 5, 6; day 2: users 1-7 (4 and 7 new); today: nobody, MAU 7. Every
    # event is in session s-1, from day 1 01:00 to day 2 05:00: one session of 28 hours.
    assert lines[3].split() == [f"{DAY_1:%Y-%m-%d}", "5", "5", "5", "100%", "5", "1", "100,800"]
    assert lines[4].split() == [f"{DAY_2:%Y-%m-%d}", "7", "7", "7", "100%", "2", "0", "-"]
    assert lines[5].split() == [f"{TODAY:%Y-%m-%d}", "0", "7", "7", "0%", "0", "0", "-"]
    assert lines[6].startswith(f"trends on {TODAY:%Y-%m-%d} (baseline 28 days): dau -")
    assert creator.exit_code == 0, creator.output
    assert creator.output.splitlines() == [
        f"creator 3, {DAY_1:%Y-%m-%d} to {DAY_2:%Y-%m-%d}: 2 followers (+3 / -1 in the span)",
        "  no earnings in payment_daily_metrics for the span",
        "  content 10: 4 views, engagement 50%, completion 25%",
        "  content 11: 1 views, engagement 100%, completion 0%",
    ]


def test_a_contents_trends_count_days_without_a_row_as_zero(database_url: str) -> None:
    two_days_of_creator(3)

    with session_scope() as session:
        trends = content_trends(session, 10, DAY_2.date(), baseline_days=7)

    # Views of content 10, the 7 days before DAY_2: 0 0 0 0 0 0 3 (mean 3/7, sample stdev 3/sqrt(7)); DAY_2: 1.
    views = trends["views"]
    assert (views.latest, views.week_before, views.week_over_week) == (1, 0, None)
    assert views.baseline_mean == pytest.approx(3 / 7)
    assert views.baseline_stdev == pytest.approx(3 / math.sqrt(7))
    assert views.z_score == pytest.approx(4 / (3 * math.sqrt(7)))
    assert not views.anomaly
    assert trends["shares"].anomaly and trends["shares"].note == "flat baseline"  # 0 every day, then 1
