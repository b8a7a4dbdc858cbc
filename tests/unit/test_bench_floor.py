"""The bench's database floor: it records the reads a page runs, as the driver gets them, and
replays only those on a raw cursor."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask, render_template
from jinja2 import DictLoader

from bench import floor
from tests.clock import ManualClock
from webapp.database import make_engine


@pytest.fixture
def engine(tmp_path):
    # One connection throughout, so a trace on it sees everything the replay runs.
    engine = make_engine(f"sqlite:///{tmp_path / 'floor.sqlite3'}", poolclass=sa.pool.StaticPool)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
        connection.exec_driver_sql("CREATE TABLE visits (n INTEGER)")
        connection.exec_driver_sql("INSERT INTO visits VALUES (0)")
        for n in range(1, 6):
            connection.exec_driver_sql("INSERT INTO people VALUES (?, ?)", (n, f"person {n}"))
    yield engine
    engine.dispose()


def _page(engine: sa.Engine) -> None:
    """A page: it reads twice and writes once (as a session's last_seen_at touch would)."""
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT name FROM people WHERE id > :low"), {"low": 2}).all()
        connection.execute(sa.text("UPDATE visits SET n = n + 1"))
        connection.execute(sa.text("WITH c AS (SELECT count(*) AS n FROM people) SELECT n FROM c"))


def _visits(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.exec_driver_sql("SELECT n FROM visits").scalar()


def test_only_the_reads_are_recorded_with_their_driver_parameters(engine):
    statements = floor.record(engine, lambda: _page(engine))

    assert statements == [
        ("SELECT name FROM people WHERE id > ?", (2,)),
        ("WITH c AS (SELECT count(*) AS n FROM people) SELECT n FROM c", ()),
    ]
    assert _visits(engine) == 1  # the page itself ran, write and all


def test_recording_stops_after_the_block(engine):
    with floor.recording(engine) as statements:
        _page(engine)
    _page(engine)

    assert len(statements) == 2


def test_the_replay_runs_the_reads_each_time_and_writes_nothing(engine):
    statements = floor.record(engine, lambda: _page(engine))
    seen = []
    with engine.connect() as connection:
        # Count what the raw connection runs (sqlite3's trace callback sees every statement).
        connection.connection.driver_connection.set_trace_callback(seen.append)

    samples = floor.replay(engine, statements, runs=4)

    assert len(samples) == 4 and all(ms >= 0 for ms in samples)
    assert [s for s in seen if s.startswith("SELECT name")] == [
        "SELECT name FROM people WHERE id > 2"
    ] * (4 + floor.WARMUP)
    assert _visits(engine) == 1


def test_the_framework_floor_renders_the_fifty_rows_for_the_signed_in_user():
    client = floor.bare_app().test_client()
    assert client.get("/people").status_code == 403
    client.get("/login")

    page = client.get("/people").get_data(as_text=True)

    assert page.count('name="ids"') == 50 and "Casey Consultant" in page


def _rendering_app(clock: ManualClock) -> Flask:
    app = Flask("bench_rendering")
    app.jinja_loader = DictLoader({"page.html": "<p>{{ work(0.005) }}{{ work(0.002) }}</p>"})

    @app.get("/page")
    def page():
        clock.advance(0.030)  # the view's own work before it renders
        html = render_template("page.html", work=clock.advance)
        clock.advance(0.040)  # and after
        return html

    @app.get("/plain")
    def plain():
        clock.advance(0.010)
        return "no template"

    return app


def test_a_pages_render_is_timed_from_the_templates_start_to_its_end():
    clock = ManualClock()
    client = _rendering_app(clock).test_client()

    assert floor.rendering_p50(lambda: client.get("/page"), runs=3, clock=clock) == pytest.approx(7)
    assert floor.rendering_p50(lambda: client.get("/plain"), runs=3, clock=clock) == 0


def test_renders_after_the_block_are_not_counted():
    clock = ManualClock()
    client = _rendering_app(clock).test_client()
    with floor.rendering(clock) as durations:
        client.get("/page")
    client.get("/page")

    assert durations == [pytest.approx(7)]


def test_the_bound_swaps_the_bare_pages_render_for_the_pages_own(capsys):
    page_floor = floor.Floor(
        framework=1.0, sql=0.5, statements=3, rendering=2.0, framework_rendering=0.4
    )

    figures, ratio = floor.page_figures("page", [4.5] * 10, page_floor, "≤ 50")

    by_name = {figure.name: figure.value for figure in figures}
    assert ratio == pytest.approx(3.0)  # 4.5 ÷ (1.0 + 0.5)
    assert by_name["page: its template's render p50"] == 2.0
    assert by_name["page: (floor − bare render + its render) ÷ floor"] == pytest.approx(3.1 / 1.5)
    assert "page: (floor − bare render + its render) ÷ floor" in capsys.readouterr().out


def test_statements_a_template_runs_are_taken_out_of_its_render(engine):
    clock = ManualClock()
    # Each statement "takes" 3 ms on the clock (moved when the driver has answered), as a lazy
    # read in a template would.
    sa.event.listen(engine, "after_cursor_execute", lambda *_args: clock.advance(0.003))
    app = Flask("bench_lazy_read")
    app.jinja_loader = DictLoader({"page.html": "{{ work(0.005) }}{{ count() }}"})

    def count() -> int:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT count(*) FROM people").scalar()

    @app.get("/page")
    def page():
        count()  # the view's own read, before the render
        return render_template("page.html", work=clock.advance, count=count)

    client = app.test_client()
    fetch = lambda: client.get("/page")  # noqa: E731

    assert client.get("/page").get_data(as_text=True) == "5"
    # Without the engine the read's 3 ms (and any statement the connection adds) count.
    assert floor.rendering_p50(fetch, runs=3, clock=clock) >= 8
    assert floor.rendering_p50(fetch, runs=3, clock=clock, engine=engine) == pytest.approx(5)


def test_the_framework_floor_is_measured_again_beside_each_page_and_printed_once(
    monkeypatch, capsys
):
    app = floor.bare_app()
    client = app.test_client()
    client.get("/login")
    requests = []

    def fetch() -> None:
        requests.append(client.get("/people").status_code)

    monkeypatch.setattr(floor, "bare_page", lambda: (app, fetch))
    monkeypatch.setattr(floor, "_first_printed", False)

    first = floor.framework_now(runs=3)
    second = floor.framework_now(runs=3)

    # Each call times the page (after its warm-up) and then its render: nothing is reused.
    assert requests == [200] * 2 * ((3 + floor.WARMUP) + 3)
    assert all(ms > 0 for ms in (*first, *second))
    printed = capsys.readouterr().out
    assert printed.count("framework floor (bare Flask page, 50 rows): p50, first") == 1
    assert printed.count("framework floor: its template's render p50, first") == 1


def test_a_render_inside_a_render_is_counted_once():
    clock = ManualClock()
    app = Flask("bench_nested")
    app.jinja_loader = DictLoader(
        {"outer.html": "{{ work(0.002) }}[{{ inner() }}]", "inner.html": "{{ work(0.003) }}"}
    )

    @app.get("/page")
    def page():
        return render_template(
            "outer.html",
            work=clock.advance,
            inner=lambda: render_template("inner.html", work=clock.advance),
        )

    client = app.test_client()
    with floor.rendering(clock) as durations:
        client.get("/page")

    assert durations == [pytest.approx(5)]
