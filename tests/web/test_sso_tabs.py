"""Single sign-on started in more than one tab of a browser, and the button that starts it: each
tab's sign-in is kept by its state, a tab coming back after another signed in is sent on, and the
button is a link (CSP form-action would hold a form to the issuer's origin, along the redirect to
a provider whose sign-in page is elsewhere)."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOpenIDProvider
from tests.pages import text
from webapp.auth import oidc as sso_views
from webapp.config import single_sign_on
from webapp.models import AuditEvent
from webapp.web.headers import CONTENT_SECURITY_POLICY


@pytest.fixture
def idp():
    with FakeOpenIDProvider() as fake:
        fake.claims = {
            "sub": "idp-pat",
            "email": "pat@example.com",
            "email_verified": True,
            "groups": ["sms-users"],
        }
        yield fake


@pytest.fixture
def app_settings(idp):
    return single_sign_on(
        {
            "OIDC_ISSUER": idp.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_NAME": "Contoso",
            "OIDC_ROLE_MAP": "sms-users=consultant",
        }
    )


@pytest.fixture
def pat(make_user):
    return make_user("pat", role="consultant", email="pat@example.com")


def start(client, next_path: str) -> str:
    """Press the button in a tab: the address the provider sends that tab back to."""
    going = client.get(f"/login/sso?next={next_path}")
    assert going.status_code == 303, text(going)
    answer = requests.get(going.headers["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def refusals(session) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.sso_refused"))
    )


def signed_in(client) -> bool:
    return client.get("/candidates").status_code == 200


def test_a_tab_back_after_a_later_tab_signed_in_goes_on_to_its_page(client, session, idp, pat):
    first = start(client, "/sms/sent")
    second = start(client, "/candidates")
    assert client.get(second).headers["Location"] == "/candidates"

    response = client.get(first)

    assert response.status_code == 302
    assert response.headers["Location"] == "/sms/sent"
    assert signed_in(client)
    assert refusals(session) == []
    assert len(idp.requests_to("/token")) == 1  # the first tab's code was never spent


def test_two_tabs_back_in_the_order_they_started_both_sign_in(client, session, idp, pat):
    first = start(client, "/sms/sent")
    second = start(client, "/candidates")

    assert client.get(first).headers["Location"] == "/sms/sent"
    response = client.get(second)

    assert response.status_code == 302
    assert response.headers["Location"] == "/candidates"
    assert signed_in(client)
    assert refusals(session) == []


def test_a_forged_state_spoils_no_tab_under_way(client, session, idp, pat):
    back = start(client, "/candidates")
    forged = back.replace("state=", "state=forged")

    assert client.get(forged).status_code == 403
    [refusal] = refusals(session)
    assert refusal.details["reason"] == "state"

    assert client.get(back).headers["Location"] == "/candidates"
    assert signed_in(client)


def test_an_unknown_state_once_signed_in_goes_home_unrefused(client, session, idp, pat):
    back = start(client, "/candidates")
    assert client.get(back).status_code == 302

    response = client.get(back)  # opened again, from the history

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert refusals(session) == []
    assert client.post("/logout").status_code == 302
    assert client.get(back).status_code == 403  # signed out, it is refused as before


def test_only_the_last_few_sign_ins_are_kept(client, session, idp, pat):
    backs = [start(client, "/candidates") for _ in range(sso_views.PENDING_KEPT + 1)]

    assert client.get(backs[0]).status_code == 403
    assert client.get(backs[1]).status_code == 302


def test_a_sign_in_under_way_expires(client, session, idp, pat, clock):
    back = start(client, "/candidates")
    clock(sso_views.PENDING_SECONDS + 1)

    assert client.get(back).status_code == 403
    assert [r.details["reason"] for r in refusals(session)] == ["state"]


def test_the_button_is_a_link_held_to_no_form_action(client):
    """Its GET form, answered with a redirect to the provider, was held to CSP form-action, which
    named only the issuer until discovery had named the authorization endpoint: with that on
    another origin (as Cognito's hosted page is), the button did nothing the first time."""
    response = client.get("/login?next=/candidates")

    page = text(response)
    assert '<a class="button" href="/login/sso?next=/candidates">Sign in with Contoso</a>' in page
    assert '<form action="/login/sso"' not in page
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
