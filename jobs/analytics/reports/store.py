"""Writing a report's HTML and CSV to storage, as a pair: both new, or both as they were.

Each ``put`` is atomic on its own (a temporary object renamed into place). For the pair, both
texts are rendered before anything is written, the CSV goes first, and should the HTML's write
fail, the CSV key is put back as it was (the previous version, or nothing), so no reader ever
finds a report's page and numbers from two different renders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from jobs.analytics.reports.model import Report
from jobs.analytics.reports.page import render_page
from jobs.analytics.reports.table_csv import render_csv
from odyssey_workers.storage import Storage

logger = logging.getLogger(__name__)

REPORTS_PREFIX = "reports/analytics"


@dataclass(frozen=True)
class StoredReport:
    kind: str
    period: str
    subject: str | None
    html_key: str
    csv_key: str
    url: str  # where the HTML can be fetched (a file:// URI locally, a presigned URL on S3)

    def as_dict(self) -> dict[str, str | None]:
        return {
            "kind": self.kind,
            "period": self.period,
            "subject": self.subject,
            "html_key": self.html_key,
            "csv_key": self.csv_key,
        }


def report_stem(report: Report, subject_key: str | None = None) -> str:
    """``reports/analytics/<kind>/<period>[/<subject>]/<kind>-<period>``: one folder per report."""
    folder = f"{REPORTS_PREFIX}/{report.kind}/{report.period.label}"
    if subject_key:
        folder += f"/{subject_key}"
    return f"{folder}/{report.kind}-{report.period.label}"


def store_report(storage: Storage, report: Report, subject_key: str | None = None) -> StoredReport:
    """Render ``report`` and write it as ``.html`` and ``.csv``; a second store replaces both."""
    html = render_page(report).encode()
    table = render_csv(report).encode()
    stem = report_stem(report, subject_key)
    html_key, csv_key = f"{stem}.html", f"{stem}.csv"
    previous_csv = storage.read_bytes(csv_key) if storage.exists(csv_key) else None
    storage.put(csv_key, table, "text/csv; charset=utf-8")
    try:
        storage.put(html_key, html, "text/html; charset=utf-8")
    except BaseException:
        _restore(storage, csv_key, previous_csv)
        raise
    return StoredReport(report.kind, report.period.label, report.subject, html_key, csv_key, storage.url(html_key))


def _restore(storage: Storage, key: str, previous: bytes | None) -> None:
    try:
        if previous is None:
            storage.delete(key)
        else:
            storage.put(key, previous, "text/csv; charset=utf-8")
    except Exception:  # the write's own error is the one to raise; this one is logged
        logger.exception("could not put back %s after its report's page failed to store", key)
