"""``odyssey-workers analytics retention``: the matrix of the last cohorts, recomputed on ``--refresh``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from odyssey_workers.cli import main
from odyssey_workers.settings import get_settings
from tests.analytics.rollup_support import raw, store


def test_retention_refresh_prints_last_weeks_cohort_with_this_weeks_returning_share(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_ROLLUP_SAFETY_LAG_SECONDS", "0")  # read what was stored just now
    get_settings.cache_clear()
    now = datetime.now(UTC)
    last_week = now - timedelta(days=7)
    store(
        raw("session_start", last_week, user_id=1),
        raw("session_start", last_week, user_id=2),
        raw("session_start", now, user_id=1),
    )
    monday = (last_week - timedelta(days=last_week.weekday())).date()
    runner = CliRunner()

    before = runner.invoke(main, ["analytics", "retention", "--periods", "2"])
    refreshed = runner.invoke(main, ["analytics", "retention", "--grain", "week", "--periods", "2", "--refresh"])

    assert before.output.startswith("no weekly cohorts from ")
    assert refreshed.exit_code == 0, refreshed.output
    assert refreshed.output.splitlines()[1:] == [
        "cohort      users W0    W1",
        f"{monday:%Y-%m-%d}      2  100%   50%",
    ]
    assert "weekly cohorts recomputed from events up to 3: 1 cohorts" in refreshed.output


def test_retention_refuses_an_unknown_grain(database_url: str) -> None:
    result = CliRunner().invoke(main, ["analytics", "retention", "--grain", "day"])

    assert result.exit_code == 2 and "'day' is not one of 'week', 'month'" in result.output
