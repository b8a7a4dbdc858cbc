"""/admin/users and /admin/roles: the permission gate, finding, adding and editing users, switching
them off, temporary passwords, the role × permission matrix, and the rule that somebody always
keeps users.manage."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from tests import html_tree
from tests.conftest import office_named
from tests.delivery import queue
from tests.pages import assert_refused, audits, changed, details_of, fresh, held, nav, opened, text
from webapp.models import AuditEvent, Role, User
from webapp.models.base import utcnow

NON_ADMINS = ("viewer", "consultant", "team-leader")
TEMPORARY = "temporary-pass-123"


# --- helpers -------------------------------------------------------------------------------------


def roles_of(session, user_id: int) -> list[str]:
    return sorted(role.name for role in fresh(session, User, user_id).roles)


def user_form(**overrides) -> dict:
    form = {
        "username": "jo",
        "full_name": "Jo Bloggs",
        "email": "jo@example.com",
        "mobile": "0412 345 678",
        "office": "",
        "roles": ["consultant"],
        "password": TEMPORARY,
    }
    form.update(overrides)
    return form


@pytest.fixture
def admin(login):
    return login("administrator")


# --- the permission gate -------------------------------------------------------------------------


@pytest.mark.parametrize("role", NON_ADMINS)
def test_users_and_roles_are_hidden_and_forbidden_without_users_manage(
    client, login, make_user, session, role
):
    login(role)
    target = make_user("target")
    page = text(client.get("/candidates"))
    assert "Users" not in nav(page) and 'href="/admin/users"' not in page
    for url in (
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{target.id}/edit",
        "/admin/roles",
    ):
        assert client.get(url).status_code == 403, url
    posts = {
        "/admin/users/new": user_form(),
        f"/admin/users/{target.id}/edit": details_of(target, full_name="Changed"),
        f"/admin/users/{target.id}/deactivate": {},
        f"/admin/users/{target.id}/reactivate": {},
        f"/admin/users/{target.id}/password": {"password": TEMPORARY},
        "/admin/roles": {"grant": ["viewer:users.manage"]},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 403, url
    stored = fresh(session, User, target.id)
    assert (stored.full_name, stored.active, stored.must_change_password) == ("Target", True, False)
    assert session.scalar(sa.select(User).where(User.username == "jo")) is None
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_administrator_sees_users_in_the_navigation_and_roles_on_the_users_page(client, admin):
    page = text(client.get("/admin/users"))
    assert "Users" in nav(page)
    assert '<a href="/admin/roles">Roles</a>' in page
    assert client.get("/admin/roles").status_code == 200
    assert client.get("/admin/users/new").status_code == 200


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


# --- the list and its search ---------------------------------------------------------------------


def test_users_are_found_by_name_username_or_email(client, admin, make_user):
    make_user("zmuller", full_name="Zoë Müller", email="zoe@harbour.example")
    make_user("plee", full_name="Pat Lee", email="pat@example.com")
    for q in ("müller", "ZMULL", "harbour"):
        page = text(client.get("/admin/users", query_string={"q": q}))
        assert "Zoë Müller" in html.unescape(page) and "Pat Lee" not in page, q
    everyone = text(client.get("/admin/users"))
    assert "Pat Lee" in everyone and "Müller" in html.unescape(everyone)


def test_htmx_search_answers_only_the_results(client, admin, make_user):
    make_user("plee", full_name="Pat Lee")
    response = client.get("/admin/users?q=pat", htmx=True)
    page = text(response)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert html_tree.without_live_status(page).startswith('<section id="results"')
    assert "<html" not in page and "Pat Lee" in page


@pytest.mark.parametrize("q, found", [("pat", "1 user found"), ("", "3 users found")])
def test_htmx_search_says_how_many_users_it_found(client, admin, make_user, q, found):
    make_user("plee", full_name="Pat Lee")
    make_user("zm", full_name="Zoë Müller")
    page = text(client.get("/admin/users", query_string={"q": q}, htmx=True))
    # Out of band into the page's polite status region, so a screen reader hears it.
    assert page.lstrip().startswith(f'<div id="live-status" hx-swap-oob="innerHTML">{found}</div>')
    assert 'id="live-status" hx-swap-oob' not in text(client.get("/admin/users"))


@pytest.mark.parametrize(
    "q, why",
    [("pat " * 51, "at most 200 characters"), ("pat\x1b", "control characters (U+001B)")],
    ids=["long", "control"],
)
def test_a_search_too_long_or_with_control_characters_is_left_out_with_a_message(
    client, admin, make_user, q, why
):
    make_user("plee", full_name="Pat Lee")
    make_user("zmuller", full_name="Zoe Muller")

    response = client.get("/admin/users", query_string={"q": q})

    assert response.status_code == 400
    page = text(response)
    assert why in html.unescape(page) and 'id="q-error"' in page and 'aria-invalid="true"' in page
    assert "Pat Lee" in page and "Zoe Muller" in page  # the search was left out, not cut
    assert f'value="{html.escape(q)}"' in page  # and is back in its box as typed


# --- adding users --------------------------------------------------------------------------------


def test_added_user_has_e164_mobile_roles_and_must_change_the_password(client, admin, session):
    sydney = office_named(session, "Sydney")
    response = client.post(
        "/admin/users/new", data=user_form(roles=["consultant", "viewer"], office=str(sydney.id))
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    jo = session.scalar(sa.select(User).where(User.username == "jo"))
    assert jo.mobile == "+61412345678" and jo.office_name == "Sydney"
    assert roles_of(session, jo.id) == ["consultant", "viewer"]
    assert jo.must_change_password is True and jo.check_password(TEMPORARY)
    [event] = audits(session, "user.created")
    assert event.actor_id == admin.id and event.subject_id == jo.id


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"username": ""}, "username", "Enter a username."),
        ({"username": "jo bloggs"}, "username", "no spaces"),
        ({"full_name": ""}, "full_name", "Enter the full name."),
        ({"full_name": "\u200b\u200b"}, "full_name", "Enter the full name."),
        ({"daily_limit": "lots"}, "daily_limit", "whole number"),
        ({"email": "jo-at-example"}, "email", "name@example.com"),
        ({"mobile": "0412"}, "mobile", "is not a valid mobile number"),
        ({"roles": []}, "roles", "Choose at least one role."),
        ({"password": "short"}, "password", "at least 12 characters"),
        ({"password": "long-enough-" * 22}, "password", "at most 256 characters"),
        (
            {"full_name": "Jo\r\nBcc: everyone@example.com"},
            "full_name",
            "Full name must be one line of plain text: remove the line break, carriage return.",
        ),
        ({"office": "Perth"}, "office", "Choose an office from the list."),
        ({"office": "999999"}, "office", "There is no such office; choose one from the list."),
    ],
)
def test_bad_new_user_is_refused_on_the_form_with_the_field_named(
    client, admin, session, overrides, field, message
):
    response = client.post("/admin/users/new", data=user_form(**overrides))
    assert_refused(response, field, message)
    assert session.scalar(sa.select(User).where(User.full_name == "Jo Bloggs")) is None


def test_taken_username_is_refused_whatever_its_case(client, admin, make_user):
    make_user("jo")
    response = client.post("/admin/users/new", data=user_form(username="JO"))
    assert_refused(response, "username", "is taken")


def test_an_email_another_active_user_has_is_refused_whatever_its_case(
    client, admin, make_user, session
):
    """Single sign-on refuses everyone whose address two active accounts share (ambiguous_email),
    comparing in any case as it does."""
    viewer = make_user("viewer-jo", role="viewer", email="viewer@example.com")
    response = client.post(
        f"/admin/users/{viewer.id}/edit", data=details_of(viewer, email=admin.email.upper())
    )
    assert_refused(response, "email", f"The user “{admin.username}” already has this email")
    assert fresh(session, User, viewer.id).email == "viewer@example.com"

    response = client.post("/admin/users/new", data=user_form(email=admin.email.title()))
    assert_refused(response, "email", f"The user “{admin.username}” already has this email")
    assert session.scalar(sa.select(User).where(User.username == "jo")) is None


def test_an_email_only_a_switched_off_user_has_may_be_given_again(
    client, admin, make_user, session
):
    make_user("gone", email="gone@example.com", active=False)
    response = client.post("/admin/users/new", data=user_form(email="Gone@example.com"))
    assert response.status_code == 302
    assert session.scalar(sa.select(User.email).where(User.username == "jo")) == "Gone@example.com"


def test_a_user_keeps_their_own_email_in_another_case(client, admin, make_user, session):
    user = make_user("pat", email="pat@example.com")
    response = client.post(
        f"/admin/users/{user.id}/edit", data=details_of(user, email="PAT@example.com")
    )
    assert response.status_code == 302
    assert fresh(session, User, user.id).email == "PAT@example.com"


def test_a_refused_add_asks_for_the_password_again_and_never_writes_it_back(
    client, admin, make_user, session
):
    make_user("jo")
    response = client.post("/admin/users/new", data=user_form(username="JO"))
    assert_refused(response, "username", "is taken")
    assert_refused(response, "password", "Type the temporary password again")
    page = text(response)
    assert TEMPORARY not in page
    # The form is long: its summary takes the focus, as on the other refused admin forms.
    summary = html_tree.parse(page).one("p", role="alert")
    assert (summary.attrs.get("tabindex"), "autofocus" in summary.attrs) == ("-1", True)

    added = client.post("/admin/users/new", data=user_form(username="jo2", email="jo2@example.com"))
    assert added.status_code == 302
    assert session.scalar(sa.select(User).where(User.username == "jo2")) is not None


def test_a_password_refused_for_itself_says_only_why(client, admin):
    response = client.post("/admin/users/new", data=user_form(password="short"))
    assert_refused(response, "password", "at least 12 characters")
    assert "Type the temporary password again" not in text(response)
    assert "Type the temporary password again" not in text(client.get("/admin/users/new"))


def test_user_form_controls_have_accessible_names(client, admin):
    page = text(client.get("/admin/users/new"))
    for name, label in (
        ("username", "Username"),
        ("full_name", "Full name"),
        ("email", "Email"),
        ("mobile", "Mobile"),
        ("office", "Office"),
        ("password", "Temporary password"),
    ):
        assert f'<label for="{name}">{label}</label>' in page
    assert re.search(
        r'<label><input type="checkbox" id="role-viewer" name="roles" value="viewer"[^>]*>'
        r" viewer</label>",
        page,
    )
    assert "style=" not in page and "<script>" not in page


# --- editing -------------------------------------------------------------------------------------


def test_edit_saves_and_audits_the_changes(client, admin, make_user, session):
    jo = make_user("jo", full_name="Jo Bloggs", mobile="+61412345678")
    perth = office_named(session, "Perth")
    form = text(client.get(f"/admin/users/{jo.id}/edit"))
    assert 'value="+61 412 345 678"' in form
    response = client.post(
        f"/admin/users/{jo.id}/edit",
        data=details_of(jo, office=str(perth.id), mobile="+64 21 123 4567", roles=["team-leader"]),
    )
    assert response.status_code == 302
    stored = fresh(session, User, jo.id)
    assert (stored.office_name, stored.mobile) == ("Perth", "+64211234567")
    assert roles_of(session, jo.id) == ["team-leader"]
    [event] = audits(session, "user.edited")
    assert event.details["changes"]["roles"] == [["consultant"], ["team-leader"]]
    assert event.details["changes"]["office"] == [None, "Perth"]


def test_saving_a_user_confirms_an_email_they_typed_on_their_profile(
    client, admin, make_user, session
):
    jo = make_user("jo", email="jo@example.org", email_self_set=True)
    url = f"/admin/users/{jo.id}/edit"

    assert client.post(url, data=opened(client, url)).status_code == 302

    assert fresh(session, User, jo.id).email_self_set is False
    [event] = audits(session, "user.edited")
    assert event.details["changes"] == {"email_confirmed": [False, True]}
    # Confirmed once: a second Save changes nothing.
    assert client.post(url, data=opened(client, url)).status_code == 302
    assert len(audits(session, "user.edited")) == 1


def test_saving_a_user_leaves_an_email_they_typed_after_the_page_was_opened_unconfirmed(
    app, client, admin, make_user, session
):
    """The Save takes the address Jo typed meanwhile (it changes no field its page changed), but
    the administrator never saw it: it stays Jo's own, matched by no single sign-on."""
    jo = make_user("jo", email="jo@example.com")
    url = f"/admin/users/{jo.id}/edit"
    form = opened(client, url)
    theirs = app.test_client()
    assert theirs.login("jo").status_code == 302
    typed = changed(opened(theirs, "/profile"), email="boss@example.com")
    assert theirs.post("/profile", data=typed).status_code == 302

    assert client.post(url, data=changed(form, roles=["viewer"])).status_code == 302

    stored = fresh(session, User, jo.id)
    assert (stored.email, stored.email_self_set) == ("boss@example.com", True)
    assert roles_of(session, jo.id) == ["viewer"]
    [event] = audits(session, "user.edited")
    assert "email_confirmed" not in event.details["changes"]


def test_administrator_cannot_remove_their_own_users_manage_by_editing(
    client, admin, make_user, session
):
    make_user("second-admin", role="administrator")
    response = client.post(
        f"/admin/users/{admin.id}/edit", data=details_of(admin, roles=["team-leader"])
    )
    assert_refused(response, "roles", "You cannot take")
    assert roles_of(session, admin.id) == ["administrator"]
    assert audits(session, "user.edited") == []


def test_administrator_may_demote_another_administrator(client, admin, make_user, session):
    other = make_user("second-admin", role="administrator")
    response = client.post(
        f"/admin/users/{other.id}/edit", data=details_of(other, roles=["viewer"])
    )
    assert response.status_code == 302
    assert roles_of(session, other.id) == ["viewer"]


def test_unknown_user_is_404(client, admin):
    assert client.get("/admin/users/999999/edit").status_code == 404
    assert client.post("/admin/users/999999/deactivate").status_code == 404


# --- deactivating --------------------------------------------------------------------------------


def test_users_are_never_deleted_only_deactivated(client, admin, make_user):
    jo = make_user("jo")
    page = text(client.get(f"/admin/users/{jo.id}/edit"))
    assert "Deactivate Jo" in page
    assert "Delete" not in page
    assert client.post(f"/admin/users/{jo.id}/delete").status_code == 404


def test_deactivating_is_confirmed_first_on_a_page_of_its_own(
    client, admin, make_user, make_candidate, session
):
    jo = make_user("jo", full_name="Jo Bloggs")
    person = make_candidate("Ada", "Lovelace", "0412 345 678")
    queue(session, jo, [person], provider="sandbox", send_at=utcnow() + timedelta(days=1))
    user_page = html_tree.html(client.get(f"/admin/users/{jo.id}/edit"))
    # The user page only asks: a GET form (no JavaScript needed), so nothing changes yet.
    form = user_page.one("form", action=f"/admin/users/{jo.id}/deactivate")
    assert form.get("method") == "get" and "Deactivate Jo Bloggs" in form.text

    confirm = client.get(f"/admin/users/{jo.id}/deactivate")

    assert confirm.status_code == 200
    page = html_tree.html(confirm).text
    assert "Deactivate Jo Bloggs?" in page and "signed out at once" in page
    assert "1 scheduled send of theirs is waiting" in page
    assert fresh(session, User, jo.id).active is True and audits(session, "user.deactivated") == []
    action = f"/admin/users/{jo.id}/deactivate"
    button = html_tree.html(confirm).one("form", method="post", action=action).one("button")
    assert button.text == "Deactivate Jo Bloggs"

    assert client.post(f"/admin/users/{jo.id}/deactivate").status_code == 302
    assert fresh(session, User, jo.id).active is False
    # Opened again (another tab, the back button): nothing left to confirm.
    again = html_tree.html(client.get(f"/admin/users/{jo.id}/deactivate")).text
    assert "already deactivated" in again and "Deactivate Jo Bloggs?" not in again
    own = client.get(f"/admin/users/{admin.id}/deactivate")
    assert "cannot deactivate your own account" in html_tree.html(own).text
    assert not html_tree.html(own).all(
        "form", method="post", action=f"/admin/users/{admin.id}/deactivate"
    )


def test_deactivated_user_cannot_sign_in_and_their_open_session_ends(
    app, client, admin, make_user, session
):
    jo = make_user("jo")
    theirs = app.test_client()  # a second browser: the client fixture made them send CSRF tokens
    assert theirs.login("jo").status_code == 302
    assert theirs.get("/candidates").status_code == 200

    response = client.post(f"/admin/users/{jo.id}/deactivate")
    assert response.status_code == 302
    assert fresh(session, User, jo.id).active is False
    [event] = audits(session, "user.deactivated")
    assert (event.actor_id, event.subject_id) == (admin.id, jo.id)

    dropped = theirs.get("/candidates")
    assert dropped.status_code == 302 and urlsplit(dropped.headers["Location"]).path == "/login"
    theirs.post("/logout")
    assert theirs.login("jo").status_code == 401

    assert client.post(f"/admin/users/{jo.id}/reactivate").status_code == 302
    assert [e.subject_id for e in audits(session, "user.reactivated")] == [jo.id]
    assert theirs.login("jo").status_code == 302


def test_administrator_cannot_deactivate_themselves(client, admin, make_user, session):
    make_user("second-admin", role="administrator")
    page = text(client.get(f"/admin/users/{admin.id}/edit"))
    assert "Deactivate" not in page
    response = client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 400
    assert "cannot deactivate your own account" in text(response)
    assert fresh(session, User, admin.id).active is True
    assert audits(session, "user.deactivated") == []


# --- temporary passwords -------------------------------------------------------------------------


def test_temporary_password_is_set_audited_and_must_be_changed(
    app, client, admin, make_user, session
):
    jo = make_user("jo")
    response = client.post(f"/admin/users/{jo.id}/password", data={"password": TEMPORARY})
    assert response.status_code == 302
    stored = fresh(session, User, jo.id)
    assert stored.must_change_password is True and stored.check_password(TEMPORARY)
    assert [e.subject_id for e in audits(session, "user.password_reset")] == [jo.id]
    theirs = app.test_client()  # a second browser: the client fixture made them send CSRF tokens
    assert theirs.login("jo", TEMPORARY).status_code == 302
    assert urlsplit(theirs.get("/candidates").headers["Location"]).path == "/profile/password"


def test_the_user_form_under_a_refused_temporary_password_still_saves_only_its_changes(
    app, client, admin, make_user, session
):
    """The page a refused temporary password came back on held the user's form without its
    loaded values, so its Save was taken as posted: a role another administrator took away
    meanwhile came back."""
    jo = make_user("jo", role="team-leader")
    url = f"/admin/users/{jo.id}/edit"
    refused = client.post(f"/admin/users/{jo.id}/password", data={"password": "aaaaaaaaaaaaaaa"})
    assert refused.status_code == 400
    form = held(html_tree.html(refused), url)
    other = make_user(role="administrator")
    theirs = app.test_client()  # another administrator demotes Jo meanwhile
    assert theirs.login(other.username).status_code == 302
    demoted = changed(opened(theirs, url), roles="consultant")
    assert theirs.post(url, data=demoted).status_code == 302

    response = client.post(url, data=changed(form, email="jo@example.org"))

    assert response.status_code == 302
    stored = fresh(session, User, jo.id)
    assert stored.email == "jo@example.org"
    assert [role.name for role in stored.roles] == ["consultant"]


def test_weak_temporary_password_is_refused_on_its_form(client, admin, make_user, session):
    jo = make_user("jo")
    response = client.post(f"/admin/users/{jo.id}/password", data={"password": "aaaaaaaaaaaaaaa"})
    assert_refused(response, "password", "must not repeat")
    assert fresh(session, User, jo.id).must_change_password is False
    # Its form is at the foot of the page: the refusal takes the focus, so it is in view.
    assert (
        '<p class="error" role="alert" tabindex="-1" autofocus>The password was not changed'
        in text(response)
    )


# --- roles ---------------------------------------------------------------------------------------


def matrix(page: str) -> set[str]:
    """The ticked boxes of the roles page, as "role:permission"."""
    return {
        value
        for tag, value in re.findall(r'(<input type="checkbox"[^>]*value="([^"]+)"[^>]*>)', page)
        if " checked" in tag
    }


def test_roles_page_shows_a_labelled_box_per_role_and_permission(client, admin):
    page = text(client.get("/admin/roles"))
    boxes = re.findall(r'<input type="checkbox" id="([^"]+)" name="grant"', page)
    assert len(boxes) == 4 * 7
    for box in boxes:
        assert re.search(
            rf'<label for="{box}" class="visually-hidden">[\w-]+: [\w.]+</label>', page
        )
    assert "team-leader: sms.ignore_opt_out</label>" in page
    ticked = matrix(page)
    assert (
        "team-leader:sms.ignore_opt_out" in ticked and "consultant:sms.ignore_opt_out" not in ticked
    )
    assert "viewer:sms.send" not in ticked


def test_granting_a_permission_is_audited_and_takes_effect(app, client, admin, make_user, session):
    lead = make_user("lead", role="team-leader")
    grants = matrix(text(client.get("/admin/roles"))) | {"team-leader:users.manage"}
    grants -= {"consultant:records.edit"}
    response = client.post("/admin/roles", data={"grant": sorted(grants)})
    assert response.status_code == 302
    changes = {
        e.details["role"]: (e.details["added"], e.details["removed"])
        for e in audits(session, "role.permissions_changed")
    }
    assert changes == {"team-leader": (["users.manage"], []), "consultant": ([], ["records.edit"])}
    theirs = app.test_client()  # a second browser: the client fixture made them send CSRF tokens
    theirs.login(lead.username)
    assert "Users" in nav(text(theirs.get("/candidates")))
    assert theirs.get("/admin/users").status_code == 200


def test_administrator_cannot_remove_their_own_last_users_manage_through_roles(
    client, admin, session
):
    grants = matrix(text(client.get("/admin/roles"))) - {"administrator:users.manage"}
    response = client.post("/admin/roles", data={"grant": sorted(grants)})
    assert response.status_code == 400
    page = text(response)
    assert "You cannot take" in html.unescape(page) and "Nothing was changed." in page
    session.rollback()
    role = session.scalar(sa.select(Role).where(Role.name == "administrator"))
    session.refresh(role)
    assert "users.manage" in {p.name for p in role.permissions}
    assert audits(session, "role.permissions_changed") == []
    assert client.get("/admin/users").status_code == 200


def test_users_manage_cannot_be_taken_from_every_role_even_with_another_admin(
    client, admin, make_user, session
):
    make_user("second-admin", role="administrator")
    grants = {
        g for g in matrix(text(client.get("/admin/roles"))) if not g.endswith(":users.manage")
    }
    assert client.post("/admin/roles", data={"grant": sorted(grants)}).status_code == 400
    assert audits(session, "role.permissions_changed") == []


def test_unknown_role_or_permission_in_the_matrix_is_refused(client, admin, session):
    grants = matrix(text(client.get("/admin/roles"))) | {"viewer:sms.fly"}
    assert client.post("/admin/roles", data={"grant": sorted(grants)}).status_code == 400
    assert audits(session, "role.permissions_changed") == []


# --- a national number is read in the user's own office's region ----------------------------------


@pytest.mark.parametrize(
    ("office", "stored"),
    [
        ("Auckland", "+64271234567"),  # NZ: not a number in the administrator's AU at all
        (None, "+61412345678"),  # no office: the organisation's region (AU)
    ],
)
def test_a_users_mobile_is_read_in_their_offices_region_not_the_administrators(
    client, login, session, office, stored
):
    sydney = office_named(session, "Sydney", region="AU")
    auckland = office_named(session, "Auckland", region="NZ", timezone="Pacific/Auckland")
    login("administrator", office=sydney)
    typed = "027 123 4567" if office else "0412 345 678"
    chosen = str(auckland.id) if office else ""

    added = client.post("/admin/users/new", data=user_form(office=chosen, mobile=typed))
    assert added.status_code == 302, text(added)
    jo = session.scalar(sa.select(User).where(User.username == "jo"))
    assert jo.mobile == stored
    # Editing keeps reading it so, and so does the user's own profile.
    assert (
        client.post(f"/admin/users/{jo.id}/edit", data=details_of(jo, mobile=typed)).status_code
        == 302
    )
    assert fresh(session, User, jo.id).mobile == stored


def test_ones_own_profile_reads_a_mobile_in_the_office_chosen_there(client, login, session):
    office_named(session, "Sydney", region="AU")
    auckland = office_named(session, "Auckland", region="NZ", timezone="Pacific/Auckland")
    me = login("consultant", office="Sydney")

    response = client.post(
        "/profile",
        data={
            "email": me.email,
            "mobile": "027 123 4567",
            "office": str(auckland.id),
            "timezone": "",
        },
    )

    assert response.status_code == 302, text(response)
    assert fresh(session, User, me.id).mobile == "+64271234567"


def test_the_mobile_hint_gives_an_example_of_the_users_office_country(
    client, admin, make_user, session
):
    """As its refusal does: an Australian number was the example for everyone."""
    kiwi = make_user("kiwi", office=office_named(session, "Auckland", region="NZ"))
    page = html_tree.html(client.get(f"/admin/users/{kiwi.id}/edit"))
    hint = page.one("span", id="mobile-hint").text
    assert hint == "Like 021 123 4567, or +61 412 345 678 for another country; may be empty"
    refused = client.post(
        f"/admin/users/{kiwi.id}/edit", data=details_of(kiwi, mobile="0412 345 67")
    )
    assert refused.status_code == 400
    assert "national number for NZ (like 021 123 4567)" in refused.get_data(as_text=True)


def test_confirming_an_address_a_user_typed_that_another_active_user_has_is_refused(
    client, admin, make_user, session
):
    """Single sign-on ignores an address typed on the user's own Profile until an administrator's
    save confirms it: that save must not make it two active users' (one typed before the check)."""
    jo = make_user("jo", email=admin.email.upper(), email_self_set=True)
    url = f"/admin/users/{jo.id}/edit"
    assert_refused(
        client.post(url, data=opened(client, url)),
        "email",
        f"The user “{admin.username}” already has this email",
    )
    assert fresh(session, User, jo.id).email_self_set is True


def test_reactivating_a_user_whose_address_an_active_user_has_now_is_refused(
    client, admin, make_user, session
):
    gone = make_user("gone", email="gone@example.com", active=False)
    make_user("new", email="Gone@example.com")
    response = client.post(f"/admin/users/{gone.id}/reactivate")
    assert response.status_code == 409
    assert "Not reactivated: The user “new” already has this email address" in response.text
    assert fresh(session, User, gone.id).active is False
    assert audits(session, "user.reactivated") == []
