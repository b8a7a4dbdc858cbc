"""The dashboard page: the landing page, whose figures each role sees (and may ask for, a team
leader's team only with "Team views by office" on), each chart's bars against its data table and
the seeded messages (a receipt that never came too), patterns for greyscale, no styles."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.db.test_dashboard import add_message, add_opt_out
from tests.html_tree import html
from webapp import charts
from webapp.dashboard import routes
from webapp.models import Message, Setting

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)  # 2 pm on 30 Nov in Sydney


@pytest.fixture(autouse=True)
def fixed_day(monkeypatch):
    monkeypatch.setattr(routes, "now", lambda: NOW)


def at(day: int, hour: int = 1) -> datetime:
    """A moment on `day` November 2026 (Sydney's day for hours 0–12 UTC)."""
    return datetime(2026, 11, day, hour, tzinfo=UTC)


@pytest.fixture
def seeded(session, make_user):
    """Two consultants' messages over a few days, replies and a STOP, as in a real month."""
    ann = make_user("ann-dash", full_name="Ann Dash", office="Perth")
    bob = make_user("bob-dash", full_name="Bob Dash", office="Sydney")
    for _ in range(3):
        add_message(session, ann, at(28), segments=2)
    add_message(session, ann, at(28), state="failed", error_text="Handset unreachable")
    add_message(session, ann, at(28), state="sent")  # more than a day ago: no receipt is coming
    add_message(session, ann, at(29, 12), state="sent")  # 11 pm on the 29th: still awaited
    add_message(session, ann, at(29), state="undelivered", error_text="Handset unreachable")
    add_message(session, ann, at(29), state="rejected", error_text="=HYPERLINK(1)")
    sent = add_message(session, ann, at(30))
    stop = add_message(session, ann, at(30, 2), state="received", direction="in")
    add_message(session, ann, at(30, 2), state="received", direction="in", in_reply_to_id=sent.id)
    add_opt_out(session, at(30, 2), stop)
    for _ in range(5):
        add_message(session, bob, at(29), segments=3)
    bob_reply = add_message(session, bob, at(29, 2), state="received", direction="in")
    add_opt_out(session, at(29, 2), bob_reply)
    return {"ann": ann, "bob": bob}


def sign_in(client, user) -> None:
    assert client.login(user.username).status_code == 302


def table(page, table_id: str) -> dict[str, dict[str, str]]:
    """{row heading: {column heading: cell text}} of a data table."""
    node = page.one("table", id=table_id)
    headings = [th.text for th in node.one("thead").all("th")]
    rows = {}
    for tr in node.one("tbody").all("tr"):
        cells = [cell.text for cell in tr.all() if cell.tag in {"th", "td"}]
        rows[cells[0]] = dict(zip(headings[1:], cells[1:], strict=True))
    return rows


def footer(page, table_id: str) -> dict[str, str]:
    """{column heading: cell text} of a data table's totals row."""
    node = page.one("table", id=table_id)
    headings = [th.text for th in node.one("thead").all("th")]
    cells = [cell.text for cell in node.one("tfoot").all() if cell.tag in {"th", "td"}]
    return dict(zip(headings[1:], cells[1:], strict=True))


def bars(page, chart_id: str) -> dict[tuple[str, str], dict]:
    """{(label, series): the <rect>'s attributes} of a chart."""
    svg = page.one("svg", id=f"{chart_id}-chart")
    return {(r.get("data-label"), r.get("data-series")): r.attrs for r in svg.all("rect")}


def test_signing_in_lands_on_the_dashboard(client, login):
    login("consultant")
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    page = html(client.get("/dashboard"))
    assert page.one("h1").text == "Dashboard"
    assert "Dashboard" in [a.text for a in page.one("nav").all("a")]


def test_a_consultant_sees_only_their_own_figures(client, seeded):
    sign_in(client, seeded["ann"])
    page = html(client.get("/dashboard"))
    assert page.one("h2", id="results-heading").text == "Your last 30 days"
    assert page.one("dd", id="total-messages").text == "9"  # not Bob's 5
    assert page.one("dd", id="total-replies").text == "2"
    assert page.one("dd", id="total-opt-outs").text == "1"  # Bob's STOP is his
    assert page.all("select") == []  # no filter of whose figures
    assert page.all("table", id="senders-data") == []


@pytest.mark.parametrize("query", ["user={bob}", "office={office}", "user={bob}&office={office}"])
def test_a_consultant_asking_for_someone_elses_figures_is_refused(client, seeded, query):
    sign_in(client, seeded["ann"])
    url = "/dashboard?" + query.format(bob=seeded["bob"].id, office=seeded["bob"].office_id)
    response = client.get(url)
    assert response.status_code == 403
    assert "Bob Dash" not in response.get_data(as_text=True)


def test_a_consultant_may_name_themselves(client, seeded):
    sign_in(client, seeded["ann"])
    response = client.get(f"/dashboard?user={seeded['ann'].id}")
    assert response.status_code == 200
    assert html(response).one("dd", id="total-messages").text == "9"


def test_audit_view_sees_everyone_and_filters_by_user_and_office(client, login, seeded):
    login("team-leader")
    page = html(client.get("/dashboard"))
    assert page.one("h2", id="results-heading").text == "Everyone’s last 30 days"
    assert page.one("dd", id="total-messages").text == "14"
    assert page.one("dd", id="total-opt-outs").text == "2"
    senders = table(page, "senders-data")
    assert senders["Bob Dash"] == {"Messages": "5", "Parts": "15"}
    # Parts that reached a gateway: not the failed or the rejected message's.
    assert senders["Ann Dash"] == {"Messages": "9", "Parts": "10"}
    assert page.one("dd", id="total-parts").text == "25"
    assert bars(page, "senders")[("Bob Dash", "parts")]["data-value"] == "15"

    bob = html(client.get(f"/dashboard?user={seeded['bob'].id}"))
    assert bob.one("h2", id="results-heading").text == "Bob Dash’s last 30 days"
    assert bob.one("dd", id="total-messages").text == "5"
    chosen = [o.text for o in bob.all("option") if "selected" in o.attrs]
    assert chosen == ["Bob Dash"]

    perth = html(client.get(f"/dashboard?office={seeded['ann'].office_id}"))
    assert perth.one("h2", id="results-heading").text == "The Perth office’s last 30 days"
    assert perth.one("dd", id="total-messages").text == "9"

    # Both: the user's figures within the office, as the heading says (not "X’s and the office’s").
    both = f"/dashboard?user={seeded['bob'].id}&office={seeded['bob'].office_id}"
    page = html(client.get(both))
    heading = page.one("h2", id="results-heading").text
    assert heading == "Bob Dash’s (in the Sydney office) last 30 days"
    assert page.one("dd", id="total-messages").text == "5"
    elsewhere = f"/dashboard?user={seeded['bob'].id}&office={seeded['ann'].office_id}"
    page = html(client.get(elsewhere))
    assert (
        page.one("h2", id="results-heading").text == "Bob Dash’s (in the Perth office) last 30 days"
    )
    assert page.one("dd", id="total-messages").text == "0"  # Bob is not in Perth


def test_a_filter_that_is_not_an_id_is_named_beside_its_field(client, login, seeded):
    login("team-leader")
    response = client.get("/dashboard?user=ann")
    assert response.status_code == 400
    page = html(response)
    assert "Choose a user from the list." in page.text
    assert page.one("dd", id="total-messages").text == "14"  # the rest still shown


def test_each_chart_matches_its_table_and_the_messages(client, seeded):
    sign_in(client, seeded["ann"])
    page = html(client.get("/dashboard"))

    messages = table(page, "messages-data")
    assert messages["28 Nov"]["Delivered"] == "3" and messages["28 Nov"]["Failed"] == "1"
    assert messages["28 Nov"]["Sent, no receipt"] == "1"
    assert messages["28 Nov"]["Sent, awaiting receipt"] == "0"
    assert messages["29 Nov"]["Sent, awaiting receipt"] == "1"
    assert messages["29 Nov"]["Undelivered"] == "1" and messages["29 Nov"]["Rejected"] == "1"
    assert messages["30 Nov"]["All"] == "1" and messages["1 Nov"]["All"] == "0"
    names = {"delivered": "Delivered", "sent": "Sent, awaiting receipt", "failed": "Failed"}
    names |= {"undelivered": "Undelivered", "rejected": "Rejected", "unknown": "Unknown"}
    names |= {"queued": "Still queued", "no_receipt": "Sent, no receipt"}
    drawn = bars(page, "messages")
    for day, row in messages.items():
        for series, name in names.items():
            rect = drawn.get((day, series))
            assert (rect["data-value"] if rect else "0") == row[name], (day, name)
    # Heights on one scale: the tallest day (5 messages) sets the scale's top.
    top = charts.nice_top(5)
    plot = charts.HEIGHT - charts.TOP - charts.BOTTOM
    for rect in drawn.values():
        assert float(rect["height"]) == pytest.approx(int(rect["data-value"]) / top * plot, 0.01)

    rate = table(page, "rate-data")
    # The message with no receipt after a day has finished, as on the batch page.
    assert rate["28 Nov"] == {"Delivered": "3", "Finished": "5", "Rate": "60.0 %"}
    assert rate["29 Nov"] == {"Delivered": "0", "Finished": "2", "Rate": "0.0 %"}
    assert rate["27 Nov"]["Rate"] == "—"
    assert bars(page, "rate")[("28 Nov", "rate")]["data-value"] == "60"
    assert page.one("dd", id="delivery-rate").text == "50.0 %"  # 4 of the 8 that finished
    assert "(1 still awaits a receipt)" in page.one("p", class_="rate-figure").text

    failures = table(page, "failures-data")
    assert failures == {
        "Handset unreachable": {"Messages": "2"},
        "=HYPERLINK(1)": {"Messages": "1"},
    }
    assert bars(page, "failures")[("Handset unreachable", "reasons")]["data-value"] == "2"

    replies = table(page, "replies-data")
    assert replies["30 Nov"] == {"Replies": "2", "Opt-outs": "1"}
    drawn = bars(page, "replies")
    assert drawn[("30 Nov", "replies")]["data-value"] == "2"
    assert drawn[("30 Nov", "opt_outs")]["data-value"] == "1"

    parts = table(page, "parts-data")
    assert parts["28 Nov"] == {"Parts": "7"} and parts["29 Nov"] == {"Parts": "2"}
    assert bars(page, "parts")[("28 Nov", "parts")]["data-value"] == "7"


def test_charts_are_labelled_images_with_patterns_for_greyscale(client, seeded):
    sign_in(client, seeded["ann"])
    response = client.get("/dashboard")
    text = response.get_data(as_text=True)
    page = html(response)
    patterns = {node.get("id") for node in page.all("pattern")}
    charts_drawn = page.all("svg", role="img")
    assert len(charts_drawn) == 5
    for svg in charts_drawn:
        title = svg.one("title")
        assert svg.get("aria-labelledby") == title.get("id") and title.text
        assert svg.one("desc").get("id") == svg.get("aria-describedby")
        for rect in svg.all("rect"):
            assert rect.get("fill")[len("url(#") : -1] in patterns
    # Each final state has a pattern of its own, and a name in the legend.
    fills = {rect.get("fill") for rect in page.one("svg", id="messages-chart").all("rect")}
    assert len(fills) == 6  # delivered, no receipt, sent, failed, undelivered, rejected drawn
    legend = [li.text for li in page.all("ul", class_="legend")[0].all("li")]
    assert legend[:3] == ["Delivered", "Sent, no receipt", "Sent, awaiting receipt"]
    # Data behind a "Show data" that works without JavaScript.
    shown = [d.one("summary").text for d in page.all("details", class_="chart-data")]
    assert shown[0] == "Show data: messages per day" and len(shown) == 5
    # Strict CSP: no inline styles or scripts.
    assert not re.search(r"\sstyle=", text) and "<style" not in text
    assert "<script>" not in text and not re.search(r"<script(?![^>]*\ssrc=)", text)


def test_htmx_asks_for_the_results_only(client, login, seeded):
    login("team-leader")
    response = client.get(f"/dashboard?user={seeded['bob'].id}", htmx=True)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    # The results, and out of band what a screen reader hears and the "Everyone" link of the form
    # (below).
    start = '<div id="live-status" hx-swap-oob="innerHTML">'
    assert body.lstrip().startswith(start) and "<h1>" not in body
    assert '<span id="everyone-filter" hx-swap-oob="true">' in body
    assert '</span>\n<section id="results"' in body
    assert html(response).one("dd", id="total-messages").text == "5"


def everyone_links(node) -> list[tuple[str, str]]:
    return [(a.text, a.get("href")) for a in node.one("span", id="everyone-filter").all("a")]


def test_the_everyone_link_follows_the_choice_with_javascript_too(client, login, seeded):
    """It sat in the form, outside the results htmx swaps: with JavaScript, choosing a user left
    it missing (and clearing the choice left it there), where the page reloaded without had it."""
    login("team-leader")
    chosen = f"/dashboard?user={seeded['bob'].id}"
    page = html(client.get(chosen))
    form = page.one("form", id="dashboard-filters")
    assert everyone_links(form) == [("Everyone", "/dashboard")]
    assert form.one("span", id="everyone-filter").get("hx-swap-oob") is None
    assert len(page.all("span", id="everyone-filter")) == 1  # no out-of-band copy in a page

    fragment = html(client.get(chosen, htmx=True))
    assert fragment.one("span", id="everyone-filter").get("hx-swap-oob") == "true"
    assert everyone_links(fragment) == [("Everyone", "/dashboard")]
    office = html(client.get(f"/dashboard?office={seeded['ann'].office_id}", htmx=True))
    assert everyone_links(office) == [("Everyone", "/dashboard")]
    refused = html(client.get("/dashboard?user=ann", htmx=True))
    assert everyone_links(refused) == [("Everyone", "/dashboard")]
    everyone = html(client.get("/dashboard?user=&office=", htmx=True))
    assert everyone.one("span", id="everyone-filter").get("hx-swap-oob") == "true"
    assert everyone_links(everyone) == []  # cleared: the link goes
    assert everyone_links(html(client.get("/dashboard"))) == []


def test_a_consultants_results_bring_no_everyone_link(client, seeded):
    sign_in(client, seeded["ann"])
    assert html(client.get("/dashboard", htmx=True)).all("span", id="everyone-filter") == []


def team_views(session, on: bool) -> None:
    session.merge(Setting(key="team_views_by_office", value=on))
    session.commit()


def options(page, name: str) -> list[str]:
    return [option.text for option in page.one("select", id=name).all("option")]


def test_a_team_limited_leader_sees_and_may_ask_for_their_own_office_only(
    client, login, session, seeded
):
    ann, bob = seeded["ann"], seeded["bob"]
    login("team-leader", full_name="Lee Perth", office="Perth")
    team_views(session, True)
    page = html(client.get("/dashboard"))
    assert page.one("h2", id="results-heading").text == "Your team’s last 30 days"
    assert page.one("dd", id="total-messages").text == "9"  # Ann's, not Bob's in Sydney
    assert options(page, "user") == ["Your team", "Ann Dash", "Lee Perth"]
    assert options(page, "office") == ["Your office", "Perth"]  # not "Every office"

    for query in (
        f"user={bob.id}",
        f"office={bob.office_id}",
        f"user={ann.id}&office={bob.office_id}",
    ):
        response = client.get(f"/dashboard?{query}")
        assert response.status_code == 403, query
        body = response.get_data(as_text=True)
        assert "Bob Dash" not in body and "Sydney" not in body

    mine = html(client.get(f"/dashboard?user={ann.id}&office={ann.office_id}"))
    assert mine.one("dd", id="total-messages").text == "9"

    team_views(session, False)  # off: everyone's again
    assert client.get(f"/dashboard?user={bob.id}").status_code == 200


def test_an_id_that_is_no_user_or_office_is_named_beside_its_field(client, login, seeded):
    login("team-leader")
    response = client.get("/dashboard?user=999999&office=888888")
    assert response.status_code == 400
    page = html(response)
    assert (
        page.one("span", id="user-error").text == "There is no such user; choose one from the list."
    )
    assert page.one("span", id="office-error").text.startswith("There is no such office")
    assert page.one("select", id="user").get("aria-describedby") == "user-error"
    assert page.one("h2", id="results-heading").text == "Everyone’s last 30 days"
    assert "No such user" not in page.text


@pytest.mark.parametrize("query", ["user=abc", "office=abc", "office=", "user=0"])
def test_a_consultant_may_not_filter_at_all(client, seeded, query):
    sign_in(client, seeded["ann"])
    response = client.get(f"/dashboard?{query}")
    expected = 200 if query == "office=" else 403  # an empty field is no filter
    assert response.status_code == expected
    assert "Choose a" not in response.get_data(as_text=True)


def test_a_resend_leaves_the_consultants_figures_as_sent_lists_them(
    app, client, session, make_user, three_people, monkeypatch
):
    """A team leader's resent copies carried the leader's sender_id: the dashboard counted them
    as the leader's, while Sent and its CSV list them in the consultant's batch. Resend is the
    sender's only now; the leader is refused, the consultant's copies are theirs."""
    from tests.web.test_sent import counts_of, rows, sent_batch

    monkeypatch.setattr(routes, "now", lambda: datetime.now(UTC))  # the batch is sent today
    casey = make_user("casey-dash", full_name="Casey Dash")
    batch = sent_batch(session, casey, three_people, states=("delivered", "failed", "failed"))
    lee = make_user("lee-dash", role="team-leader", full_name="Lee Dash")
    sign_in(client, lee)
    response = client.post(f"/sms/batches/{batch.id}/resend", data={"states": "failed"})
    assert response.status_code == 403

    consultant = app.test_client()
    sign_in(consultant, casey)
    response = consultant.post(f"/sms/batches/{batch.id}/resend", data={"states": "failed"})
    assert response.status_code == 303
    [row] = rows(consultant.get("/sms/sent"))
    assert counts_of(row) == ["1 delivered", "2 queued"]
    theirs, chosen = consultant.get("/dashboard"), client.get(f"/dashboard?user={casey.id}")
    for page in (html(theirs), html(chosen)):
        assert page.one("dd", id="total-messages").text == "3"
        totals = footer(page, "messages-data")
        assert (totals["Delivered"], totals["Still queued"], totals["All"]) == ("1", "2", "3")
    leader = html(client.get(f"/dashboard?user={lee.id}"))
    assert leader.one("dd", id="total-messages").text == "0"
    senders = table(html(client.get("/dashboard")), "senders-data")
    assert senders == {"Casey Dash": {"Messages": "3", "Parts": "0"}}


def test_a_day_with_a_delivery_has_a_rate_column_however_low(client, session, seeded):
    """1 of 250 delivered is 0.4 %: rounded to 0, no column was drawn, which the chart's
    description says means none finished or none was delivered."""
    ann = seeded["ann"]
    add_many(session, ann, at(25), delivered=1, failed=249)
    sign_in(client, ann)
    page = html(client.get("/dashboard"))
    assert table(page, "rate-data")["25 Nov"] == {
        "Delivered": "1",
        "Finished": "250",
        "Rate": "0.4 %",
    }
    drawn = bars(page, "rate")
    assert float(drawn[("25 Nov", "rate")]["height"]) > 0
    assert ("29 Nov", "rate") not in drawn  # 2 finished, none delivered: no column
    assert ("27 Nov", "rate") not in drawn  # none finished


def test_with_nothing_finished_the_rate_says_so(client, session, make_user):
    """It read "— of the 0 messages that finished were delivered."."""
    quiet = make_user("quiet-dash")
    sign_in(client, quiet)
    said = html(client.get("/dashboard")).one("p", class_="rate-figure").text
    assert said == "No message finished in these 30 days."
    add_message(session, quiet, at(29, 12), state="sent")  # 11 pm on the 29th: still awaited
    said = html(client.get("/dashboard")).one("p", class_="rate-figure").text
    assert said == "No message finished in these 30 days (1 still awaits a receipt)."


def add_many(session, sender, at_: datetime, **states: int) -> None:
    """`states` (state → how many) of `sender`'s messages queued at `at_`, in one commit."""
    session.add_all(
        Message(
            sender_id=sender.id,
            to_e164="+61412345678",
            body="Hi",
            provider="sandbox",
            state=state,
            created_at=at_,
        )
        for state, count in states.items()
        for _ in range(count)
    )
    session.commit()


def test_some_failed_is_never_a_100_or_0_percent_rate(client, session, make_user):
    """2,999 delivered and 1 failed read "100.0 %" (rounded to 0.1); 1 of 2,500 read "0.0 %" in
    the table under a drawn column."""
    sender = make_user("rate-dash")
    add_many(session, sender, at(28), delivered=2999, failed=1)
    add_many(session, sender, at(25), delivered=1, failed=2499)
    add_many(session, sender, at(24), delivered=4)
    sign_in(client, sender)
    page = html(client.get("/dashboard"))
    rates = table(page, "rate-data")
    assert rates["28 Nov"] == {"Delivered": "2,999", "Finished": "3,000", "Rate": "99.9 %"}
    assert rates["25 Nov"] == {"Delivered": "1", "Finished": "2,500", "Rate": "0.1 %"}
    assert rates["24 Nov"]["Rate"] == "100.0 %"  # all delivered: 100 it is
    drawn = bars(page, "rate")
    assert drawn[("28 Nov", "rate")]["data-value"] == "99"  # short of a full column
    assert drawn[("25 Nov", "rate")]["data-value"] == "1"
    assert drawn[("24 Nov", "rate")]["data-value"] == "100"

    # The 28th alone: the headline and the sentence under it say the same.
    session.execute(sa.delete(Message).where(Message.created_at != at(28)))
    session.commit()
    page = html(client.get("/dashboard"))
    assert page.one("dd", id="delivery-rate").text == "99.9 %"
    said = page.one("p", class_="rate-figure").text
    assert said == "99.9 % of the 3,000 messages that finished were delivered."


def test_users_sharing_a_name_are_told_apart_by_username(client, login, session, make_user):
    """Two "Casey Consultant"s were listed, headed and tabled alike: ?user= of either read
    "Casey Consultant’s last 30 days"."""
    first = make_user("casey-dash", full_name="Casey Consultant")
    second = make_user("casey2", full_name="Casey Consultant")
    make_user("ann-dash", full_name="Ann Dash")
    add_message(session, first, at(28))
    add_message(session, second, at(28), segments=2)
    login("team-leader", full_name="Lee Lead")
    page = html(client.get("/dashboard"))
    names = options(page, "user")
    assert "Casey Consultant (casey-dash)" in names and "Casey Consultant (casey2)" in names
    assert "Ann Dash" in names and "Casey Consultant" not in names  # a name of its own stays bare
    assert table(page, "senders-data") == {
        "Casey Consultant (casey2)": {"Messages": "1", "Parts": "2"},
        "Casey Consultant (casey-dash)": {"Messages": "1", "Parts": "1"},
    }
    for user, username in ((first, "casey-dash"), (second, "casey2")):
        page = html(client.get(f"/dashboard?user={user.id}"))
        heading = page.one("h2", id="results-heading").text
        assert heading == f"Casey Consultant ({username})’s last 30 days"
        chosen = [o.text for o in page.all("option") if "selected" in o.attrs]
        assert chosen == [f"Casey Consultant ({username})"]


def test_a_team_limited_leader_chooses_your_team_not_everyone(client, login, session, seeded):
    """Headed "Your team’s last 30 days", the list's first choice and the way back said
    "Everyone"."""
    ann = seeded["ann"]
    login("team-leader", full_name="Lee Perth", office="Perth")
    team_views(session, True)
    page = html(client.get(f"/dashboard?user={ann.id}"))
    assert options(page, "user")[0] == "Your team"
    assert everyone_links(page.one("form", id="dashboard-filters")) == [("Your team", "/dashboard")]
    fragment = html(client.get(f"/dashboard?user={ann.id}", htmx=True))
    assert everyone_links(fragment) == [("Your team", "/dashboard")]
    assert "Everyone" not in client.get(f"/dashboard?user={ann.id}").get_data(as_text=True)

    team_views(session, False)
    page = html(client.get(f"/dashboard?user={ann.id}"))
    assert options(page, "user")[0] == "Everyone"
    assert everyone_links(page.one("form", id="dashboard-filters")) == [("Everyone", "/dashboard")]


def test_a_choice_says_to_a_screen_reader_whose_figures_these_are(client, login, seeded):
    """Choosing a user swapped the figures in silence: #live-status stayed empty, where the other
    lists say what they found."""
    login("team-leader")

    def said(query: str) -> str:
        (status,) = html(client.get(f"/dashboard?{query}", htmx=True)).all("div", id="live-status")
        assert status.get("hx-swap-oob") == "innerHTML"
        return status.text

    assert said(f"user={seeded['bob'].id}") == "Bob Dash’s last 30 days: 5 messages"
    assert (
        said(f"office={seeded['ann'].office_id}") == "The Perth office’s last 30 days: 9 messages"
    )
    assert said("user=") == "Everyone’s last 30 days: 14 messages"
    assert html(client.get("/dashboard")).one("div", id="live-status").text == ""


def test_the_choice_is_not_put_back_as_left_by_back(client, login, seeded):
    """Without JavaScript, Back loads the page again from its address, and Chromium put back the
    User chosen (Casey over everyone's figures); autocomplete="off" on the form keeps the list as
    the address says."""
    login("team-leader")
    form = html(client.get("/dashboard")).one("form", id="dashboard-filters")
    assert form.get("autocomplete") == "off" and form.one("select", id="user")
