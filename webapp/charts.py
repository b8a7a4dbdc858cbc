"""Chart geometry for SVG drawn on the server: a rounded scale with its ticks, and columns of
stacked bars or rows of bars, as plain numbers a template turns into <rect>s (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# The plot inside a chart's viewBox: room on the left for the tick labels, below for the days.
WIDTH, HEIGHT = 640, 240
LEFT, TOP, BOTTOM, RIGHT = 48, 12, 28, 8
ROW = 26  # one row of a bar list, in viewBox units
LABEL_WIDTH = 200  # a bar list's labels, left of its bars
GAP = 0.2  # the share of a column's slot left empty between columns


def nice_top(largest: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 … that is at least `largest` (1 for nothing at all),
    so the axis reads in round numbers."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= largest:
                return step * top
        top *= 10


@dataclass(frozen=True)
class Scale:
    """Values from 0 to `top` drawn over `length` units."""

    top: int
    length: float

    def size(self, value: float) -> float:
        """How long a bar of `value` is."""
        return round(value / self.top * self.length, 2) if self.top else 0.0

    def ticks(self, count: int = 4) -> list[int]:
        """Whole values from 0 to the top, evenly spaced where the top allows."""
        step = self.top / count
        if step != int(step):
            step = self.top / 2 if self.top % 2 == 0 else self.top
        return [round(n * step) for n in range(int(self.top / step) + 1)]


@dataclass(frozen=True)
class Rect:
    """One bar, or one part of a stacked bar: `value` of `series` in the column `label`."""

    x: float
    y: float
    width: float
    height: float
    series: str
    value: int
    label: str


@dataclass(frozen=True)
class Column:
    label: str
    x: float  # the column's centre, for its label below the axis
    total: int
    rects: tuple[Rect, ...]


@dataclass(frozen=True)
class Tick:
    value: int
    y: float


@dataclass(frozen=True)
class ColumnChart:
    """Columns of stacked bars over a value axis, in a WIDTH × HEIGHT viewBox."""

    columns: tuple[Column, ...]
    series: tuple[str, ...]
    scale: Scale
    ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM  # the axis line's y
    right: int = WIDTH - RIGHT


def columns(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    top: int | None = None,
    stacked: bool = True,
) -> ColumnChart:
    """One column per label, each stacking the series' values bottom up in the order given (or,
    not `stacked`, standing them side by side); `top` fixes the scale (100 for percentages), else
    it is rounded up from the tallest column (or bar)."""
    totals = [sum(values[n] for _, values in series) for n in range(len(labels))]
    tallest = max(totals if stacked else [max(v, default=0) for _, v in series], default=0)
    scale = Scale(top if top is not None else nice_top(tallest), _plot_height())
    slot = (WIDTH - RIGHT - LEFT) / max(len(labels), 1)
    width = round(slot * (1 - GAP), 2)
    each = width if stacked else round(width / max(len(series), 1), 2)
    bottom = HEIGHT - BOTTOM
    built = []
    for n, label in enumerate(labels):
        x = round(LEFT + n * slot + slot * GAP / 2, 2)
        y = float(bottom)
        rects = []
        for m, (name, values) in enumerate(series):
            value = values[n]
            if value <= 0:
                continue
            height = scale.size(value)
            if stacked:
                y = round(y - height, 2)
                rects.append(Rect(x, y, width, height, name, value, label))
            else:
                rects.append(
                    Rect(
                        round(x + m * each, 2),
                        round(bottom - height, 2),
                        each,
                        height,
                        name,
                        value,
                        label,
                    )
                )
        built.append(Column(label, round(x + width / 2, 2), totals[n], tuple(rects)))
    ticks = tuple(Tick(value, round(bottom - scale.size(value), 2)) for value in scale.ticks())
    return ColumnChart(tuple(built), tuple(name for name, _ in series), scale, ticks)


@dataclass(frozen=True)
class Bar:
    """One row of a bar list: its label, value, and the bar's geometry."""

    label: str
    value: int
    y: float  # the row's top
    length: float


@dataclass(frozen=True)
class BarList:
    """Labelled horizontal bars, one per row: the label left, the bar and its value right of it."""

    bars: tuple[Bar, ...]
    scale: Scale
    width: int = WIDTH
    row: int = ROW
    bar_x: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return max(len(self.bars), 1) * self.row


def bar_list(rows: Sequence[tuple[str, int]]) -> BarList:
    """A bar per (label, value), longest value the full length (leaving room for its number)."""
    scale = Scale(max((value for _, value in rows), default=0), WIDTH - LABEL_WIDTH - 80)
    bars = tuple(
        Bar(label, value, n * ROW, max(scale.size(value), 1.0 if value else 0.0))
        for n, (label, value) in enumerate(rows)
    )
    return BarList(bars, scale)


def _plot_height() -> int:
    return HEIGHT - BOTTOM - TOP
