"""A report as one self-contained HTML page: its figures, tables and inline SVG charts.

The page loads nothing: no script, font, image or stylesheet from anywhere. Its
Content-Security-Policy (a ``<meta>``, as the file may be opened from disk or storage with no
server to send a header) allows no source at all except the page's one ``<style>`` element,
named by its SHA-256, so even a value that escaped escaping could run nothing. Every text from
the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

from jobs.analytics.reports.charts import funnel_bars, heat_map, line_chart
from jobs.analytics.reports.model import Figures, Funnel, HeatMap, LineChart, Number, Report, Section, Table

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 1000px; color: #111; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.period { color: #555; margin-top: 0; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; padding: 0; list-style: none; }
.figures li { border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 120px; }
.figures .label { display: block; color: #555; font-size: 12px; }
.figures .value { display: block; font-size: 20px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #eee; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td[data-unit="flag"][data-value="1"] { color: #b91c1c; font-weight: 600; }
.legend { list-style: none; display: flex; gap: 16px; padding: 0; font-size: 12px; }
.legend .swatch { margin-right: 4px; }
svg.chart { max-width: 100%; height: auto; }
.empty, .note { color: #555; }
"""


def _style_hash() -> str:
    digest = hashlib.sha256(STYLE.encode()).digest()
    return "sha256-" + base64.b64encode(digest).decode()


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src '{_style_hash()}'; img-src 'none'; base-uri 'none'; form-action 'none'"
)


def _value_cell(number: Number, tag: str = "td") -> str:
    return (
        f'<{tag} data-metric="{escape(number.metric)}" data-value="{escape(number.machine)}" '
        f'data-unit="{number.unit.value}">{escape(number.shown)}</{tag}>'
    )


def _figures(section: Figures) -> str:
    cards = "".join(
        f'<li><span class="label">{escape(n.label)}</span>'
        f'<span class="value" data-metric="{escape(n.metric)}" data-value="{escape(n.machine)}" '
        f'data-unit="{n.unit.value}">{escape(n.shown)}</span></li>'
        for n in section.numbers
    )
    return f'<ul class="figures">{cards}</ul>'


def _table(section: Table) -> str:
    if not section.rows:
        return f'<p class="empty">{escape(section.empty)}</p>'
    head = "".join(f'<th scope="col">{escape(column)}</th>' for column in section.columns)
    body = "".join(
        f'<tr><th scope="row">{escape(row.label)}</th>{"".join(_value_cell(cell) for cell in row.cells)}</tr>'
        for row in section.rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section_body(section: Section) -> str:
    if isinstance(section, Figures):
        return _figures(section)
    if isinstance(section, Table):
        return _table(section)
    if isinstance(section, LineChart):
        return line_chart(section)
    if isinstance(section, HeatMap):
        if not section.row_labels:
            return '<p class="empty">no cohort in this period</p>'
        return heat_map(section)
    if isinstance(section, Funnel):
        return funnel_bars(section)
    raise TypeError(f"not a report section: {section!r}")


def render_page(report: Report) -> str:
    """The whole HTML document of ``report``."""
    subject = f" — {report.subject}" if report.subject else ""
    notes = "".join(f'<p class="note">{escape(note)}</p>' for note in report.notes)
    sections = "".join(
        f'<section data-section="{escape(section.title)}"><h2>{escape(section.title)}</h2>{_section_body(section)}'
        "</section>"
        for section in report.sections
    )
    period = report.period
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CONTENT_SECURITY_POLICY)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(report.title + subject)} ({escape(period.label)})</title>"
        f"<style>{STYLE}</style></head>"
        f'<body data-report="{escape(report.kind)}" data-period="{escape(period.label)}">'
        f"<header><h1>{escape(report.title + subject)}</h1>"
        f'<p class="period">{escape(period.label)}: {period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC '
        "(end excluded)</p>"
        f"{notes}</header><main>{sections}</main></body></html>\n"
    )
