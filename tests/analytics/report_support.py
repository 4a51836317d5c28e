"""Report test helpers: one small week of events (ISO week 2026-W48), rolled up; reading a stored
report back (its CSV as a dict, its page's marked numbers)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from jobs.analytics.behaviour_models import CohortGrain
from jobs.analytics.cohorts import run_cohorts
from jobs.analytics.models import RollupGrain
from jobs.analytics.platform_metrics import refresh_platform_days
from jobs.analytics.reports.kinds import render_reports
from jobs.analytics.reports.store import StoredReport
from jobs.analytics.settings import AnalyticsSettings
from odyssey_workers.db.session import session_scope
from odyssey_workers.storage import get_storage
from tests.analytics.rollup_support import no_lag, raw, roll, store

WEEK = "2026-W48"  # Monday 2026-11-23 to Sunday 2026-11-29
DAY = "2026-11-25"  # its Wednesday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def report_settings() -> AnalyticsSettings:
    """No safety lag, and a late window wide enough for the fixed dates of these events."""
    return no_lag().model_copy(update={"analytics_late_window_hours": 24 * 366})


def store_week_of_events() -> None:
    """Creator 3 has content 41 and 42, creator 5 content 51. On Wednesday the 25th: users 1 and 2
    view 41 at 09:xx (user 1 watches 60 s, ends and likes), an anonymous visitor views 42 at 14:05
    (user 2 comments, user 1 shares), user 1 views 51 at 20:00 and user 2 follows creator 5.
    Thursday: user 1 views 41 again, user 4 follows creator 3, user 2 subscribes to creator 5.
    Sunday the 22nd (the week before): user 7 views 41. Monday 5 October: users 1 and 8 start a
    session (so October's cohort is users 1 and 8, November's users 2, 4 and 7)."""
    c41, c42, c51 = (
        {"content_id": 41, "creator_id": 3},
        {"content_id": 42, "creator_id": 3},
        {"content_id": 51, "creator_id": 5},
    )
    store(
        raw("session_start", at(25, 9, 10), user_id=1, session_id="s-1"),
        raw("view_start", at(25, 9, 11), user_id=1, session_id="s-1", **c41),
        raw("view_progress", at(25, 9, 12), user_id=1, session_id="s-1", seconds=30, **c41),
        raw("view_progress", at(25, 9, 15), user_id=1, session_id="s-1", seconds=60, **c41),
        raw("view_end", at(25, 9, 16), user_id=1, session_id="s-1", **c41),
        raw("like", at(25, 9, 17), user_id=1, session_id="s-1", **c41),
        raw("session_start", at(25, 9, 29), user_id=2, session_id="s-2"),
        raw("view_start", at(25, 9, 30), user_id=2, session_id="s-2", **c41),
        raw("view_start", at(25, 14, 5), anonymous_id="a-9", session_id="s-9", **c42),
        raw("comment", at(25, 14, 6), user_id=2, session_id="s-2", **c42),
        raw("share", at(25, 14, 7), user_id=1, session_id="s-1", **c42),
        raw("view_start", at(25, 20, 0), user_id=1, session_id="s-3", **c51),
        raw("follow", at(25, 20, 5), user_id=2, creator_id=5),
        raw("view_start", at(26, 10, 0), user_id=1, session_id="s-4", **c41),
        raw("follow", at(26, 10, 30), user_id=4, creator_id=3),
        raw("subscribe", at(26, 11, 0), user_id=2, session_id="s-5", creator_id=5),
        raw("view_start", at(22, 18, 0), user_id=7, session_id="s-7", **c41),
        raw("session_start", datetime(2026, 10, 5, 10, 0, tzinfo=UTC), user_id=1, session_id="s-oct-1"),
        raw("session_start", datetime(2026, 10, 5, 11, 0, tzinfo=UTC), user_id=8, session_id="s-oct-8"),
    )
    settings = report_settings()
    now = at(30, 1)
    roll(RollupGrain.HOUR, settings, now)
    roll(RollupGrain.DAY, settings, now)


def compute_behaviour_and_platform_days() -> None:
    """What the monthly reports read and other jobs compute: the retention cohorts (both grains)
    and the platform's daily metrics, as their jobs would on 30 November."""
    settings = report_settings()
    with session_scope() as session:
        for grain in (CohortGrain.WEEK, CohortGrain.MONTH):
            run_cohorts(session, grain, settings, at(30, 1))
    with session_scope() as session:
        refresh_platform_days(session, settings, at(30, 1))


def render(name: str, period: str, creator_id: int | None = None) -> list[StoredReport]:
    with session_scope() as session:
        return render_reports(session, get_storage(), report_settings(), name, period, creator_id)


def csv_values(stored: StoredReport) -> dict[str, str]:
    """The stored CSV as metric → value (the raw text, as written)."""
    rows = list(csv.DictReader(io.StringIO(get_storage().read_bytes(stored.csv_key).decode())))
    values = {row["metric"]: row["value"] for row in rows}
    assert len(values) == len(rows), "a metric appears twice in the CSV"
    return values


def csv_numbers(stored: StoredReport) -> dict[str, float | None]:
    return {metric: float(value) if value else None for metric, value in csv_values(stored).items()}


class MarkedNumbers(HTMLParser):
    """Every element with ``data-metric``: its value, unit and the text shown for it (a chart point's
    shown text is its tooltip, ``<title>``: ``label at x: value``)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict[str, Any]] = {}
        self.duplicates: list[str] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, metric) of each open element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        metric = named.get("data-metric")
        if metric is not None:
            if metric in self.found:
                self.duplicates.append(metric)
            self.found[metric] = {
                "tag": tag,
                "value": named.get("data-value"),
                "unit": named.get("data-unit"),
                "text": "",
            }
        self._open.append((tag, metric))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _metric = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _tag, metric in reversed(self._open):
            if metric is not None:
                self.found[metric]["text"] += data
                return


def page_numbers(stored: StoredReport) -> MarkedNumbers:
    parser = MarkedNumbers()
    parser.feed(get_storage().read_bytes(stored.html_key).decode())
    parser.close()
    return parser


def page_text(stored: StoredReport) -> str:
    return get_storage().read_bytes(stored.html_key).decode()
