"""Adding a user, an office or an SMS account once: each Add form's one-time token makes a repeat
of the same submission (a second Enter on a slow network) answer as the first did, while another
form, or a post of no page of ours, with the name is still refused as taken."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from tests.pages import audits, posted_at_once, rows, text
from tests.web.test_admin_users import user_form
from tests.web.test_offices import office_form
from tests.web.test_sms_accounts import central_form
from webapp.models import Office, SmsAccount, User
from webapp.users import accounts as user_accounts

AGAIN = "was already added (the form was sent twice): not added again."


@pytest.fixture
def app_settings():
    return {
        "SMS_PROVIDER": "smscentral",
        "SMSCENTRAL_API_URL": "https://central.example.com/api/v3.2",
        "ACCOUNTS_KEY": "accounts-key-for-tests",
    }


# One per Add form: its page, the form's values, what it adds and the audit action of that.
FORMS = {
    "user": ("/admin/users/new", user_form(username="twice0"), User, "user.created"),
    "office": ("/admin/offices", office_form(name="Darwin"), Office, "office.added"),
    "sms account": (
        "/admin/sms-accounts/new",
        central_form(name="Darwin SMS"),
        SmsAccount,
        "sms_account.added",
    ),
}
NAMED = {
    "user": User.username == "twice0",
    "office": Office.name == "Darwin",
    "sms account": SmsAccount.name == "Darwin SMS",
}
TAKEN = {
    "user": (400, "The username “twice0” is taken; choose another."),
    "office": (400, "There is already an office called “Darwin”."),
    "sms account": (409, "There is already an account called “Darwin SMS”."),
}


def add_token(client, url: str) -> str:
    """The one-time token of the Add form `url` shows."""
    page = text(client.get(url))
    [token] = re.findall(r'<input[^>]*name="add_token"[^>]*value="([^"]*)"', page)
    return token


def test_each_add_form_carries_a_one_time_token_of_its_own(client, login):
    login("administrator")
    for url, *_ in FORMS.values():
        first, second = add_token(client, url), add_token(client, url)
        assert len(first) == 32 and first != second


@pytest.mark.parametrize("what", FORMS)
def test_the_same_add_form_posted_twice_adds_once_and_answers_as_the_first(
    client, login, session, what
):
    login("administrator")
    url, data, model, action = FORMS[what]
    data = data | {"add_token": add_token(client, url)}

    first = client.post(url, data=data)
    again = client.post(url, data=data)

    [added] = rows(session, model, NAMED[what])
    assert (first.status_code, again.status_code) == (302, 302)
    assert again.headers["Location"] == first.headers["Location"]
    assert len(audits(session, action)) == 1
    page = text(client.get(again.headers["Location"]))
    assert AGAIN in page and "taken" not in page and "again:" not in page
    assert added.id is not None


@pytest.mark.parametrize("what", FORMS)
def test_another_form_with_the_name_is_still_refused_as_taken(client, login, session, what):
    login("administrator")
    url, data, model, _ = FORMS[what]
    client.post(url, data=data | {"add_token": add_token(client, url)})

    other = client.post(url, data=data | {"add_token": add_token(client, url)})

    status, message = TAKEN[what]
    assert other.status_code == status
    assert message in text(other)
    assert len(rows(session, model, NAMED[what])) == 1


@pytest.mark.parametrize("what", FORMS)
def test_a_post_without_a_token_is_added_and_refused_as_before(client, login, session, what):
    login("administrator")
    url, data, model, action = FORMS[what]

    first = client.post(url, data=data)
    again = client.post(url, data=data)

    assert first.status_code == 302
    assert again.status_code == TAKEN[what][0]
    assert len(rows(session, model, NAMED[what])) == 1
    [event] = audits(session, action)
    assert "form_token" not in event.details


def test_the_form_sent_again_with_another_username_adds_that_user(client, login, session):
    # Back to the form after it added someone, the username changed: someone new, not a repeat.
    login("administrator")
    data = user_form(username="twice0") | {"add_token": add_token(client, "/admin/users/new")}
    client.post("/admin/users/new", data=data)

    other = client.post(
        "/admin/users/new", data=data | {"username": "twice1", "email": "twice1@example.com"}
    )

    assert other.status_code == 302
    assert AGAIN not in text(client.get(other.headers["Location"]))
    session.rollback()
    assert session.scalar(sa.select(User.id).where(User.username == "twice1")) is not None


def test_two_posts_of_one_add_user_form_racing_add_one_user(
    app, client, login, session, monkeypatch
):
    admin = login("administrator")
    checked = user_accounts._apply

    def slowly(*args, **kwargs):
        # Between the token's look-up and the save: the other post comes now, and must wait.
        time.sleep(0.5)
        return checked(*args, **kwargs)

    monkeypatch.setattr(user_accounts, "_apply", slowly)
    data = user_form(username="twice0") | {"add_token": add_token(client, "/admin/users/new")}

    answers = posted_at_once(app, client, admin.username, "/admin/users/new", data)

    assert answers == [302, 302]
    session.rollback()
    assert session.scalars(sa.select(User.username).where(User.username == "twice0")).all() == [
        "twice0"
    ]
