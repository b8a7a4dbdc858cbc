"""The conversation on a record: sent and received in one thread in time order, who sent each SMS
and its state, batch links only for those the batch page would open for, the thread refreshing
itself while an SMS is on its way; and the reply email that links to it and names the person."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import PASSWORD
from tests.html_tree import html
from tests.replying import receive, rows, send_sms
from webapp.models import Email, Message
from webapp.sms import history, replies
from webapp.sms.replies import SUBJECT_NAME_MAX
from webapp.web import sessions

PUBLIC = "https://desk.example.com"


@pytest.fixture
def app_settings():
    return {"PUBLIC_BASE_URL": PUBLIC}


@pytest.fixture
def ada(make_candidate):
    return make_candidate("Ada", "Lovelace", "0412 345 678")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 2, hour, minute, tzinfo=UTC)


def restamp(session, message: Message, when: datetime) -> None:
    """Move a message to `when`, so the thread's order is the test's to choose."""
    session.get(Message, message.id).created_at = when
    session.commit()


@pytest.fixture
def thread(app, session, ada, casey, make_user):
    """Casey's SMS at 09:00, Ada's reply at 09:30, Dana's SMS at 10:00, Ada's second reply at
    11:00."""
    dana = make_user("dana", role="consultant", full_name="Dana Scully")
    [first] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, free Monday?")
    answer = receive(app, session, "Yes, Monday", reference=first.uuid)
    [second] = send_sms(app, session, dana, [ada], body="And Tuesday?")
    later = receive(app, session, "Tuesday too", reference=second.uuid)
    for message, when in ((first, at(9)), (answer, at(9, 30)), (second, at(10)), (later, at(11))):
        restamp(session, message, when)
    return {"casey": casey, "dana": dana, "messages": [first, answer, second, later]}


def pill(item, state: str):
    """The item's state pill for `state` (the badges macro's span, however else styled)."""
    [found] = [s for s in item.all("span") if f"state-{state}" in s.get("class", "").split()]
    return found


def history_of(response):
    return html(response).one("section", id="history")


def items(section) -> list:
    return section.one("ol", class_="history").all("li")


def test_the_conversation_shows_sent_and_received_in_one_thread_in_time_order(
    client, login, ada, thread
):
    login("consultant")
    section = history_of(client.get(f"/candidates/{ada.id}"))
    shown = items(section)
    assert [li.get("id") for li in shown] == [f"message-{m.id}" for m in thread["messages"]]
    assert [li.get("class") for li in shown] == ["sms-out", "sms-in", "sms-out", "sms-in"]
    assert "Hi Ada, free Monday?" in shown[0].text and "Yes, Monday" in shown[1].text
    # A reply says which message it answers, linked within the thread.
    link = shown[1].one("a")
    assert link.get("href") == f"#message-{thread['messages'][0].id}"


def test_each_sent_sms_says_who_sent_it_and_its_state(client, login, session, ada, thread):
    first = thread["messages"][0]
    session.get(Message, first.id).state = "delivered"
    session.commit()
    login("viewer")
    shown = items(history_of(client.get(f"/candidates/{ada.id}")))
    assert shown[0].text.startswith("Sent by Casey Jones")
    assert shown[2].text.startswith("Sent by Dana Scully")
    assert pill(shown[0], "delivered").text == "delivered"
    assert "pill" in pill(shown[0], "delivered").get("class").split()
    assert pill(shown[2], "sent").text == "sent"


@pytest.mark.parametrize(
    "role, links",
    [("viewer", []), ("consultant", []), ("team-leader", ["casey", "dana"])],
)
def test_a_batch_link_shows_only_where_the_viewer_may_open_the_batch(
    client, login, ada, thread, role, links
):
    login(role)
    shown = items(history_of(client.get(f"/candidates/{ada.id}")))
    batch_links = [a.get("href") for li in shown[::2] for a in li.all("a")]
    expected = {
        "casey": f"/sms/batches/{thread['messages'][0].batch_id}",
        "dana": f"/sms/batches/{thread['messages'][2].batch_id}",
    }
    assert batch_links == [expected[name] for name in links]
    for href in batch_links:  # each link opens for them
        assert client.get(href).status_code == 200


def test_the_sender_sees_the_link_to_their_own_batch_only(client, ada, thread):
    client.login(thread["casey"].username, PASSWORD)
    shown = items(history_of(client.get(f"/candidates/{ada.id}")))
    assert [a.get("href") for a in shown[0].all("a")] == [
        f"/sms/batches/{thread['messages'][0].batch_id}"
    ]
    assert shown[2].all("a") == []


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx-fragment"])
def test_the_all_tab_is_the_default_and_the_sent_and_received_tabs_filter_it(
    client, login, ada, thread, htmx
):
    login("consultant")
    first, answer, second, later = thread["messages"]
    everything = history_of(client.get(f"/candidates/{ada.id}?tab=all", htmx=htmx))
    tabs = {a.text: a for a in everything.one("nav").all("a")}
    assert tabs["All"].get("aria-current") == "page"
    # A tab fetches the tabs and the thread alone: the Quick reply under them, which may hold
    # typed text, stays as it is; the link keeps its id, so the focus stays on it.
    assert tabs["All"].get("hx-get") == f"/candidates/{ada.id}?tab=all&part=thread"
    assert tabs["All"].get("hx-target") == "#conversation"
    assert tabs["All"].get("hx-push-url") == f"/candidates/{ada.id}?tab=all"
    assert tabs["All"].get("id") == "history-tab-all"
    fetched = html(client.get(tabs["Sent"].get("hx-get"), htmx=True))
    [conversation] = fetched.elements
    assert conversation.get("id") == "conversation" and not conversation.all("form")
    current = conversation.one("nav").one("a", aria_current="page")
    assert current.text == "Sent"
    # The tab a Quick reply comes back to, outside the form it belongs to.
    assert conversation.one("input", name="tab", form="quick-reply").get("value") == "sent"
    sent = history_of(client.get(f"/candidates/{ada.id}?tab=sent", htmx=htmx))
    assert [li.get("id") for li in sent.all("li", class_="sms-out")] == [
        f"message-{first.id}",
        f"message-{second.id}",
    ]
    assert not sent.all("li", class_="sms-in")
    received = history_of(client.get(f"/candidates/{ada.id}?tab=received", htmx=htmx))
    assert [li.get("id") for li in items(received)] == [
        f"message-{answer.id}",
        f"message-{later.id}",
    ]


def test_the_thread_refreshes_itself_only_while_an_sms_is_on_its_way(
    app, client, login, session, ada, casey
):
    login("consultant")
    [queued] = send_sms(app, session, casey, [ada], body="On its way", dispatch=False)
    polling = html(client.get(f"/candidates/{ada.id}")).one("div", id="conversation")
    assert polling.get("hx-trigger") == "every 3s"
    assert polling.get("hx-get") == f"/candidates/{ada.id}?tab=all&part=thread"
    # A poll that does not count as the user's doing (an idle session still ends).
    assert polling.get("id") in sessions.POLLING

    # What the poll gets: the tabs and the thread alone (never the Quick reply, which may hold
    # typed text).
    session.get(Message, queued.id).state = "delivered"
    session.commit()
    polled = client.get(f"/candidates/{ada.id}?tab=all&part=thread", htmx=True)
    [only] = html(polled).elements
    assert (only.tag, only.get("id")) == ("div", "conversation")
    assert "hx-trigger" not in only.attrs
    assert not only.all("form") and not only.all("textarea")
    assert pill(only.one("div", id="thread"), "delivered").text == "delivered"


def test_a_long_history_shows_the_latest_messages_oldest_first(
    app, client, login, session, ada, casey, monkeypatch
):
    monkeypatch.setattr(history, "SHOWN", 2)
    login("consultant")
    sent = [
        send_sms(app, session, casey, [ada], body=f"Message {n}", dispatch=False)[0]
        for n in range(3)
    ]
    for n, message in enumerate(sent):
        restamp(session, message, at(9, n))
    section = history_of(client.get(f"/candidates/{ada.id}"))
    assert [li.get("id") for li in items(section)] == [f"message-{m.id}" for m in sent[1:]]
    assert "The latest 2 messages, oldest first." in section.text


# --- the reply email -----------------------------------------------------------------------------


def test_the_reply_email_links_to_the_reply_in_the_conversation(
    app, client, login, session, ada, casey
):
    [sent] = send_sms(app, session, casey, [ada], body="Hi {{first_name}}, free Monday?")
    answer = receive(app, session, "Yes, Monday", reference=sent.uuid)
    [email] = rows(session, Email)
    # The inbox's Open, with the key that lets it mark the reply read for Casey, then the record
    # at the reply.
    key = replies.open_key(answer.id, casey.id, app.config["SECRET_KEY"])
    link = f"{PUBLIC}/sms/replies/{answer.id}/open?key={key}"
    assert f"Conversation: {link}" in email.body.splitlines()
    assert email.subject == "SMS reply from Ada Lovelace (+61412345678)"
    client.login(casey.username)
    opened = client.get(link.removeprefix(PUBLIC))
    assert opened.headers["Location"] == f"/candidates/{ada.id}#message-{answer.id}"
    # The anchor is the reply, in the thread the link opens.
    page = client.get(opened.headers["Location"])
    assert "Yes, Monday" in html(page).one("li", id=f"message-{answer.id}").text


def test_the_reply_email_subject_names_the_person_sanitised_and_cut(
    app, session, make_candidate, casey
):
    hostile = "Ma\u202eroN\r\nBcc: eve@example.com " + "Long" * 40
    person = make_candidate("Zoë", hostile, "0412 345 678")
    [sent] = send_sms(app, session, casey, [person])
    receive(app, session, "Yes", reference=sent.uuid)
    [email] = rows(session, Email)
    subject = email.subject
    assert subject.startswith("SMS reply from Zoë MaroN Bcc: eve@example.com Long")
    assert subject.endswith("… (+61412345678)")
    assert "\u202e" not in subject and "\r" not in subject and "\n" not in subject
    name = subject.removeprefix("SMS reply from ").removesuffix(" (+61412345678)")
    assert len(name) == SUBJECT_NAME_MAX


@pytest.mark.parametrize("tab", ["all", "sent"])
def test_a_candidate_and_a_contact_with_the_same_id_each_show_their_own_messages(
    app, session, client, login, casey, ada, make_contact, tab
):
    # A record's statements are built once per kind of person: each must keep to its own kind.
    grace = make_contact()
    assert grace.id == ada.id
    [to_ada] = send_sms(app, session, casey, [ada], body="Hi Ada")
    [to_grace] = send_sms(app, session, casey, [grace], kind="contacts", body="Hi Grace")
    login("consultant")
    for path, mine in ((f"/contacts/{grace.id}", to_grace), (f"/candidates/{ada.id}", to_ada)):
        shown = history_of(client.get(f"{path}?tab={tab}"))
        assert [li.get("id") for li in items(shown)] == [f"message-{mine.id}"], path
