"""The stacked bar of a batch's message states, its legend, and its counts in words: template
filters, as the batch page draws them once and the Sent page once a row.

`counts` maps each state to its number, in the order the bar shows them; `labels` names a state in
words where its name will not do ("sent, no receipt"). The rectangles' widths are SVG attributes,
never `style=`, so the Content-Security-Policy holds.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask
from markupsafe import Markup, escape

NO_LABELS: Mapping[str, str] = {}
NO_MESSAGES = "\n  <li>no messages</li>"


def init_app(app: Flask) -> None:
    app.add_template_filter(stacked_bar, "stacked_bar")
    app.add_template_filter(state_counts, "state_counts")
    app.add_template_filter(legend, "legend")


def stacked_bar(counts: Mapping[str, int], labels: Mapping[str, str] = NO_LABELS) -> Markup:
    """An SVG bar with a rectangle per state that has messages, each as wide as its share; hidden
    from assistive technology (the counts beside it say the same in words).

    Filters, not macros: the Sent page draws a bar and its counts for each of its 25 rows, and
    Jinja's macro calls cost more than the markup they make (about a sixth of the page's
    instructions, measured).
    """
    total = sum(counts.values())
    done = 0
    rects = []
    for state, n in counts.items():
        if not n:
            continue
        # Each edge is rounded once, and a rectangle spans from its left edge to the next one's,
        # so the bar has no gaps or overlaps and ends at exactly 100%.
        left = round(100 * done / total, 4)
        done += n
        right = round(100 * done / total, 4)
        name = escape(state)
        rects.append(
            f'\n  <rect class="bar-{name}" x="{left}%" y="0" width="{round(right - left, 4)}%"'
            f' height="100%" data-state="{name}" data-count="{n}">'
            f"<title>{escape(labels.get(state, state))}: {n:,}</title></rect>"
        )
    return Markup(
        '<svg class="stacked-bar" aria-hidden="true" focusable="false" width="100%" height="12">'
        f"{''.join(rects)}\n</svg>"
    )


def state_counts(counts: Mapping[str, int]) -> Markup:
    """ "1,200 delivered, 3 failed": a swatch and the count of each state that has messages."""
    shown = [
        f'<span class="bar-count"><span class="swatch bar-{escape(state)}" aria-hidden="true">'
        f"</span>{n:,} {escape(state)}</span>"
        for state, n in counts.items()
        if n
    ]
    return Markup(f'<span class="bar-counts">{", ".join(shown) or "no messages"}</span>')


def legend(counts: Mapping[str, int], labels: Mapping[str, str] = NO_LABELS) -> Markup:
    """The bar's legend and its text equivalent in one: a list item with a swatch and "N <state in
    words>" for each state that has messages (a list, as a label may hold a comma)."""
    items = "".join(
        f'\n  <li data-state="{escape(state)}"><span class="swatch bar-{escape(state)}"'
        f' aria-hidden="true"></span>{n:,} {escape(labels.get(state, state))}</li>'
        for state, n in counts.items()
        if n
    )
    return Markup(f'<ul class="bar-legend">{items or NO_MESSAGES}\n</ul>')
