"""Edit forms from the keyboard, with JavaScript on and off. Two tabs on one record's Edit form: a
save from the tab opened first keeps what the other tab saved since, and a field both tabs changed
is refused with what it holds now, the typed value kept for a second Save. Enter in a template's
Name saves it; in its Record id, it previews."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import add_candidate, retype
from tests.e2e.test_slow_network import InFlight, throttle


def new_template(context, message: str, prefix: str) -> tuple[Page, str]:
    """A consultant's page on a new template, its Message and a Name of this test's own typed
    (the server is shared by the browser tests): the page, and the name."""
    page = context.new_page()
    sign_in(page, "consultant")
    name = f"{prefix} {uuid.uuid4().hex[:6]}"
    page.goto("/templates/new")
    retype(page, "Message", message)
    retype(page, "Name", name)
    return page, name


def test_the_tab_opened_first_keeps_the_other_tabs_save(context):
    first = context.new_page()
    sign_in(first, "consultant")
    # A person of this test's own: the server is shared by the browser tests.
    surname = f"Tabs{uuid.uuid4().hex[:6]}"
    # Mobiles and emails of its own too: an Edit to another candidate's is refused once.
    digits = f"{uuid.uuid4().int % 10**6:06d}"
    theirs = f"0499 {digits[:3]} {digits[3:]}"
    their_email, my_email = f"theirs{digits}@example.com", f"mine{digits}@example.com"
    add_candidate(first, "Edith", surname, f"0412 {digits[:3]} {digits[3:]}")
    edit = re.sub(r"(/candidates/\d+).*", r"\1/edit", first.url)
    first.goto(edit)
    second = context.new_page()
    second.goto(edit)

    retype(second, "Mobile", theirs)
    second.keyboard.press("Enter")
    expect(second.get_by_role("heading", level=1)).to_have_text(f"Edith {surname}")
    retype(first, "Job title", "Welder")
    first.keyboard.press("Enter")

    details = first.locator("main")
    expect(details).to_contain_text(theirs)
    expect(details).to_contain_text("Welder")

    # Both tabs change the email: the later save is refused, naming what it holds now.
    first.goto(edit)
    second.goto(edit)
    retype(second, "Email", their_email)
    second.keyboard.press("Enter")
    expect(second.get_by_role("heading", level=1)).to_have_text(f"Edith {surname}")
    retype(first, "Email", my_email)
    first.keyboard.press("Enter")

    refusal = first.locator("p.error[role=alert]")  # not the page's empty live region
    expect(refusal).to_contain_text(f"Email is now “{their_email}”")
    expect(first.get_by_label("Email", exact=True)).to_have_value(my_email)
    first.get_by_label("Email", exact=True).focus()
    first.keyboard.press("Enter")
    expect(first.get_by_role("heading", level=1)).to_have_text(f"Edith {surname}")
    expect(first.locator("main")).to_contain_text(my_email)


def test_enter_in_a_templates_name_saves_it(context):
    """The template form's first button was the merge field picker's Insert: Enter in Name did
    nothing with JavaScript and, without, showed the form again unsaved with no word why."""
    page, name = new_template(context, "See you at 10", "Enter")

    page.keyboard.press("Enter")

    expect(page.locator(".flashes")).to_contain_text(f"Template “{name}” added.")


@pytest.mark.parametrize("js", [True], ids=["js"])  # without it, Insert appends on the server
def test_a_merge_field_inserted_on_an_opened_template_goes_at_its_texts_end(context, js):
    """Opened to edit, the Message had its caret at the start: Insert merge field by keyboard,
    before clicking into it, glued the tag to its first word."""
    page, name = new_template(context, "See you at 10", "Caret")
    page.keyboard.press("Enter")
    expect(page.locator(".flashes")).to_contain_text(f"Template “{name}” added.")
    page.goto(f"/templates?q={name}")
    page.get_by_role("link", name=f"Edit {name}").click()
    # The box shows before the deferred compose.js runs: Enter pressed sooner does nothing.
    page.wait_for_load_state("load")
    message = page.get_by_label("Message", exact=True)
    expect(message).to_have_value("See you at 10")
    page.get_by_label("Insert merge field", exact=True).focus()
    page.keyboard.press("ArrowDown")  # First name
    page.keyboard.press("Enter")
    expect(message).to_have_value("See you at 10{{first_name}}")
    expect(message).to_be_focused()


def test_enter_in_the_preview_record_id_previews_and_adds_nothing(context):
    """The hidden first Save took Enter in every one-line field, Record id too: it added the
    template its user only meant to try on a record."""
    page, name = new_template(context, "Hi {{first_name}}", "Try")
    retype(page, "Record id", "1")

    page.keyboard.press("Enter")

    expect(page.locator("#preview blockquote.sms-bubble")).to_contain_text("Hi ")
    page.goto(f"/templates?q={name}")
    expect(page.locator("main")).not_to_contain_text(name)


@pytest.mark.parametrize("js", [True], ids=["js"])  # without it, no race: each is a page
def test_a_record_id_typed_while_a_preview_is_on_its_way_is_kept(context, js):
    """On a slow network: the id typed after Enter stays, and the focus with it (the preview put
    back the id it took, and sent the focus to its heading)."""
    page, _ = new_template(context, "Hi {{first_name}}", "Slow id")
    retype(page, "Record id", "1")
    in_flight = InFlight(page)
    throttle(page, 1500)

    page.keyboard.press("Enter")  # the Preview leaves
    page.keyboard.type("23")
    assert in_flight.open > 0, "the preview landed before the test was done typing"
    in_flight.wait_quiet()

    record_id = page.get_by_label("Record id", exact=True)
    expect(record_id).to_have_value("123")
    expect(record_id).to_be_focused()


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_the_message_typed_while_a_preview_is_on_its_way_is_what_is_counted(context, js):
    """The preview brings its own count, of the text it took; the counter's request for the
    typing since went to the counter it replaced. The counter ended on the older text's count."""
    page, _ = new_template(context, "Hi {{first_name}}", "Slow count")
    retype(page, "Record id", "1")
    in_flight = InFlight(page)
    throttle(page, 1500)

    page.keyboard.press("Enter")  # the Preview leaves
    message = page.get_by_label("Message", exact=True)
    message.focus()  # back up to the Message (a click) while it is on its way
    page.keyboard.press("Control+End")
    page.keyboard.type(", your shift starts at 7 tomorrow and runs until 3 in the afternoon")
    assert in_flight.open > 0, "the preview landed before the test was done typing"
    in_flight.wait_quiet()

    expect(message).to_be_focused()  # not on the preview's heading
    counter = page.locator("#sms-counter")
    shown = counter.get_attribute("data-characters")
    message.dispatch_event("input")  # counted again from scratch: the same figure
    in_flight.wait_quiet()
    expect(counter).to_have_attribute("data-characters", shown)


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_typing_then_ticking_commercial_on_a_slow_network_counts_both(context, js):
    """Typed, then Commercial ticked within a second: both counts came back, and the second was
    dropped (its counter had been replaced by the first's), so the count left out the opt-out line
    though Commercial was ticked."""
    page, _ = new_template(context, "Hello there", "Slow tick")
    message = page.get_by_label("Message", exact=True)
    in_flight = InFlight(page)
    throttle(page, 1500)

    message.focus()
    page.keyboard.press("Control+End")
    page.keyboard.type("!")
    page.wait_for_timeout(400)  # its count has left
    page.get_by_label("Commercial", exact=True).focus()
    page.keyboard.press("Space")
    assert in_flight.open > 0, "the count landed before Commercial was ticked"
    in_flight.wait_quiet()

    counter = page.locator("#sms-counter")
    expect(counter).to_contain_text("with the opt-out line")
    shown = counter.get_attribute("data-characters")
    assert int(shown) > len("Hello there!")
    message.dispatch_event("input")  # counted again from scratch: the same figure
    in_flight.wait_quiet()
    expect(counter).to_have_attribute("data-characters", shown)


@pytest.mark.parametrize("js", [True], ids=["js"])  # without it, Insert says why (tests/web)
def test_the_merge_field_picker_follows_a_change_of_for(context, js):
    """The picker kept offering Client name after For became Candidates: Enter put
    {{client_name}} in the Message, and Save refused it."""
    page, _ = new_template(context, "Hi ", "For")
    picker = page.get_by_label("Insert merge field", exact=True)
    expect(picker.locator("option", has_text="Client name")).to_have_count(1)
    record_type = page.get_by_label("For", exact=True)
    record_type.focus()

    page.keyboard.press("ArrowDown")  # from Candidates and contacts to Candidates

    expect(picker.locator("option", has_text="Client name")).to_have_count(0)
    expect(picker.locator("option", has_text="Location")).to_have_count(1)
    expect(record_type).to_be_focused()
    page.keyboard.press("ArrowDown")  # Client contacts
    expect(picker.locator("option", has_text="Client name")).to_have_count(1)
    expect(picker.locator("option", has_text="Location")).to_have_count(0)
    # Drawn again, it still inserts at the cursor by keyboard.
    picker.focus()
    page.keyboard.press("ArrowDown")  # First name
    page.keyboard.press("Enter")
    expect(page.get_by_label("Message", exact=True)).to_have_value("Hi {{first_name}}")


def test_a_template_save_refused_for_a_clash_takes_the_focus(context):
    """The refusal showed, but the focus stayed on the page, so it was not heard."""
    first, name = new_template(context, "See you at 10", "Clash")
    first.keyboard.press("Enter")
    expect(first.locator(".flashes")).to_contain_text(f"Template “{name}” added.")
    first.goto(f"/templates?q={name}")
    first.get_by_role("link", name=f"Edit {name}").click()
    edit = first.url
    second = context.new_page()
    second.goto(edit)
    retype(second, "Message", "See you at 11")
    second.get_by_role("button", name="Save").click()
    expect(second.locator(".flashes")).to_contain_text(f"Template “{name}” saved.")

    retype(first, "Message", "See you at 12")
    first.get_by_role("button", name="Save").click()

    refusal = first.locator("p.error[role=alert]")
    expect(refusal).to_contain_text("Message is now “See you at 11”")
    expect(refusal).to_be_focused()
