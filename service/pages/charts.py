"""A horizontal bar chart as plain geometry, drawn as inline SVG by the template.

Server-side so the page needs no script and no library; the template only places
the rectangles and labels computed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ROW_HEIGHT = 28
BAR_HEIGHT = 18
LABEL_WIDTH = 130
PLOT_WIDTH = 240
VALUE_GAP = 6
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    width: float


@dataclass(frozen=True)
class BarChart:
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[int, float], ...]  # (value, x offset within the plot)
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def empty(self) -> bool:
        return not self.bars


def bar_chart(rows: Sequence[tuple[str, int]]) -> BarChart:
    """Bars scaled to the largest value, with round-number ticks along the axis."""
    top = max((value for _label, value in rows), default=0)
    scale_max = nice_ceiling(top)
    bars = tuple(
        Bar(label, value, TOP + index * ROW_HEIGHT, PLOT_WIDTH * value / scale_max)
        for index, (label, value) in enumerate(rows)
    )
    step = nice_ceiling(scale_max / 4)
    ticks = tuple(
        (value, PLOT_WIDTH * value / scale_max) for value in range(0, scale_max + 1, step)
    )
    height = TOP + len(rows) * ROW_HEIGHT + 24
    return BarChart(bars, ticks, LABEL_WIDTH + PLOT_WIDTH + 40, height)


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 × 10^n that is at least `value` (and at least 1)."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return int(factor * magnitude)
    return int(10 * magnitude)


def short_label(label: str, limit: int = 10) -> str:
    """Unit names can be long; the chart shows the start, the table the whole name."""
    return label if len(label) <= limit else label[: limit - 1] + "…"
