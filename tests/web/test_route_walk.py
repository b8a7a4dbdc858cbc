"""Every route, walked as every role: the expected status per role is declared here, so a new route
without an entry, a missing permission check or a CSRF hole fails the suite."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser, office_named
from tests.delivery import queue
from webapp.models import AuditEvent, Message, SmsAccount
from webapp.sms import compose as sms_compose
from webapp.sms.account_secrets import key_material, seal

ROLES = ("anonymous", "viewer", "consultant", "team-leader", "administrator")
LOGIN = "login"  # a 302 to the sign-in page
SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Call:
    """One representative request: method, URL (with {placeholders} for the world's ids), form."""

    method: str
    url: str
    data: dict[str, str] | None = None


def expect(anonymous, viewer, consultant, team_leader, administrator) -> dict[str, int | str]:
    return dict(
        zip(ROLES, (anonymous, viewer, consultant, team_leader, administrator), strict=True)
    )


# Endpoint → (request, expected status per role). The forms are mostly empty: a POST that passes
# the gates answers its validation error (400), or does its harmless default.
TABLE: dict[str, tuple[Call, dict[str, int | str]]] = {
    "auth.login": (Call("GET", "/login"), expect(200, 302, 302, 302, 302)),
    "auth.logout": (Call("POST", "/logout"), expect(LOGIN, 302, 302, 302, 302)),
    "health.healthz": (Call("GET", "/healthz"), expect(200, 200, 200, 200, 200)),
    # No worker beats in the walk's world: not ready, whoever asks (monitoring does not sign in).
    "health.readyz": (Call("GET", "/readyz"), expect(503, 503, 503, 503, 503)),
    # The test client calls from 127.0.0.1: loopback needs no METRICS_TOKEN.
    "health.metrics": (Call("GET", "/metrics"), expect(200, 200, 200, 200, 200)),
    "health.home": (Call("GET", "/"), expect(LOGIN, 302, 302, 302, 302)),
    "dashboard.index": (Call("GET", "/dashboard"), expect(LOGIN, 200, 200, 200, 200)),
    "search.candidates": (Call("GET", "/candidates"), expect(LOGIN, 200, 200, 200, 200)),
    "search.contacts": (Call("GET", "/contacts"), expect(LOGIN, 200, 200, 200, 200)),
    "records.show": (Call("GET", "/candidates/{candidate}"), expect(LOGIN, 200, 200, 200, 200)),
    "records.new": (Call("GET", "/contacts/new"), expect(LOGIN, 403, 200, 200, 200)),
    "records.edit": (Call("POST", "/contacts/{contact}/edit"), expect(LOGIN, 403, 400, 400, 400)),
    # A Quick reply without its form's token is not one our page sent.
    "records.quick_reply_send": (
        Call("POST", "/candidates/{candidate}/reply", {"message": "Hi"}),
        expect(LOGIN, 403, 400, 400, 400),
    ),
    # Only htmx asks for the counter: a plain post goes back to the record.
    "records.quick_reply_counter": (
        Call("POST", "/candidates/{candidate}/reply/counter", {"message": "Hi"}),
        expect(LOGIN, 403, 303, 303, 303),
    ),
    # A Privacy form without the values it was loaded with is not one our page sent.
    "records.privacy": (
        Call("POST", "/candidates/{candidate}/privacy"),
        expect(LOGIN, 403, 400, 400, 400),
    ),
    "compose.compose": (
        Call("GET", "/sms/compose?candidate={candidate}"),
        expect(LOGIN, 403, 200, 200, 200),
    ),
    "compose.show": (Call("GET", "/sms/compose/{token}"), expect(LOGIN, 403, 200, 200, 200)),
    # Without JS a step on the SMS screen redirects back to it (post/redirect/get).
    "compose.update": (
        Call("POST", "/sms/compose/{token}/update"),
        expect(LOGIN, 403, 303, 303, 303),
    ),
    "compose.save": (
        Call("POST", "/sms/compose/{token}/save", {"message": "Hi"}),
        expect(LOGIN, 403, 204, 204, 204),
    ),
    # Cancel keeps what was typed, then goes back to the search.
    "compose.cancel": (
        Call("POST", "/sms/compose/{token}/cancel", {"message": "Hi"}),
        expect(LOGIN, 403, 303, 303, 303),
    ),
    "compose.counter": (
        Call("POST", "/sms/compose/{token}/counter", {"message": "Hi"}),
        expect(LOGIN, 403, 200, 200, 200),
    ),
    "compose.preview": (
        Call("POST", "/sms/compose/{token}/preview", {"message": "Hi"}),
        expect(LOGIN, 403, 303, 303, 303),
    ),
    "compose.outcome_list": (
        Call("GET", "/sms/compose/{token}/list/opted_out"),
        expect(LOGIN, 403, 200, 200, 200),
    ),
    "compose.send": (
        Call("POST", "/sms/compose/{token}/send", {"message": ""}),
        expect(LOGIN, 403, 400, 400, 400),
    ),
    # The batch was sent by another administrator: its page is for its sender and audit.view;
    # Resend only for its sender (the copies would be theirs).
    "batches.show": (Call("GET", "/sms/batches/{batch}"), expect(LOGIN, 404, 404, 200, 200)),
    "batches.resend": (
        Call("GET", "/sms/batches/{batch}/resend"),
        expect(LOGIN, 403, 404, 403, 403),
    ),
    # Send later: only the batch's sender may cancel it or edit its text; audit.view only sees it.
    "batches.cancel": (
        Call("GET", "/sms/batches/{batch}/cancel"),
        expect(LOGIN, 404, 404, 403, 403),
    ),
    "batches.edit": (
        Call("POST", "/sms/batches/{batch}/edit", {"message": "Hi"}),
        expect(LOGIN, 404, 404, 403, 403),
    ),
    "templates_admin.index": (Call("GET", "/templates"), expect(LOGIN, 403, 200, 200, 200)),
    "templates_admin.new": (Call("POST", "/templates/new"), expect(LOGIN, 403, 400, 400, 400)),
    # A shared template: those without templates.manage see it read-only and may not change it.
    "templates_admin.edit": (
        Call("POST", "/templates/{template}"),
        expect(LOGIN, 403, 403, 400, 400),
    ),
    "templates_admin.deactivate": (
        Call("POST", "/templates/{template}/deactivate"),
        expect(LOGIN, 403, 403, 303, 303),
    ),
    "templates_admin.reactivate": (
        Call("POST", "/templates/{template}/reactivate"),
        expect(LOGIN, 403, 403, 303, 303),
    ),
    "replies.unmatched": (Call("GET", "/replies/unmatched"), expect(LOGIN, 403, 403, 200, 200)),
    "replies.attach": (Call("POST", "/replies/{reply}/attach"), expect(LOGIN, 403, 403, 400, 400)),
    # Sent and Replies are for those who send or may see everyone's (audit.view).
    "sent.index": (Call("GET", "/sms/sent"), expect(LOGIN, 403, 200, 200, 200)),
    # The downloads follow their pages' rules: the batch's for its sender and audit.view.
    "exports.batch_messages": (
        Call("GET", "/sms/batches/{batch}/messages.csv"),
        expect(LOGIN, 404, 404, 200, 200),
    ),
    "exports.sent": (Call("GET", "/sms/sent.csv"), expect(LOGIN, 403, 200, 200, 200)),
    "inbox.index": (Call("GET", "/sms/replies"), expect(LOGIN, 403, 200, 200, 200)),
    # The navigation's poll: without htmx it only points to the inbox.
    "inbox.unread": (Call("GET", "/sms/replies/unread"), expect(LOGIN, 403, 302, 302, 302)),
    # The world's reply answers nobody's message: audit.view sees it, another consultant does not.
    "inbox.open_reply": (
        Call("POST", "/sms/replies/{reply}/open"),
        expect(LOGIN, 403, 404, 303, 303),
    ),
    "inbox.mark_read": (
        Call("POST", "/sms/replies/{reply}/read"),
        expect(LOGIN, 403, 404, 303, 303),
    ),
    "inbox.mark_unread": (
        Call("POST", "/sms/replies/{reply}/unread"),
        expect(LOGIN, 403, 404, 303, 303),
    ),
    "sandbox.index": (Call("GET", "/sandbox"), expect(LOGIN, 200, 200, 200, 200)),
    "sandbox.reply": (  # the world's message is still queued: it reached nobody to reply
        Call("POST", "/sandbox/reply", {"message_id": "{message}"}),
        expect(LOGIN, 409, 409, 409, 409),
    ),
    "audit.index": (Call("GET", "/audit"), expect(LOGIN, 403, 403, 200, 200)),
    "profile.index": (Call("GET", "/profile"), expect(LOGIN, 200, 200, 200, 200)),
    "profile.password": (Call("POST", "/profile/password"), expect(LOGIN, 400, 400, 400, 400)),
    "profile.sign_out_everywhere": (
        Call("POST", "/profile/sign-out-everywhere"),
        expect(LOGIN, 302, 302, 302, 302),
    ),
    "profile.two_factor": (Call("GET", "/profile/two-factor"), expect(LOGIN, 200, 200, 200, 200)),
    # The code step is only for a sign-in waiting for its code: none here, so back to the start.
    "auth.two_factor": (Call("GET", "/login/code"), expect(LOGIN, 302, 302, 302, 302)),
    # Single sign-on is not set up in the walk's world: its routes are not there for anyone
    # (tests/web/test_sso.py walks them with a provider).
    "auth.sso": (Call("GET", "/login/sso"), expect(404, 404, 404, 404, 404)),
    "auth.sso_callback": (
        Call("GET", "/login/sso/callback?code=x&state=y"),
        expect(404, 404, 404, 404, 404),
    ),
    "admin.reset_two_factor": (
        Call("GET", "/admin/users/{user}/two-factor/reset"),
        expect(LOGIN, 403, 403, 403, 200),
    ),
    # No box ticked is a valid choice: no role must use two-factor sign-in.
    "admin.two_factor_roles": (
        Call("POST", "/admin/settings/two-factor"),
        expect(LOGIN, 403, 403, 403, 302),
    ),
    "admin.users": (Call("GET", "/admin/users"), expect(LOGIN, 403, 403, 403, 200)),
    "admin.new_user": (Call("POST", "/admin/users/new"), expect(LOGIN, 403, 403, 403, 400)),
    "admin.edit_user": (Call("GET", "/admin/users/{user}/edit"), expect(LOGIN, 403, 403, 403, 200)),
    "admin.deactivate_user": (
        Call("POST", "/admin/users/{user}/deactivate"),
        expect(LOGIN, 403, 403, 403, 302),
    ),
    "admin.reactivate_user": (
        Call("POST", "/admin/users/{user}/reactivate"),
        expect(LOGIN, 403, 403, 403, 302),
    ),
    "admin.temporary_password": (
        Call("POST", "/admin/users/{user}/password"),
        expect(LOGIN, 403, 403, 403, 400),
    ),
    "admin.roles": (Call("GET", "/admin/roles"), expect(LOGIN, 403, 403, 403, 200)),
    # Blank settings are valid: each falls back to its default.
    "admin.settings": (Call("POST", "/admin/settings"), expect(LOGIN, 403, 403, 403, 302)),
    "admin.confirmation_settings": (
        Call("POST", "/admin/settings/confirmation"),
        expect(LOGIN, 403, 403, 403, 302),
    ),
    # Empty is valid: the server's QUIET_HOURS.
    "admin.quiet_hours_settings": (
        Call("POST", "/admin/settings/quiet-hours"),
        expect(LOGIN, 403, 403, 403, 302),
    ),
    # Every field empty is valid: no cap, and each role falls back to SMS_DAILY_LIMIT.
    "admin.sending_limits": (
        Call("POST", "/admin/settings/limits"),
        expect(LOGIN, 403, 403, 403, 302),
    ),
    "admin.status": (Call("GET", "/admin/status"), expect(LOGIN, 403, 403, 403, 200)),
    # An empty form: no name.
    "admin.offices": (Call("POST", "/admin/offices"), expect(LOGIN, 403, 403, 403, 400)),
    "admin.edit_office": (
        Call("GET", "/admin/offices/{office}"),
        expect(LOGIN, 403, 403, 403, 200),
    ),
    "admin.sms_accounts": (Call("GET", "/admin/sms-accounts"), expect(LOGIN, 403, 403, 403, 200)),
    # An empty form: no name, no gateway's fields.
    "admin.new_sms_account": (
        Call("POST", "/admin/sms-accounts/new"),
        expect(LOGIN, 403, 403, 403, 400),
    ),
    "admin.edit_sms_account": (
        Call("GET", "/admin/sms-accounts/{sms_account}/edit"),
        expect(LOGIN, 403, 403, 403, 200),
    ),
    "admin.retry_email": (
        Call("POST", "/admin/status/emails/{email}/retry"),
        expect(LOGIN, 403, 403, 403, 303),
    ),
    "admin.discard_email": (
        Call("POST", "/admin/status/emails/{email}/discard"),
        expect(LOGIN, 403, 403, 403, 303),
    ),
    "admin.add_blocked": (
        Call("POST", "/admin/settings/blocked"),
        expect(LOGIN, 403, 403, 403, 400),
    ),
    "admin.remove_blocked": (
        Call("GET", "/admin/settings/blocked/{blocked}/remove"),
        expect(LOGIN, 403, 403, 403, 200),
    ),
    # Webhooks answer the gateway, not a session: no credentials or signature is 403 for everyone.
    "webhooks.smscentral_inbound": (
        Call("POST", "/webhooks/smscentral/inbound"),
        expect(403, 403, 403, 403, 403),
    ),
    "webhooks.smscentral_receipt": (
        Call("GET", "/webhooks/smscentral/receipt"),
        expect(403, 403, 403, 403, 403),
    ),
    "webhooks.twilio_inbound": (
        Call("POST", "/webhooks/twilio/inbound"),
        expect(403, 403, 403, 403, 403),
    ),
    "webhooks.twilio_status": (
        Call("POST", "/webhooks/twilio/status"),
        expect(403, 403, 403, 403, 403),
    ),
    # An SMS account's own webhooks: the same, checked with that account's credentials.
    "webhooks.account_smscentral_inbound": (
        Call("POST", "/webhooks/smscentral/{smscentral_slug}/inbound"),
        expect(403, 403, 403, 403, 403),
    ),
    "webhooks.account_smscentral_receipt": (
        Call("GET", "/webhooks/smscentral/{smscentral_slug}/receipt"),
        expect(403, 403, 403, 403, 403),
    ),
    "webhooks.account_twilio_inbound": (
        Call("POST", "/webhooks/twilio/{twilio_slug}/inbound"),
        expect(403, 403, 403, 403, 403),
    ),
    "webhooks.account_twilio_status": (
        Call("POST", "/webhooks/twilio/{twilio_slug}/status"),
        expect(403, 403, 403, 403, 403),
    ),
}


@pytest.fixture
def app_settings():
    """Both gateways' webhook credentials set, so the webhooks are live, and /sandbox on."""
    return {
        "SMSCENTRAL_WEBHOOK_USERNAME": "gateway",
        "SMSCENTRAL_WEBHOOK_PASSWORD": "gateway-secret",
        "TWILIO_AUTH_TOKEN": "twilio-token",
        "SANDBOX": True,
    }


@pytest.fixture
def world(world, app, session):
    """The shared world, plus an SMS Central and a Twilio account with live webhooks."""
    material = key_material(app.config)
    for name, provider, secrets in (
        ("Walk SMS Central", "smscentral", {"password": "p", "webhook_password": "hook"}),
        ("Walk Twilio", "twilio", {"auth_token": "walk-token"}),
    ):
        slug = name.lower().replace(" ", "-")
        session.add(
            SmsAccount(
                name=name,
                slug=slug,
                provider=provider,
                webhook_username="walk" if provider == "smscentral" else None,
                secrets=seal(material, secrets),
            )
        )
        world[f"{provider}_slug"] = slug
    session.commit()
    world["sms_account"] = session.scalar(sa.select(SmsAccount.id).order_by(SmsAccount.id))
    world["office"] = office_named(session, "Walk office").id
    return world


def sign_in(client: Browser, session, make_user, role: str, world: dict) -> None:
    """Sign in as a new user with `role`; one who may send gets a compose draft of their own."""
    world["token"] = world["owner_token"]
    if role == "anonymous":
        return
    user = make_user(role=role)
    assert client.login(user.username, PASSWORD).status_code == 302
    if user.can("sms.send"):
        world["token"] = sms_compose.create_draft(
            session, user, "candidates", [world["candidate"]]
        ).token


def fill(text: str, world: dict) -> str:
    return text.format(**world)


def request(client: Browser, call: Call, world: dict):
    """Make `call` with the world's ids filled into its URL and form."""
    data = {key: fill(value, world) for key, value in (call.data or {}).items()}
    return client.open(fill(call.url, world), method=call.method, data=data)


def test_every_route_has_an_entry(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints == set(TABLE), "a route was added or removed: declare who may use it in TABLE"


def test_every_entrys_method_is_one_its_route_accepts(app):
    adapter = app.url_map.bind("localhost")
    for endpoint, (call, _) in TABLE.items():
        path = call.url.split("?")[0].format_map(_Ids())
        matched, _ = adapter.match(path, method=call.method)
        assert matched == endpoint, (endpoint, call)


class _Ids(dict):
    def __missing__(self, key: str) -> str:
        return "1"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(TABLE))
def test_each_role_gets_the_declared_status(client, session, make_user, world, endpoint, role):
    call, expected = TABLE[endpoint]
    sign_in(client, session, make_user, role, world)

    response = request(client, call, world)

    wanted = expected[role]
    if wanted == LOGIN:
        assert (response.status_code, response.headers.get("Location", "").split("?")[0]) == (
            302,
            "/login",
        ), response.get_data(as_text=True)[:500]
    else:
        assert response.status_code == wanted, response.get_data(as_text=True)[:500]


def unsafe_calls(app) -> list[tuple[str, str, str]]:
    return [
        (rule.endpoint, method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - SAFE)
    ]


@pytest.mark.parametrize("role", ("anonymous", "administrator"))
def test_every_unsafe_request_without_a_csrf_token_is_refused(
    client, session, make_user, world, role
):
    sign_in(client, session, make_user, role, world)
    checked = 0
    for endpoint, method, _ in unsafe_calls(client.application):
        call = TABLE[endpoint][0]
        url = fill(call.url, world)
        response = client.open(url, method=method, data={"x": "1"}, csrf=False)
        if endpoint.startswith("webhooks."):
            # Exempt from CSRF (a gateway has no session) and authenticated instead.
            assert response.status_code == 403, (endpoint, method)
        else:
            assert response.status_code == 400, (endpoint, method, response.status_code)
            assert "expired" in response.get_data(as_text=True), (endpoint, method)
        checked += 1
    assert checked >= 30


def test_every_head_answers_as_its_get_and_changes_nothing(client, session, make_user, world):
    """A HEAD (a link checker's, a prefetch's) is past CSRF's check, as a GET is: on a page that
    shows a form and acts on its POST it was taken for the POST. It deactivated a user, cancelled a
    scheduled send and discarded a failed email; it drew the other forms as refused saves (400)."""
    sign_in(client, session, make_user, "administrator", world)
    heads = 0
    for rule in client.application.url_map.iter_rules():
        if rule.endpoint == "static" or "HEAD" not in rule.methods:
            continue
        url = fill(TABLE[rule.endpoint][0].url, world)
        before = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        head = client.open(url, method="HEAD")
        session.expire_all()
        after = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
        assert after == before, (rule.endpoint, "a HEAD wrote to the audit log")
        get = client.get(url)
        assert head.status_code == get.status_code, (rule.endpoint, head.status_code)
        assert head.get_data() == b"", rule.endpoint
        heads += 1
    assert heads >= 40


def test_another_users_compose_draft_is_404(client, session, make_user, world):
    sign_in(client, session, make_user, "administrator", world)
    other = world["owner_token"]

    assert client.get(f"/sms/compose/{other}").status_code == 404
    for action in ("update", "counter", "preview", "send"):
        assert (
            client.post(f"/sms/compose/{other}/{action}", data={"message": "Hi"}).status_code == 404
        )
    assert client.get(f"/sms/compose/{other}/list/opted_out").status_code == 404
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2  # nothing sent


def test_another_consultants_batch_is_404(client, session, make_user, make_candidate, world):
    other = make_user(role="consultant")
    batch = queue(session, other, [make_candidate("Bo", "Diddley")], provider="sandbox")
    sign_in(client, session, make_user, "consultant", world)

    assert client.get(f"/sms/batches/{batch.id}").status_code == 404
    assert (
        client.post(f"/sms/batches/{batch.id}/resend", data={"states": "failed"}).status_code == 404
    )


@pytest.mark.parametrize("role", ("consultant", "administrator"))
def test_another_users_personal_template_is_404(
    client, session, make_user, make_template, world, role
):
    personal = make_template("Mine", "Hi", owner=make_user(role="consultant"), shared=False)
    sign_in(client, session, make_user, role, world)

    assert client.get(f"/templates/{personal.id}").status_code == 404
    assert client.post(f"/templates/{personal.id}", data={"name": "Stolen"}).status_code == 404
    assert client.post(f"/templates/{personal.id}/deactivate").status_code == 404
    session.refresh(personal)
    assert (personal.name, personal.active) == ("Mine", True)


@pytest.mark.parametrize("role", ("anonymous", "consultant", "administrator"))
def test_every_answer_but_the_health_check_and_static_files_says_no_store(
    client, session, make_user, world, role
):
    """Pages hold names, numbers and consent: no browser or proxy may keep a copy (Back after
    sign-out on a shared computer must not show them)."""
    sign_in(client, session, make_user, role, world)
    # Sign-outs last, so every other route is asked as the signed-in user.
    signing_out = {"auth.logout", "profile.sign_out_everywhere"}
    for endpoint in sorted(TABLE, key=lambda name: (name in signing_out, name)):
        response = request(client, TABLE[endpoint][0], world)
        cache_control = response.headers.get("Cache-Control", "")
        if endpoint == "health.healthz":
            assert "no-store" not in cache_control, endpoint
        else:
            assert cache_control == "no-store", (endpoint, response.status_code, cache_control)
    for static in ("/static/css/app.css", "/static/vendor/htmx-2.0.11.min.js"):
        response = client.get(static)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", ""), static
        response.close()
