"""The batch's stacked bar, its counts in words and its legend (webapp.web.bars): only the states
that have messages, in the order given, counted with thousands separators, and every state and
label escaped."""

from __future__ import annotations

from markupsafe import Markup

from tests.html_tree import parse
from webapp.web.bars import legend, stacked_bar, state_counts

COUNTS = {"delivered": 1200, "sent": 0, "failed": 3}


def test_the_bar_draws_a_rectangle_for_each_state_that_has_messages():
    svg = parse(stacked_bar(COUNTS, {"failed": "not delivered"})).one("svg")
    rects = svg.all("rect")
    assert [(r.get("data-state"), r.get("data-count")) for r in rects] == [
        ("delivered", "1200"),
        ("failed", "3"),
    ]
    assert [r.one("title").text for r in rects] == ["delivered: 1,200", "not delivered: 3"]
    assert svg.get("aria-hidden") == "true"


def test_the_counts_say_each_state_in_words_and_no_messages_when_there_are_none():
    made = state_counts(COUNTS)
    counts = parse(made).one("span", class_="bar-counts")
    assert [c.text for c in counts.all("span", class_="bar-count")] == [
        "1,200 delivered",
        "3 failed",
    ]
    assert "</span>, <span" in made  # read aloud as a list
    assert parse(state_counts({"sent": 0})).one("span", class_="bar-counts").text == "no messages"
    assert parse(stacked_bar({})).one("svg").all("rect") == []


def test_the_legend_lists_each_state_with_its_label():
    items = parse(legend(COUNTS, {"delivered": "delivered, read"})).all("li")
    assert [(li.get("data-state"), li.text) for li in items] == [
        ("delivered", "1,200 delivered, read"),
        ("failed", "3 failed"),
    ]
    assert [li.text for li in parse(legend({})).all("li")] == ["no messages"]


def test_states_and_labels_are_escaped():
    counts = {'<b x="1">': 2}
    labels = {'<b x="1">': "<i>&</i>"}
    for made in (stacked_bar(counts, labels), state_counts(counts), legend(counts, labels)):
        assert isinstance(made, Markup)
        assert "<b" not in made and "<i>" not in made, made
    assert parse(legend(counts, labels)).one("li").text == "2 <i>&</i>"
    assert parse(stacked_bar(counts, labels)).one("title").text == "<i>&</i>: 2"
