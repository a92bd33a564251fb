"""The overview's bar chart geometry: scaled to the largest value, round ticks."""

from __future__ import annotations

import pytest

from service.pages.charts import PLOT_WIDTH, bar_chart, nice_ceiling, short_label


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (48, 50), (51, 100)]
)
def test_axis_ends_at_a_round_number(value: float, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


def test_bars_are_scaled_to_the_axis_and_stacked() -> None:
    chart = bar_chart([("市交通运输局", 12), ("市财政局", 3)])
    widest, narrow = chart.bars
    assert widest.width == pytest.approx(PLOT_WIDTH * 12 / 20)
    assert narrow.y > widest.y
    assert [value for value, _x in chart.ticks] == [0, 5, 10, 15, 20]


def test_no_rows_is_an_empty_chart() -> None:
    assert bar_chart([]).empty


def test_long_unit_names_are_shortened_for_the_chart_only() -> None:
    assert short_label("某某市人民政府办公室信息中心") == "某某市人民政府办公…"
    assert short_label("市财政局") == "市财政局"
