"""Shortcuts and input methods: Esc while an input method is composing a word is the input method's
(the SMS screen stays open), and the letter shortcuts work with a Cyrillic layout on (the key's
place, event.code, when event.key is another alphabet's letter) and with Caps Lock on. Keys go in
through Chrome's DevTools protocol, as the keyboard and the input method deliver them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_keyboard import bulk_sms_by_b, find_and_tick, keyboard_sign_in

# The letter keys of the Russian layout (ЙЦУКЕН) and their places.
RUSSIAN = {"a": ("ф", "KeyA", 65), "b": ("и", "KeyB", 66), "x": ("ч", "KeyX", 88)}


@pytest.fixture
def js() -> bool:
    return True


@pytest.fixture
def cdp(page):
    return page.context.new_cdp_session(page)


def press_russian(cdp, letter: str) -> None:
    """Press the key of `letter`'s place with the Russian layout on: its key is Cyrillic."""
    key, code, virtual = RUSSIAN[letter]
    common = {"key": key, "code": code, "windowsVirtualKeyCode": virtual}
    cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": key, **common})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **common})


def test_escape_while_an_input_method_composes_keeps_the_sms_screen_open(page, cdp):
    keyboard_sign_in(page, "consultant")
    find_and_tick(page, "Turing", "Alan Turing")
    bulk_sms_by_b(page)
    message = page.locator("#message")
    message.focus()
    page.keyboard.type("Hello ")

    # A Japanese input method is composing a word: Esc cancels the word, not the SMS screen.
    cdp.send(
        "Input.imeSetComposition", {"text": "こんにち", "selectionStart": 4, "selectionEnd": 4}
    )
    page.evaluate(
        "() => document.addEventListener('keydown', e => { if (e.key === 'Escape') "
        "window.escapes = (window.escapes || []).concat([e.isComposing]); }, true)"
    )
    page.keyboard.press("Escape")
    assert page.evaluate("() => window.escapes") == [True], "the Esc was not during a composition"
    expect(page.locator("#compose-panel #compose")).to_be_visible()
    expect(message).to_be_focused()

    # The word committed, Esc closes the screen as ever.
    cdp.send("Input.insertText", {"text": "こんにちは"})
    expect(message).to_have_value("Hello こんにちは")
    page.keyboard.press("Escape")
    expect(page.locator("#compose-panel #compose")).to_have_count(0)


def test_letter_shortcuts_work_with_a_cyrillic_layout(page, cdp):
    keyboard_sign_in(page, "consultant")
    find_and_tick(page, "Turing", "Alan Turing")
    page.keyboard.press("ArrowRight")  # onto the row's name link, a cell of the grid
    # x on the grid: the row's box (ticked above) is unticked, then ticked again.
    box = page.get_by_label("Select Alan Turing", exact=True)
    press_russian(cdp, "x")
    expect(box).not_to_be_checked()
    press_russian(cdp, "x")
    expect(box).to_be_checked()
    # b: Bulk SMS.
    press_russian(cdp, "b")
    expect(page.locator("#compose-panel #compose")).to_be_visible()
    expect(page.locator("#compose-heading")).to_be_focused()


def press_caps_lock(cdp, letter: str) -> None:
    """Press `letter`'s key with Caps Lock on, no Shift: its key is the upper-case letter."""
    key, code = letter.upper(), f"Key{letter.upper()}"
    common = {"key": key, "code": code, "windowsVirtualKeyCode": ord(key)}
    cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "text": key, **common})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **common})


def test_letter_shortcuts_work_with_caps_lock_on(page, cdp):
    """With Caps Lock on the keys read "J", "X", "B": they did nothing."""
    keyboard_sign_in(page, "consultant")
    find_and_tick(page, "Turing", "Alan Turing")
    page.keyboard.press("ArrowRight")  # onto the row's name link, a cell of the grid
    box = page.get_by_label("Select Alan Turing", exact=True)
    press_caps_lock(cdp, "x")
    expect(box).not_to_be_checked()
    press_caps_lock(cdp, "x")
    expect(box).to_be_checked()
    press_caps_lock(cdp, "b")
    expect(page.locator("#compose-panel #compose")).to_be_visible()
    expect(page.locator("#compose-heading")).to_be_focused()


def test_typing_cyrillic_in_a_field_is_typing_not_shortcuts(page, cdp):
    keyboard_sign_in(page, "consultant")
    # Search has the focus: "фи" is what is searched for, nothing is ticked or opened.
    press_russian(cdp, "a")
    press_russian(cdp, "b")
    expect(page.locator("#q")).to_have_value("фи")
    expect(page.locator("#compose-panel #compose")).to_have_count(0)
    expect(page.locator("#select-page")).not_to_be_checked()
