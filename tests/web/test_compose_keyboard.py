"""The SMS screen for keyboard users and without JavaScript (issue 17): pickers that act only on a
commit, a template that asks before it replaces typed text, a draft that remembers, every no-JS
step ending in a redirect to a GET, and the Comment fields folded until Comment is ticked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.html_tree import html as tree
from tests.html_tree import parse
from tests.pages import text
from tests.web.test_compose import message_box
from webapp.models import ComposeDraft

SCREEN = re.compile(r"^/sms/compose/([\w-]+)$")
TYPED = "  My own words,\nexactly as typed – with a dash.  "


@pytest.fixture
def consultant(login):
    return login("consultant")


@pytest.fixture
def lead(login):
    return login("team-leader")


@pytest.fixture
def people(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Olive", "Out", "0412 000 111", sms_consent=False),
    ]


@pytest.fixture
def interview(make_template):
    return make_template("Interview", "Interview at 10 {{first_name}}")


def bulk_sms(client, people, kind: str = "candidates"):
    """Bulk SMS without JS: the answer, a redirect to the screen's own address."""
    return client.post("/sms/compose", data={"kind": kind, "ids": [str(p.id) for p in people]})


def open_screen(client, people) -> str:
    response = bulk_sms(client, people)
    assert response.status_code == 303, text(response)
    return SCREEN.match(response.headers["Location"]).group(1)


def screen(client, token: str, query: str = "") -> str:
    response = client.get(f"/sms/compose/{token}{query}")
    assert response.status_code == 200
    return text(response)


def post(client, token: str, path: str = "update", **form):
    return client.post(f"/sms/compose/{token}/{path}", data=form)


# --- pickers act on a commit ----------------------------------------------------------------------


def test_the_pickers_send_nothing_while_arrowed_through(client, consultant, people, interview):
    page = parse(screen(client, open_screen(client, people)))
    for name in ("template_id", "merge_field"):
        picker = page.one("select", id=name)
        assert not [a for a in picker.attrs if a.startswith("hx-")], picker.attrs
    # Each has its commit button, shown with JS or without (Enter presses it: compose.js).
    assert page.one("select", id="template_id").get("data-commit") == "use-template"
    assert page.one("button", id="use-template").text == "Use template"
    assert page.one("select", id="merge_field").get("data-commit") == "insert-merge-field"
    assert page.one("button", id="insert-merge-field").text == "Insert"


def test_the_merge_field_list_puts_the_recipients_fields_first(client, consultant, people):
    page = parse(screen(client, open_screen(client, people)))
    groups = [node.get("label") for node in page.one("select", id="merge_field").all("optgroup")]
    assert groups == ["Recipient", "Sender"]  # a candidate has no client: no Client group


def test_insert_without_js_refuses_a_field_that_is_not_for_the_recipients(
    client, consultant, people
):
    token = open_screen(client, people)
    post(client, token, action="insert_field", merge_field="client_name", message="Hi ")
    assert message_box(screen(client, token)) == "Hi "
    post(client, token, action="insert_field", merge_field="first_name", message="Hi ")
    assert message_box(screen(client, token)) == "Hi {{first_name}}"


@pytest.mark.parametrize(
    "record_type, offered, not_offered, groups",
    [
        ("candidate", "location", "client_name", ["Recipient", "Sender"]),
        ("contact", "client_name", "location", ["Recipient", "Client", "Sender"]),
        ("both", "client_name", None, ["Recipient", "Client", "Sender"]),
    ],
)
def test_the_template_editor_offers_the_fields_of_the_templates_kind(
    client, login, record_type, offered, not_offered, groups
):
    login("team-leader")
    form = {
        "name": "T",
        "folder": "General",
        "body": "Hi ",
        "record_type": record_type,
        "action": "insert_field",
    }
    page = text(client.post("/templates/new", data={**form, "merge_field": offered}))
    picker = parse(page).one("select", id="merge_field")
    assert [node.get("label") for node in picker.all("optgroup")] == groups
    assert f'<option value="{offered}"' in page
    assert re.search(
        r'<textarea[^>]*name="body"[^>]*>\s*Hi \{\{' + offered + r"\}\}</textarea>", page
    )
    if not_offered:
        assert f'<option value="{not_offered}"' not in page
        refused = text(client.post("/templates/new", data={**form, "merge_field": not_offered}))
        assert re.search(r'<textarea[^>]*name="body"[^>]*>\s*Hi </textarea>', refused)


# --- a template asks before it replaces typed text ------------------------------------------------


def test_a_template_over_typed_text_asks_first_and_keep_leaves_it_exactly(
    client, consultant, people, interview
):
    token = open_screen(client, people)
    asked = post(client, token, action="use_template", template_id=str(interview.id), message=TYPED)
    assert asked.status_code == 303
    assert asked.headers["Location"] == f"/sms/compose/{token}?ask={interview.id}"

    page = screen(client, token, f"?ask={interview.id}")
    assert message_box(page) == TYPED  # nothing replaced yet
    question = parse(page).one("div", class_="question")
    assert "Replace it with the text of “Interview”?" in question.text
    replace = question.one("button", name="replace_template")
    assert (replace.text, replace.get("value")) == ("Replace", str(interview.id))
    assert "autofocus" in replace.attrs
    assert question.one("button", value="keep_message").text == "Keep my text"

    kept = post(client, token, action="keep_message", message=TYPED, template_id=str(interview.id))
    assert kept.headers["Location"] == f"/sms/compose/{token}?focus=template"
    page = screen(client, token)
    assert message_box(page) == TYPED
    assert 'class="question"' not in page
    assert not re.search(r'<option value="\d+" selected>Interview', page)  # not the one in use


def test_replace_puts_the_template_in(client, consultant, people, interview):
    token = open_screen(client, people)
    replaced = post(client, token, replace_template=str(interview.id), message=TYPED)
    at = f"/sms/compose/{token}?focus=template&added=template"
    assert replaced.headers["Location"] == at
    page = screen(client, token, at.removeprefix(f"/sms/compose/{token}"))
    assert message_box(page) == "Interview at 10 {{first_name}}"
    assert re.search(rf'<option value="{interview.id}" selected>Interview</option>', page)
    # The picker has the focus, and says where the text went (see the merge field's test).
    assert "autofocus" in parse(page).one("select", id="template_id").attrs
    assert parse(page).one(id="template-added").text == "Its text is now in the message."


def test_a_template_over_its_own_text_or_nothing_replaces_without_asking(
    client, consultant, people, interview, make_template
):
    token = open_screen(client, people)
    post(client, token, action="use_template", template_id=str(interview.id), message="")
    assert message_box(screen(client, token)) == "Interview at 10 {{first_name}}"
    other = make_template("Reminder", "A reminder")
    answer = post(
        client,
        token,
        action="use_template",
        template_id=str(other.id),
        message="Interview at 10 {{first_name}}",
    )
    assert "ask=" not in answer.headers["Location"]
    assert message_box(screen(client, token)) == "A reminder"


def test_with_htmx_the_question_comes_with_the_screen(client, consultant, people, interview):
    token = open_screen(client, people)
    answer = client.post(
        f"/sms/compose/{token}/update",
        data={"action": "use_template", "template_id": str(interview.id), "message": TYPED},
        htmx=True,
    )
    assert answer.status_code == 200
    assert text(answer).lstrip().startswith('<section id="compose"')
    assert message_box(text(answer)) == TYPED
    assert "autofocus" in tree(answer).one("button", name="replace_template").attrs


def test_a_refused_replace_puts_the_focus_on_the_template_picker(
    client, consultant, people, make_template, session
):
    """Replace on a template deactivated since (in another tab): the refusal was shown with the
    focus on nothing, so on the page body."""
    personal = make_template("Mine", "My template", owner=consultant, shared=False)
    token = open_screen(client, people)
    asked = client.post(
        f"/sms/compose/{token}/update",
        data={"action": "use_template", "template_id": str(personal.id), "message": TYPED},
        htmx=True,
    )
    assert "autofocus" in tree(asked).one("button", name="replace_template").attrs
    personal.active = False
    session.commit()

    refused = client.post(
        f"/sms/compose/{token}/update",
        data={
            "replace_template": str(personal.id),
            "template_id": str(personal.id),
            "message": TYPED,
        },
        htmx=True,
    )

    assert refused.status_code == 400
    page = tree(refused)
    assert "That template is not available" in page.one(id="template-error").text
    assert "autofocus" in page.one("select", id="template_id").attrs
    assert message_box(text(refused)) == TYPED


# --- the draft remembers -------------------------------------------------------------------------


def test_the_counter_keeps_the_message_and_the_screen_shows_it_again(client, consultant, people):
    token = open_screen(client, people)
    post(client, token, "counter", message=TYPED)
    assert message_box(screen(client, token)) == TYPED


def test_save_keeps_comment_and_ignore_with_its_reason(client, lead, people):
    token = open_screen(client, people)
    answer = post(
        client,
        token,
        "save",
        message="Hi",
        ignore="1",
        ignore_reason="Site closed",
        comment="1",
        comment_type="SMS",
        comment_text="Told them",
    )
    assert answer.status_code == 204
    page = parse(screen(client, token))
    assert "checked" in page.one("input", id="ignore").attrs
    assert page.one("input", id="ignore_reason").get("value") == "Site closed"
    assert "checked" in page.one("input", id="comment").attrs
    assert page.one("textarea", id="comment_text").text == "Told them"
    options = page.one("select", id="comment_type").all("option")
    assert [o.text for o in options if "selected" in o.attrs] == ["SMS"]


def test_ignore_cannot_be_kept_by_someone_without_the_permission(
    client, consultant, people, session
):
    token = open_screen(client, people)
    assert post(client, token, "save", ignore="1", ignore_reason="x").status_code == 403
    session.rollback()
    draft = session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == token))
    assert (draft.ignore, draft.ignore_reason) == (False, "")


def test_another_users_draft_cannot_be_saved(client, login, people):
    login("consultant")
    token = open_screen(client, people)
    client.post("/logout")
    login("consultant")
    assert post(client, token, "save", message="mine now").status_code == 404


def test_bulk_sms_again_for_the_same_people_reopens_the_screen_as_left(client, consultant, people):
    token = open_screen(client, people)
    post(client, token, "counter", message=TYPED)
    # Esc, Cancel or closing the panel keeps nothing in the browser; the server has it all.
    again = client.post(
        "/sms/compose",
        data={"kind": "candidates", "ids": [str(p.id) for p in people]},
        htmx=True,
    )
    assert f"/sms/compose/{token}/update" in text(again)
    assert message_box(text(again)) == TYPED
    # The same person's single SMS from their record is another selection: a screen of its own.
    single = client.get(f"/sms/compose?candidate={people[0].id}")
    assert f"/sms/compose/{token}/update" not in text(single)
    assert message_box(text(single)) == ""


# --- without JS every step ends in a redirect to a GET --------------------------------------------


def test_each_step_without_js_redirects_to_a_get(client, lead, people, interview):
    olive = people[1]
    token = open_screen(client, people)
    at = f"/sms/compose/{token}"
    steps = [
        ({"remove": str(olive.id)}, f"{at}?focus=recipients"),
        ({"restore": str(olive.id)}, f"{at}?focus=recipients"),
        ({"ignore": "1", "action": "refresh"}, f"{at}?focus=ignore"),
        (
            {"action": "use_template", "template_id": str(interview.id)},
            f"{at}?focus=template&added=template",
        ),
        (
            {"action": "insert_field", "merge_field": "last_name"},
            f"{at}?focus=merge_field&added=merge_field",
        ),
        ({"show_list": "opted_out", "ignore": "1"}, f"{at}/list/opted_out?ignore=1"),
        ({"show_list": "ok"}, f"{at}/list/ok"),
    ]
    for form, location in steps:
        answer = post(client, token, message="", **form)
        assert (answer.status_code, answer.headers["Location"]) == (303, location), form
        assert client.get(location).status_code == 200
    preview = post(client, token, "preview", message="Hi", preview_index="0")
    assert (preview.status_code, preview.headers["Location"]) == (303, f"{at}?preview=0#preview")
    assert "Recipient 1 of 1" in screen(client, token, "?preview=0")


def test_a_list_button_without_js_keeps_the_typed_message(client, consultant, people):
    token = open_screen(client, people)
    page = screen(client, token)
    # The list is a button without JS (in <noscript>) and a link with it.
    assert (
        '<noscript><button type="submit" class="link-button" name="show_list" '
        'value="opted_out">Opt Out Recipient List</button></noscript>'
    ) in page
    assert re.search(r'<a href="[^"]+/list/opted_out" class="needs-script"', page)
    answer = post(client, token, show_list="opted_out", message=TYPED)
    assert answer.headers["Location"] == f"/sms/compose/{token}/list/opted_out"
    listing = text(client.get(answer.headers["Location"]))
    assert f'href="/sms/compose/{token}"' in listing  # Back to the SMS
    assert message_box(screen(client, token)) == TYPED


def test_a_refused_step_answers_on_the_form_without_a_redirect(client, consultant, people):
    token = open_screen(client, people)
    refused = post(client, token, action="use_template", template_id="987654", message=TYPED)
    assert refused.status_code == 400
    assert "That template is not available for this SMS." in text(refused)
    assert message_box(text(refused)) == TYPED
    assert message_box(screen(client, token)) == TYPED  # and kept


def test_a_sent_screen_reopened_by_back_goes_to_its_batch(client, consultant, people):
    token = open_screen(client, people)
    sent = post(client, token, "send", message="Hello")
    assert sent.status_code == 303
    assert client.get(f"/sms/compose/{token}").headers["Location"] == sent.headers["Location"]


# --- Comment fields folded until Comment is ticked ------------------------------------------------


def test_the_comment_fields_sit_in_one_box_that_css_folds(client, consultant, people):
    page = parse(screen(client, open_screen(client, people)))
    fields = page.one("div", id="comment-fields")
    assert fields.one("select", id="comment_type") and fields.one("textarea", id="comment_text")
    css = (Path(__file__).parents[2] / "static/css/app.css").read_text(encoding="utf-8")
    assert ".comment-box:has(#comment:not(:checked)) .comment-fields { display: none; }" in css


# --- where the focus goes ------------------------------------------------------------------------


def test_a_merge_field_inserted_without_js_leaves_the_focus_on_its_picker_saying_where_it_went(
    client, consultant, people
):
    """Focused on load, the Message has its caret at its start: what was typed next went before
    the text. The focus stays on the picker, which says the field went at the end."""
    token = open_screen(client, people)
    answer = post(client, token, action="insert_field", merge_field="first_name", message="Hi ")
    assert answer.headers["Location"] == f"/sms/compose/{token}?focus=merge_field&added=merge_field"
    page = parse(text(client.get(answer.headers["Location"])))
    assert "autofocus" in page.one("select", id="merge_field").attrs
    assert "autofocus" not in page.one("textarea", id="message").attrs
    assert page.one(id="merge-field-added").text == "Inserted at the end of the message."
    assert page.one("textarea", id="message").text == "Hi {{first_name}}"
    # Said only after an insert: the screen opened again says nothing.
    assert parse(screen(client, token)).all(id="merge-field-added") == []


def test_with_htmx_a_template_put_in_leaves_the_focus_on_the_message(
    client, consultant, people, interview
):
    token = open_screen(client, people)
    answer = client.post(
        f"/sms/compose/{token}/update",
        data={"action": "use_template", "template_id": str(interview.id), "message": ""},
        htmx=True,
    )
    page = parse(text(answer))
    assert "autofocus" in page.one("textarea", id="message").attrs  # compose.js: caret at end
    assert page.all(id="template-added") == []


def test_unticking_ignore_that_takes_its_box_away_leaves_the_focus_on_the_recipients(
    client, lead, people
):
    """Ignore ticked, the opted-out person taken off: the box says "Nobody on this SMS has opted
    out… untick it". Unticked (htmx names #ignore in HX-Trigger; the box posts nothing), the
    redraw has no box: the focus goes to the recipients' heading, not to the page."""
    olive = people[1]
    token = open_screen(client, people)
    post(client, token, ignore="1", ignore_reason="x", remove=str(olive.id))
    unticked = client.post(
        f"/sms/compose/{token}/update",
        data={"message": ""},
        htmx=True,
        headers={"HX-Trigger": "ignore", "HX-Trigger-Name": "ignore"},
    )
    page = parse(text(unticked))
    assert page.all(id="ignore") == []
    assert "autofocus" in page.one("legend", id="mobile-number-legend").attrs
    # Ticked again (the opted-out person back on), the focus stays on the box.
    post(client, token, restore=str(olive.id))
    ticked = client.post(
        f"/sms/compose/{token}/update",
        data={"message": "", "ignore": "1"},
        htmx=True,
        headers={"HX-Trigger": "ignore"},
    )
    page = parse(text(ticked))
    assert "autofocus" in page.one("input", id="ignore").attrs
    assert "autofocus" not in page.one("legend", id="mobile-number-legend").attrs
