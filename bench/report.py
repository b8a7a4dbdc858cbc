"""One line per figure, in the same shape for every benchmark."""

from __future__ import annotations

import statistics
from typing import NamedTuple


class Figure(NamedTuple):
    """One measured figure, its unit, and the goal it is held to (if any)."""

    name: str
    value: float
    unit: str
    goal: str = ""

    def line(self) -> str:
        value = f"{self.value:,.0f}" if abs(self.value) >= 100 else f"{self.value:,.2f}"
        goal = ("goal " + self.goal) if self.goal else ""
        return f"{self.name:<76} {value:>12} {self.unit:<7} {goal}"


def show(figure: Figure) -> Figure:
    print(figure.line(), flush=True)
    return figure


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples)
