"""Single sign-on with a provider whose sign-in page is on another origin than its issuer (as
Cognito's hosted page is): the first press of "Sign in with …", before the app has read the
provider's discovery document, goes there, JavaScript on and off."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, watched_page
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, FakeOpenIDProvider

pytestmark = pytest.mark.e2e


class HostedElsewhere(FakeOpenIDProvider):
    """The provider, its authorization endpoint named by another origin (localhost, not
    127.0.0.1: the same server)."""

    def metadata(self):
        return {
            **super().metadata(),
            "authorization_endpoint": self.url.replace("127.0.0.1", "localhost") + "/authorize",
        }


@pytest.fixture
def idp():
    with HostedElsewhere() as fake:
        fake.claims = {
            "sub": "e2e-zz-elsewhere",
            "email": "zz.elsewhere@example.com",
            "email_verified": True,
            "name": "Zz Elsewhere",
            "groups": ["sms-users"],
        }
        yield fake


@pytest.fixture
def server(idp, tmp_path):
    """A server of its own, started afresh: it has not read the provider's discovery yet."""
    server = LiveServer(
        tmp_path,
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


def test_the_first_press_goes_to_a_sign_in_page_on_another_origin(browser, server, idp, js):
    context = browser.new_context(
        base_url=server.url, java_script_enabled=js, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    with watched_page(context) as page:
        page.goto("/login?next=/candidates")

        page.get_by_role("link", name="Sign in with Contoso").press("Enter")

        page.wait_for_url(lambda url: urlsplit(url).path == "/candidates")
        expect(page.locator(".whoami")).to_have_text("Zz Elsewhere")
        assert len(idp.requests_to("/authorize")) == 1
    context.close()
