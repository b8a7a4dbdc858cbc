"""The pages' number formats (webapp.web.numbers): counts with thousands separators, rates to
one decimal with a dash for none, and both registered as template filters."""

from __future__ import annotations

from flask import Flask

from webapp.web import numbers
from webapp.web.numbers import number, percent


def test_counts_have_thousands_separators():
    assert [number(n) for n in (0, 999, 1000, 1234567)] == ["0", "999", "1,000", "1,234,567"]


def test_rates_have_one_decimal_and_a_dash_for_none():
    assert [percent(r) for r in (None, 0, 50, 97.46, 100.0)] == [
        "—",
        "0.0 %",
        "50.0 %",
        "97.5 %",
        "100.0 %",
    ]


def test_templates_format_through_the_filters():
    app = Flask("numbers")
    numbers.init_app(app)
    template = app.jinja_env.from_string("{{ n|number }} / {{ r|percent }} / {{ none|percent }}")
    assert template.render(n=12345, r=12.345, none=None) == "12,345 / 12.3 % / —"
