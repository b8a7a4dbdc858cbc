"""The bench's anatomy of a page: a request cut at Flask's signals into its parts, each with the
SQL it ran, on a clock that moves only when the page does work."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask, render_template
from jinja2 import DictLoader

from bench import anatomy, floor
from tests.clock import ManualClock
from webapp.database import make_engine


def _app(clock: ManualClock, engine: sa.Engine) -> Flask:
    """A page that spends 2 ms signing in, 3 ms in its view besides a 4 ms read, 5 ms rendering
    and 1 ms on its response."""
    app = Flask("bench_anatomy")
    app.jinja_loader = DictLoader({"page.html": "<p>{{ work(0.005) }}</p>"})

    @app.before_request
    def sign_in() -> None:
        clock.advance(0.002)

    @app.get("/page")
    def page():
        clock.advance(0.003)
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1").scalar()
        return render_template("page.html", work=clock.advance)

    @app.after_request
    def respond(response):
        clock.advance(0.001)
        return response

    return app


def test_each_part_of_a_request_and_the_sql_in_it(tmp_path):
    clock = ManualClock()
    engine = make_engine(f"sqlite:///{tmp_path / 'anatomy.sqlite3'}")
    # The read "takes" 4 ms on the clock, moved before the anatomy's own listener reads it (the
    # BEGIN the engine sends first takes none).
    sa.event.listen(
        engine,
        "after_cursor_execute",
        lambda _conn, _cursor, statement, *_rest: statement == "SELECT 1" and clock.advance(0.004),
    )
    app = _app(clock, engine)
    client = app.test_client()

    def fetch() -> None:
        clock.advance(0.0005)  # the test client's way in
        assert client.get("/page").status_code == 200

    measured = anatomy.measure(app, fetch, engine, runs=3, clock=clock)

    assert measured["page"][0] == pytest.approx(15.5)
    assert measured["in + out"] == pytest.approx((0.5, 0.0))
    assert measured["sign-in"] == pytest.approx((2.0, 0.0))
    assert measured["view"] == pytest.approx((7.0, 4.0))
    assert measured["render"] == pytest.approx((5.0, 0.0))
    assert measured["response"] == pytest.approx((1.0, 0.0))
    engine.dispose()


def test_every_mark_is_taken_away_after_the_block(tmp_path):
    clock = ManualClock()
    engine = make_engine(f"sqlite:///{tmp_path / 'anatomy.sqlite3'}")
    app = _app(clock, engine)
    client = app.test_client()
    hooks = list(app.before_request_funcs[None])
    receivers = [len(signal.receivers) for signal in anatomy._SIGNALS.values()]
    listeners = [
        len(engine.dispatch.before_cursor_execute),
        len(engine.dispatch.after_cursor_execute),
    ]

    with anatomy.marking(app, engine, clock) as request:
        marks = request(lambda: client.get("/page"))

    assert set(marks) == set(anatomy.MARKS)
    times = [marks[name][0] for name in anatomy.MARKS]
    assert times == sorted(times)  # passed in order
    assert marks["render"][0] - marks["view"][0] == pytest.approx(0.003)  # the view's own work
    assert app.before_request_funcs[None] == hooks
    assert [len(signal.receivers) for signal in anatomy._SIGNALS.values()] == receivers
    assert [
        len(engine.dispatch.before_cursor_execute),
        len(engine.dispatch.after_cursor_execute),
    ] == listeners
    engine.dispose()


def test_a_page_without_a_template_holds_its_response_in_the_view():
    marks = {
        "called": (0.0, 0.0),
        "started": (0.001, 0.0),
        "view": (0.002, 0.0),
        "finished": (0.006, 0.001),
        "returned": (0.007, 0.001),
    }

    parts = anatomy.parts(marks)

    assert parts["view"] == pytest.approx((4.0, 1.0))
    assert parts["render"] == (0.0, 0.0) and parts["response"] == (0.0, 0.0)
    assert parts["page"][0] == pytest.approx(7.0)


def test_the_bare_page_is_cut_the_same_way_and_the_table_lines_up():
    bare = anatomy.bare()

    # Its render is its whole template; it has no hooks, so its signing in is in its view.
    assert bare["render"][0] > 0 and bare["sign-in"][0] < bare["page"][0]
    assert sum(bare[name][0] for name in anatomy.PARTS) <= bare["page"][0] * 1.5
    header, row = anatomy.header("sqlite"), anatomy.line("bare", bare)
    assert header.index("page") + len("page") == row.index(f"{bare['page'][0]:6.2f}") + 6
    assert floor.bare_page()[0].before_request_funcs.get(None, []) == []
