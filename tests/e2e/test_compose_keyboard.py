"""The SMS screen by keyboard (issue 17), with real key presses: pickers change nothing while
arrowed through and act on Enter; a template asks before it replaces typed text; the draft keeps
the message through Esc, a reload, the no-JS list buttons and Back; the Comment fields stay folded
until Comment is ticked."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, ROOT, sign_in, watched_page

FOCUSED = "() => ({id: document.activeElement.id, text: document.activeElement.innerText || ''})"
TYPED = "  Dear Alan,\nexactly this – kept.  "


def focused(page) -> str:
    return page.evaluate(FOCUSED)["id"]


def tab_to(page, element_id: str, *, key: str = "Tab", limit: int = 30) -> None:
    """Press Tab (or Shift+Tab) until the element with `element_id` has the focus."""
    path = []
    for _ in range(limit):
        path.append(focused(page))
        if path[-1] == element_id:
            return
        page.keyboard.press(key)
    path.append(focused(page))
    assert path[-1] == element_id, f"{key} never reached #{element_id}: went {' > '.join(path)}"


def tab_to_button(page, name: str, *, key: str = "Tab", limit: int = 30) -> None:
    """Press Tab (or Shift+Tab) until the button or link reading `name` has the focus."""
    for _ in range(limit):
        now = page.evaluate(FOCUSED)
        if now["text"].strip() == name:
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached the button {name!r}")


def updates(page) -> list[str]:
    """The screen's POSTs to /update from now on (a picker must send none while arrowed)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.endswith("/update") else None)
    return seen


def single_sms(page, surname: str, full_name: str) -> None:
    """Signed in as a consultant, the SMS screen for one person, as their record's mobile link
    opens it (a page of its own)."""
    sign_in(page, "consultant")
    page.goto(f"/candidates?q={surname}")
    row = page.locator("tbody tr", has_text=full_name)
    page.goto(row.locator("a[href*='/sms/compose?candidate=']").first.get_attribute("href"))
    expect(page.locator("#compose-heading")).to_contain_text("SMS to")


def type_message(page, text: str) -> None:
    """Tab to the Message box and type `text` there, key by key."""
    tab_to(page, "message")
    page.keyboard.type(text)


@pytest.mark.parametrize("js", [True])
def test_arrowing_through_merge_fields_inserts_nothing_and_enter_inserts_at_the_cursor(page, js):
    single_sms(page, "Turing", "Alan Turing")
    message = page.get_by_label("Message", exact=True)
    type_message(page, "Hello there")
    for _ in range(5):
        page.keyboard.press("ArrowLeft")  # the cursor before "there"
    tab_to(page, "merge_field", key="Shift+Tab", limit=4)
    sent = updates(page)
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # First name, Last name, Full name: highlighted only
    picker = page.get_by_label("Insert merge field", exact=True)
    expect(picker).to_have_value("full_name")
    expect(picker).to_be_focused()
    expect(message).to_have_value("Hello there")
    page.keyboard.press("Enter")
    expect(message).to_have_value("Hello {{full_name}}there")
    expect(message).to_be_focused()
    expect(picker).to_have_value("")
    page.keyboard.type("X")  # the cursor sits just after the tag
    expect(message).to_have_value("Hello {{full_name}}Xthere")
    assert sent == []  # the tag went in here, at the cursor, not through the server


@pytest.mark.parametrize("js", [True])
def test_arrowing_through_templates_changes_nothing_and_enter_uses_one(page, js):
    single_sms(page, "Hopper", "Grace Hopper")
    template = page.get_by_label("Template", exact=True)
    message = page.get_by_label("Message", exact=True)
    expect(template).to_be_focused()
    sent = updates(page)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    chosen = template.input_value()
    assert chosen
    page.wait_for_timeout(300)  # time enough for a request, had one been sent
    assert sent == []
    expect(message).to_have_value("")
    expect(template).to_be_focused()

    page.keyboard.press("Enter")
    expect(message).not_to_have_value("")
    expect(message).to_be_focused()
    expect(template).to_have_value(chosen)
    assert len(sent) == 1


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_template_over_typed_text_asks_and_keep_leaves_the_text_exactly(page, js):
    single_sms(page, "Turing", "Alan Turing")
    message = page.get_by_label("Message", exact=True)
    type_message(page, TYPED)
    tab_to(page, "template_id", key="Shift+Tab", limit=6)
    page.keyboard.press("ArrowDown")
    if js:
        page.keyboard.press("Enter")
    else:
        page.keyboard.press("Tab")  # Enter on a list does nothing without JS: its button does
        page.keyboard.press("Enter")
    question = page.locator(".question")
    expect(question).to_contain_text("The Message holds text you typed")
    expect(page.get_by_role("button", name="Replace", exact=True)).to_be_focused()
    expect(message).to_have_value(TYPED)

    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Keep my text")).to_be_focused()
    page.keyboard.press("Enter")
    expect(question).to_have_count(0)
    expect(message).to_have_value(TYPED)
    # The focus goes back to the Template list, where the user was (with JavaScript once htmx has
    # settled the swap: until then it is on the page, the pressed button being gone).
    expect(page.locator("#template_id")).to_be_focused()

    # Asked again, Replace puts the template in.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter" if js else "Tab")
    if not js:
        page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Replace", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(question).to_have_count(0)
    expect(message).not_to_have_value(TYPED)
    expect(message).to_have_value(re.compile(r"\{\{first_name\}\}"))
    if js:
        expect(message).to_be_focused()
    else:
        # Focused on load, the Message would have its caret at its start: the focus stays on
        # Template, which says where the text went.
        expect(page.locator("#template_id")).to_be_focused()
        expect(page.locator("#template-added")).to_have_text("Its text is now in the message.")


@pytest.mark.parametrize("js", [False], ids=["nojs"])
def test_without_js_text_typed_after_insert_goes_after_the_message(page, js):
    """Insert without JavaScript puts the field at the end; the focus stays on the picker (the
    Message, focused on load, had its caret at its start), so Tab to the Message and type goes on
    at its end."""
    single_sms(page, "Turing", "Alan Turing")
    message = page.get_by_label("Message", exact=True)
    type_message(page, "Hello")
    tab_to(page, "merge_field", key="Shift+Tab", limit=4)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Insert
    expect(message).to_have_value("Hello{{first_name}}")
    expect(page.locator("#merge_field")).to_be_focused()
    expect(page.locator("#merge-field-added")).to_have_text("Inserted at the end of the message.")


@pytest.mark.parametrize("js", [True])
def test_an_open_preview_follows_the_typing(page, js):
    single_sms(page, "Turing", "Alan Turing")
    message = page.get_by_label("Message", exact=True)
    type_message(page, "Hi {{first_name}}")
    page.get_by_role("button", name="Preview").click()
    bubble = page.locator("#preview .sms-bubble")
    expect(bubble).to_have_text("Hi Alan")
    message.focus()
    page.keyboard.press("End")
    page.keyboard.type(" test")
    expect(bubble).to_have_text("Hi Alan test")
    expect(page.locator("#preview")).to_contain_text("Worst case across all recipients: 1 SMS, 12")
    expect(message).to_be_focused()


@pytest.mark.parametrize("js", [True])
def test_escape_then_bulk_sms_brings_the_message_back(page, js):
    sign_in(page, "consultant")
    page.goto("/candidates?q=Turing")
    tick = page.get_by_label("Select Alan Turing", exact=True)
    tick.focus()
    page.keyboard.press("Space")
    expect(tick).to_be_checked()
    page.keyboard.press("b")
    panel = page.locator("#compose-panel #compose")
    expect(panel).to_be_visible()
    type_message(page, "Typed, then Esc straight away")  # no pause for the counter's request
    page.keyboard.press("Escape")
    expect(panel).to_have_count(0)
    page.keyboard.press("b")
    expect(panel).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_have_value("Typed, then Esc straight away")


@pytest.mark.parametrize("js", [True])
def test_a_reload_keeps_the_message(page, js):
    single_sms(page, "Lovelace", "Ada Lovelace")
    type_message(page, "Typed, then reloaded")
    page.reload()
    expect(page.get_by_label("Message", exact=True)).to_have_value("Typed, then reloaded")


@pytest.mark.parametrize("js", [False])
def test_without_js_the_list_button_keeps_the_text_and_back_never_resubmits(page, js):
    single_sms(page, "Optout", "Olive Optout")
    message = page.get_by_label("Message", exact=True)
    type_message(page, TYPED)
    tab_to_button(page, "Opt Out Recipient List", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/compose/[\w-]+/list/opted_out$"))
    expect(page.locator("#outcome-list-heading")).to_contain_text("Opt Out Recipient List (1)")

    page.go_back()  # to the screen: a GET, so no "Confirm form resubmission"
    expect(message).to_have_value(TYPED)
    page.go_forward()
    tab_to_button(page, "Back to the SMS")
    page.keyboard.press("Enter")
    expect(message).to_have_value(TYPED)
    page.reload()
    expect(message).to_have_value(TYPED)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_comment_fields_stay_folded_until_comment_is_ticked(page, js):
    single_sms(page, "Hopper", "Grace Hopper")
    comment_type = page.get_by_label("Comment type", exact=True)
    comment_text = page.get_by_label("Comment text", exact=True)
    expect(comment_type).to_be_hidden()
    expect(comment_text).to_be_hidden()
    tab_to(page, "comment")
    page.keyboard.press("Space")
    expect(comment_type).to_be_visible()
    expect(comment_text).to_be_visible()
    page.keyboard.press("Tab")
    expect(comment_type).to_be_focused()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    expect(comment_text).to_be_hidden()


def test_enter_in_send_at_neither_removes_anyone_nor_opens_a_list(page, js):
    """Enter in a one-line field used to press the form's first button: a recipient's Remove
    with JavaScript, Show list without. Now it does nothing (without JavaScript the screen comes
    back as typed), and the person is still to get the SMS."""
    single_sms(page, "Turing", "Alan Turing")
    type_message(page, "See you Monday")
    tab_to(page, "send_at")
    page.keyboard.type("01022027")
    page.keyboard.press("Tab")
    page.keyboard.type("0930A")
    sent = updates(page)

    page.keyboard.press("Enter")

    if js:
        page.wait_for_timeout(500)  # time for a post, had Enter made one
        assert sent == []
    else:
        expect(page).to_have_url(re.compile(r"/sms/compose/[^/]+$"))
    expect(page.locator("#compose-heading")).to_contain_text("SMS to 1 person")
    expect(page.locator("li.outcome-ok .count")).to_have_text("1")
    expect(page.get_by_label("Send at", exact=True)).to_have_value("2027-01-02T09:30")
    expect(page.get_by_label("Message", exact=True)).to_have_value("See you Monday")


def test_the_pickers_hints_offer_enter_only_where_it_works(page, js):
    """Enter on a picker acts through compose.js; without it, only the button does."""
    single_sms(page, "Turing", "Alan Turing")
    enter = "Enter or " if js else ""
    shown = {"use_inner_text": True}  # the text as rendered: the CSS hides "Enter or " unscripted
    template, field = page.locator("#template-hint"), page.locator("#merge-field-hint")
    expect(template).to_have_text(f"Arrow to one, then {enter}Use template.", **shown)
    expect(field).to_have_text(f"Arrow to one, then {enter}Insert.", **shown)


IN_VIEW = """element => {
  const box = element.getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def test_a_limit_refusal_takes_the_focus_in_view_on_a_phone(context, live_server, js):
    """At 390 px a refusal above the form was off-screen, the focus left on Send (or <body>)."""
    username = f"limited-{'js' if js else 'nojs'}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            "wsgi",
            "create-user",
            username,
            "--role",
            "consultant",
            "--email",
            f"{username}@example.com",
        ],
        cwd=ROOT,
        env={**live_server.env, "EMBEDDED_WORKER": "0"},
        input=f"{PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    with sqlite3.connect(live_server.database) as connection:
        connection.execute("UPDATE users SET daily_limit = 1 WHERE username = ?", (username,))
    with watched_page(context, allowed=re.compile("status of 429 ")) as page:
        page.set_viewport_size({"width": 390, "height": 844})
        sign_in(page, username)
        for surname, full_name in [("Turing", "Alan Turing"), ("Hopper", "Grace Hopper")]:
            page.goto(f"/candidates?q={surname}")
            row = page.locator("tbody tr", has_text=full_name)
            page.goto(row.locator("a[href*='/sms/compose?candidate=']").first.get_attribute("href"))
            page.get_by_label("Message", exact=True).fill("See you Monday")
            page.get_by_role("button", name="Send", exact=True).focus()
            page.keyboard.press("Enter")
            if surname == "Turing":
                page.wait_for_url("**/sms/batches/**")  # the day's one message went

        refusal = page.locator("#compose-error")
        expect(refusal).to_contain_text("your daily limit is 1 and you have none left")
        expect(refusal).to_contain_text("an administrator can raise your limit")
        expect(refusal).to_be_focused()
        assert refusal.evaluate(IN_VIEW)
