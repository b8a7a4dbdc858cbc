"""Where a page's time goes, part by part and beside the bare Flask page's same parts: why a page
costs what it does next to its floors (bench/floor.py).

A request is cut at Flask's own signals: the way in (the test client, the WSGI call, the request
context) up to `request_started`; the before-request hooks (signing in: the server-side session
and the user, one query) up to the view's first line; the view up to `before_render_template`;
the render up to `template_rendered`; the response (the after-request hooks: headers, gzip, the
session cookie) up to `request_finished`; the way out (teardown, the contexts, the test client).
The SQL in each part is the time the driver took to execute its statements."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import (
    Flask,
    before_render_template,
    request_finished,
    request_started,
    template_rendered,
)

from bench import conversations, floor
from bench.report import percentile
from webapp import create_app
from webapp.config import testing_config

RUNS = 100  # more than a page figure's: each part is a fraction of a millisecond
# The marks a request passes, in order; a part runs from one mark to the next.
MARKS = ("called", "started", "view", "render", "rendered", "finished", "returned")
PARTS = ("in + out", "sign-in", "view", "render", "response")
# The signals that set a mark, besides "view" (the last before-request hook) and the two the
# caller's clock sets.
_SIGNALS = {
    "started": request_started,
    "render": before_render_template,
    "rendered": template_rendered,
    "finished": request_finished,
}

Marks = dict[str, tuple[float, float]]  # each mark's time, and the SQL's seconds by then
Parts = dict[str, tuple[float, float]]  # each part's milliseconds, and its SQL's


@contextmanager
def marking(
    app: Flask, engine: sa.Engine | None = None, clock: Callable[[], float] = time.perf_counter
) -> Iterator[Callable[[Callable[[], object]], Marks]]:
    """While the block runs, a function that calls `fetch` (one request of `app`) and returns the
    time at each mark and the driver's SQL seconds on `engine` by then."""
    marks: Marks = {}
    spent = [0.0]  # the SQL's seconds so far in this request

    def mark(name: str) -> Callable[..., None]:
        def at(*_args, **_extra) -> None:
            marks.setdefault(name, (clock(), spent[0]))  # a second render is inside the first

        return at

    def statement(elapsed: float) -> None:
        spent[0] += elapsed

    receivers = {name: mark(name) for name in _SIGNALS}
    for name, signal in _SIGNALS.items():
        signal.connect(receivers[name], app)
    at_view = mark("view")
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.append(at_view)  # after the app's own hooks: signing in is done when it runs

    def request(fetch: Callable[[], object]) -> Marks:
        marks.clear()
        spent[0] = 0.0
        marks["called"] = (clock(), 0.0)
        fetch()
        marks["returned"] = (clock(), spent[0])
        return dict(marks)

    try:
        with floor.timing_statements(engine, statement, clock):
            yield request
    finally:
        hooks.remove(at_view)
        for name, signal in _SIGNALS.items():
            signal.disconnect(receivers[name], app)


def parts(marks: Marks) -> Parts:
    """One request's parts in ms, each with its SQL in ms. A mark the request did not pass (a
    page that renders no template) takes the next one's: the part before it holds that time."""
    filled = dict(marks)
    following = filled["returned"]
    for name in reversed(MARKS):
        following = filled.setdefault(name, following)

    def between(first: str, last: str) -> tuple[float, float]:
        (start, sql_start), (end, sql_end) = filled[first], filled[last]
        return (end - start) * 1000, (sql_end - sql_start) * 1000

    way_in, way_out = between("called", "started"), between("finished", "returned")
    return {
        "page": between("called", "returned"),
        "in + out": (way_in[0] + way_out[0], way_in[1] + way_out[1]),
        "sign-in": between("started", "view"),
        "view": between("view", "render"),
        "render": between("render", "rendered"),
        "response": between("rendered", "finished"),
    }


def measure(
    app: Flask,
    fetch: Callable[[], object],
    engine: sa.Engine | None = None,
    runs: int = RUNS,
    clock: Callable[[], float] = time.perf_counter,
) -> Parts:
    """The p50 of the page and of each of its parts (and of the SQL in them) over `runs`
    requests by `fetch`, after floor.WARMUP untimed ones."""
    samples: list[Parts] = []
    with marking(app, engine, clock) as request:
        for n in range(runs + floor.WARMUP):
            timed = parts(request(fetch))
            if n >= floor.WARMUP:
                samples.append(timed)
    return {
        name: (
            percentile([sample[name][0] for sample in samples], 50),
            percentile([sample[name][1] for sample in samples], 50),
        )
        for name in samples[0]
    }


def line(label: str, measured: Parts) -> str:
    """A table row: the page's p50, then each part's, with the SQL in it where there was any."""
    cells = [f"{measured['page'][0]:6.2f}"]
    for name in PARTS:
        ms, sql = measured[name]
        cells.append(f"{ms:5.2f}" + (f" ({sql:.2f})" if sql >= 0.005 else "       "))
    return f"  {label:<36}" + "  ".join(cells).rstrip()


def header(kind: str) -> str:
    """The table's first line, its columns over line()'s."""
    names = "  ".join(f"{name:<12}" for name in PARTS)
    return f"{f'anatomy [{kind}], p50 ms (its SQL)':<38}{'page':>6}  {names}".rstrip()


def bare() -> Parts:
    """The bare Flask page's parts (bench.floor.bare_app), cut the same way: the framework's
    floor. It has no before-request hooks: its signing in is in its view."""
    app, fetch = floor.bare_page()
    return measure(app, fetch)


def run(kind: str, url: str) -> list[str]:
    """Print the table for a search, the Sent and Replies pages and the longest conversation,
    under the bare page's row; return its lines."""
    from tests.conftest import Browser

    conversations.build(url)  # the Sent and Replies pages need their million messages
    app = create_app(testing_config(url, LOG_LEVEL="WARNING"))
    app.test_client_class = Browser
    engine = app.extensions["database"].engine
    clients = conversations.signed_in_clients(app)
    pages = (
        ("consultant", "search: name prefix", "/candidates?q=smi"),
        ("consultant", "Sent: my batches", "/sms/sent"),
        ("lead", "Sent: everyone's", "/sms/sent?who=everyone"),
        ("consultant", "Replies: mine", "/sms/replies"),
        ("consultant", "Conversation", conversations._busiest_record(app)),
    )
    lines: list[str] = []

    def add(text: str) -> None:
        lines.append(text)
        print(text, flush=True)

    add(header(kind))
    add(line("bare Flask page (framework floor)", bare()))
    try:
        for username, label, page in pages:
            add(line(label, measure(app, conversations._fetcher(clients[username], page), engine)))
    finally:
        engine.dispose()
    return lines
