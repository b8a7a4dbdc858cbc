"""An edit form left open in one tab never silently undoes a save made since in another: the
person, user and template forms carry the values they were opened with, a save applies only the
fields its user changed, and a field both changed differently is refused (409) with what it holds
now, the user's values kept for a second, knowing Save. The roles page applies only the boxes
changed on it."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from tests.conftest import office_named
from tests.html_tree import html
from tests.pages import audits, changed, fresh, held, opened, text, ticked
from webapp.models import Candidate, ClientContact, Office, Role, SmsTemplate, User

# --- a person's record -------------------------------------------------------------------------


def test_a_save_from_an_older_tab_keeps_what_another_tab_saved_since(client, login, ada, session):
    login("consultant")
    url = f"/candidates/{ada.id}/edit"
    first, second = opened(client, url), opened(client, url)

    assert client.post(url, data=changed(second, email="new@example.com", mobile="0499 111 222"))
    response = client.post(url, data=changed(first, job_title="Senior Nurse"))

    assert response.status_code == 302
    saved = fresh(session, Candidate, ada.id)
    assert (saved.email, saved.mobile_raw, saved.job_title) == (
        "new@example.com",
        "0499 111 222",
        "Senior Nurse",
    )
    # The older tab's save audits only the change its user made.
    assert audits(session, "person.edited")[-1].details["changes"] == {
        "job_title": [None, "Senior Nurse"]
    }


def test_a_field_both_tabs_changed_is_refused_with_what_it_holds_now(client, login, ada, session):
    login("consultant")
    url = f"/candidates/{ada.id}/edit"
    first, second = opened(client, url), opened(client, url)
    client.post(url, data=changed(second, email="theirs@example.com"))

    refused = client.post(url, data=changed(first, email="mine@example.com", skills="Triage"))

    assert refused.status_code == 409
    page = html(refused)
    alert = page.one("p", role="alert").text
    assert "This was saved from another tab or by someone else after you opened it" in alert
    assert "Email is now “theirs@example.com”" in alert and "Skills" not in alert
    # Nothing was saved, and the user's values are still in the form.
    assert fresh(session, Candidate, ada.id).email == "theirs@example.com"
    assert fresh(session, Candidate, ada.id).skills is None
    again = held(page, url)
    assert (again["email"], again["skills"]) == ("mine@example.com", "Triage")
    # The form is loaded afresh: a second Save keeps the user's values, knowingly.
    assert json.loads(again["loaded"])["email"] == "theirs@example.com"
    assert client.post(url, data=again).status_code == 302
    saved = fresh(session, Candidate, ada.id)
    assert (saved.email, saved.skills) == ("mine@example.com", "Triage")


def test_the_same_change_in_both_tabs_is_no_conflict(client, login, ada, session):
    login("consultant")
    url = f"/candidates/{ada.id}/edit"
    first, second = opened(client, url), opened(client, url)
    client.post(url, data=changed(second, location="Perth"))

    assert client.post(url, data=changed(first, location="Perth ")).status_code == 302
    assert fresh(session, Candidate, ada.id).location == "Perth"


def test_a_contacts_client_changed_in_another_tab_is_kept(client, login, make_contact, session):
    login("consultant")
    grace = make_contact()
    url = f"/contacts/{grace.id}/edit"
    first, second = opened(client, url), opened(client, url)
    client.post(url, data=changed(second, client="Globex"))

    assert client.post(url, data=changed(first, position="Director")).status_code == 302
    saved = fresh(session, ClientContact, grace.id)
    assert (saved.client.name, saved.position) == ("Globex", "Director")


@pytest.mark.parametrize("loaded", [None, "", "not json", "[1, 2]", "[" * 100_000])
def test_a_post_without_loaded_values_is_saved_as_posted(client, login, ada, session, loaded):
    """A form from no page of ours (a script, say) has nothing to merge against."""
    login("consultant")
    url = f"/candidates/{ada.id}/edit"
    form = opened(client, url)
    client.post(url, data=changed(form, email="theirs@example.com"))
    posted = changed(form, job_title="Senior Nurse")
    if loaded is None:
        del posted["loaded"]
    else:
        posted["loaded"] = loaded

    assert client.post(url, data=posted).status_code == 302
    saved = fresh(session, Candidate, ada.id)
    assert (saved.email, saved.job_title) == (None, "Senior Nurse")


# --- a user ------------------------------------------------------------------------------------


def test_a_role_removed_in_another_tab_is_not_given_back(client, login, make_user, session):
    login("administrator")
    jo = make_user("jo", role="viewer")
    url = f"/admin/users/{jo.id}/edit"
    client.post(url, data=changed(opened(client, url), roles=["viewer", "consultant"]))
    first, second = opened(client, url), opened(client, url)
    assert first["roles"] == ["consultant", "viewer"] or first["roles"] == ["viewer", "consultant"]

    assert client.post(url, data=changed(second, roles="viewer")).status_code == 302
    assert client.post(url, data=changed(first, email="jo@elsewhere.example")).status_code == 302

    saved = fresh(session, User, jo.id)
    assert ([role.name for role in saved.roles], saved.email) == (
        ["viewer"],
        "jo@elsewhere.example",
    )


def test_a_users_field_both_tabs_changed_is_refused(client, login, make_user, session):
    login("administrator")
    jo = make_user("jo", role="viewer")
    url = f"/admin/users/{jo.id}/edit"
    first, second = opened(client, url), opened(client, url)
    client.post(url, data=changed(second, daily_limit="50", office=""))

    refused = client.post(url, data=changed(first, daily_limit="10"))

    assert refused.status_code == 409
    assert "Daily SMS limit is now “50”" in html(refused).one("p", role="alert").text
    assert fresh(session, User, jo.id).daily_limit == 50
    assert held(html(refused), url)["daily_limit"] == "10"


def test_a_users_limit_set_in_another_tab_is_kept_when_this_tab_saves_another_field(
    client, login, make_user, session
):
    """The other tab's limit came into this tab's form as a number, not as typed text: a 500,
    after the name was saved."""
    login("administrator")
    jo = make_user("jo", role="viewer")
    url = f"/admin/users/{jo.id}/edit"
    first, second = opened(client, url), opened(client, url)
    assert client.post(url, data=changed(second, daily_limit="250")).status_code == 302

    response = client.post(url, data=changed(first, full_name="Jo Jones"))

    assert response.status_code == 302, text(response)
    saved = fresh(session, User, jo.id)
    assert (saved.full_name, saved.daily_limit) == ("Jo Jones", 250)


def test_ones_profile_saved_in_two_tabs_keeps_both_changes(client, login, session):
    """The second tab's Save put the first tab's email back, silently."""
    me = login("consultant")
    first, second = opened(client, "/profile"), opened(client, "/profile")
    assert client.post("/profile", data=changed(first, email="new@example.com")).status_code == 302

    response = client.post("/profile", data=changed(second, timezone="Australia/Perth"))

    assert response.status_code == 302
    saved = fresh(session, User, me.id)
    assert (saved.email, saved.timezone) == ("new@example.com", "Australia/Perth")


def test_ones_profile_field_changed_in_both_tabs_is_refused_with_what_it_holds(
    client, login, session
):
    me = login("consultant")
    first, second = opened(client, "/profile"), opened(client, "/profile")
    client.post("/profile", data=changed(first, email="first@example.com"))

    refused = client.post("/profile", data=changed(second, email="second@example.com"))

    assert refused.status_code == 409
    assert "Email is now “first@example.com”" in html(refused).one("p", role="alert").text
    assert fresh(session, User, me.id).email == "first@example.com"
    again = held(html(refused), "/profile")
    assert again["email"] == "second@example.com"
    assert client.post("/profile", data=again).status_code == 302
    assert fresh(session, User, me.id).email == "second@example.com"


def test_a_users_mobile_is_read_in_the_office_its_tab_showed_not_another_tabs(
    client, login, make_user, session
):
    """The other tab's office, merged in, read the NZ mobile in AU: a Sydney landline was saved."""
    login("administrator")
    vic = make_user("vic", role="viewer", office=office_named(session, "Auckland", region="NZ"))
    url = f"/admin/users/{vic.id}/edit"
    first, second = opened(client, url), opened(client, url)
    assert client.post(url, data=changed(first, office="")).status_code == 302

    response = client.post(url, data=changed(second, mobile="021 234 5678"))

    assert response.status_code == 302, text(response)
    saved = fresh(session, User, vic.id)
    assert (saved.office, saved.mobile) == (None, "+64212345678")


def test_ones_mobile_is_read_in_the_office_its_tab_showed_not_another_tabs(client, login, session):
    sydney = office_named(session, "Sydney", region="AU")
    me = login("viewer", office=office_named(session, "Auckland", region="NZ"))
    first, second = opened(client, "/profile"), opened(client, "/profile")
    assert client.post("/profile", data=changed(first, office=str(sydney.id))).status_code == 302

    response = client.post("/profile", data=changed(second, mobile="027 234 5678"))

    assert response.status_code == 302, text(response)
    saved = fresh(session, User, me.id)
    assert (saved.office_name, saved.mobile) == ("Sydney", "+64272345678")


# --- a template --------------------------------------------------------------------------------


def test_a_template_deactivated_in_another_tab_stays_inactive(client, login, session):
    me = login("consultant")
    template = SmsTemplate(
        name="Reminder", body="Hi {{first_name}}, see you at 10.", owner_id=me.id, shared=False
    )
    session.add(template)
    session.commit()
    url = f"/templates/{template.id}"
    form = opened(client, url)
    assert form["active"] == "y"

    assert client.post(f"/templates/{template.id}/deactivate").status_code == 303
    fixed = changed(form, body="Hi {{first_name}}, see you at 11.")
    assert client.post(url, data=fixed).status_code == 303

    saved = fresh(session, SmsTemplate, template.id)
    assert (saved.active, saved.body) == (False, "Hi {{first_name}}, see you at 11.")


def test_a_template_body_both_tabs_changed_is_refused(client, login, session):
    me = login("consultant")
    template = SmsTemplate(name="Reminder", body="See you at 10.", owner_id=me.id, shared=False)
    session.add(template)
    session.commit()
    url = f"/templates/{template.id}"
    first, second = opened(client, url), opened(client, url)
    client.post(url, data=changed(second, body="See you at 11."))

    refused = client.post(url, data=changed(first, body="See you at 12."))

    assert refused.status_code == 409
    assert "Message is now “See you at 11.”" in text(refused)
    assert fresh(session, SmsTemplate, template.id).body == "See you at 11."
    assert held(html(refused), url)["body"] == "See you at 12."


# --- the roles page ----------------------------------------------------------------------------


def grants(session) -> set[tuple[str, str]]:
    session.expire_all()
    return {
        (role.name, permission.name)
        for role in session.scalars(sa.select(Role))
        for permission in role.permissions
    }


def test_a_roles_page_left_open_changes_only_its_own_boxes(client, login, session):
    login("administrator")
    first, second = opened(client, "/admin/roles"), opened(client, "/admin/roles")
    assert "team-leader:audit.view" in first["grant"]
    assert "consultant:templates.manage" not in first["grant"]

    # Another administrator takes audit.view from team leaders...
    taken = [box for box in second["grant"] if box != "team-leader:audit.view"]
    assert client.post("/admin/roles", data=changed(second, grant=taken)).status_code == 302
    # ...and this page, opened before, gives consultants templates.manage.
    given = [*first["grant"], "consultant:templates.manage"]
    assert client.post("/admin/roles", data=changed(first, grant=given)).status_code == 302

    now = grants(session)
    assert ("team-leader", "audit.view") not in now  # not given back
    assert ("consultant", "templates.manage") in now
    assert audits(session, "role.permissions_changed")[-1].details == {
        "role": "consultant",
        "added": ["templates.manage"],
        "removed": [],
    }


@pytest.mark.parametrize("loaded", [None, "[" * 100_000], ids=["none", "too-deep"])
def test_a_roles_post_without_loaded_boxes_sets_every_role_as_posted(
    client, login, session, loaded
):
    login("administrator")
    page = opened(client, "/admin/roles")
    client.post("/admin/roles", data=changed(page, grant=[*page["grant"], "viewer:audit.view"]))
    # A post from no page of ours: the boxes are the whole truth.
    if loaded is None:
        del page["loaded"]
    else:
        page["loaded"] = loaded

    assert client.post("/admin/roles", data=page).status_code == 302
    assert ("viewer", "audit.view") not in grants(session)


# --- an office ---------------------------------------------------------------------------------


def test_an_office_form_left_open_keeps_the_other_tabs_save(client, login, session):
    login("administrator")
    office = Office(name="Perth", timezone="Australia/Perth", region="AU")
    session.add(office)
    session.commit()
    url = f"/admin/offices/{office.id}"
    first, second = opened(client, url), opened(client, url)
    assert client.post(url, data=changed(second, timezone="Australia/Sydney")).status_code == 302

    assert client.post(url, data=changed(first, name="Perth CBD")).status_code == 302
    saved = fresh(session, Office, office.id)
    assert (saved.name, saved.timezone) == ("Perth CBD", "Australia/Sydney")

    refused = client.post(url, data=changed(first, timezone="Pacific/Auckland"))
    assert refused.status_code == 409
    assert "Time zone is now “Australia/Sydney”" in html(refused).one("p", role="alert").text


# --- the Settings page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "mine", "theirs", "clash", "says"),
    [
        (
            "/admin/settings",
            {"originator": "SMSDesk"},
            {"timezone": "Pacific/Auckland"},
            {"timezone": "Australia/Perth"},
            "Time zone is now “Pacific/Auckland”",
        ),
        (
            "/admin/settings/confirmation",
            {"price_currency": "AUD"},
            {"confirm_over": "25"},
            {"confirm_over": "75"},
            "is now “25”",
        ),
        (
            "/admin/settings/quiet-hours",
            None,
            {"quiet_hours": "21:00-07:00"},
            {"quiet_hours": "22:00-06:00"},
            "Quiet hours is now “21:00-07:00”",
        ),
    ],
    ids=["sms", "confirmation", "quiet-hours"],
)
def test_a_settings_section_left_open_keeps_the_other_tabs_save(
    client, login, session, url, mine, theirs, clash, says
):
    login("administrator")
    first = held(html(client.get("/admin/settings")), url)
    second = held(html(client.get("/admin/settings")), url)
    assert client.post(url, data=changed(second, **theirs)).status_code == 302

    if mine is not None:  # a change of another field keeps theirs
        assert client.post(url, data=changed(first, **mine)).status_code == 302
        page = held(html(client.get("/admin/settings")), url)
        assert {key: page[key] for key in {**mine, **theirs}} == {**mine, **theirs}

    refused = client.post(url, data=changed(first, **clash))
    assert refused.status_code == 409
    assert says in text(refused)
    [(key, typed)] = clash.items()
    assert held(html(refused), url)[key] == typed  # kept as typed
    assert held(html(client.get("/admin/settings")), url)[key] == theirs[key]  # not saved


def test_the_two_factor_roles_left_open_do_not_undo_another_choice(client, login, session):
    login("administrator")
    url = "/admin/settings/two-factor"
    first = held(html(client.get("/admin/settings")), url)
    second = held(html(client.get("/admin/settings")), url)
    opened_with = ticked(first, "roles")
    assert "consultant" not in opened_with
    # Another administrator adds consultants.
    added = client.post(url, data=changed(second, roles=[*opened_with, "consultant"]))
    assert added.status_code == 302
    # This page, opened before, saved unchanged: consultants stay.
    assert client.post(url, data=first).status_code == 302
    assert "consultant" in ticked(held(html(client.get("/admin/settings")), url), "roles")

    refused = client.post(url, data=changed(first, roles=[*opened_with, "viewer"]))

    assert refused.status_code == 409
    assert "This was saved from another tab or by someone else after you opened it" in text(refused)
    assert "viewer" in ticked(held(html(refused), url), "roles")  # kept as ticked
    assert "viewer" not in ticked(held(html(client.get("/admin/settings")), url), "roles")


def test_the_sending_limits_left_open_keep_the_other_tabs_save(client, login, session):
    login("administrator")
    url = "/admin/settings/limits"
    first = held(html(client.get("/admin/settings")), url)
    second = held(html(client.get("/admin/settings")), url)
    assert client.post(url, data=changed(second, **{"role-consultant": "300"})).status_code == 302

    assert client.post(url, data=changed(first, org_daily_limit="5000")).status_code == 302
    page = held(html(client.get("/admin/settings")), url)
    assert (page["org_daily_limit"], page["role-consultant"]) == ("5000", "300")

    refused = client.post(url, data=changed(first, **{"role-consultant": "100"}))
    assert refused.status_code == 409
    assert "The daily limit of consultant is now “300”" in text(refused)
    assert held(html(refused), url)["role-consultant"] == "100"  # kept as typed
    again = held(html(client.get("/admin/settings")), url)
    assert again["role-consultant"] == "300"
    # Saved again from the refused page: the user's value, knowingly.
    assert client.post(url, data=held(html(refused), url)).status_code == 302
    assert held(html(client.get("/admin/settings")), url)["role-consultant"] == "100"


# --- every edit form, as its page posts it ------------------------------------------------------


@pytest.fixture
def edit_forms(client, login, session, make_candidate, make_contact, make_user):
    """Every edit form, as (the page showing it, the address it posts to), for an administrator."""
    me = login("administrator")
    ada, grace, jo = make_candidate(), make_contact(), make_user("jo", role="viewer")
    template = SmsTemplate(name="Hello", body="Hi {{first_name}}", owner_id=me.id, shared=True)
    office = Office(name="Perth", timezone="Australia/Perth", region="AU")
    session.add_all([template, office])
    session.commit()
    client.post(
        "/admin/sms-accounts/new",
        data={
            "name": "Perth SMS",
            "provider": "twilio",
            "account_sid": "AC" + "1" * 32,
            "auth_token": "t" * 32,
            "from_number": "+61400000000",
            "active": "y",
        },
    )
    [account_url] = [
        a.get("href")
        for a in html(client.get("/admin/sms-accounts")).all("a")
        if (a.get("href") or "").endswith("/edit")
    ]
    forms = [
        (f"/candidates/{ada.id}/edit", f"/candidates/{ada.id}/edit"),
        (f"/contacts/{grace.id}/edit", f"/contacts/{grace.id}/edit"),
        (f"/templates/{template.id}", f"/templates/{template.id}"),
        (f"/admin/users/{jo.id}/edit", f"/admin/users/{jo.id}/edit"),
        (f"/admin/offices/{office.id}", f"/admin/offices/{office.id}"),
        (account_url, account_url),
        ("/admin/roles", "/admin/roles"),
        ("/admin/settings", "/admin/settings"),
        ("/admin/settings", "/admin/settings/two-factor"),
        ("/admin/settings", "/admin/settings/limits"),
        ("/admin/settings", "/admin/settings/confirmation"),
        ("/admin/settings", "/admin/settings/quiet-hours"),
        ("/profile", "/profile"),
    ]
    return forms


def test_every_edit_form_saves_as_its_page_posts_it(client, edit_forms):
    """Posted with nothing changed, exactly as the page holds it, each edit form saves. Tests that
    build a form by hand can post what no page sends (the SMS account's page never had a Gateway
    field to post, and could not save)."""
    for page, action in edit_forms:
        response = client.post(action, data=held(html(client.get(page)), action))
        assert response.status_code in (302, 303), (action, response.status_code, text(response))


def test_every_edit_form_is_drawn_afresh_when_back_returns_to_it(client, edit_forms):
    """Back onto an edit form gets the page again from the server, and a browser fills in what was
    typed or ticked there before (not the hidden loaded values, which are the new page's): another
    tab's save since would be taken for this user's change and undone without a 409.
    autocomplete="off" on the form stops the browser refilling it."""
    for page, action in edit_forms:
        [form] = [
            form for form in html(client.get(page)).all("form") if form.get("action") == action
        ]
        assert form.one("input", name="loaded")
        assert form.get("autocomplete") == "off", action
