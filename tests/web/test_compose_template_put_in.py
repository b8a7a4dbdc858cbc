"""The SMS screen measures "typed text" against the text a template put into the Message, not the
template's text now: a template edited meanwhile (by a team leader, elsewhere) does not make the
next template ask "The Message holds text you typed. Replace it…?" over nothing typed. And a HEAD of
the screen's link answers as its GET does."""

from __future__ import annotations

import pytest

from tests.html_tree import html as tree
from tests.pages import held, text
from tests.web.test_compose import message_box

QUESTION = "The Message holds text you typed"
REMINDER = "Hi {{first_name}}, a reminder of your interview tomorrow."


@pytest.fixture
def consultant(login):
    return login("consultant")


@pytest.fixture
def reminder(make_template):
    return make_template("Interview reminder", REMINDER)


@pytest.fixture
def welcome(make_template):
    return make_template("Welcome", "Welcome aboard, {{first_name}}.")


def edited_elsewhere(session, template, added: str = " Bring photo ID.") -> None:
    """A team leader adds a sentence to `template` and saves it, in another browser."""
    template.body += added
    session.commit()


def update_url(token: str) -> str:
    return f"/sms/compose/{token}/update"


def token_of(response) -> str:
    """The draft token of the SMS screen in `response`, from its form's address."""
    return tree(response).one("form", id="compose-form").get("action").split("/")[3]


def the_form(response, token: str) -> dict:
    """The screen's form as a browser would post it from `response`."""
    return held(tree(response), update_url(token))


def test_with_htmx_another_template_replaces_one_edited_since_it_was_put_in_without_asking(
    client, consultant, make_candidate, reminder, welcome, session
):
    page = client.get(f"/sms/compose?candidate={make_candidate().id}")
    token = token_of(page)
    used = client.post(
        update_url(token),
        data=the_form(page, token) | {"template_id": str(reminder.id), "action": "use_template"},
        htmx=True,
    )
    assert message_box(text(used)) == REMINDER

    edited_elsewhere(session, reminder)

    fields = the_form(used, token)
    assert fields["message"] == REMINDER  # nothing typed
    answer = client.post(
        update_url(token),
        data=fields | {"template_id": str(welcome.id), "action": "use_template"},
        htmx=True,
    )
    assert answer.status_code == 200
    assert QUESTION not in text(answer)
    assert message_box(text(answer)) == "Welcome aboard, {{first_name}}."


def test_without_js_the_text_put_in_is_carried_through_the_steps_after_an_edit(
    client, consultant, make_candidate, reminder, welcome, session
):
    ada, bob = make_candidate(), make_candidate("Bob", "Brown", "0412 340 000")
    opened = client.post("/sms/compose", data={"kind": "candidates", "ids": [ada.id, bob.id]})
    token = opened.headers["Location"].rsplit("/", 1)[1]
    used = client.post(
        update_url(token),
        data={"template_id": str(reminder.id), "action": "use_template", "message": ""},
    )
    page = client.get(used.headers["Location"])
    assert message_box(text(page)) == REMINDER

    edited_elsewhere(session, reminder)

    # A step after the edit (Remove) redirects to a GET, whose link carries the text put in.
    removed = client.post(update_url(token), data=the_form(page, token) | {"remove": str(bob.id)})
    assert removed.status_code == 303
    assert "text_put_in=" in removed.headers["Location"]
    page = client.get(removed.headers["Location"])
    assert message_box(text(page)) == REMINDER

    answer = client.post(
        update_url(token),
        data=the_form(page, token) | {"template_id": str(welcome.id), "action": "use_template"},
    )
    assert answer.status_code == 303
    assert "ask=" not in answer.headers["Location"]
    page = client.get(answer.headers["Location"])
    assert QUESTION not in text(page)
    assert message_box(text(page)) == "Welcome aboard, {{first_name}}."


@pytest.mark.parametrize("typed", [REMINDER + " See you then!", REMINDER + " Bring photo ID."])
def test_text_typed_over_a_template_edited_since_still_asks_first(
    client, consultant, make_candidate, reminder, welcome, session, typed
):
    """Also typed to match the template's new text: the screen never put that in."""
    page = client.get(f"/sms/compose?candidate={make_candidate().id}", htmx=True)
    token = token_of(page)
    used = client.post(
        update_url(token),
        data=the_form(page, token) | {"template_id": str(reminder.id), "action": "use_template"},
        htmx=True,
    )
    edited_elsewhere(session, reminder)

    asked = client.post(
        update_url(token),
        data=the_form(used, token)
        | {"template_id": str(welcome.id), "action": "use_template", "message": typed},
        htmx=True,
    )
    assert QUESTION in text(asked)
    assert message_box(text(asked)) == typed


def test_a_head_of_the_screens_link_answers_as_its_get(client, consultant, make_candidate):
    link = f"/sms/compose?candidate={make_candidate().id}"
    head = client.head(link)
    get = client.get(link)
    assert (head.status_code, get.status_code) == (200, 200)
    assert head.data == b""
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
