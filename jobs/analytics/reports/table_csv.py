"""A report's numbers as CSV: one row per number, keyed by its metric id, in page order.

Columns: ``metric`` (the id the page's ``data-metric`` carries), ``section``, ``label``,
``unit`` and ``value`` (as ``data-value`` writes it; empty where the figure does not exist).
Text cells that a spreadsheet would run as a formula (starting ``= + - @``, tab or CR) are
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io

from jobs.analytics.reports.model import Report, numbers_of

COLUMNS = ("metric", "section", "label", "unit", "value")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _safe_text(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def render_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for section in report.sections:
        for number in numbers_of(section):
            writer.writerow(
                (number.metric, _safe_text(section.title), _safe_text(number.label), number.unit.value, number.machine)
            )
    return buffer.getvalue()
