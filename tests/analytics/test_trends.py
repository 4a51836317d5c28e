"""Trends of a series: week-over-week change and z-score anomalies, against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from jobs.analytics.trends import trend, trend_label

# Mean 12; deviations -2 0 2 -2 0 2 0 -> squares sum 16, sample variance 16/6, stdev 1.63299.
BASELINE = [10, 12, 14, 10, 12, 14, 12]
STDEV = math.sqrt(16 / 6)


def test_a_value_three_deviations_past_the_baseline_is_an_anomaly_with_its_weekly_change() -> None:
    result = trend([*BASELINE, 18], baseline_days=7)

    assert result.baseline_mean == pytest.approx(12)
    assert result.baseline_stdev == pytest.approx(STDEV)
    assert result.z_score == pytest.approx(6 / STDEV)  # 3.674
    assert result.anomaly
    assert result.week_before == 10  # the value 7 days before the latest
    assert result.week_over_week == pytest.approx(0.8)
    assert trend_label(result) == "+80% wow, anomaly (z +3.7)"


def test_a_value_inside_three_deviations_is_not_flagged() -> None:
    result = trend([*BASELINE, 16], baseline_days=7)

    assert result.z_score == pytest.approx(4 / STDEV)  # 2.449
    assert not result.anomaly
    assert trend_label(result) == "+60% wow"


def test_a_drop_is_flagged_as_well_as_a_rise() -> None:
    result = trend([*BASELINE, 6], baseline_days=7)

    assert result.z_score == pytest.approx(-6 / STDEV)
    assert result.anomaly
    assert result.week_over_week == pytest.approx(-0.4)


def test_the_baseline_is_only_the_days_just_before_the_latest() -> None:
    # 100 is outside a 7-day baseline, so it changes nothing.
    assert trend([100, *BASELINE, 18], baseline_days=7).baseline_mean == pytest.approx(12)
    assert trend([100, *BASELINE, 18], baseline_days=8).baseline_mean == pytest.approx((100 + 84) / 8)


def test_a_flat_baseline_has_no_z_score_and_flags_any_departure() -> None:
    flat = [5] * 7

    moved, same = trend([*flat, 6], baseline_days=7), trend([*flat, 5], baseline_days=7)

    assert (moved.baseline_stdev, moved.z_score, moved.anomaly, moved.note) == (0.0, None, True, "flat baseline")
    assert (same.z_score, same.anomaly) == (None, False)
    assert trend_label(moved) == "+20% wow, anomaly"


def test_a_short_baseline_gives_no_z_score_and_no_flag() -> None:
    result = trend([1, 2, 3, 50], baseline_days=28)

    assert (result.z_score, result.anomaly, result.week_before, result.week_over_week) == (None, False, None, None)
    assert result.note == "baseline of 3 value(s), fewer than 7"


def test_a_week_before_of_zero_gives_no_weekly_change() -> None:
    assert trend([0, *BASELINE], baseline_days=7).week_over_week is None


@pytest.mark.parametrize(
    ("values", "options", "message"),
    [
        ([], {}, "a trend needs at least one value"),
        ([1], {"baseline_days": 1}, "baseline_days must be at least 2, got 1"),
        ([1], {"threshold": 0}, "threshold must be positive, got 0"),
    ],
)
def test_bad_arguments_are_refused_with_what_was_wrong(
    values: list[float], options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        trend(values, **options)  # type: ignore[arg-type]
