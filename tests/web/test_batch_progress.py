"""Progress you can read on the batch page: a stacked bar with exact widths (inline SVG, no style=)
for each state, its legend in words, "N of M sent", messages a second and the time left while
sending (at a fixed clock), and a message with no receipt after the wait shown as such, after
which the page stops polling (htmx) and reloading (no JavaScript)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.delivery import queue
from tests.html_tree import parse
from webapp.batches import routes
from webapp.models import Message
from webapp.sms import batches
from webapp.sms.batches import BAR_LABELS, BAR_ORDER, RECEIPT_WAIT, STATE_ORDER, Progress
from webapp.web.bars import stacked_bar

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The batch page's clock stopped at NOW."""
    monkeypatch.setattr(batches, "utcnow", lambda: NOW)
    return NOW


@pytest.fixture
def batch(login, session, three_people):
    """Ada, Bob and Cy, queued by the signed-in consultant two days before NOW; nothing
    dispatched."""
    batch = queue(session, login("consultant"), three_people, provider="sandbox")
    batch.created_at = NOW - timedelta(days=2)
    # Due when queued, as then: not waiting (quiet hours, a back-off) at NOW.
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == batch.id)
        .values(next_attempt_at=batch.created_at)
    )
    session.commit()
    return batch


def set_states(session, batch, *states: tuple[str, timedelta | None]) -> None:
    """Give the batch's messages, in order, each a state and how long before NOW it was sent."""
    ids = session.scalars(
        sa.select(Message.id).where(Message.batch_id == batch.id).order_by(Message.id)
    ).all()
    for message_id, (state, ago) in zip(ids, states, strict=True):
        sent_at = None if ago is None else NOW - ago
        session.execute(
            sa.update(Message)
            .where(Message.id == message_id)
            .values(state=state, sent_at=sent_at, updated_at=sent_at or NOW)
        )
    session.commit()


def get(client, batch, **kwargs):
    response = client.get(f"/sms/batches/{batch.id}", **kwargs)
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def bar_of(page) -> list[tuple[str, str, str]]:
    """The stacked bar's rectangles: (state, x, width)."""
    svg = page.one("div", role="progressbar").one("svg")
    return [(r.get("data-state"), r.get("x"), r.get("width")) for r in svg.all("rect")]


def legend_of(page) -> list[str]:
    return [li.text.strip() for li in page.one("ul", **{"class": "bar-legend"}).all("li")]


def reloads(page) -> list[str]:
    return [
        meta.get("content").split(";")[0]  # its seconds (then the address it reloads)
        for noscript in page.one("head").all("noscript")
        for meta in noscript.all("meta")
        if (meta.get("http-equiv") or "").lower() == "refresh"
    ]


# --- the page ------------------------------------------------------------------------------------


def test_the_bar_shows_each_state_with_exact_widths_and_its_legend_in_words(
    client, session, batch, clock
):
    set_states(
        session,
        batch,
        ("delivered", timedelta(seconds=20)),
        ("sent", timedelta(seconds=10)),
        ("queued", None),
    )

    html = get(client, batch)
    page = parse(html)

    assert bar_of(page) == [
        ("delivered", "0.0%", "33.3333%"),
        ("sent", "33.3333%", "33.3334%"),  # each edge rounded once: they meet
        ("queued", "66.6667%", "33.3333%"),
    ]
    assert legend_of(page) == ["1 delivered", "1 sent, awaiting receipt", "1 queued"]
    section = page.one("section", id="progress")
    assert "2 of 3 sent; 1 of 3 finished" in section.text
    bar = page.one("div", role="progressbar")
    assert bar.get("aria-valuetext") == (
        "33% (1 of 3 finished): 1 delivered; 1 sent, awaiting receipt; 1 queued."
    )
    assert "style=" not in html  # the Content-Security-Policy allows no inline styles


def test_while_sending_it_says_messages_a_second_and_the_time_left(client, session, batch, clock):
    # Two left the queue in the 40 s since the first: 0.05 a second; one to go, 20 s at that rate.
    set_states(
        session,
        batch,
        ("sent", timedelta(seconds=40)),
        ("sent", timedelta(seconds=1)),
        ("queued", None),
    )

    page = parse(get(client, batch))

    assert page.one("p", id="send-rate").text == (
        "Sending 1 message every 20 seconds; 1 still to send, less than a minute left."
    )


def wait_for_quiet_hours(session, batch, index: int, until: datetime) -> None:
    """Hold the batch's `index`th message (in id order) for its recipient's quiet hours."""
    message_id = session.scalars(
        sa.select(Message.id).where(Message.batch_id == batch.id).order_by(Message.id)
    ).all()[index]
    session.execute(
        sa.update(Message)
        .where(Message.id == message_id)
        .values(next_attempt_at=until, quiet_until=until)
    )
    session.commit()


def test_with_only_messages_waiting_for_quiet_hours_left_it_says_until_when_not_a_countdown(
    client, session, batch, clock, monkeypatch
):
    monkeypatch.setattr(routes, "utcnow", lambda: NOW)  # the quiet-hours line's clock too
    set_states(
        session,
        batch,
        ("sent", timedelta(seconds=40)),
        ("sent", timedelta(seconds=1)),
        ("queued", None),
    )
    morning = NOW + timedelta(hours=7)
    wait_for_quiet_hours(session, batch, 2, morning)

    page = parse(get(client, batch))

    until = page.one("span", **{"class": "quiet-until"}).text.removeprefix("Waiting until ")
    assert page.one("p", id="send-rate").text == f"1 still to send, waiting until {until}."
    assert f"1 waiting for quiet hours, until {until}" in page.one("p", id="quiet-waiting").text
    assert "left" not in page.one("p", id="send-rate").text


def test_the_time_left_is_about_the_messages_due_not_those_waiting(client, session, batch, clock):
    set_states(session, batch, ("sent", timedelta(seconds=40)), ("queued", None), ("queued", None))
    wait_for_quiet_hours(session, batch, 2, NOW + timedelta(hours=7))

    page = parse(get(client, batch))

    text = page.one("p", id="send-rate").text
    assert text.startswith(
        "Sending 1 message every 40 seconds; 1 still to send, less than a minute left; "
        "1 more waiting until "
    )


def test_a_big_batch_says_its_rate_in_whole_numbers_and_its_time_left_in_minutes():
    progress = Progress(
        counts=dict.fromkeys(STATE_ORDER, 0) | {"queued": 3000, "sent": 600},
        total=3600,
        rate=12.4,
    )
    assert progress.rate_text == "12 messages a second"
    assert progress.time_left_text == "about 4 minutes"


def test_before_the_first_message_goes_it_says_so(client, batch, clock):
    page = parse(get(client, batch))

    assert page.one("p", id="send-rate").text == "Waiting for the first message to go; 3 to send."


def test_once_nothing_is_left_to_send_the_rate_goes(client, session, batch, clock):
    set_states(session, batch, *[("sent", timedelta(seconds=5))] * 3)

    page = parse(get(client, batch))

    assert not page.all("p", id="send-rate")
    assert "3 of 3 sent; 0 of 3 finished" in page.one("section", id="progress").text


def test_a_message_with_no_receipt_after_the_wait_is_shown_as_such_and_the_page_stops(
    client, session, batch, clock
):
    late = RECEIPT_WAIT + timedelta(minutes=1)
    set_states(session, batch, ("delivered", late), ("sent", late), ("failed", late))

    html = get(client, batch)
    page = parse(html)

    assert [state for state, _, _ in bar_of(page)] == ["delivered", "no_receipt", "failed"]
    assert legend_of(page) == ["1 delivered", "1 sent, no receipt", "1 failed"]
    assert (
        "sent more than 24 hours ago and no receipt has come" in page.one("p", id="no-receipt").text
    )
    badges = [td.text.strip() for td in page.all("td", **{"class": "state-cell"})]
    assert badges == ["delivered", "sent, no receipt", "failed"]
    # Nothing can change now: no polling with JavaScript, no reload without it.
    section = page.one("section", id="progress")
    assert section.get("hx-trigger") is None and section.get("hx-get") is None
    assert reloads(page) == []
    assert section.all("p")[0].text.endswith("— done")
    # The last poll says so to a screen reader.
    fragment = get(client, batch, htmx=True)
    assert "finished: 1 delivered, 1 sent with no receipt, 1 not delivered." in fragment
    assert "hx-trigger" not in fragment


def test_a_message_sent_within_the_wait_is_awaited_and_the_page_keeps_polling(
    client, session, batch, clock
):
    soon = RECEIPT_WAIT - timedelta(minutes=1)
    set_states(session, batch, ("delivered", soon), ("sent", soon), ("failed", soon))

    page = parse(get(client, batch))

    assert legend_of(page) == ["1 delivered", "1 sent, awaiting receipt", "1 failed"]
    assert not page.all("p", id="no-receipt")
    assert page.one("section", id="progress").get("hx-trigger") == "every 2s"
    assert reloads(page) == ["5"]


# --- the bar's arithmetic ------------------------------------------------------------------------

# Counts in the bar's order (a dict drawn by hypothesis may come in any order).
mixes = (
    st.tuples(*[st.integers(0, 50_000)] * len(BAR_ORDER))
    .filter(any)
    .map(lambda counts: dict(zip(BAR_ORDER, counts, strict=True)))
)


@settings(deadline=None)
@given(counts=mixes)
def test_the_rectangles_meet_and_fill_the_bar_exactly_for_any_mix(counts):
    svg = parse(stacked_bar(counts, BAR_LABELS)).one("svg")
    total = sum(counts.values())
    rects = svg.all("rect")
    assert [r.get("data-state") for r in rects] == [k for k in BAR_ORDER if counts[k]]
    left = 0.0
    for rect in rects:
        x, width = float(rect.get("x").rstrip("%")), float(rect.get("width").rstrip("%"))
        assert x == pytest.approx(left, abs=1e-9)
        assert width == pytest.approx(100 * counts[rect.get("data-state")] / total, abs=2e-4)
        left = x + width
    assert left == pytest.approx(100, abs=1e-9)


@given(
    counts=st.fixed_dictionaries({state: st.integers(0, 1000) for state in STATE_ORDER}),
    stale=st.integers(0, 1000),
)
def test_the_bar_counts_every_message_once(counts, stale):
    no_receipt = min(stale, counts["sent"])
    progress = Progress(counts=counts, total=sum(counts.values()), no_receipt=no_receipt)

    assert list(progress.bar) == list(BAR_ORDER)
    assert sum(progress.bar.values()) == progress.total
    assert progress.finished <= progress.total and 0 <= progress.percent <= 100


# --- words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "about 1 minute"),
        (150, "about 2 minutes"),
        (3600, "about 1 hour"),
        (3600 + 5 * 60, "about 1 hour 5 minutes"),
        (2 * 3600 + 60, "about 2 hours 1 minute"),
    ],
)
def test_the_time_left_in_words(seconds, words):
    assert batches.duration_words(seconds) == words


@pytest.mark.parametrize(
    ("rate", "words"),
    [
        (1, "1 message a second"),
        (0.97, "1 message a second"),
        (0.25, "1 message every 4 seconds"),
        (1 / 90, "1 message every 90 seconds"),
        (2.0, "2 messages a second"),
        (2.46, "2.5 messages a second"),
        (12.6, "13 messages a second"),
        (1234, "1,234 messages a second"),
    ],
)
def test_the_rate_in_words(rate, words):
    assert batches.rate_words(rate) == words
