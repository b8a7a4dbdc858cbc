"""The one rule for control characters: which a value holds, and text made safe to store or send."""

from __future__ import annotations

import pytest

from webapp.text import (
    as_seen,
    as_stored,
    clean_multiline,
    control_characters,
    filter_value,
    is_blank,
    normalise_newlines,
    one_line,
    plain_text_problem,
    without_reordering,
)


@pytest.mark.parametrize(
    "text, named",
    [
        ("Ada Lovelace", ""),
        ("Zoë Nguyễn 👍 – “quoted”", ""),
        ("Harri\r\nson", "line break, carriage return"),
        ("a\tb", "tab"),
        ("a\x00b", "NUL"),
        ("a\x7fb", "DEL"),
        ("a\x85b\x9f", "U+0085, U+009F"),
        ("a\u2028b\u2029", "U+2028, U+2029"),
        ("\x1b[2J\x1b", "U+001B"),
        (None, ""),
    ],
)
def test_control_characters_are_named_once_each_in_code_point_order(text, named):
    assert control_characters(text) == named


def test_a_multiline_value_may_hold_line_breaks_but_nothing_else():
    assert control_characters("one\ntwo", multiline=True) == ""
    assert control_characters("one\r\ntwo\t", multiline=True) == "tab, carriage return"


def test_newlines_are_normalised():
    assert normalise_newlines("a\r\nb\rc\nd") == "a\nb\nc\nd"


def test_clean_multiline_keeps_line_breaks_and_drops_the_rest():
    assert (
        clean_multiline("Yes\x00, Tuesday\r\nsuits\x1b\rok\u2028then\tnow\x85")
        == "Yes, Tuesday\nsuits\nok\nthen now"
    )
    assert clean_multiline(None) == ""


@pytest.mark.parametrize(
    "text, line",
    [
        ("SMS reply from Harri\r\nson (+61412345678)", "SMS reply from Harri son (+61412345678)"),
        ("  Bcc:\n\n\tx@example.com\x00 ", "Bcc: x@example.com"),
        ("a\x85b\u2028c", "a b c"),
        ("plain", "plain"),
        (None, ""),
    ],
)
def test_one_line_turns_each_run_of_control_characters_into_one_space(text, line):
    assert one_line(text) == line


def test_a_filter_value_folds_whitespace_and_refuses_control_characters_or_too_much():
    assert filter_value("Search", "  ada\t\n lovelace ") == ("ada lovelace", None)
    assert filter_value("Search", None) == ("", None)
    assert filter_value("Folder", " a\tb ", words=False) == (
        "",
        "Folder cannot hold control characters (tab); it was left out.",
    )
    # A pasted name brings a tab or line break at its end: trimmed, as before.
    assert filter_value("Folder", "Offers\t\r\n", words=False) == ("Offers", None)
    assert filter_value("Name", "x" * 201) == (
        "",
        "Name can be at most 200 characters; it was left out.",
    )
    assert filter_value("Name", "x" * 5, 4) == (
        "",
        "Name can be at most 4 characters; it was left out.",
    )
    assert filter_value("Who", "a\x1bb") == (
        "",
        "Who cannot hold control characters (U+001B); it was left out.",
    )


@pytest.mark.parametrize(
    "raw, words, value",
    [
        ("\u202eabc", True, "abc"),  # right-to-left override
        ("ab\u202dc \u2066d\u2069", True, "abc d"),  # left-to-right override, an isolate
        ("\u202e", True, ""),
        (" \u202bOffers\u202c", False, "Offers"),  # a folder: embedding, pop
        ("\u05e9\u05dc\u05d5\u05dd\u200f", True, "\u05e9\u05dc\u05d5\u05dd\u200f"),  # marks stay
    ],
)
def test_a_filter_value_drops_the_controls_that_reorder_text(raw, words, value):
    """Shown back beside its box and in the heading, a right-to-left override would reverse the
    rest of the line; nobody searches for one."""
    assert filter_value("Search", raw, words=words) == (value, None)


def test_a_reordering_control_does_not_count_towards_the_limit():
    assert filter_value("Search", "\u202e" + "x" * 4, 4) == ("xxxx", None)


@pytest.mark.parametrize(
    "raw",
    [
        "ada\tlovelace",  # tab
        "ada\nlovelace",  # line feed
        "ada\r\nlovelace",  # a browser's line break
        "ada\u2028lovelace",  # line separator
        "ada\u2029lovelace",  # paragraph separator
        "ada\u00a0lovelace",  # no-break space
        "ada\u3000lovelace",  # ideographic space
        "ada\u2003\u202flovelace",  # em space, narrow no-break space
    ],
)
def test_a_tab_line_break_or_unicode_space_in_a_filter_value_separates_words(raw):
    assert filter_value("Search", raw) == ("ada lovelace", None)


@pytest.mark.parametrize(
    "raw, named",
    [
        ("a\x1cb", "U+001C"),
        ("a\x1db", "U+001D"),
        ("a\x1eb", "U+001E"),
        ("a\x1fb", "U+001F"),
        ("a\x85b", "U+0085"),  # NEL
        ("a\x0bb", "U+000B"),  # vertical tab
        ("a\x0cb", "U+000C"),  # form feed
        ("a\x07b", "U+0007"),
        ("a\x1f", "U+001F"),  # at the end, where strip() would take it for a space
        ("\x85a", "U+0085"),
    ],
)
def test_a_control_character_python_counts_as_whitespace_is_refused_not_read_as_a_space(raw, named):
    assert filter_value("Search", raw) == (
        "",
        f"Search cannot hold control characters ({named}); it was left out.",
    )
    assert filter_value("Folder", raw, words=False) == (
        "",
        f"Folder cannot hold control characters ({named}); it was left out.",
    )


def test_plain_text_problem_names_what_to_remove():
    assert plain_text_problem("The username", "ada") is None
    assert plain_text_problem("The username", "ada\tx") == (
        "The username must be one line of plain text: remove the tab."
    )
    assert plain_text_problem("Skills", "a\nb", multiline=True) is None
    assert plain_text_problem("Skills", "a\x00b", multiline=True) == (
        "Skills cannot hold control characters: remove the NUL."
    )


def test_a_single_line_value_may_not_hold_a_control_that_reorders_the_text_after_it():
    """A right-to-left override in a name showed the rest of the line reversed, on the record page
    and in every SMS merged from it."""
    assert plain_text_problem("Last name", "Lee\u202e") == (
        "Last name cannot hold invisible characters that change the order text is shown in: "
        "remove the right-to-left override (U+202E) (retype the value rather than pasting it)."
    )
    assert plain_text_problem("Location", "\u2069Perth\u2066\u202a") == (
        "Location cannot hold invisible characters that change the order text is shown in: "
        "remove the left-to-right embedding (U+202A), left-to-right isolate (U+2066), "
        "pop directional isolate (U+2069) (retype the value rather than pasting it)."
    )
    # The marks that only steer punctuation stay allowed: right-to-left writing needs them.
    assert plain_text_problem("Last name", "\u05db\u05d4\u05df\u200f") is None
    # A control character is said first, as before.
    assert "must be one line" in plain_text_problem("Last name", "Lee\t\u202e")
    # Multi-line text (a message, skills) is not refused for them.
    assert plain_text_problem("Skills", "a\u202eb", multiline=True) is None


def test_without_reordering_drops_embeddings_overrides_and_isolates_only():
    text = "\u202aa\u202bb\u202cc\u202dd\u202ee\u2066f\u2067g\u2068h\u2069i\u200e\u200f\u061c"
    assert without_reordering(text) == "abcdefghi\u200e\u200f\u061c"


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b", "\ufeff", " \u2060\u200d\n", "\ufe0f"])
def test_text_of_spaces_and_invisible_characters_is_blank(text):
    assert is_blank(text)


@pytest.mark.parametrize("text", ["Hi", " .", "\u200bHi", "👩\u200d💻", "e\u0301"])
def test_text_showing_anything_is_not_blank(text):
    assert not is_blank(text)


@pytest.mark.parametrize("text", ["Perth\u200b", " PERTH ", "\ufeffPe\u200brth", "perth\ufe0f"])
def test_names_that_look_the_same_are_the_same_as_seen(text):
    assert as_seen(text) == as_seen("Perth") == "perth"


def test_either_unicode_spelling_of_an_accent_is_one_name_as_seen():
    assert as_seen("Zu\u0308rich") == as_seen("ZÜRICH") == "zürich"


def test_names_that_look_different_stay_different_as_seen():
    assert as_seen("Port Perth") != as_seen("PortPerth")
    assert as_seen("Port  Perth") == as_seen("Port Perth")


def test_search_text_as_stored_takes_one_spelling_of_an_accent_and_folds_nothing_else():
    assert as_stored("Chloe\u0308") == "Chlo\u00eb"
    assert as_stored("50m² ﬁle") == "50m² ﬁle"  # NFKC would make these "m2" and "fi"
