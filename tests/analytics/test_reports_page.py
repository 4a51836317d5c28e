"""The report pages as a reader gets them: every number on the page is the CSV's, and in headless
Chromium the charts are drawn, the page's CSP refuses nothing it needs, and a screenshot is made."""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.analytics.reports.store import StoredReport
from odyssey_workers.storage import get_storage
from tests.analytics.report_support import (
    DAY,
    WEEK,
    compute_behaviour_and_platform_days,
    csv_values,
    page_numbers,
    render,
    store_week_of_events,
)
from tests.runtime.test_dashboard import needs_chromium
from tests.support.browser import Browser

REPORTS_OF_THE_EVENTS = {
    "engagement": DAY,
    "platform_weekly": WEEK,
    "retention": "2026-11",
    "platform_monthly": "2026-11",
}


@pytest.fixture
def week_reports(env: dict[str, str]) -> dict[str, StoredReport]:
    """Every report of the events, stored: the day's, each creator's week, the platform's week and
    November's retention and platform metrics."""
    store_week_of_events()
    compute_behaviour_and_platform_days()
    reports = {name: render(name, period)[0] for name, period in REPORTS_OF_THE_EVENTS.items()}
    for stored in render("performance", WEEK):
        reports[f"performance {stored.subject}"] = stored
    return reports


def read_shown(text: str) -> float | None:
    """The number a reader sees, read back from its text alone: ``1,234``, ``60 s``, ``75.0%``,
    ``+25.0%``, ``+1.50 sd``, ``anomaly``/``normal``, ``-``;
    a chart point's tooltip (``Views at 09:00: 2``) is read after its last colon."""
    shown = text.rsplit(": ", 1)[-1].strip()
    if shown == "-":
        return None
    if shown in ("anomaly", "normal"):  # an anomaly flag
        return 1.0 if shown == "anomaly" else 0.0
    if shown.endswith("%"):  # a rate, or a change as +25.0%
        return float(shown[:-1].replace(",", "")) / 100
    return float(shown.removesuffix(" s").removesuffix(" sd").replace(",", ""))


TOLERANCE = {"rate": 0.0005, "change": 0.0005, "score": 0.005, "seconds": 0.5, "count": 0.005, "flag": 0}
"""How far a shown number may be from its exact value: rates to 0.1 %, z-scores to 0.01, seconds whole."""


def test_every_number_on_each_page_is_in_its_csv_with_the_same_value(week_reports: dict[str, StoredReport]) -> None:
    assert set(week_reports) == {*REPORTS_OF_THE_EVENTS, "performance creator 3", "performance creator 5"}
    for name, stored in week_reports.items():
        page = page_numbers(stored)
        table = csv_values(stored)

        assert page.duplicates == [], name
        assert set(page.found) == set(table), name  # nothing on the page missing from the CSV, and back
        for metric, marked in page.found.items():
            assert marked["value"] == table[metric], (name, metric)
            seen = read_shown(marked["text"])
            expected = float(table[metric]) if table[metric] else None
            if expected is None or seen is None:
                assert seen == expected, (name, metric, marked["text"])
            else:  # what is shown is rounded: a rate to 0.1 %, seconds to the second
                assert seen == pytest.approx(expected, abs=TOLERANCE[marked["unit"]]), (
                    name,
                    metric,
                    marked["text"],
                )
        assert len(page.found) > 20, name  # the pages are not empty: figures, lines and tables


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    with Browser(tmp_path / "profile") as browser:
        yield browser


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


@needs_chromium
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_engagement_page_draws_its_charts_in_chromium_and_a_screenshot_shows_them(
    week_reports: dict[str, StoredReport], browser: Browser, tmp_path: Path
) -> None:
    stored = week_reports["engagement"]
    browser.open(get_storage().url(stored.html_key))

    charts = browser.evaluate(
        "[...document.querySelectorAll('svg.chart')].map(svg => ({"
        " kind: svg.dataset.chart, role: svg.getAttribute('role'),"
        " title: svg.querySelector(':scope > title').textContent,"
        " points: svg.querySelectorAll('circle[data-value]').length,"
        " lines: svg.querySelectorAll('polyline').length,"
        " width: svg.getBoundingClientRect().width}))"
    )
    assert [(c["kind"], c["role"], c["points"], c["lines"]) for c in charts] == [
        ("line", "img", 72, 3),  # views, viewers, sessions: a point for each of 24 hours
        ("line", "img", 72, 3),  # likes, comments, shares
    ]
    assert charts[0]["title"] == "Views, viewers and sessions by hour (UTC)"
    assert all(chart["width"] > 300 for chart in charts)
    # The 09:00 views point sits higher than the 10:00 one (2 views against 0): the y axis is drawn.
    heights = browser.evaluate(
        "['hourly.views.09', 'hourly.views.10'].map(m =>"
        " document.querySelector(`circle[data-metric='${m}']`).getBoundingClientRect().top)"
    )
    assert heights[0] < heights[1]
    # The style block ran under the page's CSP (its hash matched), and nothing was refused.
    assert "system-ui" in browser.evaluate("getComputedStyle(document.body).fontFamily")
    assert [line for line in browser.logs if line.startswith("error") or "Content Security Policy" in line] == []

    shot = base64.b64decode(browser.command("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    path = tmp_path / "engagement.png"
    path.write_bytes(shot)
    width, height = png_size(path.read_bytes())
    assert width >= 700 and height >= 500
    assert path.stat().st_size > 20_000  # charts, text and tables, not a blank page


@needs_chromium
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_retention_page_draws_its_cohort_heat_maps_and_funnel_bars_in_chromium(
    week_reports: dict[str, StoredReport], browser: Browser, tmp_path: Path
) -> None:
    browser.open(get_storage().url(week_reports["retention"].html_key))

    drawn = browser.evaluate(
        "[...document.querySelectorAll('svg.chart')].map(svg => [svg.dataset.chart,"
        " svg.querySelectorAll('[data-value]').length, Math.round(svg.getBoundingClientRect().width)])"
    )
    assert [(kind, points) for kind, points, _width in drawn] == [
        ("heatmap", 3),  # October's cohort at M0 and M1, November's at M0
        ("heatmap", 14),  # the weekly cohorts of 5 October, 16 and 23 November: 9, 3 and 2 weeks begun
        ("funnel", 4),
    ]
    assert all(width > 200 for _kind, _points, width in drawn)
    bars = browser.evaluate(
        "[...document.querySelectorAll('svg[data-chart=funnel] rect[data-value]')]"
        ".map(bar => Math.round(bar.getBoundingClientRect().width))"
    )
    assert bars[0] == bars[1] and bars[2] * 2 == bars[0]  # 2, 2, 1, 1 actors: the follow bar is half
    assert [line for line in browser.logs if line.startswith("error") or "Content Security Policy" in line] == []
    shot = base64.b64decode(browser.command("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"])
    path = tmp_path / "retention.png"
    path.write_bytes(shot)
    assert png_size(path.read_bytes())[0] >= 700 and path.stat().st_size > 10_000
