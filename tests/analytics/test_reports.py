"""The reports rendered from a small real week of events: what each one counts (the daily and the
creator's weekly on SQLite and PostgreSQL); the names and periods refused; the pair written whole
or not at all."""

from __future__ import annotations

import re
import statistics
from html import unescape
from pathlib import Path
from typing import BinaryIO

import pytest
from click.testing import CliRunner

from jobs.analytics.reports.kinds import REPORT_KINDS
from jobs.analytics.reports.model import Number, Report, Table, Unit
from jobs.analytics.reports.page import render_page
from jobs.analytics.reports.periods import Grain, ReportError, parse_period
from jobs.analytics.reports.store import store_report
from jobs.analytics.revenue import revenue_months
from odyssey_workers.cli import main
from odyssey_workers.db.session import session_scope
from odyssey_workers.errors import PayloadError
from odyssey_workers.queues import enqueue
from odyssey_workers.storage import StoredObject, get_storage
from odyssey_workers.storage.local import LocalStorage
from tests.analytics.report_support import (
    DAY,
    WEEK,
    compute_behaviour_and_platform_days,
    csv_numbers,
    csv_values,
    page_numbers,
    page_text,
    render,
    store_week_of_events,
)
from tests.analytics.test_revenue import a_quarter

__all__ = ["a_quarter"]  # the fixture (payments' plans, subscriptions and daily rows), used here


def test_the_daily_engagement_report_counts_the_day_by_hour_and_its_top_content(database_url: str) -> None:
    store_week_of_events()

    [stored] = render("engagement", DAY)

    numbers = csv_numbers(stored)
    totals = {name: numbers[f"totals.{name}"] for name in ("views", "unique_viewers", "sessions", "watch_seconds")}
    assert totals == {"views": 4, "unique_viewers": 3, "sessions": 2, "watch_seconds": 60}
    assert (numbers["totals.likes"], numbers["totals.comments"], numbers["totals.shares"]) == (1, 1, 1)
    assert numbers["totals.follows"] == 1
    assert numbers["totals.engagement_rate"] == 0.75 and numbers["totals.completion_rate"] == 0.25
    hourly_views = {hour: numbers[f"hourly.views.{hour:02d}"] for hour in range(24)}
    assert {hour: views for hour, views in hourly_views.items() if views} == {9: 2, 14: 1, 20: 1}
    assert numbers["hourly.sessions.09"] == 2 and numbers["hourly.unique_viewers.09"] == 2
    top = [metric.split(".")[1] for metric in numbers if metric.startswith("content.") and metric.endswith(".views")]
    assert top == ["41", "42", "51"]  # by views, then by id
    assert (numbers["content.41.views"], numbers["content.41.unique_viewers"]) == (2, 2)
    assert stored.html_key == f"reports/analytics/engagement/{DAY}/engagement-{DAY}.html"
    assert stored.csv_key == stored.html_key.removesuffix(".html") + ".csv"
    assert 'data-chart="line"' in page_text(stored)
    # Trends: 4 views against the 28 days before, of which only Sunday the 22nd had one.
    baseline = [0.0] * 28
    baseline[-3] = 1.0
    expected_z = (4 - statistics.fmean(baseline)) / statistics.stdev(baseline)
    assert (numbers["trends.views.latest"], numbers["trends.views.before"]) == (4, 0)
    assert numbers["trends.views.change"] is None  # no change from zero
    assert numbers["trends.views.z_score"] == pytest.approx(expected_z, abs=1e-5)
    assert numbers["trends.views.anomaly"] == 1  # |z| of about 21, past the threshold of 3


def test_the_weekly_performance_report_is_one_per_active_creator_with_its_contents(database_url: str) -> None:
    store_week_of_events()

    reports = {stored.subject: stored for stored in render("performance", WEEK)}

    assert set(reports) == {"creator 3", "creator 5"}
    ana = csv_numbers(reports["creator 3"])
    # Views: 41 by users 1 and 2 on Wednesday, by user 1 on Thursday; 42 by the visitor. Sunday
    # the 22nd is the week before. A viewer seen on two days is one viewer of the week.
    assert (ana["totals.views"], ana["totals.unique_viewers"]) == (4, 3)
    assert (ana["totals.follows"], ana["totals.net_followers"], ana["totals.watch_seconds"]) == (1, 1, 60)
    assert (ana["content.41.views"], ana["content.41.unique_viewers"], ana["content.41.watch_seconds"]) == (3, 2, 60)
    assert ana["content.41.completion_rate"] == pytest.approx(1 / 3, abs=1e-6)
    assert ana["content.42.engagement_rate"] == 2.0  # a comment and a share on one view
    assert (ana["daily.views.2026-11-25"], ana["daily.views.2026-11-26"], ana["daily.follows.2026-11-26"]) == (3, 1, 1)
    assert not any(metric.startswith("content.51") for metric in ana)
    assert reports["creator 3"].html_key == f"reports/analytics/performance/{WEEK}/creator-3/performance-{WEEK}.html"
    bo = csv_numbers(reports["creator 5"])
    assert (bo["totals.views"], bo["totals.follows"], bo["content.51.views"]) == (1, 1, 1)


def test_the_weekly_platform_report_sums_the_week_and_ranks_its_creators(env: dict[str, str]) -> None:
    store_week_of_events()

    [stored] = render("platform_weekly", WEEK)

    numbers = csv_numbers(stored)
    assert (numbers["totals.views"], numbers["totals.unique_viewers"], numbers["totals.follows"]) == (5, 3, 2)
    assert numbers["totals.active_creators"] == 2
    assert [m for m in numbers if m.startswith("creator.") and m.endswith(".views")] == [
        "creator.3.views",
        "creator.5.views",
    ]
    assert numbers["daily.views.2026-11-23"] == 0 and numbers["daily.views.2026-11-25"] == 4
    # Trends by week: 5 views against 1 the week before; the baseline, the 7 weeks before (the
    # fewest a z-score takes, more than the 28 baseline days make), holds that 1 only.
    weeks = [0.0] * 6 + [1.0]
    assert (numbers["trends.views.latest"], numbers["trends.views.before"], numbers["trends.views.change"]) == (5, 1, 4)
    expected_z = (5 - statistics.fmean(weeks)) / statistics.stdev(weeks)
    assert numbers["trends.views.z_score"] == pytest.approx(expected_z, abs=1e-5)
    assert numbers["trends.views.anomaly"] == 1


def test_the_monthly_retention_report_shows_the_stored_cohorts_and_the_months_funnel(database_url: str) -> None:
    store_week_of_events()
    compute_behaviour_and_platform_days()

    [stored] = render("retention", "2026-11")

    numbers = csv_numbers(stored)
    # October's cohort: users 1 and 8; user 1 came back in November. November's: users 2, 4, 7.
    assert (numbers["monthly.2026-10-01.size"], numbers["monthly.2026-10-01.M1_users"]) == (2, 1)
    assert (numbers["monthly.2026-10-01.M0"], numbers["monthly.2026-10-01.M1"]) == (1, 0.5)
    assert (numbers["monthly.2026-11-01.size"], numbers["monthly.2026-11-01.M0"]) == (3, 1)
    assert "monthly.2026-11-01.M1" not in numbers  # December has not begun
    assert numbers["weekly.2026-10-05.W7"] == 0.5  # user 1, seven weeks later
    # Visit, view, follow, subscribe: users 1 and 2 started sessions; user 2 followed and subscribed.
    steps = [numbers[f"funnel.{step}"] for step in ("session_start", "view_start", "follow", "subscribe")]
    assert steps == [2, 2, 1, 1]
    assert (numbers["funnel.follow.from_previous"], numbers["funnel.subscribe.from_first"]) == (0.5, 0.5)
    page = page_text(stored)
    assert page.count('data-chart="heatmap"') == 2 and page.count('data-chart="funnel"') == 1


def test_the_monthly_platform_report_shows_the_stored_platform_days_and_their_trends(env: dict[str, str]) -> None:
    store_week_of_events()
    compute_behaviour_and_platform_days()

    [stored] = render("platform_monthly", "2026-11")

    numbers = csv_numbers(stored)
    # Wednesday: users 1 and 2 and the visitor; Thursday: users 1, 2 and 4.
    assert (numbers["daily.dau.2026-11-25"], numbers["daily.dau.2026-11-26"]) == (3, 3)
    assert numbers["daily.new_users.2026-11-25"] == 2  # user 2 and the visitor (user 1 came in October)
    assert numbers["daily.mau.2026-11-26"] == 5  # users 1, 2, 4, 7 and the visitor
    assert "daily.dau.2026-11-10" not in numbers  # a day no event could change is not computed: no point
    assert numbers["month.new_users"] == 4 and numbers["month.mau_at_end"] == 5
    assert numbers["trends.mau.latest"] == 5 and numbers["trends.mau.before"] == 1  # on the 30th, and the 23rd
    assert "no plan is priced in any currency" in page_text(stored)


def test_a_week_with_no_events_renders_empty_tables_and_zero_lines(env: dict[str, str]) -> None:
    [stored] = render("platform_weekly", "2026-W10")

    numbers = csv_numbers(stored)
    assert numbers["totals.views"] == 0 and numbers["totals.engagement_rate"] is None
    assert "nothing in this period" in page_text(stored)
    assert render("performance", "2026-W10") == []  # no creator was active: nothing to send


@pytest.mark.parametrize(
    ("grain", "text", "expected"),
    [
        (Grain.DAY, "2026-12-03", ("2026-12-03", "2026-12-03", "2026-12-04")),
        (Grain.WEEK, "2026-W48", ("2026-W48", "2026-11-23", "2026-11-30")),
        (Grain.WEEK, "2026-W53", ("2026-W53", "2026-12-28", "2027-01-04")),  # 2026 has 53 ISO weeks
        (Grain.MONTH, "2026-12", ("2026-12", "2026-12-01", "2027-01-01")),
    ],
)
def test_a_period_is_its_utc_day_iso_week_or_month(grain: Grain, text: str, expected: tuple[str, str, str]) -> None:
    period = parse_period(grain, text)
    assert (period.label, f"{period.start:%Y-%m-%d}", f"{period.end:%Y-%m-%d}") == expected
    assert period.start.tzinfo is not None


@pytest.mark.parametrize(
    ("grain", "text", "message"),
    [
        (Grain.DAY, "2026-W48", "period '2026-W48' is not a UTC day as YYYY-MM-DD, e.g. 2026-12-03"),
        (Grain.DAY, "2026-02-30", "period '2026-02-30' does not exist (day is out of range for month)"),
        (Grain.WEEK, "2026-12-03", "period '2026-12-03' is not an ISO week as YYYY-Www, e.g. 2026-W48"),
        (Grain.WEEK, "2025-W53", "period '2025-W53' does not exist"),
        (Grain.MONTH, "2026-13", "period '2026-13' does not exist"),
        (Grain.MONTH, "Nov 2026", "period 'Nov 2026' is not a month as YYYY-MM, e.g. 2026-11"),
    ],
)
def test_a_bad_period_is_refused_naming_the_form_expected(grain: Grain, text: str, message: str) -> None:
    with pytest.raises(ReportError) as refused:
        parse_period(grain, text)
    assert str(refused.value).startswith(message)


def test_the_command_prints_where_the_report_is_and_the_file_is_there(env: dict[str, str]) -> None:
    store_week_of_events()
    runner = CliRunner()

    result = runner.invoke(main, ["analytics", "report", "performance", "--period", WEEK, "--creator", "3"])

    assert result.exit_code == 0, result.output
    first, html, table = result.output.splitlines()
    key = f"reports/analytics/performance/{WEEK}/creator-3/performance-{WEEK}.html"
    assert first == f"performance {WEEK} (creator 3): {key}"
    assert html == f"  html: {get_storage().url(key)}" and Path(html.split("file://")[1]).is_file()
    assert table == f"  csv:  {key.removesuffix('.html')}.csv"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nightly", "--period", DAY], "Error: unknown report 'nightly' (reports: engagement, performance,"),
        (["engagement", "--period", WEEK], "Error: period '2026-W48' is not a UTC day as YYYY-MM-DD"),
        (["performance", "--period", "2026-11"], "Error: period '2026-11' is not an ISO week as YYYY-Www"),
        (["engagement", "--period", DAY, "--creator", "3"], "Error: report engagement is the whole platform's"),
    ],
)
def test_the_command_refuses_a_bad_name_or_period_in_one_line_and_writes_nothing(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = CliRunner().invoke(main, ["analytics", "report", *args])

    assert result.exit_code == 1
    assert result.output.startswith(message), result.output
    assert len(result.output.splitlines()) == 1
    assert list(get_storage().list("reports/")) == []


def test_a_report_job_refuses_a_malformed_period_when_enqueued(redis_conn: object) -> None:
    with pytest.raises(PayloadError, match="period"):
        enqueue("analytics.engagement_report", period="yesterday")
    with pytest.raises(PayloadError, match="period"):
        enqueue("analytics.performance_report", period="2026-11-25")
    with pytest.raises(PayloadError, match="period"):
        enqueue("analytics.retention_report", period="2026-W48")


def test_every_report_name_has_a_grain_and_says_what_it_holds() -> None:
    assert {name: kind.grain for name, kind in REPORT_KINDS.items()} == {
        "engagement": Grain.DAY,
        "performance": Grain.WEEK,
        "platform_weekly": Grain.WEEK,
        "retention": Grain.MONTH,
        "platform_monthly": Grain.MONTH,
    }
    assert all(kind.description for kind in REPORT_KINDS.values())


class PageWriteFails(LocalStorage):
    """A real folder storage whose HTML writes fail, as a full disk would fail them."""

    def put(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> StoredObject:
        if key.endswith(".html"):
            raise OSError(28, "No space left on device")
        return super().put(key, data, content_type)


def one_row_report(views: int) -> Report:
    period = parse_period(Grain.DAY, DAY)
    row = Table("Totals", ("What", "Views"), ())
    return Report("engagement", "Daily engagement", period, (row,), notes=(f"views {views}",))


def test_a_failed_page_write_leaves_no_csv_behind_and_an_earlier_report_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "storage"
    failing = PageWriteFails(root)

    with pytest.raises(OSError, match="No space left"):
        store_report(failing, one_row_report(1))
    assert list(failing.list()) == []  # the CSV written first was taken back

    earlier = store_report(LocalStorage(root), one_row_report(2))
    before = {key: LocalStorage(root).read_bytes(key) for key in (earlier.html_key, earlier.csv_key)}
    with pytest.raises(OSError, match="No space left"):
        store_report(failing, one_row_report(3))
    after = {key: LocalStorage(root).read_bytes(key) for key in (earlier.html_key, earlier.csv_key)}
    assert after == before
    assert sorted(item.key for item in failing.list()) == sorted(before)  # and no temporary file left


def test_text_from_the_data_is_escaped_and_the_page_allows_no_script() -> None:
    period = parse_period(Grain.DAY, DAY)
    hostile = "<script>alert(1)</script>"
    table = Table(hostile, ("Content", "Views"), ())
    page = render_page(Report("engagement", hostile, period, (table,), subject=hostile, notes=(f'"{hostile}',)))
    assert "<script>" not in page and "&lt;script&gt;" in page
    [policy] = re.findall(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert unescape(policy).startswith("default-src 'none'; style-src 'sha256-") and "script-src" not in policy


def test_a_number_that_is_not_finite_is_refused() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        Number("totals.views", "Views", float("nan"), Unit.COUNT)


def test_the_monthly_platform_report_shows_each_currencys_revenue_as_the_revenue_module_gives_it(
    a_quarter: dict[str, int],
) -> None:
    [stored] = render("platform_monthly", "2026-03")

    numbers = csv_numbers(stored)
    with session_scope() as session:
        [usd] = revenue_months(session, "2026-03", "2026-03", "USD")
        [eur] = revenue_months(session, "2026-03", "2026-03", "EUR")
    assert usd.payments is not None and eur.payments is not None
    assert (numbers["revenue.USD.mrr_start"], numbers["revenue.USD.mrr_end"]) == (usd.mrr.mrr_start, usd.mrr.mrr_end)
    assert (numbers["revenue.USD.gross_revenue"], numbers["revenue.USD.refunds"]) == (4000, 300)  # payments' rows
    assert (numbers["revenue.USD.arpu"], numbers["revenue.USD.churn_rate"]) == (1000, 0.5)
    assert (numbers["revenue.EUR.gross_revenue"], numbers["revenue.EUR.commission"]) == (900, 180)
    assert numbers["revenue.EUR.mrr_end"] == eur.mrr.mrr_end
    page = page_numbers(stored)
    assert {m: v["value"] for m, v in page.found.items() if m.startswith("revenue.")} == {
        m: value for m, value in csv_values(stored).items() if m.startswith("revenue.")
    }
