"""An administrator's two-factor reset sent twice (a double press on a slow link) is answered as
the first: the second sending, the answer the browser shows, said there was nothing to reset."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from tests.pages import fresh
from webapp import sealing
from webapp.models import AuditEvent, User, utcnow
from webapp.users import two_factor

DONE = "they are signed out, and they enrol again from their profile."
NOTHING = "has not turned on two-factor sign-in: there is nothing to reset."


@pytest.fixture
def app_settings():
    return {"TWO_FACTOR_ROLES": ()}


@pytest.fixture
def enrolled(app, session, make_user):
    """A consultant with two-factor sign-in on."""
    material = sealing.key_material(app.config)
    user = make_user(role="consultant")
    two_factor.key_for_enrolment(session, user, material)
    moment = utcnow()
    session.refresh(user)
    code = pyotp.TOTP(two_factor.secret_of(user, material)).at(moment)
    two_factor.turn_on(session, user, code, moment, material)
    assert user.two_factor_on
    return user


def said(client, response) -> str:
    assert response.status_code == 302
    return client.get(response.headers["Location"]).get_data(as_text=True)


def resets(session) -> list[AuditEvent]:
    session.rollback()
    return list(
        session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset"))
    )


def test_a_reset_sent_twice_says_it_was_reset(client, login, session, enrolled):
    login("administrator")
    url = f"/admin/users/{enrolled.id}/two-factor/reset"

    assert client.post(url).status_code == 302  # its answer never reaches the browser
    second = client.post(url)

    page = said(client, second)  # with what the first left to say
    assert DONE in page and NOTHING not in page
    assert len(resets(session)) == 1  # the second sending reset nothing again


def test_a_reset_by_another_administrator_leaves_nothing_to_reset(
    app, client, login, make_user, session, enrolled
):
    other = app.test_client()
    assert other.login(make_user(role="administrator").username).status_code == 302
    url = f"/admin/users/{enrolled.id}/two-factor/reset"
    assert other.post(url).status_code == 302
    login("administrator")

    page = said(client, client.post(url))

    assert NOTHING in page and DONE not in page


def test_a_reset_of_a_while_ago_leaves_nothing_to_reset(client, login, session, enrolled):
    login("administrator")
    url = f"/admin/users/{enrolled.id}/two-factor/reset"
    assert DONE in said(client, client.post(url))
    [event] = resets(session)
    event.created_at = utcnow() - timedelta(seconds=two_factor.REPEAT_SECONDS + 5)
    session.commit()

    page = said(client, client.post(url))

    assert NOTHING in page and DONE not in page
    assert not fresh(session, User, enrolled.id).two_factor_on
