"""Names that look blank though neither spaces nor format characters: a combining mark with no
letter to sit on (U+0301), an unassigned default-ignorable code point (U+2065, U+E0002). A
template so named was a 0-px link in the list and an empty choice in the SMS screen's picker."""

from __future__ import annotations

import pytest

from webapp.text import as_seen, is_blank

LOOKS_BLANK = {
    "\u0301": "combining acute alone",
    "\u0301\u0308 \u0301": "combining marks and a space",
    "\u20dd": "enclosing circle alone (Me)",
    "\u2065": "unassigned default-ignorable",
    "\U000e0002": "unassigned tag-block code point",
    "\ufff0": "unassigned specials code point",
    "\u200b\u0301\u2065": "a zero-width space among them",
}


@pytest.mark.parametrize("text", LOOKS_BLANK, ids=LOOKS_BLANK.values())
def test_marks_alone_and_ignorable_unassigned_code_points_are_blank(text):
    assert is_blank(text)


SHOWS_SOMETHING = {
    "e\u0301": "a mark on a letter",
    "\u0915\u093f": "Devanagari ki (a letter and its vowel sign)",
    "\u0301Ann": "a stray mark before a name",
    "\U0001fa77": "an emoji newer than Python's Unicode data (Cn to it)",
    "\u0378": "an unassigned code point shown as a box",
}


@pytest.mark.parametrize("text", SHOWS_SOMETHING, ids=SHOWS_SOMETHING.values())
def test_text_with_anything_else_is_not_blank(text):
    assert not is_blank(text)


def test_marks_still_tell_names_apart_as_seen():
    assert as_seen("\u0915\u093f") != as_seen("\u0915")
    assert as_seen("Perth\u2065") == as_seen("Perth")
