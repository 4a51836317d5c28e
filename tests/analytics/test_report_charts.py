"""The SVG charts alone: a heat map with the periods not yet come left blank, funnel bars against
the first step, a line chart's axis; each data point carrying its number."""

from __future__ import annotations

import re

from jobs.analytics.reports.charts import funnel_bars, heat_map, line_chart, nice_ceiling
from jobs.analytics.reports.model import Funnel, HeatMap, LineChart, Number, Series, Unit


def rate(metric: str, value: float) -> Number:
    return Number(metric, metric, value, Unit.RATE)


def marked(svg: str) -> dict[str, str]:
    return dict(re.findall(r'data-metric="([^"]+)" data-value="([^"]*)" data-unit="[a-z]+"', svg))


def test_a_heat_map_draws_a_cell_per_number_and_leaves_the_future_blank() -> None:
    chart = HeatMap(
        "Monthly cohorts",
        ("2026-10-01", "2026-11-01"),
        ("M0", "M1"),
        ((rate("c10.M0", 1.0), rate("c10.M1", 0.25)), (rate("c11.M0", 1.0), None)),
    )
    svg = heat_map(chart)
    assert marked(svg) == {"c10.M0": "1", "c10.M1": "0.25", "c11.M0": "1"}
    assert svg.count("<rect") == 3
    assert re.search(r'fill="#1e40af" data-metric="c10.M0"', svg)  # the highest share: the darkest
    assert ">25.0%</text>" in svg and 'role="img"' in svg and "<title id=" in svg


def test_funnel_bars_are_as_long_as_their_share_of_the_first_step() -> None:
    steps = tuple(Number(f"funnel.{n}", n, v) for n, v in (("visit", 200), ("view", 50), ("follow", 0)))
    svg = funnel_bars(Funnel("Funnel", steps))
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="\d+" width="([\d.]+)"', svg)]
    assert widths == [460.0, 115.0, 1.0]  # a step nobody reached is still a visible sliver
    assert marked(svg) == {"funnel.visit": "200", "funnel.view": "50", "funnel.follow": "0"}


def test_a_line_chart_scales_to_a_round_top_and_breaks_where_a_point_is_missing() -> None:
    points = (Number("d.1", "DAU", 4), None, Number("d.3", "DAU", 3), Number("d.4", "DAU", 1))
    svg = line_chart(LineChart("DAU", ("1 Nov", "2 Nov", "3 Nov", "4 Nov"), (Series("DAU", points),)))
    assert svg.count("<circle") == 3 and marked(svg) == {"d.1": "4", "d.3": "3", "d.4": "1"}
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert [len(line.split()) for line in lines] == [1, 2]  # the gap is not bridged
    assert ">5</text>" in svg  # the axis tops out at 5 for a highest value of 4
    assert [nice_ceiling(v) for v in (0, 3, 7, 12, 0.3)] == [1.0, 5.0, 10.0, 20.0, 0.5]
