"""Single sign-on in a real browser, JavaScript on and off: with passwords switched off, Enter on
"Sign in with Contoso" goes to the fake provider and back, signed in; a token the provider signs
for another client is refused with a way back to sign in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, watched_page
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOpenIDProvider

pytestmark = pytest.mark.e2e
# Chromium logs the refusal's 403 as a console error; it is the answer under test.
REFUSAL_LOGGED = re.compile(r"status of 403")


@pytest.fixture(scope="module")
def idp():
    with FakeOpenIDProvider() as fake:
        yield fake


@pytest.fixture(scope="module")
def sso_server(idp, tmp_path_factory):
    """A server of its own: single sign-on only, users made at their first sign-in."""
    server = LiveServer(
        tmp_path_factory.mktemp("e2e-sso"),
        env={
            "OIDC_ISSUER": idp.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_NAME": "Contoso",
            "OIDC_ROLE_MAP": "sms-users=consultant",
            "OIDC_CREATE_USERS": "1",
            "LOCAL_PASSWORDS": "0",
        },
    )
    yield server
    server.stop()


@pytest.fixture
def sso_page(browser, sso_server, js, idp):
    idp.overrides = {}
    context = browser.new_context(
        base_url=sso_server.url, java_script_enabled=js, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    with watched_page(context, allowed=REFUSAL_LOGGED) as page:
        yield page
    context.close()


def test_enter_on_the_provider_button_signs_in_through_the_provider(sso_page, idp, js):
    idp.claims = {
        "sub": f"e2e-pat-{js}",
        "email": f"pat.{js}@example.com",
        "email_verified": True,
        "name": "Pat Example",
        "groups": ["sms-users"],
    }
    sso_page.goto("/login")
    link = sso_page.get_by_role("link", name="Sign in with Contoso")
    expect(link).to_be_focused()
    expect(sso_page.get_by_label("Password")).to_have_count(0)

    sso_page.keyboard.press("Enter")

    sso_page.wait_for_url("**/dashboard**")
    expect(sso_page.locator(".whoami")).to_have_text("Pat Example")
    assert len(idp.requests_to("/authorize")) >= 1


def test_a_token_for_another_client_is_refused_with_a_way_back(sso_page, idp, js):
    idp.claims = {"sub": f"e2e-sam-{js}", "email": f"sam.{js}@example.com", "groups": ["sms-users"]}
    idp.overrides = {"aud": "another-app"}
    sso_page.goto("/login")

    sso_page.get_by_role("link", name="Sign in with Contoso").press("Enter")

    expect(sso_page.get_by_role("heading", name="Sign-in refused")).to_be_visible()
    back = sso_page.get_by_role("link", name="Back to sign in")
    back.press("Enter")
    sso_page.wait_for_url("**/login")
    expect(sso_page.locator(".whoami")).to_have_count(0)
