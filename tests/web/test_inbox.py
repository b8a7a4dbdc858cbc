"""The Replies inbox: replies to my messages newest first with the person, the reply, the message it
answers and when; unread in bold and counted beside the Replies link (refreshed by a poll that is
not activity); mark read / unread (POST, then back to the list; a fragment for htmx); opening one
marks it read and goes to the person's record; everyone's for audit.view only. As consultant,
team leader and viewer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from tests.html_tree import html
from tests.replying import receive, rows, send_sms
from tests.statements import recorded
from webapp.models import Email, Message
from webapp.sms import history, inbox, replies

MINUTE = 60


@pytest.fixture
def bob(make_candidate):
    return make_candidate("Bob", "Brown", "0400 111 222")


@pytest.fixture
def conversation(app, session, casey, ada, bob):
    """Casey texted Ada and Bob; Ada answered, then Bob (a minute later): both unread."""
    first, second = send_sms(
        app, session, casey, [ada, bob], body="Hi {{first_name}}, free Monday?"
    )
    from_ada = receive(app, session, "Yes, Monday works", reference=first.uuid)
    from_bob = receive(app, session, "Not this week", from_number="61400111222")
    at = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    for reply, when in ((from_ada, at), (from_bob, at + timedelta(minutes=1))):
        session.get(Message, reply.id).created_at = when
    session.commit()
    return {"ada": from_ada.id, "bob": from_bob.id, "answered": first.id}


def as_casey(client):
    assert client.login("casey").status_code == 302


def listed(response) -> list:
    bodies = html(response).one("section", id="results").all("tbody")
    return bodies[0].all("tr") if bodies else []


def listed_ids(response) -> list[int]:
    return [int(row.get("id").removeprefix("reply-")) for row in listed(response)]


def replies_link(response) -> str:
    """The Replies link's text in the wide navigation, e.g. "Replies 2"."""
    nav = html(response).one("nav", aria_label="Main")
    [link] = [a for a in nav.all("a") if a.get("href") == "/sms/replies"]
    return link.text


def read_at(session, reply_id: int):
    return rows(session, Message, Message.id == reply_id)[0].read_at


def test_my_replies_newest_first_with_person_reply_answered_message_and_when(
    client, session, conversation, make_user, make_candidate, app, ada
):
    other = make_user(role="consultant")
    [theirs] = send_sms(app, session, other, [make_candidate("Cy", "Dee", "0400 333 444")])
    receive(app, session, "Not for Casey", reference=theirs.uuid)
    receive(app, session, "Who is this?", from_number="61499888777")  # matches nobody
    as_casey(client)

    response = client.get("/sms/replies")

    assert response.status_code == 200
    assert listed_ids(response) == [conversation["bob"], conversation["ada"]]
    ada_row = listed(response)[1]
    cells = ada_row.all("td")
    assert cells[0].text == "2 Mar 2026, 8:15 pm AEDT"  # 09:15 UTC, in Sydney
    assert cells[0].one("time").get("datetime") == "2026-03-02T09:15:00+00:00"
    assert cells[1].text.startswith("Ada Lovelace (candidate)")
    assert cells[1].one("bdi").text == "Ada Lovelace"  # a right-to-left name keeps its "(" right
    assert cells[2].one("span", class_="sms-text lines").text == "Yes, Monday works"
    assert cells[3].text == "“Hi Ada, free Monday?”"
    # Unread: in bold (the row's class) and said in words for a screen reader.
    assert ada_row.get("class") == "unread"
    assert cells[2].one("span", class_="visually-hidden").text == "Unread:"
    page = response.get_data(as_text=True)
    assert "Not for Casey" not in page and "Who is this?" not in page


def test_a_reply_keeps_its_line_breaks_on_the_replies_page(client, session, app, casey, ada):
    [sent] = send_sms(app, session, casey, [ada])
    receive(app, session, "Call me please\nMon: busy\nTue: free", reference=sent.uuid)
    as_casey(client)

    [row] = listed(client.get("/sms/replies"))

    # .lines keeps them (white-space: pre-line); they showed as one run-on line.
    assert row.one("span", class_="sms-text lines").children == [
        "Call me please\nMon: busy\nTue: free"
    ]


def test_the_replies_link_shows_my_unread_count_on_every_page(client, session, conversation):
    as_casey(client)

    assert replies_link(client.get("/candidates")) == "Replies 2"
    client.post(f"/sms/replies/{conversation['ada']}/read")
    assert replies_link(client.get("/candidates")) == "Replies 1"
    client.post(f"/sms/replies/{conversation['bob']}/read")
    assert replies_link(client.get("/sms/sent")) == "Replies"


def test_mark_read_and_unread_without_javascript_post_then_redirect(client, session, conversation):
    as_casey(client)
    reply = conversation["ada"]
    form = listed(client.get("/sms/replies"))[1].one("form", action=f"/sms/replies/{reply}/read")
    assert form.get("method") == "post"
    assert (
        form.one("button").text
        == "Mark read the reply from Ada Lovelace, 2 Mar 2026, 8:15:00 pm AEDT"
    )

    response = client.post(form.get("action"))

    assert response.status_code == 303
    assert response.headers["Location"] == f"/sms/replies#reply-{reply}"
    assert read_at(session, reply) is not None
    row = listed(client.get("/sms/replies"))[1]
    assert row.get("class") is None
    assert (
        row.one("form", action=f"/sms/replies/{reply}/unread")
        .one("button")
        .text.startswith("Mark unread")
    )

    assert client.post(f"/sms/replies/{reply}/unread").status_code == 303
    assert read_at(session, reply) is None


def test_mark_read_with_htmx_answers_the_list_and_the_new_count(client, session, conversation):
    as_casey(client)

    response = client.post(
        f"/sms/replies/{conversation['bob']}/read", htmx=True, follow_redirects=True
    )

    assert response.status_code == 200
    doc = html(response)
    assert [(n.tag, n.get("id") or n.get("class")) for n in doc.elements] == [
        ("span", "unread-count"),
        ("section", "results"),
    ]
    count = doc.elements[0]
    assert count.get("hx-swap-oob") == "outerHTML:.unread-count"
    assert count.text == "1"
    bob_row = doc.one("tr", id=f"reply-{conversation['bob']}")
    assert bob_row.get("class") is None


def one_a_page(monkeypatch) -> None:
    """Pages of one reply: Bob's on page 1, Ada's on page 2 (and each newer one before them)."""
    monkeypatch.setattr(inbox, "PAGE_SIZE", 1)


def newer_reply(app, session, conversation, at: datetime | None = None) -> int:
    """Ada answers again after the list was drawn (at `at`, or now): the rest move a page on."""
    answered = session.get(Message, conversation["answered"]).uuid
    session.commit()  # the read ends: the reply is written from the app
    reply = receive(app, session, "Also Tuesday", reference=answered)
    if at is not None:
        session.get(Message, reply.id).created_at = at
        session.commit()
    return reply.id


def test_marking_keeps_the_page_and_whose_list(client, session, login, conversation, monkeypatch):
    one_a_page(monkeypatch)
    login("team-leader")

    response = client.post(
        f"/sms/replies/{conversation['ada']}/read", data={"who": "everyone", "page": "2"}
    )

    assert (
        response.headers["Location"]
        == f"/sms/replies?who=everyone&page=2#reply-{conversation['ada']}"
    )


@pytest.mark.parametrize("read", [True, False])
def test_marking_a_reply_newer_ones_moved_goes_to_the_page_that_holds_it_now(
    app, client, session, conversation, monkeypatch, read
):
    """It went back to the page the form was on, which no longer held the reply: the anchor found
    nothing (and with htmx the button, and the focus, were gone)."""
    one_a_page(monkeypatch)
    as_casey(client)
    bob = conversation["bob"]
    if not read:
        client.post(f"/sms/replies/{bob}/read")
    assert listed_ids(client.get("/sms/replies")) == [bob]  # page 1, as drawn
    newer_reply(app, session, conversation)

    response = client.post(f"/sms/replies/{bob}/{'read' if read else 'unread'}")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/sms/replies?page=2#reply-{bob}"
    assert listed_ids(client.get(response.headers["Location"])) == [bob]
    assert (read_at(session, bob) is not None) is read


def test_marking_with_htmx_answers_the_page_that_holds_the_reply_now(
    app, client, session, conversation, monkeypatch
):
    one_a_page(monkeypatch)
    as_casey(client)
    bob = conversation["bob"]
    newer_reply(app, session, conversation)

    response = client.post(f"/sms/replies/{bob}/read", htmx=True, follow_redirects=True)

    assert response.status_code == 200
    assert listed_ids(response) == [bob]
    results = html(response).one("section", id="results")
    assert results.one("h2").text == "Replies to your messages, page 2"
    # The button the focus was on is there again by its id; htmx gives the focus back to it
    # (scrolled into view: the page's htmx-config has defaultFocusScroll), and puts the page's
    # address in the address bar.
    form = results.one("button", id=f"mark-{bob}").parent
    assert form.get("hx-replace-url") == "true"
    assert form.one("input", name="page").get("value") == "2"


def test_a_reply_as_new_as_a_later_one_is_after_it_as_the_list_has_them(
    app, client, session, conversation, monkeypatch
):
    """Newest first, the higher id first among replies of the same second: counted the same way."""
    one_a_page(monkeypatch)
    as_casey(client)
    bob = conversation["bob"]
    same_time = newer_reply(app, session, conversation, at=datetime(2026, 3, 2, 9, 16, tzinfo=UTC))
    assert listed_ids(client.get("/sms/replies")) == [same_time]

    response = client.post(f"/sms/replies/{bob}/read")

    assert response.headers["Location"] == f"/sms/replies?page=2#reply-{bob}"
    assert listed_ids(client.get(response.headers["Location"])) == [bob]
    assert (
        client.post(f"/sms/replies/{same_time}/read", data={"page": "2"}).headers["Location"]
        == f"/sms/replies#reply-{same_time}"
    )


def test_marking_in_everyones_replies_goes_to_their_page_that_holds_it(
    app, client, session, login, conversation, monkeypatch
):
    one_a_page(monkeypatch)
    login("team-leader")
    bob = conversation["bob"]
    newer_reply(app, session, conversation)

    response = client.post(f"/sms/replies/{bob}/read", data={"who": "everyone"})

    assert response.headers["Location"] == f"/sms/replies?who=everyone&page=2#reply-{bob}"
    assert listed_ids(client.get(response.headers["Location"])) == [bob]


def test_marking_a_reply_the_list_does_not_hold_keeps_the_page_posted(
    client, session, login, conversation, monkeypatch
):
    """A team leader's own list holds none of Casey's replies: there is no page of it to find."""
    one_a_page(monkeypatch)
    login("team-leader")

    response = client.post(f"/sms/replies/{conversation['ada']}/read", data={"page": "3"})

    assert response.headers["Location"] == f"/sms/replies?page=3#reply-{conversation['ada']}"


def test_opening_my_reply_marks_it_read_and_goes_to_the_persons_record(
    client, session, conversation, ada
):
    as_casey(client)
    form = listed(client.get("/sms/replies"))[1].one(
        "form", action=f"/sms/replies/{conversation['ada']}/open"
    )
    assert (
        form.one("button").text == "Open the reply from Ada Lovelace, 2 Mar 2026, 8:15:00 pm AEDT"
    )

    response = client.post(form.get("action"))

    assert response.status_code == 303
    assert response.headers["Location"] == f"/candidates/{ada.id}#message-{conversation['ada']}"
    assert read_at(session, conversation["ada"]) is not None
    assert read_at(session, conversation["bob"]) is None
    record = client.get(response.headers["Location"])
    assert record.status_code == 200
    assert "Yes, Monday works" in record.get_data(as_text=True)


def test_the_reply_emails_link_marks_the_reply_read_for_its_consultant_and_opens_it(
    client, session, login, conversation, ada
):
    """Reading a reply from its email never marked it read: the link went to the record, and
    only the inbox's Open (a POST) did."""
    [email] = rows(session, Email, Email.message_id == conversation["ada"])
    link = urlsplit(replies.email_link(email.body))
    assert link.path == f"/sms/replies/{conversation['ada']}/open"
    path = f"{link.path}?{link.query}"

    # Signed out: to the sign-in page first, nothing read.
    assert client.get(path).status_code == 302
    assert read_at(session, conversation["ada"]) is None
    # A team leader following it (a forwarded email) sees the reply, and leaves it unread.
    session.rollback()
    login("team-leader")
    opened = client.get(path)
    assert opened.headers["Location"] == f"/candidates/{ada.id}#message-{conversation['ada']}"
    assert read_at(session, conversation["ada"]) is None
    client.post("/logout")
    # Another consultant: not theirs to see.
    session.rollback()
    login("consultant")
    assert client.get(path).status_code == 404
    client.post("/logout")

    as_casey(client)
    opened = client.get(path)

    assert opened.status_code == 303
    assert opened.headers["Location"] == f"/candidates/{ada.id}#message-{conversation['ada']}"
    assert read_at(session, conversation["ada"]) is not None
    assert read_at(session, conversation["bob"]) is None


def test_a_reply_matched_by_the_number_alone_is_in_its_consultants_replies_and_email_opens_it(
    app, client, session, casey, ada
):
    """Ada answers from a new number, found on her record alone (no message of ours went to it):
    the reply was nobody's, so in nobody's Replies and never read from its email's link."""
    send_sms(app, session, casey, [ada])
    ada.set_mobile("0400 999 888", "AU")
    session.commit()
    reply = receive(app, session, "New number, still keen", from_number="61400999888")
    [email] = rows(session, Email, Email.message_id == reply.id)
    link = urlsplit(replies.email_link(email.body))
    as_casey(client)

    mine = client.get("/sms/replies")
    assert listed_ids(mine) == [reply.id]
    assert replies_link(mine) == "Replies 1"
    opened = client.get(f"{link.path}?{link.query}")

    assert opened.status_code == 303
    assert opened.headers["Location"] == f"/candidates/{ada.id}#message-{reply.id}"
    assert read_at(session, reply.id) is not None


# A key with a character beyond ASCII ("é") was a 500: compare_digest refuses such a str.
@pytest.mark.parametrize("key", [None, "", "0" * 32, "%C3%A9"])
def test_opening_a_reply_by_a_get_without_the_emails_key_leaves_it_unread(
    client, session, conversation, ada, key
):
    """SameSite=Lax sends the session cookie with another site's link or GET form, which can
    guess reply ids: without the key the email's link carries, a GET only opens the reply."""
    as_casey(client)
    path = f"/sms/replies/{conversation['ada']}/open"

    opened = client.get(path if key is None else f"{path}?key={key}")

    assert opened.status_code == 303
    assert opened.headers["Location"] == f"/candidates/{ada.id}#message-{conversation['ada']}"
    assert read_at(session, conversation["ada"]) is None


def test_opening_a_reply_older_than_the_thread_shows_goes_to_the_received_tab(
    app, client, session, conversation, ada, casey, monkeypatch, request
):
    """All shows the latest SHOWN messages: a reply older than those was linked on All, where its
    anchor found nothing."""
    monkeypatch.setattr(history, "SHOWN", 2)
    # The thread's statements are built once, with the limit in them: built again for the test's
    # and again after it (monkeypatch's undoing comes after this finalizer: last in, first out).
    history._latest.cache_clear()
    request.addfinalizer(history._latest.cache_clear)
    reply_id = conversation["ada"]
    for n in range(2):  # two SMS since the reply: All no longer shows it
        send_sms(app, session, casey, [ada], body=f"Later note {n}", dispatch=False)
    as_casey(client)
    assert html(client.get(f"/candidates/{ada.id}")).all("li", id=f"message-{reply_id}") == []

    response = client.post(f"/sms/replies/{reply_id}/open")

    location = response.headers["Location"]
    assert location == f"/candidates/{ada.id}?tab=received#message-{reply_id}"
    record = html(client.get(location))
    assert record.one("li", id=f"message-{reply_id}").one("blockquote").text == "Yes, Monday works"

    # Two replies since as well: too old for Received too, it goes to the thread, All.
    answered = session.get(Message, conversation["answered"]).uuid
    session.commit()  # the read ends: the replies are written from the app
    for n in range(2):
        receive(app, session, f"Later reply {n}", reference=answered)
    response = client.post(f"/sms/replies/{reply_id}/open")
    assert response.headers["Location"] == f"/candidates/{ada.id}#message-{reply_id}"


def test_a_team_leader_sees_everyones_replies_and_opening_one_leaves_it_unread(
    client, session, login, conversation, ada
):
    login("team-leader")

    mine = client.get("/sms/replies")
    assert listed_ids(mine) == []
    assert replies_link(mine) == "Replies"
    response = client.get("/sms/replies?who=everyone")

    assert response.status_code == 200
    assert listed_ids(response) == [conversation["bob"], conversation["ada"]]
    doc = html(response)
    assert [a.text for a in doc.one("nav", aria_label="Whose replies").all("a")] == [
        "Mine",
        "Everyone’s",
    ]
    assert doc.one("main").one("a", href="/replies/unmatched").text == "Unmatched replies"
    headers = [th.text for th in doc.one("section", id="results").all("th")]
    assert "To" in headers
    assert listed(response)[0].all("td")[4].text == "Casey Jones"

    opened = client.post(f"/sms/replies/{conversation['ada']}/open")
    assert opened.headers["Location"] == f"/candidates/{ada.id}#message-{conversation['ada']}"
    # Addressed to Casey: a team leader looking does not hide it from her.
    assert read_at(session, conversation["ada"]) is None
    # Marking is deliberate, and allowed.
    assert client.post(f"/sms/replies/{conversation['ada']}/read").status_code == 303
    assert read_at(session, conversation["ada"]) is not None


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "10001"])
@pytest.mark.parametrize("htmx", [False, True])
def test_a_page_that_is_not_a_number_from_1_to_10000_is_refused_as_on_sent(
    client, conversation, page, htmx
):
    """It showed page 1 and said nothing, where Sent and Unmatched replies answer 400 and say
    why."""
    as_casey(client)

    response = client.get("/sms/replies", query_string={"page": page}, htmx=htmx)

    assert response.status_code == 400
    results = html(response).one("section", id="results")
    assert results.one("p", class_="error", role="alert").text == (
        "Page must be a number from 1 to 10,000."
    )
    # The first page below it, as the other lists show theirs.
    assert listed_ids(response) == [conversation["bob"], conversation["ada"]]


def test_each_replys_buttons_name_it_apart_from_the_same_persons_others(
    app, client, session, casey, ada
):
    """Three replies from Ada were "Open the reply from Ada Lovelace" three times: a screen
    reader's list of buttons could not tell them apart."""
    [sent] = send_sms(app, session, casey, [ada])
    at = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    # Two in one minute, a second apart: the names go to the second.
    for seconds, text in ((0, "Yes"), (1, "Monday"), (MINUTE, "Thanks")):
        reply = receive(app, session, text, reference=sent.uuid)
        session.get(Message, reply.id).created_at = at + timedelta(seconds=seconds)
    session.commit()
    as_casey(client)

    rows = listed(client.get("/sms/replies"))

    for action in ("Open", "Mark read"):
        names = [
            button.text
            for row in rows
            for button in row.all("button")
            if button.text.startswith(action)
        ]
        assert names == [
            f"{action} the reply from Ada Lovelace, 2 Mar 2026, 8:16:00 pm AEDT",
            f"{action} the reply from Ada Lovelace, 2 Mar 2026, 8:15:01 pm AEDT",
            f"{action} the reply from Ada Lovelace, 2 Mar 2026, 8:15:00 pm AEDT",
        ]


@pytest.mark.parametrize("who", ["everyone", ""])
def test_the_whose_tab_shown_with_htmx_is_the_one_marked_current(client, login, conversation, who):
    """Swapping the list alone left "Mine" marked current over everyone's replies."""
    login("team-leader")
    response = client.get("/sms/replies", query_string={"who": who}, htmx=True)

    assert response.status_code == 200
    tabs = html(response).one("nav", id="whose-tabs")
    assert tabs.get("hx-swap-oob") == "true"
    current = [a.text for a in tabs.all("a") if a.get("aria-current") == "page"]
    assert current == (["Everyone’s"] if who else ["Mine"])


def test_the_whose_tabs_have_ids_so_the_focus_survives_their_redraw(client, login, conversation):
    """htmx puts the focus back only on an element with an id: without them a tab chosen from
    the keyboard dropped it to the page's start when the tabs came back out of band."""
    login("team-leader")
    for response in (
        client.get("/sms/replies"),
        client.get("/sms/replies", query_string={"who": "everyone"}, htmx=True),
    ):
        tabs = html(response).one("nav", id="whose-tabs")
        ids = {a.text: a.get("id") for a in tabs.all("a")}
        assert ids == {"Mine": "whose-tab-mine", "Everyone’s": "whose-tab-everyone"}


def test_a_consultant_sees_only_replies_to_their_own_messages(client, session, login, conversation):
    login("consultant")

    assert listed_ids(client.get("/sms/replies")) == []
    assert "Whose replies" not in client.get("/sms/replies").get_data(as_text=True)
    assert client.get("/sms/replies?who=everyone").status_code == 403
    for action in ("open", "read", "unread"):
        assert client.post(f"/sms/replies/{conversation['ada']}/{action}").status_code == 404
    assert read_at(session, conversation["ada"]) is None


def test_a_viewer_gets_403_everywhere_in_the_inbox(client, session, login, conversation):
    login("viewer")

    assert client.get("/sms/replies").status_code == 403
    assert client.get("/sms/replies/unread", htmx=True).status_code == 403
    for action in ("open", "read", "unread"):
        assert client.post(f"/sms/replies/{conversation['ada']}/{action}").status_code == 403
    assert "unread-poll" not in client.get("/candidates").get_data(as_text=True)


def test_an_outbound_message_is_no_reply(client, session, conversation):
    as_casey(client)
    assert client.post(f"/sms/replies/{conversation['answered']}/read").status_code == 404


def test_the_mark_forms_need_the_csrf_token(client, session, conversation):
    as_casey(client)
    assert client.post(f"/sms/replies/{conversation['ada']}/read", csrf=False).status_code == 400
    assert read_at(session, conversation["ada"]) is None


def test_the_navigation_polls_the_count_once_a_minute(client, session, conversation):
    as_casey(client)
    doc = html(client.get("/candidates"))

    [poll] = doc.all("span", id="unread-poll")
    assert poll.get("hx-get") == "/sms/replies/unread"
    assert poll.get("hx-trigger") == "every 60s"
    assert poll.get("hx-swap") == "none"
    # Both copies of the navigation (wide and folded) carry the count the poll replaces.
    assert [s.text for s in doc.all("span", class_="unread-count")] == ["2", "2"]

    session.rollback()  # no read snapshot older than the requests' writes
    receive(client.application, session, "Also Tuesday", from_number="61412345678")
    response = client.get("/sms/replies/unread", htmx=True, headers={"HX-Trigger": "unread-poll"})

    assert response.status_code == 200
    [count] = html(response).elements
    assert (count.tag, count.get("class"), count.text) == ("span", "unread-count", "3")
    assert count.get("hx-swap-oob") == "outerHTML:.unread-count"
    # Without htmx the address is only a way to the inbox.
    assert client.get("/sms/replies/unread").headers["Location"] == "/sms/replies"


def test_the_inbox_counts_its_unread_only_where_the_poll_refreshes_it(
    client, session, conversation
):
    """The list's own "You have 2 unread" stayed 2 while the polled navigation said 3."""
    as_casey(client)
    page = html(client.get("/sms/replies"))
    counted = [node.text for node in page.all(class_="unread-count")]
    assert set(counted) == {"2"}  # both copies of the navigation
    assert "unread." not in page.one("section", id="results").text


def test_the_poll_does_not_keep_an_idle_session_alive(client, session, conversation, clock):
    as_casey(client)
    for minutes in (30, 59):
        clock(minutes * MINUTE)
        polled = client.get("/sms/replies/unread", htmx=True, headers={"HX-Trigger": "unread-poll"})
        assert polled.status_code == 200
    clock(61 * MINUTE)

    response = client.get("/sms/replies/unread", htmx=True, headers={"HX-Trigger": "unread-poll"})

    assert response.status_code == 401 and "HX-Redirect" in response.headers


def test_the_unread_count_is_one_query_on_the_partial_index(app, session, conversation, casey):
    engine = app.extensions["database"].engine
    casey_id = casey.id
    with recorded(engine) as statements:
        assert inbox.unread_count(session, casey_id) == 2
    assert len(statements) == 1
    with engine.connect() as connection:
        plan = " ".join(
            str(row)
            for row in connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statements[0], (casey_id,)
            )
        )
    assert re.search(r"USING (COVERING )?INDEX ix_messages_unread", plan), plan
