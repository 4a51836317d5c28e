"""Charts as inline SVG, drawn on the server: a line chart, a cohort heat map, funnel bars.

No script and no outside resource: the page is readable offline and under a CSP that allows
neither. Each chart is ``role="img"`` with a ``<title>`` and ``<desc>``; each data point is an
element carrying its number's ``data-metric`` and ``data-value`` with a ``<title>`` tooltip.
Colours are presentation attributes, not ``style``, which the page's CSP does not allow inline.
"""

from __future__ import annotations

import itertools
import math
from html import escape

from jobs.analytics.reports.model import Funnel, HeatMap, LineChart, Number

PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")
"""Series colours, told apart also by the legend's order and each point's tooltip."""
DASHES = ("none", "7 4", "2 3", "10 3 2 3")
"""Each series' dash pattern as well: two lines with equal values still both show."""

WIDTH, HEIGHT = 760, 280
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 16, 64
_ids = itertools.count(1)


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _marked(number: Number) -> str:
    """The attributes every drawn number carries, so a test (or a scraper) reads it back exactly."""
    return f'data-metric="{_attr(number.metric)}" data-value="{_attr(number.machine)}" data-unit="{number.unit.value}"'


def _tooltip(number: Number, where: str = "") -> str:
    return f"<title>{escape(number.label)}{escape(where)}: {escape(number.shown)}</title>"


def _chart_open(kind: str, title: str, description: str, width: int, height: int) -> str:
    chart_id = f"chart-{next(_ids)}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{kind}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
    )


def nice_ceiling(value: float) -> float:
    """The axis top: the smallest of 1, 2, 2.5, 5 or 10 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(float(step) * power for step in (1, 2, 2.5, 5, 10) if float(step) * power >= value)


def _tick_text(value: float) -> str:
    """An axis label: 1,000 or 2.5 or 0.25 (a quarter of a nice ceiling has at most two decimals)."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _runs(drawn: list[tuple[int, Number, float]]) -> list[list[tuple[int, Number, float]]]:
    """The drawn points split where an index is skipped."""
    runs: list[list[tuple[int, Number, float]]] = []
    for entry in drawn:
        if runs and runs[-1][-1][0] == entry[0] - 1:
            runs[-1].append(entry)
        else:
            runs.append([entry])
    return runs


def line_chart(chart: LineChart) -> str:
    """One polyline per series over the x labels, with a dot per point, y from zero."""
    values = [p.value for line in chart.series for p in line.points if p is not None and p.value is not None]
    top = nice_ceiling(max(values, default=0))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    count = len(chart.x_labels)

    def x_at(index: int) -> float:
        return MARGIN_LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    def y_at(value: float) -> float:
        return MARGIN_TOP + plot_h * (1 - value / top)

    names = ", ".join(line.name for line in chart.series)
    parts = [_chart_open("line", chart.title, f"{names} over {count} points; y from 0 to {top:,g}", WIDTH, HEIGHT)]
    parts.append('<g class="axis" aria-hidden="true" fill="#555" font-size="11">')
    for step in range(5):
        tick = top * step / 4
        y = y_at(tick)
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick_text(tick)}</text>'
        )
    every = max(1, math.ceil(count / 12))  # at most 12 x labels, so they never overlap
    for index, label in enumerate(chart.x_labels):
        if index % every == 0 or index == count - 1:
            x, y = x_at(index), HEIGHT - MARGIN_BOTTOM + 14
            turn = f"rotate(-35 {x:.1f} {y})"
            parts.append(f'<text x="{x:.1f}" y="{y}" text-anchor="end" transform="{turn}">{escape(label)}</text>')
    parts.append("</g>")
    styles = zip(itertools.cycle(PALETTE), itertools.cycle(DASHES), strict=False)
    for line, (colour, dash) in zip(chart.series, styles, strict=False):
        drawn = [(i, p, float(p.value)) for i, p in enumerate(line.points) if p is not None and p.value is not None]
        parts.append(f'<g class="series" data-series="{_attr(line.name)}">')
        for run in _runs(drawn):  # a gap (no value) breaks the line rather than bridging it
            path = " ".join(f"{x_at(i):.1f},{y_at(value):.1f}" for i, _point, value in run)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
            )
        for index, point, value in drawn:
            x, y = x_at(index), y_at(value)
            where = f" at {chart.x_labels[index]}"
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}" {_marked(point)}>'
                f"{_tooltip(point, where)}</circle>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    legend = "".join(
        f'<li><span class="swatch" aria-hidden="true"><svg width="12" height="12"><rect width="12" height="12" '
        f'fill="{colour}"/></svg></span>{escape(line.name)}</li>'
        for line, colour in zip(chart.series, itertools.cycle(PALETTE), strict=False)
    )
    return "".join(parts) + f'<ul class="legend">{legend}</ul>'


def _heat(share: float) -> str:
    """White to deep blue as the share grows from 0 to 1."""
    share = min(max(share, 0.0), 1.0)
    red, green, blue = (round(255 - (255 - end) * share) for end in (30, 64, 175))
    return f"#{red:02x}{green:02x}{blue:02x}"


def heat_map(chart: HeatMap) -> str:
    """A grid of cells shaded by value against the largest, each with its value written in it."""
    cell_w, cell_h, left, top_margin = 64, 28, 96, 28
    width = left + cell_w * len(chart.column_labels) + 8
    height = top_margin + cell_h * len(chart.row_labels) + 8
    values = [float(c.value) for row in chart.cells for c in row if c is not None and c.value is not None]
    highest = max(values, default=0) or 1.0
    description = f"{len(chart.row_labels)} rows by {len(chart.column_labels)} columns; darker is higher"
    parts = [_chart_open("heatmap", chart.title, description, width, height)]
    parts.append('<g class="axis" aria-hidden="true" fill="#333" font-size="11">')
    for column, label in enumerate(chart.column_labels):
        x = left + cell_w * column + cell_w / 2
        parts.append(f'<text x="{x:.1f}" y="{top_margin - 8}" text-anchor="middle">{escape(label)}</text>')
    for row, label in enumerate(chart.row_labels):
        y = top_margin + cell_h * row + cell_h / 2 + 4
        parts.append(f'<text x="{left - 8}" y="{y:.1f}" text-anchor="end">{escape(label)}</text>')
    parts.append("</g>")
    for row, cells in enumerate(chart.cells):
        for column, cell in enumerate(cells):
            if cell is None:
                continue
            x, y = left + cell_w * column, top_margin + cell_h * row
            share = float(cell.value) / highest if cell.value is not None else 0.0
            ink = "#fff" if share > 0.55 else "#111"
            parts.append(
                f'<g class="cell"><rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{_heat(share)}" {_marked(cell)}>{_tooltip(cell)}</rect>'
                f'<text x="{x + cell_w / 2 - 1:.1f}" y="{y + cell_h / 2 + 3:.1f}" text-anchor="middle" '
                f'font-size="11" fill="{ink}" aria-hidden="true">{escape(cell.shown)}</text></g>'
            )
    parts.append("</svg>")
    return "".join(parts)


def funnel_bars(chart: Funnel) -> str:
    """One horizontal bar per step, its length against the first step's, the value beside it."""
    bar_h, gap, label_w, bar_w = 26, 10, 180, 460
    height = (bar_h + gap) * len(chart.steps) + gap
    width = label_w + bar_w + 120
    first = float(chart.steps[0].value or 0) if chart.steps else 0.0
    parts = [_chart_open("funnel", chart.title, f"{len(chart.steps)} steps, each bar against the first", width, height)]
    for index, step in enumerate(chart.steps):
        y = gap + (bar_h + gap) * index
        share = float(step.value or 0) / first if first else 0.0
        length = max(bar_w * share, 1.0)
        parts.append(
            f'<g class="step"><text x="{label_w - 8}" y="{y + bar_h / 2 + 4}" text-anchor="end" font-size="12" '
            f'aria-hidden="true">{escape(step.label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{length:.1f}" height="{bar_h}" fill="{PALETTE[0]}" '
            f"{_marked(step)}>{_tooltip(step)}</rect>"
            f'<text x="{label_w + length + 6:.1f}" y="{y + bar_h / 2 + 4}" font-size="12" '
            f'aria-hidden="true">{escape(step.shown)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
