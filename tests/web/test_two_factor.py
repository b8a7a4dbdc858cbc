"""Two-factor sign-in through the pages: enrolment, the code after the password, recovery codes,
throttling, the enrolment required of some roles, and an administrator's reset."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, writing
from tests.html_tree import parse
from tests.pages import fresh, unread_poll
from webapp import sealing
from webapp.errors import FieldError
from webapp.models import AuditEvent, LoginFailure, RecoveryCode, Setting, User
from webapp.users import throttle, two_factor
from webapp.web import sessions

CODE_PATTERN = re.compile(r"<code>([2-9a-z]{4}-[2-9a-z]{4})</code>")
# A fixed clock, mid-step, so a test knows which codes are current.
MOMENT = datetime(2026, 12, 2, 9, 30, 10, tzinfo=UTC)


@pytest.fixture
def app_settings():
    """As a real server: the default roles must use two-factor sign-in (the suite turns it off)."""
    return {"TWO_FACTOR_ROLES": None}


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """Every view reads the time of a code through throttle.now; fixed here, movable by tests."""
    state = {"moment": MOMENT}
    monkeypatch.setattr(throttle, "now", lambda: state["moment"])
    return state


@pytest.fixture
def material(app) -> str:
    """What the app seals two-factor keys and recovery codes under."""
    return sealing.key_material(app.config)


@pytest.fixture
def code_at(session, material):
    """The code of `user`'s key (read as the app reads it) at `moment`, `steps` steps away."""

    def code(user: User, moment: datetime, steps: int = 0) -> str:
        session.refresh(user)
        secret = two_factor.secret_of(user, material)
        return pyotp.TOTP(secret).at(moment + timedelta(seconds=30 * steps))

    return code


@pytest.fixture
def enrolled(session, make_user, material, code_at):
    """A consultant with two-factor sign-in on (as enrolment leaves it), and their recovery
    codes."""

    def make(role: str = "consultant", **fields) -> tuple[User, list[str]]:
        user = make_user(role=role, **fields)
        two_factor.key_for_enrolment(session, user, material)
        codes = two_factor.turn_on(session, user, code_at(user, MOMENT), MOMENT, material)
        return user, codes

    return make


def sign_in_with_code(client, user, code, next_path=None):
    url = "/login" + (f"?next={next_path}" if next_path else "")
    first = client.post(url, data={"username": user.username, "password": PASSWORD})
    assert first.status_code == 302 and first.location.endswith("/login/code"), first.data
    return client.post("/login/code", data={"code": code})


def field(page, label: str):
    """The control labelled `label` (a <label for>), or None."""
    for node in page.all("label"):
        if node.text == label and node.get("for"):
            found = page.all(id=node.get("for"))
            return found[0] if found else None
    return None


def button(page, name: str):
    return next((node for node in page.all("button") if node.text == name), None)


def link(page, name: str):
    return next((node for node in page.all("a") if node.text == name), None)


def checkbox(page, name: str):
    """The tick box whose label reads `name` (the box inside its label)."""
    for node in page.all("label"):
        if node.text == name:
            boxes = node.all("input", type="checkbox")
            if boxes:
                return boxes[0]
    return None


def signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


# --- enrolment -----------------------------------------------------------------------------------


def test_profile_links_to_two_factor_page(client, login):
    login()
    page = parse(client.get("/profile").get_data(as_text=True))
    assert link(page, "Two-factor sign-in").get("href") == "/profile/two-factor"


def test_enrolment_page_shows_key_as_text_and_qr_code_without_style(
    client, login, session, material
):
    user = login()
    response = client.get("/profile/two-factor")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', html).group(1)
    user = fresh(session, User, user.id)
    assert secret == two_factor.secret_of(user, material) and not user.two_factor_on
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert "style" not in svg and "<script" not in svg
    page = parse(html)
    assert field(page, "Authentication code") is not None
    assert button(page, "Turn on two-factor") is not None
    # A reload shows the same key (the app already scanned it).
    assert secret in client.get("/profile/two-factor").get_data(as_text=True)


def test_turning_on_shows_ten_recovery_codes_once(client, login, session, material, code_at):
    user = login()
    client.get("/profile/two-factor")
    user = fresh(session, User, user.id)
    posted = client.post("/profile/two-factor", data={"code": code_at(user, MOMENT)})
    assert posted.status_code == 302 and posted.location == "/profile/two-factor?codes=new"
    response = client.get(posted.location)
    assert response.status_code == 200
    codes = CODE_PATTERN.findall(response.get_data(as_text=True))
    assert len(codes) == len(set(codes)) == 10
    user = fresh(session, User, user.id)
    assert user.two_factor_on
    stored = set(session.scalars(sa.select(RecoveryCode.code_hash)))
    assert stored == {two_factor.recovery_digest(material, code) for code in codes}
    assert session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "user.two_factor_on", AuditEvent.subject_id == user.id
        )
    )
    again = client.get("/profile/two-factor").get_data(as_text=True)
    assert not CODE_PATTERN.search(again) and "10 unused recovery codes" in again


def test_a_wrong_code_does_not_turn_it_on(client, login, session, code_at):
    user = login()
    client.get("/profile/two-factor")
    user = fresh(session, User, user.id)
    wrong = code_at(user, MOMENT, steps=5)
    response = client.post("/profile/two-factor", data={"code": wrong})
    assert response.status_code == 400
    assert "That code is not right" in response.get_data(as_text=True)
    user = fresh(session, User, user.id)
    assert not user.two_factor_on


def test_new_recovery_codes_replace_the_old(client, session, enrolled, code_at):
    user, old = enrolled()
    assert sign_in_with_code(client, user, old[0]).status_code == 302
    response = client.post(
        "/profile/two-factor",
        data={"code": code_at(user, MOMENT, steps=1), "action": "renew"},
        follow_redirects=True,
    )
    new = CODE_PATTERN.findall(response.get_data(as_text=True))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    client.post("/logout")
    assert sign_in_with_code(client, user, old[1]).status_code == 401


def failures_of(session, user: User) -> tuple[int, set[str]]:
    """The sign-in failures counted against `user`, and the audited failures of any kind."""
    counted = session.scalar(
        sa.select(sa.func.count(LoginFailure.id)).where(
            LoginFailure.kind == "user", LoginFailure.key == user.username.lower()
        )
    )
    audited = set(
        session.scalars(
            sa.select(AuditEvent.action).where(
                AuditEvent.action.in_(
                    ["user.two_factor_failed", "auth.login_failed", "auth.locked"]
                )
            )
        )
    )
    return counted, audited


@pytest.mark.parametrize("action", ["renew", "enrol"])
def test_reloading_the_recovery_codes_is_no_failed_sign_in(
    app, client, login, session, enrolled, code_at, action
):
    """The codes' page answers a redirect (Post/Redirect/Get): a reload asks for the page again
    rather than posting the used code again, which counted as a wrong code and could lock."""
    if action == "renew":
        user, old = enrolled()
        sign_in_with_code(client, user, old[0])
        data = {"code": code_at(user, MOMENT, steps=1), "action": "renew"}
    else:
        user = login()
        client.get("/profile/two-factor")
        data = {"code": code_at(fresh(session, User, user.id), MOMENT)}
    before = failures_of(session, user)

    posted = client.post("/profile/two-factor", data=data)
    assert posted.status_code == 302 and posted.location == "/profile/two-factor?codes=new"
    # The session is a cookie: the codes wait in it sealed, never as they are shown.
    cookie = client.get_cookie("session").value
    stored = app.session_interface.get_signing_serializer(app).loads(cookie)
    shown = client.get(posted.location)
    codes = CODE_PATTERN.findall(shown.get_data(as_text=True))
    assert shown.status_code == 200 and len(codes) == 10
    assert not any(code in cookie or code in repr(stored) for code in codes)

    for _reload in range(6):  # more than the lockout allows
        again = client.get(posted.location)
        html = again.get_data(as_text=True)
        assert again.status_code == 200 and not CODE_PATTERN.search(html)
        notice = parse(html).all(id="codes-shown-already")
        assert notice and "are not shown again" in notice[0].text
        assert "press Make new recovery codes" in notice[0].text
        assert "That code is not right" not in html
    assert failures_of(session, user) == before
    assert signed_in(client)
    # The codes shown are the ones that work.
    client.post("/logout")
    assert sign_in_with_code(client, user, codes[0]).status_code == 302


def test_the_used_code_posted_again_is_still_refused(client, session, enrolled, code_at):
    # Once its codes were shown, a post of the same code again is no form sent twice.
    user, old = enrolled()
    sign_in_with_code(client, user, old[0])
    data = {"code": code_at(user, MOMENT, steps=1), "action": "renew"}
    posted = client.post("/profile/two-factor", data=data)
    assert CODE_PATTERN.search(client.get(posted.location).get_data(as_text=True))
    again = client.post("/profile/two-factor", data=data)
    assert again.status_code == 400 and not CODE_PATTERN.search(again.get_data(as_text=True))


def stored_codes(session, material, codes: list[str]) -> bool:
    """Whether `codes` are the user's recovery codes now."""
    session.commit()  # a fresh read: this session's transaction began before the posts
    stored = set(session.scalars(sa.select(RecoveryCode.code_hash)))
    return stored == {two_factor.recovery_digest(material, code) for code in codes}


def events(session, action: str) -> int:
    session.commit()  # a fresh read
    counted = sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == action)
    return session.scalar(counted)


@pytest.mark.parametrize("action", ["on", "renew"])
@pytest.mark.parametrize("first_answer", ["reached", "lost"])
def test_a_form_that_makes_codes_sent_twice_goes_to_its_codes_and_counts_no_failure(
    client, login, session, enrolled, material, code_at, action, first_answer
):
    """Enter pressed twice on a slow network (or a double click) posts the same code twice: the
    second said "already on (another tab)" or "not right" (a failed sign-in, even a lockout),
    and the codes the first made were never seen. When the first answer's cookie never reached
    the browser ("lost": the second post carries the cookie from before), the codes are gone and
    the page says so, rather than "shown once"."""
    if action == "renew":
        user, old = enrolled()
        sign_in_with_code(client, user, old[0])
        data = {"code": code_at(user, MOMENT, steps=1), "action": "renew"}
    else:
        user = login("team-leader")
        client.get("/profile/two-factor")
        data = {"code": code_at(fresh(session, User, user.id), MOMENT), "action": "on"}
    before = failures_of(session, user)
    cookie = client.get_cookie("session").value

    first = client.post("/profile/two-factor", data=data)
    if first_answer == "lost":
        client.set_cookie("session", cookie)
    second = client.post("/profile/two-factor", data=data)

    assert first.status_code == second.status_code == 302
    assert second.location == "/profile/two-factor?codes=new"
    page = client.get(second.location)
    html = page.get_data(as_text=True)
    codes = CODE_PATTERN.findall(html)
    if first_answer == "reached":
        assert page.status_code == 200 and len(codes) == 10
        assert stored_codes(session, material, codes)
    else:
        [notice] = parse(html).all(id="codes-shown-already")
        assert not codes and "The form was sent twice" in notice.text
        assert "Make new ones now" in notice.text
    assert "already on" not in html and "That code is not right" not in html
    assert failures_of(session, user) == before
    made = "user.two_factor_on" if action == "on" else "user.recovery_codes_renewed"
    assert events(session, made) == 1
    assert signed_in(client)


def test_turn_on_sent_twice_waiting_for_the_first_is_no_wrong_code(
    session, make_user, material, code_at
):
    """The second post read the user before the first turned it on, then waited its turn."""
    user = make_user(role="consultant")
    two_factor.key_for_enrolment(session, user, material)
    code = code_at(user, MOMENT)
    two_factor.turn_on(session, user, code, MOMENT, material)
    with pytest.raises(two_factor.SentTwice):
        two_factor.turn_on(session, user, code, MOMENT + timedelta(seconds=5), material)
    # A minute on, or once this browser showed the codes, it is refused as before.
    with pytest.raises(FieldError) as refused:
        two_factor.turn_on(session, user, code, MOMENT + timedelta(seconds=61), material)
    assert not isinstance(refused.value, two_factor.SentTwice)
    with pytest.raises(FieldError) as refused:
        two_factor.turn_on(session, user, code, MOMENT, material, not_before=MOMENT)
    assert not isinstance(refused.value, two_factor.SentTwice)


def test_codes_are_shown_only_to_their_sign_in_and_while_they_work(
    app, client, clock, session, enrolled, code_at, material
):
    user, old = enrolled()
    sign_in_with_code(client, user, old[0])
    data = {"code": code_at(user, MOMENT, steps=1), "action": "renew"}
    assert client.post("/profile/two-factor", data=data).status_code == 302
    serializer = app.session_interface.get_signing_serializer(app)
    sealed = serializer.loads(client.get_cookie("session").value)["recovery_codes_to_show"]
    # Given to another sign-in of the same user (another browser): not its codes to show.
    other = app.test_client()
    clock["moment"] = MOMENT + timedelta(minutes=1)
    sign_in_with_code(other, user, code_at(user, clock["moment"]))
    with other.session_transaction() as cookie:
        cookie["recovery_codes_to_show"] = sealed
    page = other.get("/profile/two-factor?codes=new").get_data(as_text=True)
    assert not CODE_PATTERN.search(page) and "are not shown again" in page
    # Replaced meanwhile (from that other browser): not shown as if they still worked.
    later = code_at(user, clock["moment"], steps=1)
    session.commit()  # a fresh transaction, taking the write lock: this one read before the posts
    writing(session)
    two_factor.renew_recovery_codes(session, user, later, clock["moment"], material)
    page = client.get("/profile/two-factor?codes=new").get_data(as_text=True)
    assert not CODE_PATTERN.search(page) and "are not shown again" in page


def test_enter_in_the_code_box_neither_renews_the_codes_nor_turns_it_off(
    client, session, enrolled, code_at
):
    # Enter presses a form's first button: the page's first is a hidden one that asks which.
    user, old = enrolled()
    sign_in_with_code(client, user, old[0])
    page = parse(client.get("/profile/two-factor").get_data(as_text=True))
    [form] = [f for f in page.all("form") if f.get("action") == "/profile/two-factor"]
    first = form.all("button")[0]
    assert (first.get("value"), "hidden" in first.attrs) == ("enter", True)

    for pressed in ({"action": "enter"}, {}):  # the hidden button, or none (a browser without it)
        response = client.post(
            "/profile/two-factor", data={"code": code_at(user, MOMENT, steps=1), **pressed}
        )

        assert response.status_code == 400
        assert "Enter alone does nothing here" in response.get_data(as_text=True)
        # The focus back in the code box, not at the top of the page.
        [box] = parse(response.get_data(as_text=True)).all("input", id="code")
        assert "autofocus" in box.attrs
    user = fresh(session, User, user.id)
    assert user.two_factor_on
    client.post("/logout")
    assert (
        sign_in_with_code(client, user, old[1]).status_code == 302
    )  # the printed codes still work


def test_with_one_action_enter_presses_it(client, enrolled):
    user, codes = enrolled(role="team-leader")  # required of the role: no Turn off
    sign_in_with_code(client, user, codes[0])
    page = parse(client.get("/profile/two-factor").get_data(as_text=True))
    [form] = [f for f in page.all("form") if f.get("action") == "/profile/two-factor"]
    assert [b.get("value") for b in form.all("button")] == ["renew"]


def test_turning_off_needs_a_current_code(client, session, enrolled, code_at):
    user, codes = enrolled()
    sign_in_with_code(client, user, codes[0])
    refused = client.post("/profile/two-factor", data={"code": "000000", "action": "off"})
    assert refused.status_code == 400
    response = client.post(
        "/profile/two-factor",
        data={"code": code_at(user, MOMENT, steps=1), "action": "off"},
    )
    assert response.status_code == 302
    user = fresh(session, User, user.id)
    assert not user.two_factor_on and user.totp_secret is None
    assert not session.scalar(sa.select(sa.func.count(RecoveryCode.id)))


# --- signing in ----------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password(client, enrolled, code_at):
    user, _codes = enrolled()
    first = client.post(
        "/login?next=/contacts", data={"username": user.username, "password": PASSWORD}
    )
    assert first.status_code == 302 and first.location.endswith("/login/code")
    assert not signed_in(client)
    page = client.get("/login/code")
    assert page.status_code == 200
    assert field(parse(page.get_data(as_text=True)), "Authentication code") is not None
    response = client.post("/login/code", data={"code": code_at(user, MOMENT, steps=1)})
    assert response.status_code == 302 and response.location == "/contacts"
    assert signed_in(client)


def test_a_code_is_never_accepted_twice(client, enrolled, code_at):
    user, _codes = enrolled()
    code = code_at(user, MOMENT, steps=1)
    assert sign_in_with_code(client, user, code).status_code == 302
    client.post("/logout")
    again = sign_in_with_code(client, user, code)
    assert again.status_code == 401
    assert "used already" in again.get_data(as_text=True)
    assert not signed_in(client)


def test_the_code_sent_twice_is_no_failed_sign_in_and_asks_for_the_next(
    client, session, enrolled, code_at, clock
):
    """Enter pressed twice on the code step: the first post signed in, but its answer (the
    signed-in cookie) never reached the browser, whose second post (with the cookie from before)
    was told the code was wrong, a failed sign-in. It is not signed in again on the spent code."""
    user, _codes = enrolled()
    clock["moment"] = MOMENT + timedelta(seconds=30)
    code = code_at(user, clock["moment"])
    before = failures_of(session, user)
    first = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert first.location.endswith("/login/code")
    pending = client.get_cookie("session").value

    assert client.post("/login/code", data={"code": code}).status_code == 302
    client.set_cookie("session", pending)  # the first answer never reached the browser
    again = client.post("/login/code", data={"code": code})

    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "That code was used a moment ago to sign in" in html
    assert "That code is not right" not in html and not signed_in(client)
    assert failures_of(session, user) == before
    # The next code signs in here; a spent code from another sign-in is still refused.
    clock["moment"] += timedelta(seconds=30)
    nxt = client.post("/login/code", data={"code": code_at(user, clock["moment"])})
    assert nxt.status_code == 302 and signed_in(client)
    client.post("/logout")
    refused = sign_in_with_code(client, user, code_at(user, clock["moment"]))
    assert refused.status_code == 401  # its sign-in began after the code was spent


def test_the_enrolment_code_does_not_sign_in(client, enrolled, code_at):
    user, _codes = enrolled()
    # Enrolment used the current step: that code, and any before it, is spent.
    assert sign_in_with_code(client, user, code_at(user, MOMENT)).status_code == 401
    refused = client.post("/login/code", data={"code": code_at(user, MOMENT, -1)})
    assert refused.status_code == 401


def test_a_recovery_code_signs_in_once(client, session, enrolled):
    user, codes = enrolled()
    response = sign_in_with_code(client, user, codes[3].upper().replace("-", " "))
    assert response.status_code == 302
    assert signed_in(client)
    client.post("/logout")
    assert sign_in_with_code(client, user, codes[3]).status_code == 401
    assert (
        session.scalar(
            sa.select(sa.func.count(RecoveryCode.id)).where(RecoveryCode.used_at.is_not(None))
        )
        == 1
    )
    assert session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.recovery_code_used")
    ).details == {"left": 9}


def test_wrong_codes_are_throttled_like_passwords(client, session, enrolled, code_at):
    user, _codes = enrolled()
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    for _ in range(throttle.FREE_FAILURES):
        wrong = client.post("/login/code", data={"code": "123456"})
        assert wrong.status_code == 401
    failures = session.scalars(
        sa.select(LoginFailure.kind).where(LoginFailure.key == user.username)
    )
    assert list(failures) == ["account"] * throttle.FREE_FAILURES
    # Now locked: even the right code is refused, with the reason on the form.
    locked = client.post("/login/code", data={"code": code_at(user, MOMENT, 1)})
    assert locked.status_code == 401
    # For as long as it is, not "a few minutes": a second after the fifth wrong code.
    # Without blaming the codes: a colleague at the same address may have caused the lock.
    assert (
        "Too many failed attempts from this account or network. Try again in about 1 second:"
        in locked.get_data(as_text=True)
    )
    assert not signed_in(client)
    # The same lock holds for the password form.
    assert client.login(user.username).status_code == 429


def test_the_code_step_expires(client, monkeypatch, enrolled):
    user, codes = enrolled()
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    later = sessions.now() + 6 * 60
    monkeypatch.setattr(sessions, "now", lambda: later)
    response = client.post("/login/code", data={"code": codes[0]})
    assert response.status_code == 302 and response.location.endswith("/login")
    assert not signed_in(client)


def test_a_code_step_that_expired_keeps_where_the_sign_in_was_going(client, monkeypatch, enrolled):
    """Signed out while typing on Profile, then too slow with the code: the sign-in page lost its
    ?next=, and with it the way back to the page whose typed text waits to come back."""
    user, codes = enrolled()
    client.post("/login?next=/profile", data={"username": user.username, "password": PASSWORD})
    later = sessions.now() + 6 * 60
    monkeypatch.setattr(sessions, "now", lambda: later)
    response = client.post("/login/code", data={"code": codes[0]})
    assert response.status_code == 302 and response.location == "/login?next=/profile"
    assert "waited too long" in client.get(response.location).get_data(as_text=True)


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ()}])
def test_a_code_step_after_a_reset_says_the_account_changed(app, client, make_user, enrolled):
    """Reset by an administrator while the user was on the code page: not "waited too long"."""
    user, codes = enrolled()
    client.post("/login?next=/profile", data={"username": user.username, "password": PASSWORD})
    admin = app.test_client()
    assert admin.login(make_user(role="administrator").username).status_code == 302
    assert admin.post(f"/admin/users/{user.id}/two-factor/reset").status_code == 302

    response = client.post("/login/code", data={"code": codes[0]})

    assert response.status_code == 302 and response.location == "/login?next=/profile"
    page = client.get(response.location).get_data(as_text=True)
    assert "Please sign in again: your account changed meanwhile." in page
    assert "waited too long" not in page
    assert not signed_in(client)


def test_start_again_keeps_where_the_sign_in_was_going(client, enrolled):
    user, _codes = enrolled()
    client.post("/login?next=/profile", data={"username": user.username, "password": PASSWORD})
    for response in (client.get("/login/code"), client.post("/login/code", data={"code": "1"})):
        start_again = link(parse(response.get_data(as_text=True)), "Start again")
        assert start_again.get("href") == "/login?next=/profile"


@pytest.mark.parametrize(
    "role, advice",
    [
        ("consultant", "Make new recovery codes or enrol again on your profile."),
        # Two-factor cannot be turned off, so enrolling again takes an administrator's reset.
        (
            "team-leader",
            "Make new recovery codes on your profile, or ask an administrator to reset your "
            "two-factor sign-in, then enrol again.",
        ),
    ],
)
def test_a_recovery_code_sign_in_says_what_to_do_about_the_phone(client, enrolled, role, advice):
    user, codes = enrolled(role)
    response = sign_in_with_code(client, user, codes[0])
    assert response.status_code == 302
    page = client.get(response.location, follow_redirects=True).get_data(as_text=True)
    assert "You signed in with a recovery code, which cannot be used again; 9 left." in page
    assert f"Lost your phone? {advice}" in page


def test_a_code_on_the_way_to_a_download_lands_on_its_page(client, enrolled, code_at):
    """As after a password alone (webapp.web.access.landing): not the file saved behind a
    sign-in form, but the page with the link, saying to press it again."""
    user, _codes = enrolled()
    client.post(
        "/login?next=/sms/sent.csv?text=shift",
        data={"username": user.username, "password": PASSWORD},
    )
    response = client.post("/login/code", data={"code": code_at(user, MOMENT, steps=1)})
    assert response.status_code == 302 and response.location == "/sms/sent?text=shift"
    assert "press Download CSV again" in client.get(response.location).get_data(as_text=True)


def test_code_step_needs_a_password_first(client):
    response = client.get("/login/code")
    assert response.status_code == 302 and response.location.endswith("/login")


# --- required for some roles ---------------------------------------------------------------------


def test_a_team_leader_must_enrol_before_anything_else(client, login, session, code_at):
    user = login("team-leader")
    for path in ("/candidates", "/", "/profile", "/sms/compose?candidate=1"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.startswith("/profile/two-factor"), path
    htmx = client.get("/candidates", htmx=True)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/profile/two-factor"
    assert client.post("/profile", data={"email": "x@example.com"}).status_code == 302
    page = client.get("/profile/two-factor")
    assert page.status_code == 200
    assert "Your role requires two-factor sign-in" in page.get_data(as_text=True)
    user = fresh(session, User, user.id)
    client.post("/profile/two-factor", data={"code": code_at(user, MOMENT)})
    assert client.get("/candidates").status_code == 200


def test_sign_out_stays_open_to_a_user_who_must_enrol(client, login):
    login("administrator")
    assert client.post("/logout").status_code == 302
    assert not signed_in(client)


def test_a_consultant_need_not_enrol_by_default(client, login):
    login("consultant")
    assert client.get("/candidates").status_code == 200


def test_saving_the_default_roles_as_they_stand_keeps_them(client, session, enrolled):
    """The page says the default applies "until saved here": saved unchanged, it was not stored,
    so a permission given to another role later made that role need it too."""
    admin, codes = enrolled("administrator")
    sign_in_with_code(client, admin, codes[0])

    response = client.post(
        "/admin/settings/two-factor", data={"roles": ["administrator", "team-leader"]}
    )

    assert response.status_code == 302
    said = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Two-factor sign-in roles saved." in said
    assert "Until saved here" not in said
    assert session.get(Setting, "two_factor_roles").value == ["administrator", "team-leader"]
    again = client.post(
        "/admin/settings/two-factor", data={"roles": ["administrator", "team-leader"]}
    )
    assert "Two-factor roles unchanged." in client.get(again.headers["Location"]).get_data(
        as_text=True
    )


def test_a_required_role_cannot_turn_it_off(client, enrolled):
    user, codes = enrolled("team-leader")
    sign_in_with_code(client, user, codes[0])
    page = parse(client.get("/profile/two-factor").get_data(as_text=True))
    assert button(page, "Turn off two-factor") is None
    response = client.post("/profile/two-factor", data={"code": codes[1], "action": "off"})
    assert response.status_code == 403


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ("consultant",)}])
def test_the_environment_chooses_the_roles(client, login):
    login("consultant")
    assert client.get("/candidates").location.startswith("/profile/two-factor")


def test_the_settings_page_chooses_the_roles(client, session, make_user, enrolled):
    admin, codes = enrolled("administrator")
    sign_in_with_code(client, admin, codes[0])
    page = parse(client.get("/admin/settings").get_data(as_text=True))
    assert "checked" in checkbox(page, "administrator").attrs
    assert "checked" in checkbox(page, "team-leader").attrs
    assert "checked" not in checkbox(page, "consultant").attrs
    response = client.post("/admin/settings/two-factor", data={"roles": ["consultant"]})
    assert response.status_code == 302
    assert session.get(Setting, "two_factor_roles").value == ["consultant"]
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "settings.changed"))
    assert event.details == {
        "changes": {"two_factor_roles": [["administrator", "team-leader"], ["consultant"]]}
    }
    lead = make_user(role="team-leader")
    consultant = make_user(role="consultant")
    client.post("/logout")
    client.login(lead.username)
    assert client.get("/candidates").status_code == 200
    client.post("/logout")
    client.login(consultant.username)
    assert client.get("/candidates").location.startswith("/profile/two-factor")


def test_the_settings_refuse_an_unknown_role(client, session, enrolled):
    admin, codes = enrolled("administrator")
    sign_in_with_code(client, admin, codes[0])
    response = client.post("/admin/settings/two-factor", data={"roles": ["nobody"]})
    assert response.status_code == 400
    assert "There is no role called “nobody”." in response.get_data(as_text=True)
    assert session.get(Setting, "two_factor_roles") is None


# --- an administrator's reset --------------------------------------------------------------------


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ()}])
def test_an_administrator_resets_a_users_two_factor(client, login, session, enrolled):
    user, codes = enrolled()
    admin = login("administrator")
    page = parse(client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True))
    reset = link(page, f"Reset two-factor sign-in of {user.full_name}")
    assert reset.get("href") == f"/admin/users/{user.id}/two-factor/reset"
    confirm = client.get(reset.get("href"))
    assert confirm.status_code == 200
    assert button(parse(confirm.get_data(as_text=True)), "Reset two-factor sign-in") is not None
    response = client.post(reset.get("href"))
    assert response.status_code == 302
    user = fresh(session, User, user.id)
    assert not user.two_factor_on and user.totp_secret is None
    assert not session.scalar(sa.select(sa.func.count(RecoveryCode.id)))
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset")
    )
    assert (event.actor_id, event.subject_id) == (admin.id, user.id)
    client.post("/logout")
    # Their password alone signs them in now; an old recovery code is nothing.
    assert client.login(user.username).status_code == 302
    assert signed_in(client)
    assert codes  # kept only to show they were issued


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ("team-leader",)}])
def test_a_users_page_tells_an_enrolment_begun_from_one_never_begun(
    client, login, session, make_user, material
):
    """A team leader half-way through enrolling was shown as "Off — signs in with a password
    alone", with no Reset link, though the reset takes a half-done enrolment."""
    started, never, consultant = (
        make_user(role=role) for role in ("team-leader",) * 2 + ("consultant",)
    )
    two_factor.key_for_enrolment(session, started, material, this_session="theirs")
    login("administrator")

    def section(user):
        page = parse(client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True))
        return page.one("section", aria_labelledby="user-two-factor-heading")

    shown = section(started)
    assert "Enrolment started, not finished" in shown.text
    assert "must finish enrolling at their next sign-in" in shown.text
    reset = link(shown, f"Reset two-factor sign-in of {started.full_name}")
    assert reset.get("href") == f"/admin/users/{started.id}/two-factor/reset"
    assert client.post(reset.get("href")).status_code == 302
    assert fresh(session, User, started.id).totp_secret is None

    shown = section(never)
    assert "Their role requires two-factor sign-in, so they must enrol when they next sign in" in (
        shown.text
    )
    assert "password alone" not in shown.text and not shown.all("a")
    shown = section(consultant)
    assert f"{consultant.full_name} signs in with a password alone." in shown.text


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ()}])
def test_a_reset_signs_the_user_out_wherever_they_are_signed_in(app, client, login, enrolled):
    """A reset is for a lost phone: whoever holds it may hold a session on it too."""
    user, codes = enrolled()
    theirs = app.test_client()
    assert sign_in_with_code(theirs, user, codes[0]).status_code == 302
    assert theirs.get("/candidates").status_code == 200
    login("administrator")

    response = client.post(f"/admin/users/{user.id}/two-factor/reset")

    assert response.status_code == 302
    said = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "they are signed out, and they enrol again from their profile." in said
    assert sent_to_sign_in(theirs.get("/candidates"))
    assert client.get("/admin/users").status_code == 200


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ()}])
def test_an_administrator_resetting_their_own_stays_signed_in_here_only(app, client, enrolled):
    admin, codes = enrolled("administrator")
    assert sign_in_with_code(client, admin, codes[0]).status_code == 302
    elsewhere = app.test_client()
    assert sign_in_with_code(elsewhere, admin, codes[1]).status_code == 302
    url = f"/admin/users/{admin.id}/two-factor/reset"
    assert "they are signed out everywhere but here." in client.get(url).get_data(as_text=True)

    response = client.post(url)

    assert response.status_code == 302
    said = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "your other sessions are ended, and you enrol again from your profile." in said
    assert sent_to_sign_in(elsewhere.get("/candidates"))


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ()}])
def test_resetting_a_user_who_never_turned_it_on_says_so_and_changes_nothing(
    client, login, session, make_user
):
    """It said their key and codes no longer worked, and wrote a reset to the audit log."""
    jo = make_user("jo", role="consultant")
    login("administrator")
    url = f"/admin/users/{jo.id}/two-factor/reset"

    page = parse(client.get(url).get_data(as_text=True))
    assert button(page, "Reset two-factor sign-in") is None
    response = client.post(url)

    assert response.status_code == 302
    said = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Jo has not turned on two-factor sign-in: there is nothing to reset." in said
    assert not session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset")
    )


@pytest.mark.parametrize("app_settings", [{"TWO_FACTOR_ROLES": ()}])
def test_only_user_managers_reset_two_factor(client, login, enrolled):
    user, _codes = enrolled()
    login("team-leader")
    assert client.get(f"/admin/users/{user.id}/two-factor/reset").status_code == 403
    assert client.post(f"/admin/users/{user.id}/two-factor/reset").status_code == 403


# --- review fixes: the profile's code checks throttled, foreign digits, old sessions -----------

# Arabic-Indic digits: str.isdigit() holds for them, but no authenticator shows them.
FOREIGN_DIGITS = "١٢٣٤٥٦"


@pytest.mark.parametrize("action", ["renew", "off"])
def test_wrong_codes_on_the_profile_are_throttled_like_sign_in(
    client, session, enrolled, code_at, action
):
    user, codes = enrolled()
    sign_in_with_code(client, user, codes[0])
    for _ in range(throttle.FREE_FAILURES):
        wrong = client.post("/profile/two-factor", data={"code": "123456", "action": action})
        assert wrong.status_code == 400
    kinds = session.scalars(sa.select(LoginFailure.kind).where(LoginFailure.key == user.username))
    assert list(kinds) == ["account"] * throttle.FREE_FAILURES
    # Audited as the signed-in user's, on the profile (it read "sign-in", by "system").
    failed = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_failed")
    ).all()
    step = {"renew": "renew codes", "off": "turn off"}[action]
    assert {(e.actor_id, e.subject_id, e.details["step"]) for e in failed} == {
        (user.id, user.id, step)
    }
    # Now locked: the right code is refused too, and nothing changed.
    locked = client.post(
        "/profile/two-factor", data={"code": code_at(user, MOMENT, 1), "action": action}
    )
    assert locked.status_code == 429
    assert "Too many failed attempts from this account or network" in locked.get_data(as_text=True)
    user = fresh(session, User, user.id)
    assert user.two_factor_on and two_factor.recovery_codes_left(session, user) == 9
    # One lock for every place a code or password is typed.
    client.post("/logout")
    assert client.login(user.username).status_code == 429


def test_wrong_codes_at_enrolment_are_throttled(client, login, session, code_at):
    user = login()
    client.get("/profile/two-factor")
    for _ in range(throttle.FREE_FAILURES):
        assert client.post("/profile/two-factor", data={"code": "123456"}).status_code == 400
    locked = client.post("/profile/two-factor", data={"code": code_at(user, MOMENT)})
    assert locked.status_code == 429
    assert not fresh(session, User, user.id).two_factor_on


def test_a_right_code_on_the_profile_forgives_earlier_failures(client, session, enrolled, code_at):
    user, codes = enrolled()
    sign_in_with_code(client, user, codes[0])
    client.post("/profile/two-factor", data={"code": "123456", "action": "renew"})
    right = client.post(
        "/profile/two-factor", data={"code": code_at(user, MOMENT, 1), "action": "renew"}
    )
    assert right.status_code == 302
    session.commit()  # a fresh read: this session's transaction began before the post
    failures = session.scalar(
        sa.select(sa.func.count(LoginFailure.id)).where(LoginFailure.key == user.username)
    )
    assert failures == 0


def test_foreign_digits_are_a_wrong_code_at_sign_in_not_an_error(client, enrolled):
    user, _codes = enrolled()
    response = sign_in_with_code(client, user, FOREIGN_DIGITS)
    assert response.status_code == 401
    assert "That code is not right" in response.get_data(as_text=True)
    assert not signed_in(client)


@pytest.mark.parametrize("action", [None, "renew", "off"])
def test_foreign_digits_are_a_wrong_code_on_the_profile(client, login, enrolled, action, code_at):
    if action is None:
        login()
        client.get("/profile/two-factor")
        data = {"code": FOREIGN_DIGITS}
    else:
        user, codes = enrolled()
        sign_in_with_code(client, user, codes[0])
        data = {"code": FOREIGN_DIGITS, "action": action}
    response = client.post("/profile/two-factor", data=data)
    assert response.status_code == 400
    assert "That code is not right" in response.get_data(as_text=True)


def test_a_session_without_a_sign_in_mark_must_enrol_too(client, login):
    # A session from before sign-ins were marked, or from any way in but single sign-on.
    login("team-leader")
    with client.session_transaction() as cookie:
        # Both marks: this code's (webapp.web.sessions), and the one that exempted the rest.
        cookie.pop("signed_in_with", None)
        cookie.pop("password_sign_in", None)
    response = client.get("/candidates")
    assert response.status_code == 302
    assert response.location.startswith("/profile/two-factor")


def test_keys_and_recovery_codes_are_not_kept_in_the_clear(
    client, login, session, material, code_at
):
    user = login()
    html = client.get("/profile/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', html).group(1)
    stored = fresh(session, User, user.id).totp_secret
    assert secret not in stored and len(stored) <= 255
    response = client.post("/profile/two-factor", data={"code": code_at(user, MOMENT)})
    codes = CODE_PATTERN.findall(response.get_data(as_text=True))
    session.commit()  # a fresh read: this session's transaction began before the post
    digests = set(session.scalars(sa.select(RecoveryCode.code_hash)))
    plain = {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert len(digests) == 10 and not digests & plain


def test_the_unread_count_polling_does_not_reload_the_enrolment_page(client, login):
    """The enrolment page a team leader is held on polls the unread count every minute: answered
    by a move to that very page, it reloaded itself (its next= gone), and the code being typed
    went with it."""
    login("team-leader")
    assert 'id="unread-poll"' in client.get("/profile/two-factor?next=/sent").get_data(as_text=True)
    response = unread_poll(client, "/profile/two-factor?next=/sent")
    assert response.status_code == 204 and "HX-Redirect" not in response.headers
    # Anything the user does still leads there, and back to the page after.
    assert client.get("/candidates", htmx=True).headers["HX-Redirect"] == "/profile/two-factor"
    response = client.post(
        "/templates/new",
        data={"action": "counter", "body": "Hi"},
        htmx=True,
        headers={"HX-Current-URL": "http://localhost/templates/new"},
    )
    assert response.headers["HX-Redirect"] == "/profile/two-factor?next=/templates/new"


# --- one sign-in's enrolment, and what turning it on ends ----------------------------------------

KEY_PATTERN = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')


def key_on_page(client) -> str:
    """The enrolment key the page shows this browser."""
    return KEY_PATTERN.search(client.get("/profile/two-factor").get_data(as_text=True)).group(1)


def test_turning_it_on_ends_the_users_other_sessions(app, client, login, session, code_at):
    """A sign-in with the password alone, held to enrolment, was let through once the user
    turned two-factor on elsewhere."""
    user = login("team-leader")  # browser A: the password alone
    assert client.get("/candidates").location.startswith("/profile/two-factor")
    theirs = app.test_client()  # browser B: the user, who turns it on
    assert theirs.login(user.username).status_code == 302
    key_on_page(theirs)
    user = fresh(session, User, user.id)
    posted = theirs.post(
        "/profile/two-factor", data={"code": code_at(user, MOMENT), "action": "on"}
    )
    assert posted.status_code == 302 and posted.location == "/profile/two-factor?codes=new"

    assert sent_to_sign_in(client.get("/sms/compose?candidate=1"))
    assert sent_to_sign_in(client.get("/candidates"))
    assert theirs.get("/candidates").status_code == 200  # where it was turned on


def test_an_enrolment_key_is_shown_to_its_own_sign_in_only(
    app, client, login, session, clock, code_at
):
    """Someone who signed in with the password (to steal it, say) copied the key the page showed
    them: the user, signed in elsewhere, enrolled that very key, and the copy then signed in."""
    user = login("team-leader")  # browser A: the one with the stolen password
    copied = key_on_page(client)
    assert key_on_page(client) == copied  # a reload, or another tab of that sign-in: the same key
    theirs = app.test_client()  # browser B: the user
    assert theirs.login(user.username).status_code == 302
    own = key_on_page(theirs)
    assert own != copied and key_on_page(theirs) == own

    # A page of A's, left open, cannot turn it on with the key B is now shown; it is shown a
    # new key of its own instead, and B a new one again.
    user = fresh(session, User, user.id)
    refused = client.post(
        "/profile/two-factor", data={"code": code_at(user, MOMENT), "action": "on"}
    )
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "no longer the one to enrol" in html
    assert not fresh(session, User, user.id).two_factor_on
    seen_by_a = {copied, KEY_PATTERN.search(html).group(1)}
    own = key_on_page(theirs)
    assert own not in seen_by_a

    user = fresh(session, User, user.id)
    posted = theirs.post(
        "/profile/two-factor", data={"code": code_at(user, MOMENT), "action": "on"}
    )
    assert posted.status_code == 302
    clock["moment"] = MOMENT + timedelta(seconds=60)
    stranger = app.test_client()
    copy_code = pyotp.TOTP(copied).at(clock["moment"])
    assert sign_in_with_code(stranger, user, copy_code).status_code == 401


def test_a_password_change_drops_a_key_whose_enrolment_was_not_finished(
    app, client, login, session
):
    user = login("consultant")  # browser A, signed in with the password
    copied = key_on_page(client)
    theirs = app.test_client()
    assert theirs.login(user.username).status_code == 302
    changed = theirs.post(
        "/profile/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-new-long-password-9",
            "repeat_password": "a-new-long-password-9",
        },
    )
    assert changed.status_code == 302
    assert fresh(session, User, user.id).totp_secret is None
    assert sent_to_sign_in(client.get("/candidates"))
    assert key_on_page(theirs) != copied


def test_turn_on_pressed_in_a_second_tab_keeps_the_codes_the_first_showed(
    client, login, session, clock, material, code_at
):
    """Two tabs of the enrolment page: the second's Turn on, once the first turned it on, made
    new recovery codes, silently voiding the ten the first had shown."""
    user = login("team-leader")
    page = parse(client.get("/profile/two-factor").get_data(as_text=True))  # both tabs
    assert button(page, "Turn on two-factor").get("value") == "on"
    user = fresh(session, User, user.id)
    first = client.post("/profile/two-factor", data={"code": code_at(user, MOMENT), "action": "on"})
    shown = CODE_PATTERN.findall(client.get(first.location).get_data(as_text=True))
    assert len(shown) == 10
    session.commit()  # a fresh read below: this session's transaction began before the posts

    clock["moment"] = MOMENT + timedelta(seconds=40)
    second = client.post(
        "/profile/two-factor", data={"code": code_at(user, clock["moment"]), "action": "on"}
    )

    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "Two-factor sign-in is already on" in html
    # The focus on the message, not in the code box.
    [alert] = parse(html).all("p", role="alert")
    assert "autofocus" in alert.attrs and "already on" in alert.text
    [box] = parse(html).all("input", id="code")
    assert "autofocus" not in box.attrs
    # A page without the button's name (from before it had one) makes none either.
    clock["moment"] = MOMENT + timedelta(seconds=70)
    nameless = client.post("/profile/two-factor", data={"code": code_at(user, clock["moment"])})
    assert nameless.status_code == 400
    session.commit()
    stored = set(session.scalars(sa.select(RecoveryCode.code_hash)))
    assert stored == {two_factor.recovery_digest(material, code) for code in shown}
