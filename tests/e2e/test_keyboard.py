"""Keyboard only: no mouse, just page.keyboard and checks of where the focus is (JavaScript on)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD
from tests.e2e.helpers import keyboard_search, results_heading, wait_for_batch

FOCUSED = """() => {
  const e = document.activeElement;
  return {id: e.id, tag: e.tagName, name: e.getAttribute('name'),
          label: e.getAttribute('aria-label'),
          text: (e.innerText || '').trim().slice(0, 40), outline: getComputedStyle(e).outlineStyle,
          checked: e.checked === true};
}"""


@pytest.fixture
def js() -> bool:
    """Shortcuts, swaps and autofocus need JavaScript; the keyboard journeys run with it on."""
    return True


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def assert_focus(page, **expected) -> dict:
    """The focus is where a user expects it, and they can see it (a real outline)."""
    now = focused(page)
    for key, value in expected.items():
        assert now[key] == value, f"focus is on {now}, expected {key}={value!r}"
    assert now["outline"] != "none", f"the focused element shows no outline: {now}"
    return now


def tab_until(page, predicate, *, key: str = "Tab", limit: int = 40) -> dict:
    """Press Tab (or Shift+Tab) until the focused element satisfies `predicate`."""
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        if predicate(now):
            return now
    raise AssertionError(f"{key} never reached the wanted element; focus ended on {focused(page)}")


def arm_settle(page) -> None:
    """Before a key that starts an htmx swap: a promise that resolves once the new content is in
    and htmx has done its autofocus (htmx:load fires on each inserted element right after that)."""
    page.evaluate(
        "() => { window.__settled = new Promise(resolve => "
        "document.addEventListener('htmx:load', () => resolve(true), {once: true})); }"
    )


def wait_settled(page) -> None:
    settled = page.evaluate(
        "Promise.race([window.__settled, "
        "new Promise(resolve => setTimeout(() => resolve(false), 5000))])"
    )
    assert settled, "no htmx swap happened within 5 s"


def keyboard_sign_in(page, username: str) -> None:
    # The browser applies `autofocus` when it next renders, which may come after the load event
    # that goto waits for: wait for the focus to land, as a person waits to see it, before keys.
    page.goto("/login")
    expect(page.locator("#username")).to_be_focused()
    assert_focus(page, id="username")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert_focus(page, id="password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard**")  # the landing page; the journeys start from the search
    page.goto("/candidates")
    expect(page.locator("#q")).to_be_focused()  # the unfiltered search autofocuses Search


def find_and_tick(page, surname: str, full_name: str) -> None:
    """`/` to Search, type, Tab to the row's box, Space to tick it."""
    if focused(page)["id"] == "q":
        page.keyboard.press("Shift+Tab")  # leave the field so `/` is a shortcut
    assert focused(page)["id"] != "q"
    page.keyboard.press("/")
    assert_focus(page, id="q")
    page.keyboard.type(surname)
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    assert_focus(page, id="q")  # the swap left the focus in Search
    tab_until(page, lambda f: f["label"] == f"Select {full_name}")
    assert_focus(page, label=f"Select {full_name}")
    page.keyboard.press("Space")
    expect(page.get_by_label(f"Select {full_name}", exact=True)).to_be_checked()


def bulk_sms_by_b(page) -> None:
    """b opens the SMS screen with the focus on its heading (who it is for)."""
    page.keyboard.press("b")
    expect(page.locator("#compose-panel #compose")).to_be_visible()
    expect(page.locator("#compose-heading")).to_be_focused()
    assert_focus(page, id="compose-heading")


def tab_to_template(page) -> None:
    """From the SMS screen's heading, Tab on to the Template list."""
    tab_until(page, lambda f: f["id"] == "template_id")


def test_keyboard_only_bulk_sms(page):
    keyboard_sign_in(page, "consultant")
    assert_focus(page, id="q")  # autofocus on an unfiltered search
    find_and_tick(page, "Lovelace", "Ada Lovelace")

    page.keyboard.press("ArrowRight")  # along the row, onto its name link
    assert_focus(page, tag="A", text="Ada Lovelace")
    page.keyboard.press("b")
    compose = page.locator("#compose-panel #compose")
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 1 person"))).to_be_focused()
    tab_to_template(page)
    expect(page.get_by_label("Template", exact=True)).to_be_focused()
    assert_focus(page, id="template_id")

    message = page.get_by_label("Message", exact=True)
    kept = message.input_value()  # what this person's unsent draft of today holds, if anything
    page.keyboard.press("j")  # type-ahead: "Job alert", only highlighted
    expect(page.get_by_label("Template", exact=True)).to_have_value(
        page.locator("#template_id option", has_text="Job alert").get_attribute("value")
    )
    expect(message).to_have_value(kept)
    assert_focus(page, id="template_id")
    page.keyboard.press("Enter")  # commits: the text comes in, the focus goes where one types
    expect(message).to_have_value(re.compile(r"\{\{first_name\}\}"))
    expect(message).to_be_focused()
    assert_focus(page, id="message")

    before = message.input_value()
    tab_until(page, lambda f: f["id"] == "merge_field", key="Shift+Tab", limit=4)
    page.keyboard.press("f")  # type-ahead: "First name", only highlighted
    assert_focus(page, id="merge_field")
    expect(message).to_have_value(before)
    page.keyboard.press("Enter")
    expect(message).to_be_focused()  # on to where the user types
    assert_focus(page, id="message")
    # The user never put the cursor in the Message, so the field goes after the template's text
    # (as Insert does without JS), not in front of its first word.
    expect(message).to_have_value(before + "{{first_name}}")

    tab_until(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Preview")
    assert_focus(page, text="Preview")
    page.keyboard.press("Enter")
    expect(page.locator("#preview")).to_contain_text("Recipient 1 of 1: Ada Lovelace")
    bubble = page.locator("#preview .sms-bubble")
    expect(bubble).to_have_text(re.compile(r"Ada$"))  # {{first_name}} at the end
    expect(bubble).not_to_contain_text("{{")
    expect(page.locator("#preview-heading")).to_be_focused()
    assert_focus(page, id="preview-heading")

    tab_until(page, lambda f: f["id"] == "send-button", key="Shift+Tab", limit=10)
    assert_focus(page, id="send-button")
    page.keyboard.press("Enter")
    wait_for_batch(page, True, delivered=1)
    page.keyboard.press("Tab")  # a new page: the first stop is the skip link
    assert_focus(page, tag="A", text="Skip to content")


def test_escape_closes_the_panel_and_b_reopens_it(page):
    keyboard_sign_in(page, "consultant")
    find_and_tick(page, "Turing", "Alan Turing")
    page.keyboard.press("ArrowRight")  # onto the row's name link: b works from there too
    bulk_sms_by_b(page)
    page.keyboard.press("Escape")
    expect(page.locator("#compose-panel #compose")).to_have_count(0)
    expect(page.get_by_role("button", name="Bulk SMS")).to_be_focused()
    assert_focus(page, id="bulk-sms-button")
    bulk_sms_by_b(page)
    page.keyboard.press("Escape")
    assert_focus(page, id="bulk-sms-button")
    page.keyboard.press("?")
    expect(page.get_by_role("region", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("?")
    expect(page.get_by_role("region", name="Keyboard shortcuts")).to_be_hidden()


def test_b_right_after_ticking_a_row_with_space(page):
    """README: Space ticks the focused row, b is Bulk SMS. A ticked checkbox is not a text field."""
    keyboard_sign_in(page, "consultant")
    find_and_tick(page, "Hopper", "Grace Hopper")
    bulk_sms_by_b(page)


def test_a_then_b_sends_to_the_whole_page(page):
    keyboard_sign_in(page, "consultant")
    keyboard_search(page, "Optout", 1)
    page.keyboard.press("Shift+Tab")  # out of Search
    page.keyboard.press("a")
    expect(page.get_by_label("Select Olive Optout", exact=True)).to_be_checked()
    assert_focus(page, id="select-page")
    bulk_sms_by_b(page)


def test_arrow_keys_step_through_templates(page):
    """Arrowing through the Template list must not move the focus away (WCAG 3.2.2 On Input)."""
    keyboard_sign_in(page, "consultant")
    find_and_tick(page, "Lovelace", "Ada Lovelace")
    page.keyboard.press("ArrowRight")  # onto the row's name link: b works from there too
    bulk_sms_by_b(page)
    tab_to_template(page)
    template = page.get_by_label("Template", exact=True)
    expect(template).to_be_focused()
    values = page.locator("#template_id option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    message = page.get_by_label("Message", exact=True)
    kept = message.input_value()  # what this person's unsent draft of today holds, if anything
    page.keyboard.press("ArrowDown")  # the first template: highlighted, nothing else changes
    expect(template).to_have_value(values[1])
    page.keyboard.press("ArrowDown")  # on to the second
    expect(template).to_have_value(values[2])
    expect(template).to_be_focused()
    expect(message).to_have_value(kept)
    arm_settle(page)
    page.keyboard.press("Enter")  # only now is it used
    wait_settled(page)
    expect(message).not_to_have_value("")
    expect(message).to_be_focused()
