"""Sending limits on the pages: a Send, Quick reply or resend over the limit comes back 429 with
the limit and what is left, on the form that was posted (JavaScript off and htmx); administrators
set a user's own limit, each role's default and the organisation's cap; a user sees theirs on
their profile."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from tests.delivery import queue
from tests.html_tree import html as tree
from tests.pages import (
    assert_invalid,
    assert_refused,
    audits,
    details_of,
    fresh,
    open_sms_screen,
    rows,
    text,
)
from webapp.models import Batch, Message, Role, Setting, User
from webapp.sms import limits

OVER = (
    "This SMS is for 2 people, but your daily limit is 1 and you have 1 left "
    "(limits count any 24 hours)."
)


@pytest.fixture
def app_settings():
    """SMS_DAILY_LIMIT: one message in any 24 hours for anyone whose roles set no default."""
    return {"SMS_DAILY_LIMIT": 1}


@pytest.fixture
def people(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Bob", "Brown", "0412 345 679"),
    ]


def open_sms(client, people) -> str:
    return open_sms_screen(client, people)[0]


def send(client, token: str, *, htmx: bool = False):
    return client.post(
        f"/sms/compose/{token}/send",
        data={"message": "Hi {{first_name}}, new roles this week."},
        htmx=htmx,
    )


def alert_text(response) -> str:
    return " ".join(
        html.unescape(match)
        # An alert, or a Quick reply's refusal, which takes the focus instead.
        for match in re.findall(r'<p class="error"[^>]*>(.*?)</p>', text(response))
    )


def messages(session) -> list[Message]:
    return rows(session, Message)


# --- refusals on the forms -----------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_a_send_over_the_limit_is_refused_429_on_the_sms_screen(
    client, login, people, session, htmx
):
    login("consultant")
    token = open_sms(client, people)

    response = send(client, token, htmx=htmx)

    assert response.status_code == 429
    assert OVER in alert_text(response)
    assert 'name="message"' in text(response)  # the SMS screen again, text kept for a retry
    assert rows(session, Batch) == [] and messages(session) == []
    assert [event.details["requested"] for event in audits(session, "sms.limit_refused")] == [2]


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_a_limit_refusal_takes_the_focus_and_says_what_to_do(client, login, people, htmx):
    login("consultant")
    token = open_sms(client, people)

    response = send(client, token, htmx=htmx)

    page = tree(response)
    refusal = page.one("p", id="compose-error")
    assert (refusal.get("tabindex"), refusal.get("autofocus", "absent")) == ("-1", None)
    assert [node.get("id") for node in page.iter() if "autofocus" in node.attrs] == [
        "compose-error"
    ]
    assert refusal.text.endswith(
        "You can choose 1 person or fewer, or an administrator can raise your limit."
    )


def test_a_send_within_the_limit_goes(client, login, people, session):
    login("consultant")
    token = open_sms(client, people[:1])

    response = send(client, token)

    assert response.status_code == 303
    assert len(messages(session)) == 1


def test_the_organisation_cap_lets_a_send_reach_it_and_refuses_one_more(
    client, login, people, make_candidate, session
):
    casey = login("consultant", daily_limit=0)  # no limit of her own
    session.add(Setting(key=limits.ORGANISATION_LIMIT_KEY, value=2))
    session.commit()
    assert send(client, open_sms(client, people)).status_code == 303  # 2 of 2

    response = send(client, open_sms(client, [make_candidate("Cy", "Young", "0412 345 680")]))

    assert response.status_code == 429
    assert (
        "This SMS is for 1 person, but the organisation's daily limit is 2 and none are left "
        "(limits count any 24 hours)." in alert_text(response)
    )
    assert len(messages(session)) == 2
    [event] = audits(session, "sms.limit_refused")
    assert (event.actor_id, event.details["scope"]) == (casey.id, "organisation")


def test_a_quick_reply_over_the_limit_is_refused_429_on_the_record(client, login, people, session):
    casey = login("consultant")
    ada = people[0]
    queue(session, casey, [people[1]], provider="sandbox")  # the one message of the day
    page = client.get(f"/candidates/{ada.id}")
    token = tree(page).one("form", id="quick-reply").one("input", name="reply_token").get("value")

    response = client.post(
        f"/candidates/{ada.id}/reply", data={"message": "Hi Ada", "reply_token": token}
    )

    assert response.status_code == 429
    assert "your daily limit is 1 and you have none left" in alert_text(response)
    assert len(messages(session)) == 1


def test_a_resend_over_the_limit_is_refused_429_on_the_resend_page(client, login, people, session):
    casey = login("consultant")
    casey.daily_limit = 2
    session.commit()
    batch = queue(session, casey, people, provider="sandbox")
    session.execute(sa.update(Message).values(state="failed", attempts=1))
    session.commit()

    response = client.post(f"/sms/batches/{batch.id}/resend", data={"states": "failed"})

    assert response.status_code == 429
    assert (
        "This resend is 2 messages, but your daily limit is 2 and you have none left"
        in alert_text(response)
    )
    assert len(messages(session)) == 2
    refusal = tree(response).one("p", id="resend-error")
    assert (refusal.get("tabindex"), refusal.get("autofocus", "absent")) == ("-1", None)


# --- a user's own limit --------------------------------------------------------------------------


@pytest.fixture
def admin(login):
    return login("administrator")


def test_an_administrator_sets_a_users_daily_limit_audited(client, admin, make_user, session):
    target = make_user(role="consultant")
    session.add(Setting(key=limits.ROLE_LIMITS_KEY, value={"consultant": 300}))
    session.commit()
    page = text(client.get(f"/admin/users/{target.id}/edit"))
    assert '<label for="daily_limit">Daily SMS limit</label>' in page
    assert "Empty: the default of their roles (300 a day)" in page

    response = client.post(
        f"/admin/users/{target.id}/edit", data=details_of(target, daily_limit="1,250")
    )

    assert response.status_code == 302
    assert fresh(session, User, target.id).daily_limit == 1250
    [event] = audits(session, "user.daily_limit_changed")
    assert (event.subject_id, event.details["old"], event.details["new"]) == (target.id, None, 1250)

    client.post(f"/admin/users/{target.id}/edit", data=details_of(target, daily_limit=""))
    assert fresh(session, User, target.id).daily_limit is None  # the roles' default again


@pytest.mark.parametrize("typed", ["lots", "-5", "2.5", "99999999999", "1,5"])  # 1,5: 1.5 or 15?
def test_a_daily_limit_that_is_not_a_whole_number_is_refused_beside_the_field(
    client, admin, make_user, session, typed
):
    target = make_user(role="consultant")

    response = client.post(
        f"/admin/users/{target.id}/edit", data=details_of(target, daily_limit=typed)
    )

    assert_refused(response, "daily_limit", "Enter a whole number of messages from 0")
    assert fresh(session, User, target.id).daily_limit is None
    assert audits(session, "user.daily_limit_changed") == []


# --- role defaults and the organisation cap (Settings) -------------------------------------------


def stored(session, key: str):
    session.rollback()
    row = session.get(Setting, key, populate_existing=True)
    return None if row is None else row.value


def test_an_administrator_sets_role_defaults_and_the_organisation_cap(client, admin, session):
    page = text(client.get("/admin/settings"))
    assert '<label for="org_daily_limit">Organisation daily SMS limit</label>' in page
    assert "Daily SMS limit for </span>consultant</label>" in page

    response = client.post(
        "/admin/settings/limits",
        data={"org_daily_limit": "20000", "role-consultant": "500", "role-team-leader": "0"},
    )

    assert response.status_code == 302
    assert stored(session, limits.ORGANISATION_LIMIT_KEY) == 20000
    assert stored(session, limits.ROLE_LIMITS_KEY) == {"consultant": 500, "team-leader": 0}
    [event] = audits(session, "settings.changed")
    assert event.details["changes"][limits.ORGANISATION_LIMIT_KEY] == [None, 20000]
    page = text(client.get("/admin/settings"))
    assert 'value="20000"' in page and 'id="role-consultant"' in page

    client.post("/admin/settings/limits", data={"org_daily_limit": "", "role-consultant": "500"})
    assert stored(session, limits.ORGANISATION_LIMIT_KEY) is None
    assert stored(session, limits.ROLE_LIMITS_KEY) == {"consultant": 500}


def test_the_role_defaults_hint_says_an_empty_role_gives_way_to_the_users_other_roles(
    client, admin, session, make_user
):
    # The hint says what limits.role_default does: consultant empty and team-leader 5 give 5,
    # not SMS_DAILY_LIMIT (1 here), which only users none of whose roles has a limit get.
    hint = " ".join(
        tree(client.get("/admin/settings")).one("p", id="role-limits-hint").text.split()
    )
    assert "a user with several roles gets the highest of their roles’ limits" in hint
    assert "Empty: the role has no limit of its own." in hint
    assert "Users none of whose roles has one get the server’s SMS_DAILY_LIMIT (1 a day)." in hint
    assert "Empty: the server’s SMS_DAILY_LIMIT" not in hint

    client.post("/admin/settings/limits", data={"org_daily_limit": "", "role-team-leader": "5"})
    both = make_user(role="consultant")
    both.roles.append(session.scalar(sa.select(Role).where(Role.name == "team-leader")))
    session.commit()
    settings = limits.LimitSettings(default=1)
    assert limits.daily_limit(session, both, settings) == limits.DailyLimit(5, "role")
    only_consultant = make_user(role="consultant")
    assert limits.daily_limit(session, only_consultant, settings) == limits.DailyLimit(1, "server")


def test_the_audit_log_shows_a_limit_of_0_as_no_limit(client, admin, session, make_user):
    client.post(
        "/admin/settings/limits",
        data={"org_daily_limit": "", "role-consultant": "100", "role-team-leader": "5"},
    )
    client.post(
        "/admin/settings/limits",
        data={"org_daily_limit": "", "role-consultant": "0", "role-team-leader": "5"},
    )
    target = make_user(role="consultant")
    client.post(f"/admin/users/{target.id}/edit", data=details_of(target, daily_limit="0"))

    page = html.unescape(text(client.get("/audit")))

    changes = re.findall(r"<li>role daily limits: ([^<]*)</li>", page)
    assert "team-leader: 5; consultant: 100 → team-leader: 5; consultant: no limit" in changes
    assert "consultant: 0" not in page
    [event] = audits(session, "user.daily_limit_changed")
    assert event.details["new"] == 0  # stored as the number; shown in words
    assert re.search(r"<dt>new</dt><dd>no limit</dd>", page)


def test_a_role_default_that_is_not_a_whole_number_is_refused_and_nothing_saved(
    client, admin, session
):
    response = client.post(
        "/admin/settings/limits", data={"org_daily_limit": "1000", "role-consultant": "many"}
    )

    assert response.status_code == 400
    assert_invalid(text(response), "role-consultant", "Enter a whole number of messages")
    assert 'value="many"' in text(response)  # kept as typed
    assert stored(session, limits.ORGANISATION_LIMIT_KEY) is None
    assert audits(session, "settings.changed") == []


@pytest.mark.parametrize("role", ["consultant", "team-leader"])
def test_only_settings_managers_may_change_the_limits(client, login, session, role):
    login(role)

    response = client.post("/admin/settings/limits", data={"org_daily_limit": "1"})

    assert response.status_code == 403
    assert stored(session, limits.ORGANISATION_LIMIT_KEY) is None


# --- the user sees their own ---------------------------------------------------------------------


def test_the_profile_shows_the_limit_and_what_is_left(client, login, people, session):
    casey = login("consultant")
    casey.daily_limit = 10
    session.add(Setting(key=limits.ORGANISATION_LIMIT_KEY, value=1000))
    session.commit()
    queue(session, casey, people, provider="sandbox")

    page = tree(client.get("/profile"))

    shown = " ".join(page.one("dd", id="daily-limit").text.split())
    assert shown.startswith("10 in any 24 hours: 8 left now")
    assert "1,000, 998 left now" in shown
