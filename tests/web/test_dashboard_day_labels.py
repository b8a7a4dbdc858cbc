"""The dashboard's day labels stay inside their charts: the last day's ends where the axis does
(centred on its column, 8 units from the edge, "8 Dec" ran past the drawing's 640 and was
clipped), the others centred on their columns."""

from __future__ import annotations

import pytest

from tests.html_tree import html
from tests.web.test_dashboard import fixed_day, seeded, sign_in  # noqa: F401 (fixtures)

# The widest a label's character is drawn at the charts' 13px ("8 Dec" measured 38 units wide in
# a browser); generous, so that a label that fits here fits on the page.
CHARACTER = 8


def extent(label) -> tuple[float, float]:
    """Where a label's text starts and ends along the x axis, at its anchor."""
    x, width = float(label.get("x")), len(label.text) * CHARACTER
    start = {"start": x, "middle": x - width / 2, "end": x - width}[label.get("text-anchor")]
    return start, start + width


@pytest.mark.parametrize("chart", ["messages", "rate", "replies", "parts"])
def test_every_day_label_is_inside_its_chart(client, seeded, chart):  # noqa: F811
    sign_in(client, seeded["ann"])
    svg = html(client.get("/dashboard")).one("svg", id=f"{chart}-chart")
    width = float(svg.get("viewbox").split()[2])
    axis = svg.one("line", class_="axis")

    labels = svg.all("text", class_="axis-label")

    assert [label.text for label in labels] == [
        "1 Nov",
        "6 Nov",
        "11 Nov",
        "16 Nov",
        "21 Nov",
        "26 Nov",
        "30 Nov",
    ]
    for label in labels:
        start, end = extent(label)
        assert 0 <= start and end <= width, (label.text, start, end)
    last = labels[-1]
    assert (last.get("text-anchor"), last.get("x")) == ("end", axis.get("x2"))
    # Clear of the label before it.
    assert extent(labels[-2])[1] < extent(last)[0]
