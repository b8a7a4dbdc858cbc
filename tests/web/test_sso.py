"""Single sign-on through the fake OpenID provider on loopback: the redirect dance, accounts
linked, matched and created, roles from groups, every refused token audited, a provider that is
down, and passwords switched off."""

from __future__ import annotations

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.fakes import refused_url
from tests.fakes.oidc import CLIENT_ID, CLIENT_SECRET, REMOVE, FakeOpenIDProvider, rsa_key
from tests.pages import changed, fresh, opened, text
from webapp.config import single_sign_on
from webapp.models import AuditEvent, User
from webapp.web import sessions
from webapp.web.headers import CONTENT_SECURITY_POLICY

ROLE_MAP = "sms-admins=administrator,sms-leads=team-leader,sms-users=consultant"
NOT_SIGNED_IN = "/login?next=/candidates"


@pytest.fixture
def idp():
    with FakeOpenIDProvider() as fake:
        yield fake


@pytest.fixture
def sso_env() -> dict[str, str]:
    """Environment on top of the provider's; a test parametrizes this to change it."""
    return {}


@pytest.fixture
def more_settings() -> dict:
    """App settings beyond the environment's; a test parametrizes this to change them."""
    return {}


@pytest.fixture
def app_settings(idp, sso_env, more_settings):
    env = {
        "OIDC_ISSUER": idp.issuer,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_NAME": "Contoso",
        "OIDC_ROLE_MAP": ROLE_MAP,
        **sso_env,
    }
    return {**single_sign_on(env), **more_settings}


def verified_claims(
    sub: str = "idp-pat", email: str = "pat@example.com", groups: list[str] | None = None
) -> dict:
    """An ID token's claims for someone whose email the provider vouches for, in `groups`
    (default: the group that maps to consultant)."""
    return {
        "sub": sub,
        "email": email,
        "email_verified": True,
        "groups": groups if groups is not None else ["sms-users"],
    }


def dance(client, start: str = "/login/sso", *, state: str | None = None):
    """Click the button, let the provider send the browser back, and follow it: the app's answer
    to the callback (`state` replaces the one the provider sends back)."""
    going = client.get(start)
    assert going.status_code == 303, text(going)
    answer = requests.get(going.headers["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    back = answer.headers["Location"]
    if state is not None:
        parts = urlsplit(back)
        query = parse_qs(parts.query)
        back = urlunsplit(parts._replace(query=f"code={query['code'][0]}&state={state}"))
    return client.get(back)


def signed_in(client) -> bool:
    return client.get("/candidates").status_code == 200


def events(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by("id"))
    )


# --- success ---------------------------------------------------------------------------------


def test_login_page_offers_the_provider_beside_the_password(client):
    page = text(client.get("/login"))
    assert '<a class="button" href="/login/sso">Sign in with Contoso</a>' in page
    assert '<label for="password">Password</label>' in page


def test_the_login_page_lets_its_forms_go_nowhere_else(client, idp):
    # The button is a link (no form, so CSP form-action is not checked along its redirect).
    assert client.get("/login").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert client.get("/login/sso").headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_existing_user_is_matched_by_email_in_any_case_and_linked(client, session, idp, make_user):
    pat = make_user("pat", role="consultant", email="Pat.Smith@Example.com")
    idp.claims = verified_claims(email="pat.smith@example.COM")

    response = dance(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in(client)
    session.refresh(pat)
    assert pat.oidc_subject == "idp-pat"
    [event] = events(session, "auth.sso_signed_in")
    assert (event.actor_id, event.details) == (pat.id, {"sub": "idp-pat", "iss": idp.issuer})
    assert len(events(session, "auth.sso_linked")) == 1


def test_linked_user_is_found_by_subject_when_the_email_changes(client, session, idp, make_user):
    pat = make_user("pat", role="consultant", email="pat@example.com", oidc_subject="idp-pat")
    idp.claims = verified_claims(email="pat.new@example.org")

    assert dance(client).status_code == 302

    assert signed_in(client)
    [event] = events(session, "auth.sso_signed_in")
    assert event.actor_id == pat.id
    assert events(session, "auth.sso_linked") == []


def test_sign_in_follows_a_local_next_and_not_another_site(client, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()

    assert dance(client, "/login/sso?next=/contacts").headers["Location"] == "/contacts"
    client.post("/logout")
    assert dance(client, "/login/sso?next=https://evil.example/").headers["Location"] == "/"


@pytest.mark.parametrize("sso_env", [{"OIDC_CREATE_USERS": "1"}])
def test_first_sign_in_creates_the_user_with_the_mapped_roles(client, session, idp):
    idp.claims = {
        "sub": "idp-new",
        "email": "new.person@example.com",
        "email_verified": True,
        "name": "New Person",
        "preferred_username": "nperson",
        "groups": ["sms-leads", "finance"],
    }

    assert dance(client).status_code == 302

    assert signed_in(client)
    user = session.scalar(sa.select(User).where(User.oidc_subject == "idp-new"))
    assert (user.username, user.full_name, user.email) == (
        "nperson",
        "New Person",
        "new.person@example.com",
    )
    assert [role.name for role in user.roles] == ["team-leader"]
    assert not user.must_change_password
    [created] = events(session, "user.created")
    assert created.details["via"] == "sso"
    # Its password hash matches no password, so the account opens only through the provider.
    client.post("/logout")
    for password in ("", user.password_hash, user.password_hash.removeprefix("!sso:")):
        assert not user.check_password(password)
    refused = client.post("/login", data={"username": "nperson", "password": "anything-at-all"})
    assert refused.status_code == 401


def test_roles_follow_the_groups_at_each_sign_in(client, session, idp, make_user):
    pat = make_user("pat", role="consultant", email="pat@example.com")
    idp.claims = verified_claims(groups=["sms-admins"])

    assert dance(client).status_code == 302

    session.refresh(pat)
    assert [role.name for role in pat.roles] == ["administrator"]
    [edited] = events(session, "user.edited")
    assert edited.details == {
        "changes": {"roles": [["consultant"], ["administrator"]]},
        "via": "sso",
    }
    assert client.get("/admin/users").status_code == 200


@pytest.mark.parametrize("more_settings", [{"TWO_FACTOR_ROLES": ("administrator",)}])
def test_single_sign_on_is_not_asked_for_a_two_factor_code(client, idp, make_user):
    # The provider's own sign-in stands for the second factor; a password sign-in of the same
    # role is sent to enrol.
    make_user("alex", role="administrator")
    client.login("alex")
    assert client.get("/candidates").status_code == 302
    client.post("/logout")
    make_user("pat", role="administrator", email="pat@example.com")
    idp.claims = verified_claims(groups=["sms-admins"])

    assert dance(client).status_code == 302

    assert client.get("/candidates").status_code == 200


def test_a_token_for_several_audiences_needs_us_as_the_authorized_party(client, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()
    idp.overrides = {"aud": [CLIENT_ID, "another-app"], "azp": CLIENT_ID}

    assert dance(client).status_code == 302
    assert signed_in(client)


def test_the_code_is_exchanged_with_pkce_and_the_client_secret(client, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()

    dance(client)

    [authorize] = idp.requests_to("/authorize")
    [token] = idp.requests_to("/token")
    assert authorize.query["code_challenge_method"] == "S256"
    assert authorize.query["redirect_uri"] == "http://localhost/login/sso/callback"
    assert authorize.query["nonce"] and authorize.query["state"]
    verifier = token.form["code_verifier"]
    assert len(verifier) >= 43
    digest = hashlib.sha256(verifier.encode()).digest()
    assert (
        base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == authorize.query["code_challenge"]
    )
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert token.headers["Authorization"] == f"Basic {expected}"


def test_discovery_and_keys_are_fetched_once_for_many_sign_ins(client, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()
    for _ in range(3):
        assert dance(client).status_code == 302
        client.post("/logout")

    assert len(idp.requests_to("/.well-known/openid-configuration")) == 1
    assert len(idp.requests_to("/jwks")) == 1


def test_a_rotated_key_is_found_by_fetching_the_keys_again(client, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()
    assert dance(client).status_code == 302
    client.post("/logout")
    rotated = rsa_key("fake-key-2")
    idp.published = [idp.key, rotated]
    idp.signing_key = rotated

    assert dance(client).status_code == 302

    assert signed_in(client)
    assert len(idp.requests_to("/jwks")) == 2


# --- refusals --------------------------------------------------------------------------------


def _expired(idp):
    now = int(time.time())
    idp.overrides = {"iat": now - 4000, "exp": now - 3600}


def _other_key_same_kid(idp):
    idp.signing_key = rsa_key(idp.key.kid)  # the published kid, a key the provider never had


def _unknown_kid(idp):
    idp.signing_key = rsa_key("never-published")


REFUSED_TOKENS = {
    "wrong nonce": (lambda idp: idp.overrides.update(nonce="not-the-nonce-we-sent"), "nonce"),
    "no nonce": (lambda idp: idp.overrides.update(nonce=REMOVE), "nonce"),
    "wrong issuer": (lambda idp: idp.overrides.update(iss="https://evil.example"), "issuer"),
    "wrong audience": (lambda idp: idp.overrides.update(aud="another-app"), "audience"),
    "several audiences, no azp": (
        lambda idp: idp.overrides.update(aud=[CLIENT_ID, "another-app"]),
        "audience",
    ),
    "another authorized party": (
        lambda idp: idp.overrides.update(aud=[CLIENT_ID, "x"], azp="x"),
        "audience",
    ),
    "expired": (_expired, "expired"),
    "issued in the future": (
        lambda idp: idp.overrides.update(iat=int(time.time()) + 3600),
        "issued_at",
    ),
    "issued long ago": (lambda idp: idp.overrides.update(iat=int(time.time()) - 7200), "issued_at"),
    "bad signature": (_other_key_same_kid, "signature"),
    "unknown kid": (_unknown_kid, "unknown_key"),
}


@pytest.mark.parametrize("tamper", REFUSED_TOKENS.values(), ids=REFUSED_TOKENS.keys())
def test_a_token_failing_a_check_is_refused_and_audited(client, session, idp, make_user, tamper):
    change, reason = tamper
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()
    change(idp)

    response = dance(client)

    assert response.status_code == 403
    page = text(response)
    assert "<h1>Sign-in refused</h1>" in page
    assert '<a href="/login">Back to sign in</a>' in page
    assert not signed_in(client)
    [event] = events(session, "auth.sso_refused")
    assert event.actor_id is None
    assert event.details["reason"] == reason
    # Of the token, the audit log keeps the subject and issuer only.
    assert set(event.details) == {"reason", "sub", "iss"}
    assert "pat@example.com" not in str(event.details)
    assert events(session, "auth.sso_signed_in") == []


def test_an_unknown_kid_makes_one_more_fetch_of_the_keys_then_a_refusal(client, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()
    _unknown_kid(idp)

    assert dance(client).status_code == 403
    assert len(idp.requests_to("/jwks")) == 2


def test_a_wrong_state_is_refused_and_audited(client, session, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()

    response = dance(client, state="forged-state")

    assert response.status_code == 403
    assert not signed_in(client)
    [event] = events(session, "auth.sso_refused")
    assert event.details == {"reason": "state", "sub": None, "iss": idp.issuer}
    assert idp.requests_to("/token") == []  # the code was never spent


def test_a_callback_replayed_is_refused(client, session, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()
    going = client.get("/login/sso")
    back = requests.get(going.headers["Location"], allow_redirects=False, timeout=5)
    assert client.get(back.headers["Location"]).status_code == 302
    client.post("/logout")

    assert client.get(back.headers["Location"]).status_code == 403

    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == ["state"]


@pytest.mark.parametrize("sso_env", [{"OIDC_CLIENT_SECRET": "not-the-secret"}])
def test_a_code_the_provider_will_not_exchange_is_refused(client, session, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()

    assert dance(client).status_code == 403

    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == ["token_request"]


def test_a_sign_in_cancelled_at_the_provider_is_refused(client, session, idp):
    going = client.get("/login/sso")
    state = parse_qs(urlsplit(going.headers["Location"]).query)["state"][0]

    response = client.get(f"/login/sso/callback?error=access_denied&state={state}")

    assert response.status_code == 403
    assert "did not sign you in" in text(response)
    [event] = events(session, "auth.sso_refused")
    assert event.details["reason"] == "provider_error:access_denied"


def test_a_user_whose_groups_map_to_no_role_is_refused(client, session, idp, make_user):
    pat = make_user("pat", role="consultant", email="pat@example.com")
    idp.claims = verified_claims(groups=["finance"])

    response = dance(client)

    assert response.status_code == 403
    assert "in no group that may use SMS Desk" in text(response)
    [event] = events(session, "auth.sso_refused")
    assert event.details == {"reason": "no_role", "sub": "idp-pat", "iss": idp.issuer}
    session.refresh(pat)
    assert (pat.oidc_subject, [r.name for r in pat.roles]) == (None, ["consultant"])


# Only the JSON true vouches for an address: anything else could be typed by anyone into an
# account at the provider.
NOT_VERIFIED = {
    "claim missing": {},
    "false": {"email_verified": False},
    "the string false": {"email_verified": "false"},
    "the string true": {"email_verified": "true"},
    "one": {"email_verified": 1},
    "null": {"email_verified": None},
}


@pytest.mark.parametrize("verified", NOT_VERIFIED.values(), ids=NOT_VERIFIED.keys())
def test_an_unverified_email_does_not_take_an_administrators_account(
    client, session, idp, make_user, verified
):
    boss = make_user("boss", role="administrator", email="boss@example.com")
    idp.claims = {"sub": "idp-mallory", "email": "Boss@example.com", "groups": ["sms-admins"]}
    idp.claims.update(verified)

    response = dance(client)

    assert response.status_code == 403
    assert "no SMS Desk account for you" in text(response)
    assert not signed_in(client)
    session.refresh(boss)
    assert boss.oidc_subject is None
    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == ["no_account"]
    assert events(session, "auth.sso_signed_in") == []


@pytest.mark.parametrize("sso_env", [{"OIDC_CREATE_USERS": "1"}])
@pytest.mark.parametrize("verified", NOT_VERIFIED.values(), ids=NOT_VERIFIED.keys())
def test_an_unverified_email_makes_no_account(client, session, idp, make_user, verified):
    make_user("boss", role="administrator", email="boss@example.com")
    idp.claims = {"sub": "idp-mallory", "email": "boss@example.com", "groups": ["sms-users"]}
    idp.claims.update(verified)

    assert dance(client).status_code == 403

    assert not signed_in(client)
    assert session.scalar(sa.select(sa.func.count(User.id))) == 1
    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == ["no_email"]


def test_a_session_remembers_it_signed_in_through_the_provider(client, idp, make_user):
    make_user("pat", email="pat@example.com", oidc_subject="idp-pat")
    idp.claims = {"sub": "idp-pat", "groups": ["sms-users"]}

    assert dance(client).status_code == 302

    with client.session_transaction() as cookie:
        assert cookie[sessions.SIGNED_IN_WITH] == sessions.SSO


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"email": "nobody@example.com"}, "no_account"),
        # An address the provider has not verified is never matched on.
        ({"email": "pat@example.com", "email_verified": False}, "no_account"),
    ],
)
def test_without_an_account_and_without_creation_the_user_is_refused(
    client, session, idp, make_user, claims, reason
):
    make_user("pat", email="pat@example.com")
    idp.claims = {"sub": "idp-x", "groups": ["sms-users"], **claims}

    response = dance(client)

    assert response.status_code == 403
    assert "no SMS Desk account for you" in text(response)
    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == [reason]


def test_a_switched_off_user_is_refused(client, session, idp, make_user):
    make_user("pat", email="pat@example.com", oidc_subject="idp-pat", active=False)
    idp.claims = verified_claims()

    assert dance(client).status_code == 403
    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == ["inactive"]


@pytest.mark.parametrize("sso_env", [{"OIDC_CREATE_USERS": "1"}, {}], ids=["create", "no-create"])
def test_a_switched_off_user_never_linked_is_refused_not_given_a_new_account(
    client, session, idp, make_user
):
    """Matched by email only among active users, they got a new active account (creation on) or
    were told they had none (creation off)."""
    make_user("pat", email="Pat@example.com", active=False)
    idp.claims = verified_claims()

    response = dance(client)

    assert response.status_code == 403
    assert "Your SMS Desk account is switched off." in text(response)
    assert not signed_in(client)
    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == ["inactive"]
    assert session.scalars(sa.select(User.username).order_by(User.id)).all() == ["pat"]
    assert events(session, "user.created") == []


@pytest.mark.parametrize("sso_env", [{"OIDC_CREATE_USERS": "1"}])
def test_a_switched_off_account_linked_to_someone_else_does_not_refuse_a_new_person(
    client, session, idp, make_user
):
    # An address given anew: the old account, switched off, is linked to its own subject.
    make_user("pat", email="pat@example.com", oidc_subject="idp-old-pat", active=False)
    idp.claims = verified_claims(sub="idp-new-pat")

    assert dance(client).status_code == 302
    assert signed_in(client)
    assert [e.details["via"] for e in events(session, "user.created")] == ["sso"]


def test_an_account_linked_to_another_subject_is_not_taken_over(client, session, idp, make_user):
    make_user("pat", email="pat@example.com", oidc_subject="idp-pat")
    idp.claims = verified_claims(sub="idp-impostor")

    assert dance(client).status_code == 403
    assert [e.details["reason"] for e in events(session, "auth.sso_refused")] == [
        "subject_mismatch"
    ]


def type_on_profile(app, user: User, email: str) -> None:
    """`user` signs in with their password and changes their email on Profile to `email`."""
    theirs = app.test_client()
    assert theirs.login(user.username).status_code == 302
    saved = theirs.post("/profile", data=changed(opened(theirs, "/profile"), email=email))
    assert saved.status_code == 302, text(saved)


@pytest.mark.parametrize("sso_env", [{"OIDC_CREATE_USERS": "1"}, {}], ids=["create", "no-create"])
def test_an_email_typed_on_a_profile_does_not_hand_the_account_to_its_owner(
    app, client, session, idp, make_user
):
    """A viewer typed a new manager's address on their Profile; the manager's first single sign-on
    linked the viewer's account to the manager and made it an administrator, which the viewer's
    password then opened."""
    viewer = make_user("viewer", role="viewer", email="viewer@example.com")
    type_on_profile(app, viewer, "boss@example.com")
    idp.claims = verified_claims(sub="idp-boss", email="boss@example.com", groups=["sms-admins"])

    response = dance(client)

    assert response.status_code == 403
    assert "typed it on their own profile" in text(response)
    assert "they must check whose account it is" in text(response)
    assert not signed_in(client)
    [event] = events(session, "auth.sso_refused")
    assert event.details == {"reason": "email_unconfirmed", "sub": "idp-boss", "iss": idp.issuer}
    assert session.scalars(sa.select(User.username)).all() == ["viewer"]
    assert events(session, "user.created") == events(session, "auth.sso_linked") == []
    viewer = fresh(session, User, viewer.id)
    assert (viewer.oidc_subject, [role.name for role in viewer.roles]) == (None, ["viewer"])
    assert client.login("viewer").status_code == 302
    assert client.get("/admin/users").status_code == 403


def test_an_address_an_administrator_confirms_on_the_user_page_then_links(
    app, client, session, idp, make_user
):
    pat = make_user("pat", role="consultant", email="pat@old.example.com")
    type_on_profile(app, pat, "pat@example.com")
    admin = make_user("admin", role="administrator")
    assert client.login(admin.username).status_code == 302
    url = f"/admin/users/{pat.id}/edit"
    form = opened(client, url)
    assert "Pat typed this address on their profile, so Contoso does not sign anyone in" in text(
        client.get(url)
    )

    assert client.post(url, data=form).status_code == 302

    [edited] = events(session, "user.edited")
    assert edited.details == {"changes": {"email_confirmed": [False, True]}}
    assert "typed this address" not in text(client.get(url))
    client.post("/logout")
    idp.claims = verified_claims()
    assert dance(client).status_code == 302
    assert fresh(session, User, pat.id).oidc_subject == "idp-pat"


# --- the provider down, SSO not set up -------------------------------------------------------


@pytest.mark.parametrize("sso_env", [{"OIDC_ISSUER": refused_url()}])
def test_a_provider_that_is_down_gets_a_clear_page_not_a_500(client):
    response = client.get("/login/sso")

    assert response.status_code == 503
    page = text(response)
    assert "<h1>Contoso is unavailable</h1>" in page
    assert "cannot be reached" in page
    assert '<a href="/login">Back to sign in</a>' in page


@pytest.mark.parametrize("sso_env", [{"OIDC_ISSUER": refused_url()}])
def test_the_way_back_from_a_provider_that_is_down_keeps_where_the_sign_in_was_going(client):
    response = client.get("/login/sso?next=/contacts")

    assert response.status_code == 503
    assert '<a href="/login?next=/contacts">Back to sign in</a>' in text(response)
    # Another site is never where it leads.
    elsewhere = text(client.get("/login/sso?next=https://evil.example/x"))
    assert '<a href="/login">Back to sign in</a>' in elsewhere


def test_a_provider_that_answers_nonsense_gets_a_502(client, idp):
    idp.metadata = lambda: {"issuer": "https://someone-else.example"}

    assert client.get("/login/sso").status_code == 502


@pytest.mark.parametrize("app_settings", [{}])
def test_without_a_provider_there_is_no_button_and_no_route(client):
    login = client.get("/login")
    assert "Sign in with" not in text(login)
    assert login.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert client.get("/login/sso").status_code == 404
    assert client.get("/login/sso/callback?code=x&state=y").status_code == 404


@pytest.mark.parametrize(
    "sso_env", [{}, {"LOCAL_PASSWORDS": "0"}], ids=["passwords", "no-passwords"]
)
def test_a_single_sign_on_voids_a_temporary_password_instead_of_holding_the_session(
    client, session, idp, make_user
):
    """Held on "Change your password" on every page, asked for a temporary password the user may
    never have been given (with passwords off, with no password to change at all); and left
    alone, that password would go on opening the account."""
    make_user("pat", email="pat@example.com", must_change_password=True)
    idp.claims = verified_claims()
    assert dance(client).status_code == 302

    assert client.get("/candidates").status_code == 200
    pat = session.scalars(sa.select(User).where(User.username == "pat")).one()
    session.refresh(pat)
    assert not pat.must_change_password and not pat.check_password(PASSWORD)
    assert [e.subject_id for e in events(session, "auth.sso_temporary_password_voided")] == [pat.id]


def test_a_temporary_password_still_holds_a_password_sign_in(client, make_user):
    make_user("pat", must_change_password=True)
    assert client.login("pat").status_code == 302

    held = client.get("/candidates")

    assert held.status_code == 302 and held.headers["Location"].startswith("/profile/password")


# --- passwords switched off ------------------------------------------------------------------


@pytest.mark.parametrize("sso_env", [{"LOCAL_PASSWORDS": "0"}])
def test_with_passwords_off_the_login_page_has_only_the_button(client):
    page = text(client.get("/login"))
    assert 'href="/login/sso" autofocus>Sign in with Contoso</a>' in page
    assert 'name="password"' not in page
    assert ">Sign in</button>" not in page


@pytest.mark.parametrize("sso_env", [{"LOCAL_PASSWORDS": "0"}])
def test_with_passwords_off_a_right_password_is_refused(client, session, make_user):
    make_user("casey")

    response = client.login("casey")

    assert response.status_code == 403
    assert "Passwords are switched off here: sign in with Contoso." in text(response)
    assert not signed_in(client)


@pytest.mark.parametrize("sso_env", [{"LOCAL_PASSWORDS": "0"}])
def test_with_passwords_off_sso_still_signs_in(client, idp, make_user):
    make_user("pat", email="pat@example.com")
    idp.claims = verified_claims()

    assert dance(client).status_code == 302
    assert signed_in(client)
