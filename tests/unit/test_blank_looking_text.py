"""Text that shows nothing though it is neither spaces nor a format character (a Hangul filler, the
blank braille pattern): blank, like a zero-width space, wherever a value must show something."""

from __future__ import annotations

import unicodedata

import pytest

from webapp.records.forms import blank_as_empty
from webapp.text import as_seen, is_blank

SHOWS_NOTHING = {
    "\u115f": "HANGUL CHOSEONG FILLER",
    "\u1160": "HANGUL JUNGSEONG FILLER",
    "\u3164": "HANGUL FILLER",
    "\uffa0": "HALFWIDTH HANGUL FILLER",
    "\u2800": "BRAILLE PATTERN BLANK",
    "\u180e": "MONGOLIAN VOWEL SEPARATOR",
    "\u034f": "COMBINING GRAPHEME JOINER",
    "\u17b4": "KHMER VOWEL INHERENT AQ",
    "\u180b": "MONGOLIAN FREE VARIATION SELECTOR ONE",
    "\U000e0100": "VARIATION SELECTOR-17",
}


@pytest.mark.parametrize("char", SHOWS_NOTHING, ids=SHOWS_NOTHING.values())
def test_a_character_that_shows_nothing_is_blank(char):
    assert unicodedata.name(char) == SHOWS_NOTHING[char]
    assert is_blank(char)
    assert is_blank(f" {char}\u200b{char} ")


def test_the_name_that_was_saved_blank_is_blank():
    assert is_blank("\u3164") and is_blank("\u2800") and is_blank("\u3164 \u2800")


@pytest.mark.parametrize(
    "text",
    ["\u3164Ann", "Ann\u2800", "\u1100\u1161", "\u2801", "\u115f\u1161", "\u1820\u180e\u1820"],
    ids=["filler-before", "braille-after", "jamo", "braille-dot", "filler-and-vowel", "mongolian"],
)
def test_text_with_anything_to_show_beside_them_is_not_blank(text):
    assert not is_blank(text)


def test_a_name_with_a_filler_pasted_in_is_seen_as_the_name():
    assert as_seen("Perth\u3164") == as_seen("Perth\u2800 ") == "perth"


@pytest.mark.parametrize("value", ["\u200b", "\u3164", " \u2800 ", "\ufeff\u3164"])
def test_an_optional_value_that_shows_nothing_is_taken_as_empty(value):
    assert blank_as_empty(value) == ""


@pytest.mark.parametrize("value", ["", "Site Manager", "\u3164Acme", None])
def test_an_optional_value_that_shows_something_is_left_as_it_is(value):
    assert blank_as_empty(value) == value
