"""The Sent page: my batches newest first with when, title, recipients, a stacked bar and counts by
state; filters by date, state and text; pages; everyone's for audit.view only; the link in the
navigation, as consultant, team leader and viewer, whole page and htmx fragment."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.delivery import queue
from tests.html_tree import html, parse
from tests.pages import nav
from webapp.models import Batch, Message, Setting, SmsTemplate
from webapp.sms import sent_log
from webapp.web.bars import stacked_bar


def sent_batch(session, sender, people, *, at=None, states=(), **fields) -> Batch:
    """A batch sent through the Send path; its messages then put in `states` (in order), and its
    time set to `at`."""
    batch = queue(session, sender, people, provider="sandbox", **fields)
    messages = session.scalars(
        sa.select(Message).where(Message.batch_id == batch.id).order_by(Message.id)
    ).all()
    for message, state in zip(messages, states, strict=False):
        message.state = state
    if at is not None:
        batch.created_at = at
    session.commit()
    return batch


def rows(response) -> list:
    bodies = html(response).one("section", id="results").all("tbody")
    return bodies[0].all("tr") if bodies else []


def counts_of(node) -> list[str]:
    """The counts by state a row says in words, e.g. ["2 delivered", "1 failed"]."""
    return [span.text for span in node.all("span", class_="bar-count")]


def batch_ids(response) -> list[int]:
    return [int(row.get("id").removeprefix("batch-")) for row in rows(response)]


def test_my_batches_newest_first_with_when_title_recipients_bar_and_counts(
    client, session, login, make_user, three_people
):
    me = login("consultant")
    other = make_user(role="consultant")
    template = SmsTemplate(name="Monday roles", body="Hi {{first_name}}", folder="General")
    session.add(template)
    session.commit()
    older = sent_batch(
        session,
        me,
        three_people,
        body="Hi {{first_name}}, a nurse role in Wollongong starts Monday, are you free to talk?",
        at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        states=("delivered", "delivered", "failed"),
    )
    newer = sent_batch(
        session,
        me,
        three_people[:1],
        template_id=template.id,
        at=datetime(2026, 3, 5, 14, 5, tzinfo=UTC),
    )
    theirs = sent_batch(session, other, three_people, body="Not mine")

    response = client.get("/sms/sent")

    assert response.status_code == 200
    assert batch_ids(response) == [newer.id, older.id]
    assert theirs.id not in batch_ids(response)
    first, second = rows(response)
    cells = second.all("td")
    assert cells[0].text == "2 Mar 2026, 8:30 pm AEDT"  # 09:30 UTC, in Sydney
    assert cells[0].one("time").get("datetime") == "2026-03-02T09:30:00+00:00"
    link = cells[1].one("a")
    assert link.get("href") == f"/sms/batches/{older.id}"
    assert link.text == "Hi {{first_name}}, a nurse role in Wollongong starts …"
    assert cells[2].text == "3"
    assert counts_of(cells[3]) == ["2 delivered", "1 failed"]
    bar = {r.get("data-state"): r for r in cells[3].one("svg").all("rect")}
    assert list(bar) == ["delivered", "failed"]
    assert (bar["delivered"].get("x"), bar["delivered"].get("width")) == ("0.0%", "66.6667%")
    assert (bar["failed"].get("x"), bar["failed"].get("width")) == ("66.6667%", "33.3333%")
    newest = first.all("td")
    assert newest[1].text == "Template Monday roles"
    assert newest[1].one("a").get("href") == f"/sms/batches/{newer.id}"
    assert counts_of(newest[3]) == ["1 queued"]
    # No style attribute anywhere (the Content-Security-Policy forbids them).
    assert "style=" not in response.get_data(as_text=True)


def test_the_bar_has_no_gaps_and_ends_at_exactly_100_percent():
    """Sevenths round; the rectangles still meet and fill the bar."""
    counts = {"delivered": 1, "sent": 1, "sending": 1, "queued": 1, "failed": 3}
    svg = parse(stacked_bar(counts)).one("svg")
    rects = svg.all("rect")
    left = 0.0
    for rect in rects:
        x, width = float(rect.get("x").rstrip("%")), float(rect.get("width").rstrip("%"))
        assert x == pytest.approx(left, abs=1e-9)
        left = x + width
    assert left == pytest.approx(100, abs=1e-9)
    # Each within the rounding of its exact share (1/7, 3/7 of the bar).
    for rect, n in zip(rects, counts.values(), strict=True):
        assert float(rect.get("width").rstrip("%")) == pytest.approx(100 * n / 7, abs=2e-4)


def test_the_results_come_as_a_fragment_for_htmx(client, session, login, three_people):
    me = login("consultant")
    batch = sent_batch(session, me, three_people)

    response = client.get("/sms/sent", htmx=True)

    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    doc = html(response)
    # The results, and out of band what a screen reader hears and the form's Clear filters place
    # (nothing to clear here).
    assert [(n.tag, n.get("id")) for n in doc.elements] == [
        ("div", "live-status"),
        ("span", "clear-filters"),
        ("section", "results"),
    ]
    assert doc.elements[1].get("hx-swap-oob") == "true" and doc.elements[1].all("a") == []
    assert batch_ids(response) == [batch.id]


def clear_links(node) -> list[tuple[str, str]]:
    return [(a.text, a.get("href")) for a in node.one("span", id="clear-filters").all("a")]


@pytest.mark.parametrize(
    ("query", "clear_url"),
    [
        ({"state": "failed"}, "/sms/sent"),
        ({"text": "Monday"}, "/sms/sent"),
        ({"date_from": "not a date"}, "/sms/sent"),  # refused: a way back too
        ({"who": "everyone", "state": "failed"}, "/sms/sent?who=everyone"),
        ({}, None),
        ({"who": "everyone"}, None),
    ],
)
def test_clear_filters_shows_alike_with_and_without_javascript(
    client, session, login, three_people, query, clear_url
):
    """The filter form is outside the results htmx swaps: a filter typed with JavaScript on left
    no Clear filters (and one cleared by typing left it there), where without JavaScript the page
    had it. The results now bring it out of band, with the ids htmx keeps the focus by."""
    me = login("team-leader")
    sent_batch(session, me, three_people, states=["failed"])
    expected = [("Clear filters", clear_url)] if clear_url else []

    page = html(client.get("/sms/sent", query_string=query))
    fragment = html(client.get("/sms/sent", query_string=query, htmx=True))

    form = page.one("form", id="sent-filters")
    assert clear_links(form) == expected
    assert form.one("span", id="clear-filters").get("hx-swap-oob") is None
    oob = fragment.elements[1]
    assert (oob.tag, oob.get("id"), oob.get("hx-swap-oob")) == ("span", "clear-filters", "true")
    assert clear_links(fragment) == expected
    if clear_url:
        assert fragment.one("a", id="clear-filters-link").text == "Clear filters"


@pytest.mark.parametrize("role", ["consultant", "team-leader"])
def test_sent_and_replies_are_in_the_navigation_of_those_who_send(client, login, role):
    login(role)
    page = client.get("/candidates").get_data(as_text=True)
    labels = nav(page)
    assert "Sent" in labels
    doc = html(client.get("/candidates"))
    links = {a.get("href") for a in doc.one("nav", aria_label="Main").all("a")}
    assert {"/sms/sent", "/sms/replies"} <= links


def test_a_viewer_has_neither_page_nor_link(client, login):
    login("viewer")
    doc = html(client.get("/candidates"))
    links = {a.get("href") for a in doc.all("a")}
    assert "/sms/sent" not in links and "/sms/replies" not in links
    assert client.get("/sms/sent").status_code == 403
    assert client.get("/sms/replies").status_code == 403


def test_a_team_leader_switches_to_everyones_batches(
    client, session, login, make_user, three_people
):
    lead = login("team-leader")
    casey = make_user(role="consultant", full_name="Casey Jones")
    mine = sent_batch(session, lead, three_people[:1], at=datetime(2026, 3, 1, tzinfo=UTC))
    hers = sent_batch(session, casey, three_people, at=datetime(2026, 3, 2, tzinfo=UTC))

    assert batch_ids(client.get("/sms/sent")) == [mine.id]
    response = client.get("/sms/sent?who=everyone")

    assert response.status_code == 200
    assert batch_ids(response) == [hers.id, mine.id]
    doc = html(response)
    headers = [th.text for th in doc.one("section", id="results").all("th")]
    assert "Sent by" in headers
    assert rows(response)[0].all("td")[1].text == "Casey Jones"
    radios = {i.get("value"): i for i in doc.all("input", type="radio", name="who")}
    assert "checked" in radios["everyone"].attrs


def test_a_consultant_may_not_see_everyones_batches(
    client, session, login, make_user, three_people
):
    login("consultant")
    sent_batch(session, make_user(role="consultant"), three_people)

    page = client.get("/sms/sent")
    assert html(page).all("input", name="who") == []
    assert "Everyone" not in page.get_data(as_text=True)
    assert client.get("/sms/sent?who=everyone").status_code == 403


def test_filter_by_dates_read_as_whole_days_of_a_user_in_utc(client, session, login, three_people):
    me = login("consultant", timezone="UTC")
    before = sent_batch(session, me, three_people, at=datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC))
    first = sent_batch(session, me, three_people, at=datetime(2026, 3, 1, 0, 0, tzinfo=UTC))
    last = sent_batch(session, me, three_people, at=datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC))
    after = sent_batch(session, me, three_people, at=datetime(2026, 3, 4, 0, 0, tzinfo=UTC))

    response = client.get("/sms/sent?date_from=2026-03-01&date_to=2026-03-03")

    assert batch_ids(response) == [last.id, first.id]
    assert batch_ids(client.get("/sms/sent?date_from=2026-03-04")) == [after.id]
    assert batch_ids(client.get("/sms/sent?date_to=2026-02-28")) == [before.id]


def test_filter_dates_are_whole_days_in_the_users_zone_on_a_daylight_saving_day(
    client, session, login, three_people
):
    # Sydney's 5 April 2026 lasts 25 hours: from 13:00 UTC on the 4th (00:00 AEDT) to 14:00 UTC on
    # the 5th (00:00 AEST on the 6th), the clocks going back from 03:00 AEDT to 02:00 AEST.
    me = login("consultant")  # no zone of their own: the organisation's, Australia/Sydney
    at = [
        datetime(2026, 4, 4, 12, 59, 59, tzinfo=UTC),  # 4 Apr, 11:59:59 pm AEDT
        datetime(2026, 4, 4, 13, 0, tzinfo=UTC),  # 5 Apr, 12:00 am AEDT
        datetime(2026, 4, 5, 13, 59, 59, tzinfo=UTC),  # 5 Apr, 11:59:59 pm AEST
        datetime(2026, 4, 5, 14, 0, tzinfo=UTC),  # 6 Apr, 12:00 am AEST
    ]
    before, first, last, after = [sent_batch(session, me, three_people, at=t) for t in at]

    day = client.get("/sms/sent?date_from=2026-04-05&date_to=2026-04-05")

    assert batch_ids(day) == [last.id, first.id]
    assert batch_ids(client.get("/sms/sent?date_from=2026-04-06")) == [after.id]
    assert batch_ids(client.get("/sms/sent?date_to=2026-04-04")) == [before.id]
    times = [row.all("td")[0].text for row in rows(day)]
    assert times == ["5 Apr 2026, 11:59 pm AEST", "5 Apr 2026, 12:00 am AEDT"]
    assert "Dates and times are in your time zone, Australia/Sydney" in day.get_data(as_text=True)


def test_filter_by_state_keeps_batches_with_a_message_in_it(client, session, login, three_people):
    me = login("consultant")
    clean = sent_batch(session, me, three_people, states=("delivered", "delivered", "delivered"))
    failing = sent_batch(session, me, three_people, states=("delivered", "failed", "sent"))
    resent = sent_batch(session, me, three_people[:1], states=("failed",))
    # The failed message was resent: its new copy counts, the superseded original does not.
    original = session.scalar(sa.select(Message).where(Message.batch_id == resent.id))
    original.superseded = True
    session.add(
        Message(
            batch_id=resent.id,
            direction="out",
            candidate_id=original.candidate_id,
            sender_id=me.id,
            to_e164=original.to_e164,
            body=original.body,
            state="delivered",
            provider="sandbox",
        )
    )
    session.commit()

    assert batch_ids(client.get("/sms/sent?state=failed")) == [failing.id]
    delivered = batch_ids(client.get("/sms/sent?state=delivered"))
    assert delivered == [resent.id, failing.id, clean.id]
    assert counts_of(rows(client.get("/sms/sent?state=delivered"))[0]) == ["1 delivered"]


def test_filter_by_text_in_the_message_or_the_template_name(client, session, login, three_people):
    me = login("consultant")
    template = SmsTemplate(name="Night shift 50%", body="Hi {{first_name}}", folder="General")
    session.add(template)
    session.commit()
    nurse = sent_batch(session, me, three_people, body="A NURSE role in Sydney")
    shift = sent_batch(session, me, three_people, template_id=template.id, body="Hi {{first_name}}")
    sent_batch(session, me, three_people, body="A developer role")

    assert batch_ids(client.get("/sms/sent?text=nurse")) == [nurse.id]
    assert batch_ids(client.get("/sms/sent?text=night+shift")) == [shift.id]
    # % and _ are letters here, not wildcards.
    assert batch_ids(client.get("/sms/sent?text=50%25")) == [shift.id]
    assert batch_ids(client.get("/sms/sent?text=role_in")) == []
    assert batch_ids(client.get("/sms/sent?text=role+in")) == [nurse.id]


def test_filter_text_typed_in_decomposed_unicode_finds_the_message_and_the_template(
    client, session, login, three_people
):
    me = login("consultant")
    template = SmsTemplate(name="Zoë's roles", body="Hi {{first_name}}", folder="General")
    session.add(template)
    session.commit()
    chloe = sent_batch(session, me, three_people, body="Chloë starts on nights")
    zoe = sent_batch(session, me, three_people, template_id=template.id, body="Hi {{first_name}}")
    ward = sent_batch(session, me, three_people, body="A 50m² ward")

    # "ë" as "e" and a combining diaeresis, as some keyboards and pastes give it.
    assert batch_ids(client.get("/sms/sent", query_string={"text": "Chloe\u0308"})) == [chloe.id]
    assert batch_ids(client.get("/sms/sent", query_string={"text": "Zoe\u0308"})) == [zoe.id]
    # One spelling (NFC), not a fold (NFKC), which would search for "m2".
    assert batch_ids(client.get("/sms/sent", query_string={"text": "m²"})) == [ward.id]


def test_a_bad_filter_is_named_beside_its_field_and_the_rest_still_filter(
    client, session, login, three_people
):
    me = login("consultant")
    nurse = sent_batch(session, me, three_people, body="A nurse role")
    sent_batch(session, me, three_people, body="A developer role")

    response = client.get("/sms/sent?date_from=31/01/2026&state=lost&text=nurse")

    assert response.status_code == 400
    doc = html(response)
    date_from = doc.one("input", id="date_from")
    assert date_from.get("aria-invalid") == "true"
    assert date_from.get("value") == "31/01/2026"
    assert "Sent from must be a date like 2026-01-31" in doc.one("span", id="date_from-error").text
    assert doc.one("select", id="state").get("aria-invalid") == "true"
    assert "Choose a state from the list." in doc.one("span", id="state-error").text
    assert batch_ids(response) == [nurse.id]


def test_pages_of_25_newest_first(client, session, login, three_people):
    me = login("consultant")
    made = [
        sent_batch(session, me, three_people[:1], at=datetime(2026, 3, 1, 9, n, tzinfo=UTC)).id
        for n in range(sent_log.PAGE_SIZE + 1)
    ]

    first = client.get("/sms/sent?text=Hi")
    assert batch_ids(first) == made[::-1][: sent_log.PAGE_SIZE]
    pager = html(first).one("nav", aria_label="Pages")
    older = pager.one("a", rel="next")
    assert older.get("href") == "/sms/sent?page=2&text=Hi"
    assert pager.all("a", rel="prev") == []

    second = client.get(older.get("href"))
    assert batch_ids(second) == [made[0]]
    pager = html(second).one("nav", aria_label="Pages")
    assert pager.one("a", rel="prev").get("href") == "/sms/sent?page=1&text=Hi"
    assert pager.all("a", rel="next") == []
    assert "There is no page 3" in client.get("/sms/sent?page=3").get_data(as_text=True)


def test_the_batch_each_row_links_to_opens_for_its_sender(client, session, login, three_people):
    me = login("consultant")
    batch = sent_batch(session, me, three_people)

    href = rows(client.get("/sms/sent"))[0].one("a").get("href")

    assert client.get(href).status_code == 200
    assert f"SMS batch {batch.id}" in client.get(href).get_data(as_text=True)


def test_a_day_the_month_does_not_have_is_named_as_no_such_day(client, session, login):
    login("consultant")

    response = client.get("/sms/sent?date_from=2026-04-31&date_to=2026-02-29")

    assert response.status_code == 400
    doc = html(response)
    assert doc.one("span", id="date_from-error").text.strip() == (
        "Sent from: there is no such day as 2026-04-31."
    )
    assert doc.one("span", id="date_to-error").text.strip() == (
        "Sent to: there is no such day as 2026-02-29."
    )
    # Not in the form of a day at all: the example, as before.
    response = client.get("/sms/sent?date_to=2026-13-01")
    assert (
        "Sent to must be a date like 2026-01-31"
        in html(response).one("span", id="date_to-error").text
    )
    # Nor is a year in other digits (Arabic-Indic, fullwidth): not a day the month lacks.
    for year in ("٢٠٢٦", "２０２６"):
        response = client.get(f"/sms/sent?date_from={year}-01-01")
        assert (
            "Sent from must be a date like 2026-01-31"
            in html(response).one("span", id="date_from-error").text
        )


def test_renaming_a_template_leaves_the_name_its_batches_were_sent_with(
    client, session, login, three_people
):
    me = login("consultant")
    template = SmsTemplate(name="JS one", body="Hi {{first_name}}", folder="General")
    session.add(template)
    session.commit()
    batch = sent_batch(session, me, three_people, template_id=template.id, body="Hi {{first_name}}")
    template.name = "Do not use - old"
    session.commit()

    page = client.get(f"/sms/batches/{batch.id}").get_data(as_text=True)
    assert "JS one" in page and "Do not use" not in page
    assert html(client.get("/sms/sent")).one("a", id=f"batch-{batch.id}-title").text == "JS one"
    assert batch_ids(client.get("/sms/sent?text=js+one")) == [batch.id]
    assert batch_ids(client.get("/sms/sent?text=do+not+use")) == []


def live_status(response) -> str:
    (status,) = html(response).all("div", id="live-status")
    assert status.get("hx-swap-oob") == "innerHTML"
    return status.text


def test_a_filter_says_to_a_screen_reader_what_it_found(
    client, session, login, three_people, monkeypatch
):
    """Typing in Message or template (or choosing a State) swapped the list in silence: #live-status
    stayed empty, where the people search and the audit log say what they found."""
    monkeypatch.setattr(sent_log, "PAGE_SIZE", 2)
    me = login("consultant")
    for n in range(3):
        sent_batch(
            session,
            me,
            three_people[:1],
            body=f"Roles {n}",
            at=datetime(2026, 3, n + 1, 1, tzinfo=UTC),
        )

    def said(query: str) -> str:
        return live_status(client.get(f"/sms/sent?{query}", htmx=True))

    assert said("text=Roles 1") == "1 batch found"
    assert said("date_from=2026-03-02") == "2 batches found"
    assert said("text=Roles") == "More than 2 batches found"  # no total is counted
    assert said("text=Roles&page=2") == "Page 2: batches 3 to 3"
    assert said("page=2&date_from=2026-03-02") == "There is no page 2 of these batches"
    assert said("text=Nurse") == "No batches match"
    assert html(client.get("/sms/sent?text=Roles")).one("div", id="live-status").text == ""


def test_the_filters_are_not_put_back_as_left_by_back(client, session, login):
    """Without JavaScript, Back loads the page again from its address, and Chromium put back the
    radio and State as they were left (Everyone's, sent) over the unfiltered batches of one's
    own; autocomplete="off" on the form keeps every control as the address says."""
    login("team-leader")
    form = html(client.get("/sms/sent")).one("form", id="sent-filters")
    assert form.get("autocomplete") == "off"
    assert {field.get("name") for field in form.all("input") + form.all("select")} >= {
        "who",
        "state",
        "text",
    }


def test_two_senders_of_one_name_are_told_apart_as_on_the_dashboard(
    client, session, login, make_user, three_people
):
    """Two "Casey Consultant"s both read "Casey Consultant" under Sent by, on the page and in its
    CSV; the dashboard names them with their usernames."""
    login("team-leader", full_name="Lee Lead")
    first = make_user("casey-sent", full_name="Casey Consultant")
    second = make_user("casey2", full_name="Casey Consultant")
    ann = make_user("ann-sent", full_name="Ann Sent")
    for n, sender in enumerate((first, second, ann)):
        sent_batch(session, sender, three_people[:1], at=datetime(2026, 3, n + 1, tzinfo=UTC))

    senders = [row.all("td")[1].text for row in rows(client.get("/sms/sent?who=everyone"))]
    expected = ["Ann Sent", "Casey Consultant (casey2)", "Casey Consultant (casey-sent)"]
    assert senders == expected  # a name of its own stays bare

    data = client.get("/sms/sent.csv?who=everyone").get_data().decode("utf-8-sig")
    assert [row["Sent by"] for row in csv.DictReader(io.StringIO(data, newline=""))] == expected


def test_a_team_limited_leaders_choice_is_your_teams_not_everyones(client, session, login):
    """With "Team views by office" on, the radio said "Everyone’s" over the heading "Your team’s
    batches" (and the Dashboard's "Your team")."""
    login("team-leader", office="Perth")

    def choices() -> list[tuple[str, str]]:
        form = html(client.get("/sms/sent?who=everyone")).one("form", id="sent-filters")
        return [(label.text, label.one("input").get("value")) for label in form.all("label")[:2]]

    assert choices() == [("Mine", ""), ("Everyone’s", "everyone")]
    session.merge(Setting(key="team_views_by_office", value=True))
    session.commit()
    assert choices() == [("Mine", ""), ("Your team’s", "everyone")]
