"""What a report holds: numbers, each with a stable metric id, arranged in sections.

Every number of a report is a ``Number``, wherever it shows (a figure, a table cell, a chart
point, a heat-map cell, a funnel step), so the HTML and the CSV are written from the same list
and cannot disagree: the page carries each one's id and value as ``data-metric`` and
``data-value``, the CSV has one row per id.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

from jobs.analytics.reports.periods import Period


class Unit(enum.StrEnum):
    COUNT = "count"
    SECONDS = "seconds"
    RATE = "rate"  # a share, 0..1, shown as a percentage
    CHANGE = "change"  # a relative change, -0.25 is 25 % down
    SCORE = "score"  # a z-score, in standard deviations
    FLAG = "flag"  # 1 or 0: an anomaly or not


@dataclass(frozen=True)
class Number:
    metric: str  # unique in its report: "totals.views", "hourly.views.05", "content.42.likes"
    label: str
    value: int | float | None  # None: no such figure (a rate with no views)
    unit: Unit = Unit.COUNT

    def __post_init__(self) -> None:
        if isinstance(self.value, float) and not math.isfinite(self.value):
            raise ValueError(f"{self.metric}: {self.value} is not a finite number")

    @property
    def machine(self) -> str:
        """The value as the CSV and ``data-value`` write it: an integer, a float to 6 places, or empty."""
        return machine_value(self.value)

    @property
    def shown(self) -> str:
        """The value as a reader sees it."""
        return shown_value(self.value, self.unit)


def machine_value(value: int | float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def shown_value(value: int | float | None, unit: Unit) -> str:
    if value is None:
        return "-"
    if unit is Unit.RATE:
        return f"{value:.1%}"
    if unit is Unit.CHANGE:
        return f"{value:+.1%}"
    if unit is Unit.SCORE:
        return f"{value:+.2f} sd"
    if unit is Unit.FLAG:
        return "anomaly" if value else "normal"
    if unit is Unit.SECONDS:
        return f"{value:,.0f} s"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


@dataclass(frozen=True)
class Figures:
    """Headline numbers, shown as cards."""

    title: str
    numbers: tuple[Number, ...]


@dataclass(frozen=True)
class Row:
    label: str
    cells: tuple[Number, ...]


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]  # the first names the row labels
    rows: tuple[Row, ...]
    empty: str = "nothing in this period"  # what the page says when there are no rows


@dataclass(frozen=True)
class Series:
    name: str
    # One per x label; None where there is no value (a day not computed, a rate of nothing):
    # no point is drawn and the CSV has no row, and the line breaks there.
    points: tuple[Number | None, ...]


@dataclass(frozen=True)
class LineChart:
    title: str
    x_labels: tuple[str, ...]
    series: tuple[Series, ...]

    def __post_init__(self) -> None:
        for line in self.series:
            if len(line.points) != len(self.x_labels):
                raise ValueError(f"{self.title}: {line.name} has {len(line.points)} points for {len(self.x_labels)}")


@dataclass(frozen=True)
class HeatMap:
    """Rows (cohorts) by columns (periods since); a cell is None where the period has not come yet."""

    title: str
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    cells: tuple[tuple[Number | None, ...], ...]


@dataclass(frozen=True)
class Funnel:
    """Steps from the widest to the narrowest, drawn as bars against the first."""

    title: str
    steps: tuple[Number, ...]


Section = Figures | Table | LineChart | HeatMap | Funnel


def numbers_of(section: Section) -> Iterator[Number]:
    if isinstance(section, Figures):
        yield from section.numbers
    elif isinstance(section, Table):
        for row in section.rows:
            yield from row.cells
    elif isinstance(section, LineChart):
        for line in section.series:
            yield from (point for point in line.points if point is not None)
    elif isinstance(section, HeatMap):
        for cells in section.cells:
            yield from (cell for cell in cells if cell is not None)
    else:
        yield from section.steps


@dataclass(frozen=True)
class Report:
    kind: str  # the registry name: engagement, performance, ...
    title: str
    period: Period
    sections: tuple[Section, ...]
    subject: str | None = None  # whose report, e.g. "creator 7"; None for the platform
    notes: tuple[str, ...] = field(default=())  # plain sentences shown under the title

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for number in self.numbers():
            if number.metric in seen:  # the CSV's key and the page's marker must each name one number
                raise ValueError(f"report {self.kind}: metric {number.metric!r} appears twice")
            seen.add(number.metric)

    def numbers(self) -> Iterator[Number]:
        for section in self.sections:
            yield from numbers_of(section)
