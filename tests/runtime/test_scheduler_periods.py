"""Period keys: the durable key of one firing, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from odyssey_workers.scheduling.periods import (
    next_run,
    period_key,
    period_kind,
    period_tick,
    target_job_id,
    ticket_id,
)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "kind"),
    [
        ("0 2 * * *", "daily"),
        ("@daily", "daily"),
        ("0 10 * * 1", "weekly"),
        ("0 10 * * mon", "weekly"),
        ("0 9 1 * *", "monthly"),
        ("*/5 * * * *", "tick"),
        ("0 2,14 * * *", "tick"),
        ("0 10 * * 1,4", "tick"),
        ("0 9 1 1 *", "tick"),
        ("0 9 L * *", "tick"),
        ("0 10 * * 1#1", "tick"),
    ],
)
def test_the_period_follows_how_often_the_cron_fires(cron: str, kind: str) -> None:
    assert period_kind(cron) == kind


def test_a_daily_entry_is_keyed_by_its_utc_date() -> None:
    assert period_key("analytics.daily", "0 2 * * *", at(2026, 11, 29, 2, 0)) == "analytics.daily:2026-11-29"


def test_a_weekly_entry_is_keyed_by_its_iso_week() -> None:
    assert period_key("payouts.weekly", "0 10 * * 1", at(2026, 11, 23, 10, 0)) == "payouts.weekly:2026-W48"
    # Early January can belong to the last ISO week of the year before.
    assert period_key("payouts.weekly", "0 10 * * 5", at(2027, 1, 1, 10, 0)) == "payouts.weekly:2026-W53"


def test_a_monthly_entry_is_keyed_by_its_month() -> None:
    assert period_key("revenue.monthly", "0 9 1 * *", at(2026, 11, 1, 9, 0)) == "revenue.monthly:2026-11"


def test_any_other_entry_is_keyed_by_its_cron_tick() -> None:
    assert period_key("sync.often", "*/5 * * * *", at(2026, 11, 29, 2, 7, 31)) == "sync.often:2026-11-29T02:05Z"


def test_a_late_firing_names_the_same_period_as_an_on_time_one() -> None:
    on_time = at(2026, 11, 23, 10, 0)
    for late in (timedelta(seconds=4), timedelta(minutes=3), timedelta(days=2)):
        assert period_key("payouts.weekly", "0 10 * * 1", on_time + late) == "payouts.weekly:2026-W48"
    # ...until the next tick: the week after is another period.
    assert period_key("payouts.weekly", "0 10 * * 1", on_time + timedelta(days=7)) == "payouts.weekly:2026-W49"


def test_a_time_before_the_days_tick_belongs_to_the_previous_period() -> None:
    assert period_tick("0 2 * * *", at(2026, 11, 29, 1, 59)) == at(2026, 11, 28, 2, 0)
    assert period_key("analytics.daily", "0 2 * * *", at(2026, 11, 29, 1, 59)) == "analytics.daily:2026-11-28"


def test_times_in_other_zones_are_read_as_the_same_instant_in_utc() -> None:
    paris_morning = datetime(2026, 11, 29, 3, 0, tzinfo=timezone(timedelta(hours=1)))  # 02:00 UTC
    assert period_tick("0 2 * * *", paris_morning) == at(2026, 11, 29, 2, 0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime refused"):
        period_key("analytics.daily", "0 2 * * *", datetime(2026, 11, 29, 2, 0))


def test_next_run_is_the_first_tick_strictly_after() -> None:
    assert next_run("0 10 * * 1", at(2026, 11, 23, 10, 0)) == at(2026, 11, 30, 10, 0)
    assert next_run("0 9 1 * *", at(2026, 11, 15)) == at(2026, 12, 1, 9, 0)


def test_job_ids_are_valid_rq_ids_and_distinct_per_period() -> None:
    ids = {
        target_job_id("payouts.weekly:2026-W48"),
        target_job_id("payouts.weekly:2026-W49"),
        target_job_id("payouts_weekly:2026-W48"),
        target_job_id("sync.often:2026-11-29T02:05Z"),
    }
    assert len(ids) == 4
    assert all(job_id.replace("-", "").replace("_", "").isalnum() for job_id in ids)
    assert ticket_id("payouts.weekly") == "schedule-payouts-weekly"
