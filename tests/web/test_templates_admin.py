"""The template pages (/templates): who sees and changes which template, the form's checks, preview
and live counter, search and folders, (de)activation and its effect on the SMS screen, audit."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from tests.html_tree import without_live_status
from tests.pages import Tags, audits, changed, fresh, linked_page, opened, rows, text
from webapp.models import AuditEvent, SmsTemplate, utcnow
from webapp.sms import templates as sms_templates

# --- helpers -------------------------------------------------------------------------------------


def tags(response) -> Tags:
    return Tags(text(response))


def listed(response) -> list[str]:
    """Template names in the list, in page order."""
    return [
        html.unescape(name)
        for name in re.findall(r'<td><a href="/templates/\d+">(.*?)</a></td>', text(response))
    ]


def folder_headings(response) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'<h3 id="folder-\d+">(.*?)</h3>', text(response))]


def form_values(**fields) -> dict[str, str]:
    values = {
        "name": "Interview reminder",
        "folder": "Interviews",
        "body": "Hi {{first_name}}, see you at 10.",
        "record_type": "both",
        "active": "y",
    }
    values.update(fields)
    return {key: value for key, value in values.items() if value is not None}


def preview(client, kind: str, record_id, *, htmx: bool = False, **fields):
    """Preview on the new-template form for the `kind` record `record_id`, `fields` changed."""
    data = form_values(action="preview", preview_kind=kind, preview_id=str(record_id), **fields)
    return client.post("/templates/new", data=data, htmx=htmx)


def counter(page: str) -> dict[str, str]:
    tag = re.search(r'<output id="sms-counter"[^>]*>', page)
    assert tag, "no counter"
    return dict(re.findall(r'data-(\w+)="([^"]*)"', tag.group(0)))


def bubble(page: str) -> str:
    match = re.search(r'<blockquote class="sms-bubble">(.*?)</blockquote>', page, re.S)
    assert match, "no preview bubble"
    return html.unescape(match.group(1))


def template_options(page: str) -> list[str]:
    """Template names offered by the SMS screen's Template picker."""
    match = re.search(r'<select id="template_id".*?</select>', page, re.S)
    assert match, "no Template picker"
    return [
        html.unescape(name)
        for name in re.findall(r'<option value="\d+"[^>]*>(.*?)</option>', match.group(0))
    ]


ROLES_WITH_SEND = ("consultant", "team-leader", "administrator")
MANAGERS = ("team-leader", "administrator")


# --- the permission gate -------------------------------------------------------------------------


def test_viewer_has_no_templates_link_and_gets_403_everywhere(
    client, login, make_template, session
):
    login("viewer")
    shared = make_template("Shared one", "Hello")
    assert 'href="/templates"' not in text(client.get("/candidates"))
    for method, url in (
        ("GET", "/templates"),
        ("GET", "/templates/new"),
        ("POST", "/templates/new"),
        ("GET", f"/templates/{shared.id}"),
        ("POST", f"/templates/{shared.id}"),
        ("POST", f"/templates/{shared.id}/deactivate"),
        ("POST", f"/templates/{shared.id}/reactivate"),
    ):
        response = client.open(url, method=method, data=form_values() if method == "POST" else None)
        assert response.status_code == 403, (method, url)
    assert rows(session, SmsTemplate) == [fresh(session, SmsTemplate, shared.id)]
    assert fresh(session, SmsTemplate, shared.id).active is True
    assert rows(session, AuditEvent) == []


@pytest.mark.parametrize("role", ROLES_WITH_SEND)
def test_everyone_who_sends_sees_the_templates_link_and_page(client, login, role):
    login(role)
    response = linked_page(client, "/templates", "Templates", "SMS templates")
    assert tags(response).find("a", href="/templates/new")


def test_consultant_sees_a_shared_template_read_only(client, login, make_template):
    login("consultant")
    shared = make_template("Shared one", "Hello {{first_name}}")
    listing = client.get("/templates")
    assert listed(listing) == ["Shared one"]
    page = tags(listing)
    assert not page.find("form", action=f"/templates/{shared.id}/deactivate")
    assert not page.find("a", aria_label="Edit Shared one")
    assert "Read only" in text(listing)

    view = client.get(f"/templates/{shared.id}")
    assert view.status_code == 200
    assert not tags(view).find("form", id="template-form")
    assert "only users who manage templates can change it" in text(view)
    assert "Hello {{first_name}}" in html.unescape(text(view))


@pytest.mark.parametrize("url", ["", "/deactivate"])
def test_consultant_changing_a_shared_template_gets_403_and_nothing_changes(
    client, login, make_template, session, url
):
    login("consultant")
    shared = make_template("Shared one", "Hello")
    response = client.post(f"/templates/{shared.id}{url}", data=form_values(name="Hijacked"))
    assert response.status_code == 403
    stored = fresh(session, SmsTemplate, shared.id)
    assert (stored.name, stored.body, stored.active) == ("Shared one", "Hello", True)
    assert rows(session, AuditEvent) == []


def test_consultant_reactivating_a_shared_template_gets_403(client, login, make_template, session):
    login("consultant")
    retired = make_template("Retired", "Old", active=False)
    assert client.post(f"/templates/{retired.id}/reactivate").status_code == 403
    assert fresh(session, SmsTemplate, retired.id).active is False


def test_consultant_is_not_offered_shared_and_posting_it_gets_403(client, login, session):
    login("consultant")
    assert not tags(client.get("/templates/new")).find("input", name="shared")
    response = client.post("/templates/new", data=form_values(shared="y"))
    assert response.status_code == 403
    assert rows(session, SmsTemplate) == []


def test_consultant_cannot_share_their_own_personal_template(client, login, make_template, session):
    me = login("consultant")
    mine = make_template("Mine", "Hi", owner=me, shared=False)
    response = client.post(
        f"/templates/{mine.id}", data=form_values(name="Mine", body="Hi", shared="y")
    )
    assert response.status_code == 403
    assert fresh(session, SmsTemplate, mine.id).shared is False


@pytest.mark.parametrize("role", MANAGERS)
def test_template_managers_are_offered_and_may_change_shared_templates(
    client, login, make_template, session, role
):
    login(role)
    shared = make_template("Shared one", "Hello", folder="Alerts")
    listing = tags(client.get("/templates"))
    assert listing.find("form", action=f"/templates/{shared.id}/deactivate")
    assert listing.find("a", aria_label="Edit Shared one")
    edit = client.get(f"/templates/{shared.id}")
    assert tags(edit).find("form", id="template-form")
    assert tags(edit).find("input", name="shared", checked=True)

    response = client.post(
        f"/templates/{shared.id}",
        data=form_values(name="Shared one", body="Hello again", folder="Alerts", shared="y"),
    )
    assert response.status_code == 303
    assert fresh(session, SmsTemplate, shared.id).body == "Hello again"
    assert fresh(session, SmsTemplate, shared.id).shared is True

    assert client.post(f"/templates/{shared.id}/deactivate").status_code == 303
    assert fresh(session, SmsTemplate, shared.id).active is False


@pytest.mark.parametrize("role", MANAGERS)
def test_template_managers_create_shared_templates(client, login, session, role):
    me = login(role)
    assert tags(client.get("/templates/new")).find("input", name="shared")
    response = client.post("/templates/new", data=form_values(shared="y"))
    assert response.status_code == 303
    [saved] = rows(session, SmsTemplate)
    assert (saved.shared, saved.owner_id) == (True, me.id)


@pytest.mark.parametrize("role", ROLES_WITH_SEND)
def test_someone_elses_personal_template_is_invisible_even_to_managers(
    client, login, make_user, make_template, session, role
):
    login(role)
    theirs = make_template("Their private one", "Secret text", owner=make_user(), shared=False)
    listing = client.get("/templates?inactive=1")
    assert "Their private one" not in text(listing)
    assert "Secret text" not in text(listing)
    for method, url in (
        ("GET", f"/templates/{theirs.id}"),
        ("POST", f"/templates/{theirs.id}"),
        ("POST", f"/templates/{theirs.id}/deactivate"),
    ):
        response = client.open(url, method=method, data=form_values() if method == "POST" else None)
        assert response.status_code == 404, (method, url)
        assert "Secret text" not in text(response)
    stored = fresh(session, SmsTemplate, theirs.id)
    assert (stored.name, stored.active) == ("Their private one", True)


def test_consultant_creates_edits_deactivates_and_reactivates_a_personal_template(
    client, login, session
):
    me = login("consultant")
    created = client.post("/templates/new", data=form_values())
    assert created.status_code == 303
    assert created.headers["Location"].startswith("/templates")
    [mine] = rows(session, SmsTemplate)
    assert (mine.name, mine.folder, mine.body, mine.shared, mine.owner_id, mine.active) == (
        "Interview reminder",
        "Interviews",
        "Hi {{first_name}}, see you at 10.",
        False,
        me.id,
        True,
    )
    assert "Template “Interview reminder” added." in text(client.get(created.headers["Location"]))

    listing = tags(client.get("/templates"))
    assert listing.find("form", action=f"/templates/{mine.id}/deactivate")

    edited = client.post(
        f"/templates/{mine.id}", data=form_values(body="Hi {{first_name}}, see you at 11.")
    )
    assert edited.status_code == 303
    assert fresh(session, SmsTemplate, mine.id).body == "Hi {{first_name}}, see you at 11."

    assert client.post(f"/templates/{mine.id}/deactivate").status_code == 303
    assert fresh(session, SmsTemplate, mine.id).active is False
    assert client.post(f"/templates/{mine.id}/reactivate").status_code == 303
    assert fresh(session, SmsTemplate, mine.id).active is True


def test_a_manager_unsharing_a_template_makes_it_their_personal_one(
    client, login, make_user, make_template, session
):
    lead = login("team-leader")
    shared = make_template("Shared one", "Hello", owner=make_user())
    response = client.post(
        f"/templates/{shared.id}", data=form_values(name="Shared one", body="Hello")
    )
    assert response.status_code == 303
    stored = fresh(session, SmsTemplate, shared.id)
    assert (stored.shared, stored.owner_id) == (False, lead.id)


def test_a_form_on_a_shared_template_made_personal_since_is_refused_by_name_with_the_text_kept(
    client, login, make_user, make_template, session
):
    """One manager's open edit of a shared template another unshared meanwhile was answered 404
    ("There is no such template"), and the text typed was lost."""
    login("administrator")
    lead = make_user("lee", role="team-leader", full_name="Lee Lead")
    template = make_template("Welcome", "Hello", folder="Sales")
    url = f"/templates/{template.id}"
    form = opened(client, url)
    sms_templates.update(
        session,
        lead,
        fresh(session, SmsTemplate, template.id),
        sms_templates.TemplateData(name="Welcome", folder="Sales", body="Lee's own words"),
    )

    refused = client.post(url, data=changed(form, body="My new text"))

    assert refused.status_code == 409
    page = Tags(text(refused))
    [alert] = page.find("p", role="alert")
    assert "autofocus" in alert and alert["tabindex"] == "-1"
    assert "Lee Lead made this template personal after you opened it" in html.unescape(
        text(refused)
    )
    assert page.find("textarea", name="body") and "My new text" in text(refused)
    assert "Lee&#39;s own words" not in text(refused) and "Lee's own words" not in text(refused)
    stored = fresh(session, SmsTemplate, template.id)
    assert (stored.body, stored.shared, stored.owner_id) == ("Lee's own words", False, lead.id)
    assert client.get(url).status_code == 404


def test_a_template_always_personal_is_still_not_there_for_a_managers_post(
    client, login, make_user, make_template
):
    login("administrator")
    owner = make_user(full_name="Pat Private")
    theirs = make_template("Private", "Secret text", owner=owner, shared=False)
    response = client.post(f"/templates/{theirs.id}", data=form_values())
    assert response.status_code == 404
    assert "Pat Private" not in text(response)


# --- the form's checks ---------------------------------------------------------------------------


def test_unknown_merge_fields_are_refused_with_their_names_and_nothing_is_saved(
    client, login, session
):
    login("consultant")
    response = client.post(
        "/templates/new", data=form_values(body="Hi {{frist_name}}, {{nope}} and {{first_name}}")
    )
    assert response.status_code == 400
    page = html.unescape(text(response))
    assert "Unknown merge field(s): {{frist_name}}, {{nope}}." in page
    [body] = tags(response).find("textarea", name="body")
    assert body["aria-invalid"] == "true"
    assert "body-error" in body["aria-describedby"].split()
    assert re.search(r'<span class="error" id="body-error">[^<]*frist_name', text(response))
    assert "Hi {{frist_name}}, {{nope}} and {{first_name}}" in page  # what was typed is kept
    assert rows(session, SmsTemplate) == []
    assert rows(session, AuditEvent) == []


@pytest.mark.parametrize(
    "body, typed",
    [
        ("Hi {{{first_name}}}, see you Monday", "{{{first_name}}}"),
        ("Hi {{first_name}}}, see you Monday", "{{first_name}}}"),
        ("Hi {{{first_name}}, see you Monday", "{{{first_name}}"),
        ("Hi {{}}, see you Monday", "{{}}"),
    ],
)
def test_a_merge_field_with_a_brace_too_many_is_refused_and_nothing_is_saved(
    client, login, session, body, typed
):
    """Saved before, it reached the recipient as "Hi {Ada}, see you Monday"."""
    login("consultant")
    response = client.post("/templates/new", data=form_values(body=body))
    assert response.status_code == 400
    assert f"Unfinished merge field(s): {typed}." in html.unescape(text(response))
    assert rows(session, SmsTemplate) == []


def test_an_edit_with_an_unknown_merge_field_leaves_the_template_as_it_was(
    client, login, make_template, session
):
    me = login("consultant")
    mine = make_template("Mine", "Hi {{first_name}}", owner=me, shared=False)
    response = client.post(
        f"/templates/{mine.id}", data=form_values(name="Mine", body="Hi {{firstname}}")
    )
    assert response.status_code == 400
    assert "{{firstname}}" in html.unescape(text(response))
    assert fresh(session, SmsTemplate, mine.id).body == "Hi {{first_name}}"
    assert audits(session, "template.edited") == []


def test_a_textareas_line_breaks_are_stored_and_counted_as_one_character(client, login, session):
    login("consultant")
    body = ("a" * 99 + "\r\n") * 16  # 1,600 characters once each "\r\n" is the "\n" it stands for
    assert client.post("/templates/new", data=form_values(body=body)).status_code == 303
    [saved] = rows(session, SmsTemplate)
    assert saved.body == ("a" * 99 + "\n") * 16


def test_an_escaped_tag_is_accepted_and_kept_as_typed(client, login, session):
    login("consultant")
    response = client.post(
        "/templates/new", data=form_values(body=r"Use \{{x}} literally, {{first_name}}")
    )
    assert response.status_code == 303
    [saved] = rows(session, SmsTemplate)
    assert saved.body == r"Use \{{x}} literally, {{first_name}}"


@pytest.mark.parametrize(
    "fields, field_id, message",
    [
        ({"name": ""}, "name", "Enter a name for the template."),
        ({"name": "\u200b"}, "name", "Enter a name for the template."),
        ({"name": " \ufeff\u200d "}, "name", "Enter a name for the template."),
        ({"name": "x" * 101}, "name", "The name can be at most 100 characters."),
        ({"folder": "f" * 101}, "folder", "The folder can be at most 100 characters."),
        (
            {"name": "Shift\r\nnotes"},
            "name",
            "Name must be one line of plain text: remove the line break, carriage return.",
        ),
        (
            {"folder": "Inter\tviews"},
            "folder",
            "Folder must be one line of plain text: remove the tab.",
        ),
        (
            {"body": "Hi\x1b[31m {{first_name}}"},
            "body",
            "Message cannot hold control characters: remove the U+001B.",
        ),
        ({"body": ""}, "body", "Enter the text of the template."),
        ({"body": "a" * 1601}, "body", "The message can be at most 1,600 characters."),
        ({"record_type": "client"}, "record_type", "Choose candidates, client contacts, or both."),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(
    client, login, session, fields, field_id, message
):
    login("consultant")
    response = client.post("/templates/new", data=form_values(**fields))
    assert response.status_code == 400
    page = tags(response)
    [control] = [
        attrs for tag in ("input", "textarea", "select") for attrs in page.find(tag, id=field_id)
    ]
    assert control["aria-invalid"] == "true"
    assert f"{field_id}-error" in control["aria-describedby"].split()
    assert f'<span class="error" id="{field_id}-error">{message}</span>' in text(response)
    assert rows(session, SmsTemplate) == []


def test_a_blank_folder_is_filed_under_general_and_spaces_are_tidied(client, login, session):
    login("consultant")
    assert (
        client.post(
            "/templates/new", data=form_values(name="  Two   spaces ", folder=" \u200b ")
        ).status_code
        == 303
    )
    [saved] = rows(session, SmsTemplate)
    assert (saved.name, saved.folder) == ("Two spaces", "General")


def test_a_folder_typed_in_other_capitals_files_the_template_in_the_folder_there_is(
    client, login, session, make_template
):
    """ "candidates" beside "Candidates" was listed under one heading and the picker's group, but
    the Folder filter offered both, and "Candidates" did not show it."""
    make_template("Welcome", folder="Candidates")
    login("team-leader")

    assert client.post("/templates/new", data=form_values(folder="candidates")).status_code == 303

    assert {t.folder for t in rows(session, SmsTemplate)} == {"Candidates"}
    shown = listed(client.get("/templates", query_string={"folder": "Candidates"}))
    assert "Interview reminder" in shown


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\ufeff"], ids=["zwsp", "shy", "bom"])
def test_a_folder_with_an_invisible_character_is_the_folder_it_looks_like(
    client, login, session, make_template, invisible
):
    """ "Candi" + a soft hyphen + "dates" made a second folder, read "Candidates" in every list."""
    make_template("Welcome", folder="Candidates")
    login("team-leader")

    for name, folder in (
        ("One", f"Candi{invisible}dates"),
        ("Two", f"candidates{invisible}"),
        ("Three", f"New{invisible} folder"),
        ("Four", "new folder"),
    ):
        response = client.post("/templates/new", data=form_values(name=name, folder=folder))
        assert response.status_code == 303, name

    assert {t.name: t.folder for t in rows(session, SmsTemplate)} == {
        "Welcome": "Candidates",
        "One": "Candidates",
        "Two": "Candidates",
        "Three": "New folder",
        "Four": "New folder",
    }
    assert folder_headings(client.get("/templates")) == ["Candidates", "New folder"]


def test_folders_are_listed_alphabetically_whatever_their_capitals(client, login, make_template):
    for name, folder in (("One", "Zeta"), ("Two", "alpha"), ("Three", "Beta"), ("Four", "beta")):
        make_template(name, folder=folder)
    login("team-leader")

    # Two folders differing in capitals alone stay two, as the Folder filter has them.
    assert folder_headings(client.get("/templates")) == ["alpha", "Beta", "beta", "Zeta"]


def test_a_folder_with_letters_beyond_ascii_is_found_in_other_capitals(
    client, login, session, make_template
):
    make_template("Welcome", folder="Été")
    login("team-leader")

    assert client.post("/templates/new", data=form_values(folder="été")).status_code == 303

    assert {t.folder for t in rows(session, SmsTemplate)} == {"Été"}


def test_a_templates_own_folder_can_be_renamed_in_other_capitals(
    client, login, session, make_template
):
    template = make_template("Welcome", folder="candidates")
    login("team-leader")
    form = form_values(name="Welcome", folder="Candidates", body="Welcome {{first_name}}")
    assert client.post(f"/templates/{template.id}", data=form).status_code == 303

    assert rows(session, SmsTemplate)[0].folder == "Candidates"


def test_a_template_saved_before_a_merge_field_rule_can_still_be_renamed(
    client, login, session, make_template
):
    """Its text was accepted when saved: a rename or a move must not be refused for it. A change
    of the text is judged by today's rules."""
    body = "Hi {first_name}, about {{client_name}}"  # unfinished, and empty for candidates
    template = make_template("Old one", body, record_type="candidate")
    login("team-leader")
    url = f"/templates/{template.id}"
    form = {**opened(client, url), "name": "Old one, renamed"}
    assert client.post(url, data=form).status_code == 303
    assert rows(session, SmsTemplate)[0].name == "Old one, renamed"

    refused = client.post(url, data={**opened(client, url), "body": body + "!"})
    assert refused.status_code == 400
    assert "Unfinished merge field(s): {first_name}." in text(refused)


def test_the_form_offers_existing_folders_and_the_merge_field_picker(client, login, make_template):
    me = login("consultant")
    make_template("A", "a", folder="Interviews")
    make_template("B", "b", folder="Timesheets", owner=me, shared=False)
    response = client.get("/templates/new")
    page = tags(response)
    [folder] = page.find("input", name="folder")
    assert folder["list"] == "folder-options"
    assert folder["value"] == "General"
    assert re.findall(
        r'<option value="([^"]+)"></option>',
        re.search(r'<datalist id="folder-options">.*?</datalist>', text(response), re.S).group(0),
    ) == ["Interviews", "Timesheets"]
    [picker] = page.find("select", id="merge_field")
    assert picker["class"] == "merge-field-picker" and picker["data-target"] == "body"
    assert '<label for="merge_field">Insert merge field</label>' in text(response)
    assert page.find("option", value="first_name", data_tag="{{first_name}}")
    for control in ("name", "folder", "body", "record_type"):
        assert f'<label for="{control}">' in text(response), control


def test_insert_merge_field_without_js_appends_the_tag(client, login, session):
    login("consultant")
    response = client.post(
        "/templates/new",
        data=form_values(body="Hi ", merge_field="first_name", action="insert_field"),
    )
    assert response.status_code == 200
    assert re.search(
        r'<textarea[^>]*name="body"[^>]*>\s*Hi \{\{first_name\}\}</textarea>', text(response)
    )
    assert rows(session, SmsTemplate) == []


def test_a_field_the_chosen_record_type_has_not_is_not_inserted_and_says_why(
    client, login, session
):
    """The picker was drawn for "both"; For was changed to Candidates before Insert."""
    login("consultant")
    response = client.post(
        "/templates/new",
        data=form_values(
            body="Hi ", record_type="candidate", merge_field="client_name", action="insert_field"
        ),
    )
    assert response.status_code == 200
    page = text(response)
    assert re.search(r'<textarea[^>]*name="body"[^>]*>\s*Hi </textarea>', page)
    assert "{{client_name}} was not put in: it is empty for the candidates" in page


def test_changing_for_redraws_the_picker_with_the_fields_those_people_have(client, login):
    """With JavaScript the picker kept offering Client name after For became Candidates: Enter put
    {{client_name}} in, and Save refused it."""
    login("consultant")
    [select] = tags(client.get("/templates/new")).find("select", name="record_type")
    assert (select["hx-post"], select["hx-trigger"]) == ("/templates/new", "change")
    assert select["hx-target"] == "#merge-field-block" and '"picker"' in select["hx-vals"]

    offered = {}
    for record_type in ("candidate", "contact", "both"):
        response = client.post(
            "/templates/new",
            data=form_values(record_type=record_type, action="picker"),
            htmx=True,
        )
        assert response.status_code == 200
        fragment = text(response)
        assert fragment.strip().startswith('<div id="merge-field-block">')
        assert "<html" not in fragment
        offered[record_type] = {a["value"] for a in Tags(fragment).find("option", data_tag=True)}
    assert "client_name" not in offered["candidate"] and "location" in offered["candidate"]
    assert "client_name" in offered["contact"] and "location" not in offered["contact"]
    assert {"client_name", "location", "sender_first_name"} <= offered["both"]


@pytest.mark.parametrize(
    "record_type, body, saved",
    [
        ("candidate", "Hi {{first_name}} at {{client_name}}", False),
        ("contact", "Hi {{first_name}}, in {{location}}", False),
        ("contact", "Hi {{first_name}} at {{client_name}}, from {{sender_office}}", True),
        ("both", "Hi {{first_name}} at {{client_name}}", True),
    ],
)
def test_a_template_may_use_only_the_fields_its_record_type_has(
    client, login, session, record_type, body, saved
):
    login("consultant")
    response = client.post("/templates/new", data=form_values(record_type=record_type, body=body))
    assert (response.status_code == 303) is saved
    if not saved:
        assert "is empty for every one of the" in text(response)
        assert rows(session, SmsTemplate) == []


def test_pages_have_no_inline_scripts_or_styles(client, login, make_template):
    me = login("team-leader")
    template = make_template("Mine", "Hi", owner=me, shared=False)
    for url in ("/templates", "/templates/new", f"/templates/{template.id}"):
        page = text(client.get(url))
        assert "style=" not in page and "<style" not in page, url
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), url
        handlers = [
            name for _tag, attrs in Tags(page).tags for name in attrs if name.startswith("on")
        ]
        assert handlers == [], url


# --- preview -------------------------------------------------------------------------------------

PREVIEW_BODY = "Hi {{first_name}}, {{sender_full_name}} here about {{location}}."


def test_preview_renders_a_candidates_values_and_flags_empty_ones(
    client, login, make_candidate, session
):
    login("consultant", full_name="Casey Consultant")
    ada = make_candidate("Ada", "Lovelace", location=None)
    response = preview(client, "candidate", ada.id, body=PREVIEW_BODY)
    assert response.status_code == 200
    page = text(response)
    assert "<html" in page  # without JavaScript, the whole form comes back with the preview in it
    assert bubble(page) == "Hi Ada, Casey Consultant here about ."
    assert "Empty for Ada Lovelace:" in page
    assert re.search(r"Empty for Ada Lovelace: <code>\{\{location\}\}</code>", page)
    assert "Preview for Ada Lovelace" in page
    assert html.unescape(page).count(PREVIEW_BODY) == 1  # the typed text is kept in the form
    assert rows(session, SmsTemplate) == []


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_preview_flags_a_merge_field_with_a_brace_too_many(client, login, make_candidate, htmx):
    """It showed "Hi {Ada}, see you Monday" with no word, before Save refused it."""
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    response = preview(
        client, "candidate", ada.id, htmx=htmx, body="Hi {{{first_name}}}, see you Monday"
    )
    assert response.status_code == 200
    page = text(response)
    assert bubble(page) == "Hi {Ada}, see you Monday"
    assert "Unfinished merge fields: <code>{{{first_name}}}</code>" in page


def test_preview_for_a_client_contact_fills_the_client_name(client, login, make_contact):
    login("consultant")
    grace = make_contact(
        "Grace", "Hopper", client="Harbour Mining Pty Ltd", position="Site manager"
    )
    response = preview(
        client, "contact", grace.id, body="{{first_name}}, {{job_title}} at {{client_name}}"
    )
    assert response.status_code == 200
    assert bubble(text(response)) == "Grace, Site manager at Harbour Mining Pty Ltd"
    assert "Empty for" not in text(response)


def test_preview_with_htmx_returns_the_preview_and_the_counter_out_of_band(
    client, login, make_candidate
):
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    response = preview(client, "candidate", ada.id, body="Hi {{first_name}}", htmx=True)
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page
    assert page.lstrip().startswith('<fieldset id="preview"')
    assert bubble(page) == "Hi Ada"
    assert re.search(r'<output id="sms-counter"[^>]*hx-swap-oob="true"', page)
    assert counter(page) == {"characters": "6", "segments": "1", "encoding": "GSM-7"}
    assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize(
    "kind, raw, message",
    [
        ("candidate", "", "Give the id of a candidate or client contact to preview for."),
        ("candidate", "abc", "Record id must be a whole number like 42, not “abc”."),
        ("candidate", "999999", "There is no candidate with id 999999."),
        ("contact", "999999", "There is no client contact with id 999999."),
        # Whole numbers, though no id: they were "not a whole number".
        ("candidate", "0", "There is no candidate with id 0."),
        ("candidate", "99999999999", "There is no candidate with id 99999999999."),
        ("candidate", "١٢", "Record id must be a whole number like 42, not “١٢”."),
    ],
)
def test_preview_for_a_record_that_is_not_there_is_refused_on_the_form(
    client, login, kind, raw, message
):
    login("consultant")
    response = preview(client, kind, raw)
    assert response.status_code == 400
    assert f'<span class="error" id="preview_id-error">{message}</span>' in text(response)
    [box] = tags(response).find("input", id="preview_id")
    assert box["aria-invalid"] == "true" and box["aria-describedby"] == "preview_id-error"


def test_preview_of_a_candidate_is_not_confused_with_the_contact_of_the_same_id(
    client, login, make_candidate, make_contact
):
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    make_contact("Grace", "Hopper")
    response = preview(client, "contact", ada.id, body="{{full_name}}")
    assert bubble(text(response)) == "Grace Hopper"


# --- the live counter ----------------------------------------------------------------------------


def test_new_form_has_the_counter_wired_to_the_message_box(client, login):
    login("consultant")
    response = client.get("/templates/new")
    page = tags(response)
    [body] = page.find("textarea", name="body")
    assert body["hx-post"] == "/templates/new"
    # It swaps nothing itself: its answer draws the counter out of band (compose.js weighs it
    # against a Preview's or a Commercial tick's answer that crossed it).
    assert (body["hx-target"], body["hx-swap"]) == ("this", "none")
    assert body["hx-trigger"].startswith("input delay:")
    assert body["hx-vals"] == '{"action": "counter"}'
    assert "sms-counter" in body["aria-describedby"].split()
    assert counter(text(response)) == {"characters": "0", "segments": "0", "encoding": "GSM-7"}


@pytest.mark.parametrize(
    "body, characters, segments, encoding",
    [
        ("Hello", "5", "1", "GSM-7"),
        ("a" * 161, "161", "2", "GSM-7"),
        ("Café ☕", "6", "1", "UCS-2"),
        (r"Use \{{x}}", "9", "1", "GSM-7"),
    ],
)
def test_counter_reports_characters_segments_and_encoding(
    client, login, body, characters, segments, encoding
):
    login("consultant")
    response = client.post("/templates/new", htmx=True, data={"body": body, "action": "counter"})
    assert response.status_code == 200
    page = text(response)
    assert re.match(r'<output id="sms-counter"[^>]*hx-swap-oob="true"', page.lstrip())
    assert counter(page) == {"characters": characters, "segments": segments, "encoding": encoding}


def test_counter_counts_the_text_for_the_chosen_record(client, login, make_candidate):
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    response = client.post(
        "/templates/new",
        htmx=True,
        data={
            "body": "Hi {{full_name}}",
            "action": "counter",
            "preview_kind": "candidate",
            "preview_id": str(ada.id),
        },
    )
    assert counter(text(response))["characters"] == str(len("Hi Ada Lovelace"))
    assert "(for Ada Lovelace)" in text(response)


def test_counter_names_the_character_that_forces_unicode(client, login):
    login("consultant")
    response = client.post("/templates/new", htmx=True, data={"body": "Don’t", "action": "counter"})
    assert "Unicode because of: <code>’</code>" in text(response)


def test_counter_on_the_edit_page_posts_to_the_edit_address(client, login, make_template):
    me = login("consultant")
    mine = make_template("Mine", "Hi", owner=me, shared=False)
    [body] = tags(client.get(f"/templates/{mine.id}")).find("textarea", name="body")
    assert body["hx-post"] == f"/templates/{mine.id}"
    response = client.post(
        f"/templates/{mine.id}", htmx=True, data={"body": "Hey there", "action": "counter"}
    )
    assert counter(text(response))["characters"] == "9"


def test_read_only_page_shows_the_counter_of_the_stored_text(client, login, make_template):
    login("consultant")
    shared = make_template("Shared one", "Hello world")
    assert counter(text(client.get(f"/templates/{shared.id}"))) == {
        "characters": "11",
        "segments": "1",
        "encoding": "GSM-7",
    }


# --- search, folders, inactive -------------------------------------------------------------------


@pytest.fixture
def library(login, make_template):
    me = login("consultant")
    make_template("Interview reminder", "See you at the INTERVIEW", folder="Interviews")
    make_template("Interview feedback", "How did it go?", folder="Interviews")
    make_template("Timesheet chase", "Please send your timesheet", folder="Timesheets")
    make_template("Old promo", "Interview season is here", folder="Marketing", active=False)
    make_template(
        "My note", "Call me about the interview", folder="Personal", owner=me, shared=False
    )
    return me


def test_list_is_grouped_by_folder(client, library):
    response = client.get("/templates")
    assert folder_headings(response) == ["Interviews", "Personal", "Timesheets"]
    assert listed(response) == [
        "Interview feedback",
        "Interview reminder",
        "My note",
        "Timesheet chase",
    ]


def test_templates_in_a_folder_are_in_alphabetical_order_whatever_their_capitals(
    client, library, make_template
):
    make_template("brace reminder", "Hi", folder="Interviews")
    make_template("Zeta check", "Hi", folder="Interviews")
    response = client.get("/templates?folder=Interviews")
    assert listed(response) == [
        "brace reminder",
        "Interview feedback",
        "Interview reminder",
        "Zeta check",
    ]


def test_search_matches_name_or_text_ignoring_case(client, library):
    assert listed(client.get("/templates?q=interview")) == [
        "Interview feedback",
        "Interview reminder",
        "My note",
    ]
    assert listed(client.get("/templates?q=TIMESHEET")) == ["Timesheet chase"]
    assert listed(client.get("/templates?q=100%25")) == []


def test_search_finds_an_accent_typed_as_a_letter_and_a_combining_mark(
    client, library, make_template
):
    """ "Zoe" + U+0308 (as some keyboards and pastes give "ë") found nothing."""
    make_template("Zoë intro", "Hi")
    assert listed(client.get("/templates", query_string={"q": "zoe\u0308"})) == ["Zoë intro"]


def test_a_name_saved_with_a_combining_mark_is_found_by_the_letter_typed_whole(client, login):
    login("consultant")
    form = form_values(name="Chloe\u0308 intro", folder="General")
    assert client.post("/templates/new", data=form).status_code == 303
    assert listed(client.get("/templates", query_string={"q": "chloë"})) == ["Chloë intro"]


def test_folder_filter_shows_one_folder(client, library):
    response = client.get("/templates?folder=Interviews")
    assert listed(response) == ["Interview feedback", "Interview reminder"]
    assert re.search(r'<option value="Interviews" selected>Interviews</option>', text(response))


def test_inactive_templates_are_shown_only_when_asked(client, library):
    assert "Old promo" not in listed(client.get("/templates"))
    response = client.get("/templates?inactive=1&q=interview")
    assert listed(response) == ["Interview feedback", "Interview reminder", "Old promo", "My note"]
    assert tags(response).find("input", id="inactive", checked=True)
    assert "Inactive" in text(response)


@pytest.mark.parametrize(
    "name, value, why",
    [
        ("q", "interview " * 21, "at most 200 characters"),
        ("q", "inter\x1bview", "control characters (U+001B)"),
        ("folder", "Interviews" * 11, "at most 100 characters"),
        ("folder", "Inter\r\nviews", "control characters (line break, carriage return)"),
    ],
    ids=["q-long", "q-control", "folder-long", "folder-control"],
)
@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_a_filter_too_long_or_with_control_characters_is_left_out_with_a_message(
    client, library, name, value, why, htmx
):
    # Neither cut to length nor searched for as typed: that would list a search nobody typed.
    response = client.get("/templates", query_string={name: value}, htmx=htmx)

    assert response.status_code == 400
    page = text(response)
    assert why in html.unescape(page) and "it was left out" in page
    assert listed(response) == [
        "Interview feedback",
        "Interview reminder",
        "My note",
        "Timesheet chase",
    ]
    if not htmx:  # beside the field on the whole page; in the results' summary for htmx
        [error] = tags(response).find("span", id=f"{name}-error")
        assert error["class"] == "error"
        assert tags(response).find(
            "input" if name == "q" else "select", id=name, aria_invalid="true"
        )
        if name == "q":  # back in its box as typed, to be shortened rather than typed again
            [box] = tags(response).find("input", id="q")
            assert box["value"] == value


def test_active_search_returns_only_the_results_block(client, library):
    response = client.get("/templates?q=timesheet", htmx=True)
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page
    assert without_live_status(page).startswith('<section id="results"')
    assert listed(response) == ["Timesheet chase"]
    assert "HX-Request" in response.headers["Vary"]
    search = tags(client.get("/templates")).find("form", id="template-search")[0]
    assert (search["method"], search["action"], search["hx-get"], search["hx-push-url"]) == (
        "get",
        "/templates",
        "/templates",
        "true",
    )


def test_deactivating_keeps_the_filters_of_the_list(client, library, session):
    [note] = rows(session, SmsTemplate, SmsTemplate.name == "My note")
    response = client.post(
        f"/templates/{note.id}/deactivate", data={"q": "call", "folder": "Personal"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/templates?q=call&folder=Personal"


def test_inactive_templates_are_not_offered_on_the_sms_screen(
    client, login, make_template, make_candidate
):
    me = login("consultant")
    ada = make_candidate()
    make_template("Live one", "Hello")
    make_template("Retired one", "Old text", active=False)
    mine = make_template("My own", "Mine", owner=me, shared=False)
    page = text(client.get(f"/sms/compose?candidate={ada.id}"))
    assert sorted(template_options(page)) == ["Live one", "My own"]
    assert "Retired one" not in page

    assert client.post(f"/templates/{mine.id}/deactivate").status_code == 303
    assert template_options(text(client.get(f"/sms/compose?candidate={ada.id}"))) == ["Live one"]
    assert client.post(f"/templates/{mine.id}/reactivate").status_code == 303
    assert sorted(template_options(text(client.get(f"/sms/compose?candidate={ada.id}")))) == [
        "Live one",
        "My own",
    ]


# --- audit ---------------------------------------------------------------------------------------


def test_each_change_is_audited_with_who_and_what(client, login, session):
    me = login("consultant")
    client.post("/templates/new", data=form_values())
    [template] = rows(session, SmsTemplate)
    client.post(
        f"/templates/{template.id}",
        data=form_values(name="Interview note", body="Hi {{first_name}}"),
    )
    client.post(f"/templates/{template.id}/deactivate")
    client.post(f"/templates/{template.id}/reactivate")

    [created] = audits(session, "template.created")
    assert (created.actor_id, created.subject_type, created.subject_id) == (
        me.id,
        "smstemplate",
        template.id,
    )
    assert created.details["name"] == "Interview reminder"
    assert created.details["shared"] is False
    [edited] = audits(session, "template.edited")
    assert edited.details["changes"] == {
        "name": ["Interview reminder", "Interview note"],
        "body": ["Hi {{first_name}}, see you at 10.", "Hi {{first_name}}"],
    }
    [deactivated] = audits(session, "template.deactivated")
    [reactivated] = audits(session, "template.reactivated")
    assert deactivated.id < reactivated.id
    assert {deactivated.actor_id, reactivated.actor_id, deactivated.subject_id} == {
        me.id,
        template.id,
    }


def test_saving_without_changes_writes_no_edit_entry(client, login, make_template, session):
    me = login("consultant")
    mine = make_template("Mine", "Hi", owner=me, shared=False, folder="General")
    response = client.post(
        f"/templates/{mine.id}", data=form_values(name="Mine", body="Hi", folder="General")
    )
    assert response.status_code == 303
    assert audits(session, "template.edited") == []


def test_unticking_active_on_the_form_is_audited_as_a_deactivation(
    client, login, make_template, session
):
    me = login("consultant")
    mine = make_template("Mine", "Hi", owner=me, shared=False, folder="General")
    response = client.post(
        f"/templates/{mine.id}",
        data=form_values(name="Mine", body="Hi", folder="General", active=None),
    )
    assert response.status_code == 303
    assert fresh(session, SmsTemplate, mine.id).active is False
    assert [e.subject_id for e in audits(session, "template.deactivated")] == [mine.id]
    assert audits(session, "template.edited") == []


def test_an_inactive_template_saved_is_in_the_list_the_save_lands_on(
    client, login, make_template, session
):
    """Active unticked, Add said "Template added." above "0 templates": the list hid it."""
    me = login("consultant")
    added = client.post("/templates/new", data=form_values(active=None))
    assert added.status_code == 303
    assert "Interview reminder" in listed(client.get(added.headers["Location"]))

    mine = make_template("Mine", "Hi", owner=me, shared=False, folder="Interviews")
    edited = client.post(
        f"/templates/{mine.id}",
        data=form_values(name="Mine", body="Hi", active=None),
    )
    assert edited.status_code == 303
    assert fresh(session, SmsTemplate, mine.id).active is False
    assert listed(client.get(edited.headers["Location"])) == ["Interview reminder", "Mine"]

    # An active one lands on its folder as before, inactive ones left out.
    again = client.post(f"/templates/{mine.id}", data=form_values(name="Mine", body="Hi"))
    assert again.headers["Location"] == "/templates?folder=Interviews"


def test_a_refused_save_puts_the_focus_on_the_first_refused_field(client, login):
    login("consultant")
    response = client.post("/templates/new", data=form_values(body="Hi {{nope}}"))
    page = tags(response)
    assert "autofocus" in page.find("textarea", name="body")[0]
    assert "autofocus" not in page.find("input", name="name")[0]
    assert "autofocus" in tags(client.get("/templates/new")).find("input", name="name")[0]


def test_a_save_refused_for_a_clash_with_another_tab_puts_the_focus_on_the_refusal(
    client, login, make_template
):
    """The refusal showed, but the focus stayed on the page: a screen reader heard nothing and a
    keyboard user Tabbed from the top."""
    me = login("consultant")
    mine = make_template("Mine", "See you at 10.", owner=me, shared=False)
    url = f"/templates/{mine.id}"
    first, second = opened(client, url), opened(client, url)
    client.post(url, data=changed(second, body="See you at 11."))

    refused = client.post(url, data=changed(first, body="See you at 12."))

    assert refused.status_code == 409
    page = Tags(text(refused))
    [alert] = page.find("p", role="alert")
    assert "autofocus" in alert and alert["tabindex"] == "-1"
    assert [tag for tag, attrs in page.tags if "autofocus" in attrs] == ["p"]


@pytest.mark.parametrize("action", ["preview", "enter"])
@pytest.mark.parametrize("raw", ["12x", "99999"])
def test_a_refused_preview_puts_the_focus_on_the_record_id(client, login, action, raw):
    """Without JavaScript the refused Preview came back with the focus at the top of the page, its
    error beside Record id far below the fold on a phone."""
    login("consultant")
    response = client.post(
        "/templates/new", data=form_values(action=action, preview_kind="candidate", preview_id=raw)
    )
    assert response.status_code == 400
    page = tags(response)
    [box] = page.find("input", id="preview_id")
    assert "autofocus" in box and box["aria-describedby"] == "preview_id-error"
    assert [attrs.get("id") for tag, attrs in page.tags if "autofocus" in attrs] == ["preview_id"]


def test_a_refused_save_says_so_above_the_form_and_an_insert_does_not(client, login):
    """An Insert that put nothing in says why beside Message; "The template was not saved" above
    the form was about a Save its user never pressed."""
    login("consultant")
    summary = "The template was not saved"
    inserted = client.post(
        "/templates/new",
        data=form_values(record_type="contact", merge_field="location", action="insert_field"),
    )
    assert inserted.status_code == 200
    page = text(inserted)
    assert "{{location}} was not put in" in page
    assert summary not in page and not tags(inserted).find("p", role="alert")

    saved = client.post("/templates/new", data=form_values(body="Hi {{nope}}"))
    assert saved.status_code == 400
    tags(saved).one("p", role="alert")
    assert summary in text(saved)


@pytest.mark.parametrize(
    ("preview_id", "saved"), [("", True), ("  ", True), ("12", False)], ids=["none", "blank", "id"]
)
def test_enter_without_javascript_saves_unless_a_record_id_is_typed(
    client, login, session, make_candidate, preview_id, saved
):
    """The form's hidden first button (action=enter) is what Enter presses without JavaScript:
    a record id typed means Preview, which loses nothing; else Save."""
    login("consultant")
    make_candidate()

    response = client.post(
        "/templates/new", data=form_values(action="enter", preview_id=preview_id)
    )

    assert (response.status_code == 303) is saved
    assert len(rows(session, SmsTemplate)) == (1 if saved else 0)


# --- names that read the same --------------------------------------------------------------------


def test_a_name_with_an_invisible_character_is_saved_without_it(client, login, session):
    login("consultant")
    response = client.post("/templates/new", data=form_values(name="Inter\u00adview\u200b"))
    assert response.status_code == 303
    assert [t.name for t in rows(session, SmsTemplate)] == ["Interview"]


@pytest.mark.parametrize(
    "again",
    ["Interview", "Interview\u200b", "Inter\u00adview", "interview", " Interview  "],
    ids=["same", "zwsp", "shy", "capitals", "spaces"],
)
def test_a_second_template_that_reads_the_same_in_the_folder_is_refused_naming_the_first(
    client, login, session, make_template, again
):
    """The SMS screen's picker offered "Interview" twice in one folder, with nothing to tell
    them apart."""
    me = login("consultant")
    make_template("Interview", "Hi", folder="Interviews", owner=me, shared=False)

    response = client.post(
        "/templates/new", data=form_values(name=again, folder="interviews", body="Other text")
    )

    assert response.status_code == 400
    [box] = tags(response).find("input", name="name")
    assert box["aria-invalid"] == "true" and "autofocus" in box
    assert (
        '<span class="error" id="name-error">There is already a template “Interview” in the '
        "folder “Interviews”: give this one another name, or change that one.</span>"
    ) in text(response)
    assert len(rows(session, SmsTemplate)) == 1


def test_a_shared_template_of_the_same_name_is_a_clash_for_a_consultant_too(
    client, login, session, make_template
):
    login("consultant")
    make_template("Welcome", folder="General")
    response = client.post("/templates/new", data=form_values(name="Welcome", folder=""))
    assert response.status_code == 400
    assert "There is already a template “Welcome” in the folder “General”" in text(response)


def test_the_same_name_is_fine_in_another_folder_inactive_or_out_of_sight(
    client, login, session, make_user, make_template
):
    me = login("consultant")
    other = make_user("other-consultant", role="consultant")
    make_template("Interview", folder="Other folder", owner=me, shared=False)
    make_template("Interview", folder="Interviews", owner=me, shared=False, active=False)
    make_template("Interview", folder="Interviews", owner=other, shared=False)

    response = client.post("/templates/new", data=form_values(name="Interview"))

    assert response.status_code == 303
    assert len(rows(session, SmsTemplate)) == 4


def test_an_add_sent_twice_makes_one_template_and_the_repeat_lands_on_it(client, login, session):
    """A double press of Add template on a slow network made two alike."""
    login("consultant")
    first = client.post("/templates/new", data=form_values(name="Interview"))
    second = client.post("/templates/new", data=form_values(name="Interview"))

    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["Location"] == first.headers["Location"]
    [saved] = rows(session, SmsTemplate)
    assert saved.name == "Interview"
    assert "Template “Interview” added." in text(client.get(second.headers["Location"]))
    assert [event.action for event in rows(session, AuditEvent)] == ["template.created"]


def test_an_inactive_add_sent_twice_makes_one_template(client, login, session):
    """With Active unticked, a second press of Add template made a second template."""
    login("consultant")
    alike = form_values(name="Dbl inactive", body="hello", folder="General", active=None)
    first = client.post("/templates/new", data=alike)
    second = client.post("/templates/new", data=alike)

    assert (first.status_code, second.status_code) == (303, 303)
    assert second.headers["Location"] == first.headers["Location"]
    [saved] = rows(session, SmsTemplate)
    assert (saved.name, saved.active) == ("Dbl inactive", False)


def test_a_shared_template_is_filed_in_the_folder_of_someones_personal_one(
    client, login, make_user, make_template, session
):
    """A lead's shared "sales" beside a consultant's personal "Sales" gave the consultant two
    headings, two Folder filter options and two picker groups."""
    consultant = make_user(role="consultant")
    make_template("Welcome", folder="Sales", owner=consultant, shared=False)
    login("team-leader")

    saved = client.post(
        "/templates/new", data=form_values(name="Offer", folder="sales", shared="y")
    )

    assert saved.status_code == 303
    assert {t.folder for t in rows(session, SmsTemplate)} == {"Sales"}
    client.post("/logout")
    client.login(consultant.username)
    assert folder_headings(client.get("/templates")) == ["Sales"]


def test_a_shared_template_may_not_take_the_name_of_someones_personal_one_in_its_folder(
    client, login, make_user, make_template, session
):
    """Everyone who has the personal one would be offered two alike; the refusal says it exists,
    and nothing of what it holds."""
    consultant = make_user(role="consultant")
    make_template("Welcome", "Secret text", folder="Sales", owner=consultant, shared=False)
    lead = login("team-leader")

    refused = client.post(
        "/templates/new", data=form_values(name="welcome", folder="sales", shared="y")
    )

    assert refused.status_code == 400
    assert (
        "Someone has a personal template “welcome” in the folder “Sales”, and a shared one of "
        "that name would be offered to them twice: give this one another name, or keep it "
        "personal."
    ) in html.unescape(text(refused))
    assert "Secret text" not in text(refused)
    assert len(rows(session, SmsTemplate)) == 1

    # Kept personal it is out of the consultant's sight, and fine; shared later, refused.
    kept = client.post("/templates/new", data=form_values(name="welcome", folder="sales"))
    assert kept.status_code == 303
    [mine] = [t for t in rows(session, SmsTemplate) if t.owner_id == lead.id]
    url = f"/templates/{mine.id}"
    shared = client.post(url, data=changed(opened(client, url), shared="y"))
    assert shared.status_code == 400
    assert fresh(session, SmsTemplate, mine.id).shared is False


def test_a_switched_off_users_personal_template_leaves_its_name_free_for_a_shared_one(
    client, login, make_user, make_template, session
):
    """Offered to nobody now, and nobody could rename it to end the clash."""
    gone = make_user(role="consultant")
    make_template("Welcome", "Secret text", folder="Sales", owner=gone, shared=False)
    gone.active = False
    session.commit()
    login("team-leader")

    added = client.post(
        "/templates/new", data=form_values(name="Welcome", folder="Sales", shared="y")
    )

    assert added.status_code == 303
    assert len(rows(session, SmsTemplate)) == 2


def test_a_personal_template_keeps_its_own_spelling_of_a_folder_only_another_has(
    client, login, make_user, make_template, session
):
    """Nobody sees both, and another user's personal spelling is theirs."""
    other = make_user(role="consultant")
    make_template("Welcome", folder="SALES", owner=other, shared=False)
    me = login("consultant")

    assert client.post("/templates/new", data=form_values(name="Hi", folder="sales")).status_code
    [mine] = [t for t in rows(session, SmsTemplate) if t.owner_id == me.id]
    assert mine.folder == "sales"


def test_reactivating_a_shared_template_named_as_someones_personal_one_is_refused(
    client, login, make_user, make_template, session
):
    consultant = make_user(role="consultant")
    make_template("Welcome", "Secret text", folder="Sales", owner=consultant, shared=False)
    off = make_template("welcome", folder="Sales", active=False)
    login("team-leader")

    refused = client.post(f"/templates/{off.id}/reactivate")

    assert fresh(session, SmsTemplate, off.id).active is False
    page = html.unescape(text(client.get(refused.headers["Location"])))
    assert (
        "“welcome” was not reactivated: someone has a personal template of that name in the "
        "folder “Sales”. Rename this one first."
    ) in page
    assert "Secret text" not in page


def test_an_add_alike_made_long_ago_or_by_someone_else_is_refused(
    client, login, session, make_template
):
    me = login("team-leader")
    alike = form_values(name="Interview", shared="y")
    made = make_template("Interview", alike["body"], folder="Interviews")  # by nobody
    assert client.post("/templates/new", data=alike).status_code == 400

    made.owner_id = me.id
    made.created_at = utcnow() - timedelta(days=7)  # alike, but not a repeat of this Add
    session.commit()
    assert client.post("/templates/new", data=alike).status_code == 400
    assert len(rows(session, SmsTemplate)) == 1


def test_an_edit_to_a_name_that_reads_as_another_is_refused_and_its_own_name_is_kept(
    client, login, session, make_template
):
    me = login("consultant")
    make_template("Interview", folder="Interviews", owner=me, shared=False)
    mine = make_template("Reminder", folder="Interviews", owner=me, shared=False)
    url = f"/templates/{mine.id}"

    refused = client.post(url, data=changed(opened(client, url), name="interview\u200b"))
    assert refused.status_code == 400
    assert "There is already a template “Interview” in the folder “Interviews”" in text(refused)
    assert fresh(session, SmsTemplate, mine.id).name == "Reminder"

    # Its own name in other capitals is no clash with itself.
    assert client.post(url, data=changed(opened(client, url), name="REMINDER")).status_code == 303
    assert fresh(session, SmsTemplate, mine.id).name == "REMINDER"


def test_templates_that_read_the_same_from_before_can_still_be_edited_and_renamed(
    client, login, session, make_template
):
    """Two alike saved before the rule: each is edited as before while its name stays; renaming
    one ends the clash. Reactivating a third like them is refused, with the reason."""
    me = login("consultant")
    first = make_template("Dup", "One", folder="General", owner=me, shared=False)
    second = make_template("Dup", "Two", folder="General", owner=me, shared=False)
    third = make_template("dup", "Three", folder="General", owner=me, shared=False, active=False)

    for template, body in ((first, "One, edited"), (second, "Two, edited")):
        url = f"/templates/{template.id}"
        assert client.post(url, data=changed(opened(client, url), body=body)).status_code == 303
        assert fresh(session, SmsTemplate, template.id).body == body

    url = f"/templates/{second.id}"
    assert client.post(url, data=changed(opened(client, url), name="Dup 2")).status_code == 303

    refused = client.post(f"/templates/{third.id}/reactivate")
    assert refused.status_code == 303
    assert fresh(session, SmsTemplate, third.id).active is False
    assert (
        "“dup” was not reactivated: the template “Dup” in the folder “General” reads the same. "
        "Rename one of them first."
    ) in html.unescape(text(client.get(refused.headers["Location"])))
    url = f"/templates/{third.id}"
    turned_on = client.post(url, data=changed(opened(client, url), active="y"))
    assert turned_on.status_code == 400
    assert fresh(session, SmsTemplate, third.id).active is False


# --- folders, preview ids, inserting without JavaScript -----------------------------------------


def test_the_folder_filter_and_suggestions_are_in_the_order_of_the_headings(
    client, login, make_template
):
    """The filter and the Folder box offered "Zeta" before "alpha"; the headings did not."""
    for name, folder in (("One", "Zeta"), ("Two", "alpha"), ("Three", "Beta"), ("Four", "beta")):
        make_template(name, folder=folder)
    login("team-leader")
    listing = text(client.get("/templates"))
    select = re.search(r'<select[^>]*name="folder".*?</select>', listing, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', select) == ["alpha", "Beta", "beta", "Zeta"]
    datalist = re.search(
        r'<datalist id="folder-options">.*?</datalist>', text(client.get("/templates/new")), re.S
    ).group(0)
    assert re.findall(r'<option value="([^"]+)">', datalist) == ["alpha", "Beta", "beta", "Zeta"]


@pytest.mark.parametrize(
    "raw, said",
    [
        ("12345678901234567890123", "There is no candidate with id 12345678901234567890123."),
        ("1" * 25 + "x", f"Record id must be a whole number like 42, not “{'1' * 25}x”."),
        ("7" * 500, f"There is no candidate with id {'7' * 39}…."),
    ],
    ids=["23-digits", "not-a-number", "pasted-page"],
)
def test_a_long_record_id_is_refused_as_typed_not_cut_to_another(
    client, login, make_candidate, raw, said
):
    """23 digits were cut to 20 and answered for that number."""
    login("consultant")
    make_candidate()
    response = preview(client, "candidate", raw)
    assert response.status_code == 400
    assert f'<span class="error" id="preview_id-error">{said}</span>' in text(response)
    [box] = tags(response).find("input", id="preview_id")
    assert box["value"] == raw


def test_after_an_insert_without_javascript_the_focus_is_on_the_picker_not_the_message(
    client, login
):
    """The Message box had the focus with the caret at its start: text typed went in before the
    field just inserted."""
    login("consultant")
    response = client.post(
        "/templates/new",
        data=form_values(body="Hi ", merge_field="first_name", action="insert_field"),
    )
    page = Tags(text(response))
    assert [attrs.get("id") for tag, attrs in page.tags if "autofocus" in attrs] == ["merge_field"]
    assert not page.find("option", selected=True, value="first_name")  # ready for another

    refused = client.post(
        "/templates/new",
        data=form_values(record_type="candidate", merge_field="client_name", action="insert_field"),
    )
    # Refused: the focus goes where the reason is said.
    assert "autofocus" in tags(refused).find("textarea", name="body")[0]
