"""The one rule for control characters in user text: what a single-line or multi-line value may
hold, and how to make text from outside (webhooks, email headers) safe to store or send."""

from __future__ import annotations

import re
import unicodedata

# C0 (NUL..US, which includes TAB, LF and CR), DEL and C1, plus the Unicode line and paragraph
# separators: each of them breaks a line somewhere (an email header, a CSV cell, a log line), and
# PostgreSQL refuses NUL in text outright, so one of them in a name could stop sending or lose a
# reply.
_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
# Bidirectional controls that reorder what follows them (embeddings, overrides, isolates):
# invisible, yet a right-to-left override (U+202E) in a name shows the rest of the line reversed,
# on the page and in an SMS merged from it ("Call me on <U+202E>0000 123 4140" shows a number
# never typed). The marks (U+200E, U+200F, U+061C) are not among them: right-to-left writing needs
# them, and they only steer the punctuation beside them.
BIDI_REORDERING = re.compile("[\u202a-\u202e\u2066-\u2069]")
# A number with its thousands grouped by commas or spaces: "1,000", "1 000.5".
_GROUPED_RE = re.compile(r"\d{1,3}(?:[, ]\d{3})+(?:\.\d*)?")
_CONTROL_RE = re.compile(f"[{_CONTROL}]")
_CONTROL_RUN_RE = re.compile(f"[{_CONTROL}]+")
_CONTROL_BUT_NEWLINE_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
# What a search box reads as a space: a tab or a line break (CR, LF, and Unicode's line and
# paragraph separators, which pasted text can hold). Not every character str.split() takes for
# whitespace: U+001C..U+001F, NEL, VT and FF are control characters, which no one types, so a
# value holding one is refused like any other rather than searched for as something else.
_TAB_OR_LINE_BREAK_RE = re.compile("[\t\n\r\u2028\u2029]")
# How a filter's problem ends on its page, which is still shown without the value (a refused
# download, which shows nothing, says its problems without it).
LEFT_OUT = "; it was left out."


# What shows nothing beside the format characters (Cf): the variation selectors (U+FE00..U+FE0F,
# U+E0100..U+E01EF, the Mongolian ones), the combining grapheme joiner, the Khmer inherent vowels,
# the Hangul fillers (letters to Unicode, yet blank on every page) and the blank braille pattern
# (a symbol). A candidate named U+3164 U+2800 was saved with an empty heading and search link.
# Besides, the code points kept unassigned as default-ignorable (U+2065, U+FFF0..U+FFF8, the rest
# of U+E0000..U+E0FFF): fonts draw nothing for them, and a template named U+E0002 was a 0-px link.
# Not every unassigned one (Cn): to Python 3.11's Unicode 14 a newer emoji (U+1FA77 🩷) is one.
_SHOWS_NOTHING = re.compile(
    "[\ufe00-\ufe0f\U000e0000-\U000e0fff\u180b-\u180f\u034f\u17b4\u17b5"
    "\u115f\u1160\u3164\uffa0\u2800\u2065\ufff0-\ufff8]"
)


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or _SHOWS_NOTHING.match(ch) is not None


# Nothing to show on their own: combining marks (Mn, Me) with no letter to sit on. A template
# named U+0301 alone was a 0-px link in the list and an empty choice in the SMS screen's picker.
# Blank only when all of it is such ("e" + U+0301 shows "é"); not left out by as_seen, where
# Hindi's vowel signs (Mn) tell words apart.
_MARKS = frozenset({"Mn", "Me"})


def is_blank(text: str | None) -> bool:
    """True when `text` shows nothing: only spaces, invisible characters (a zero-width space, a
    byte-order mark, an emoji presentation selector, a Hangul filler), which str.strip() keeps, and
    combining marks with nothing to sit on. An SMS of them arrives looking empty."""
    return all(
        ch.isspace() or _invisible(ch) or unicodedata.category(ch) in _MARKS for ch in text or ""
    )


def as_seen(text: str | None) -> str:
    """`text` as a reader sees it, to tell whether two names are one: one Unicode spelling
    (NFKC), invisible characters dropped, runs of spaces as one, in any case ("Perth" + a
    zero-width space is "perth")."""
    visible = "".join(ch for ch in unicodedata.normalize("NFKC", text or "") if not _invisible(ch))
    return " ".join(visible.split()).casefold()


# The joiners shape emoji ("👩‍💻") and some scripts' letters: they stay.
_JOINERS = "\u200c\u200d"


def without_format_characters(text: str) -> str:
    """`text` without its invisible format characters (Unicode's Cf: a zero-width space, a soft
    hyphen, a byte-order mark, the bidirectional controls), the joiners aside. Each of them makes an
    SMS Unicode (UCS-2), about twice the parts of the same text without it, and shows nothing."""
    # ASCII holds none: a merge asks this of every value of every recipient of a Send.
    if text.isascii():
        return text
    return "".join(ch for ch in text if ch in _JOINERS or unicodedata.category(ch) != "Cf")


def visible(text: str) -> str:
    """`text` (a name, a folder) as it is stored: runs of spaces as one and its invisible format
    characters (without_format_characters) left out. "Candidates" with one of them pasted in read
    "Candidates" in every list but was a second folder, and an office or sender's name holding one
    made every SMS it was merged into Unicode."""
    # NFC, as typed search text is (as_stored): an "ë" pasted as "e" and its mark is found by an
    # "ë" typed as one character.
    return unicodedata.normalize("NFC", " ".join(without_format_characters(text).split()))


def as_stored(typed: str) -> str:
    """Typed search text in the Unicode spelling stored text mostly has (NFC), so that an "ë"
    typed as "e" and a combining diaeresis (as some keyboards and pastes give it) finds the "ë"
    of a message. Not NFKC, which would take "²" for "2" and miss a body holding the "²"."""
    return unicodedata.normalize("NFC", typed)


def _names(chars: set[str]) -> str:
    return ", ".join(_NAMES.get(c, f"U+{ord(c):04X}") for c in sorted(chars))


_NAMES = {"\x00": "NUL", "\t": "tab", "\n": "line break", "\r": "carriage return", "\x7f": "DEL"}


def control_characters(text: str | None, *, multiline: bool = False) -> str:
    """The control characters in `text`, named and comma-separated ("" when there are none).

    A multi-line value may hold line breaks ("\\n"); it should have been through
    `normalise_newlines` first, so that a "\\r\\n" from a browser's textarea counts as the line
    break it is.
    """
    found = set(_CONTROL_RE.findall(text or ""))
    if multiline:
        found.discard("\n")
    return _names(found)


def reordering_characters(text: str | None) -> str:
    """The bidirectional controls in `text` that reorder what follows them, named with their code
    points and comma-separated ("right-to-left override (U+202E)"); "" when there are none."""
    found = sorted(set(BIDI_REORDERING.findall(text or "")))
    return ", ".join(f"{unicodedata.name(c).lower()} (U+{ord(c):04X})" for c in found)


def without_reordering(text: str) -> str:
    """`text` without the bidirectional controls that reorder what follows them (BIDI_REORDERING):
    for values stored before they were refused, and for text from outside that must be kept."""
    # ASCII holds none: a merge asks this of every value of every recipient of a Send.
    return text if text.isascii() else BIDI_REORDERING.sub("", text)


def normalise_newlines(text: str) -> str:
    """`text` with every "\\r\\n" and lone "\\r" as "\\n"
    (browsers send textarea lines as "\\r\\n")."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean_multiline(text: str | None) -> str:
    """`text` with line breaks as "\\n", tabs as spaces and every other control character dropped.

    For text we must keep whatever it holds, such as a reply's body: one stray byte never loses it.
    """
    text = (
        normalise_newlines(text or "")
        .replace("\t", " ")
        .replace("\u2028", "\n")
        .replace("\u2029", "\n")
    )
    return _CONTROL_BUT_NEWLINE_RE.sub("", text)


def one_line(text: str | None) -> str:
    """`text` on one line: each run of line breaks or control characters becomes one space; trimmed.

    For email headers and the like, which refuse CR/LF and must never be split by data.
    """
    return _CONTROL_RUN_RE.sub(" ", text or "").strip()


def plain_text_problem(label: str, value: str | None, *, multiline: bool = False) -> str | None:
    """Why `value` is not plain text (a message that starts with `label`), or None when it is.

    The rule of every typed value that is stored: a single-line one may hold no control character,
    not even a tab (each would break an email header, a CSV line or a log line later), nor a
    bidirectional control that reorders the text after it (BIDI_REORDERING); a multi-line one may
    hold line breaks ("\\n") and no other control character.
    """
    found = control_characters(value, multiline=multiline)
    if found and multiline:
        return f"{label} cannot hold control characters: remove the {found}."
    if found:
        return f"{label} must be one line of plain text: remove the {found}."
    # Nor, on one line (a name, an email…), an invisible character that shows what follows it in
    # another order: merged into an SMS it would scramble the message too.
    reordering = "" if multiline else reordering_characters(value)
    if reordering:
        return (
            f"{label} cannot hold invisible characters that change the order text is shown in: "
            f"remove the {reordering} (retype the value rather than pasting it)."
        )
    return None


def filter_value(
    label: str, raw: str | None, limit: int = 200, *, words: bool = True
) -> tuple[str, str | None]:
    """A typed search or filter value, and why it cannot be used (None when it can).

    The rule of every search box: tabs and line breaks only separate words (with `words`), any
    other control character or more than `limit` characters leaves the value out, with a message
    for beside the field, rather than quietly searching for something the user did not type.
    Bidirectional controls that reorder what follows them (BIDI_REORDERING) are dropped, as from
    every typed single-line value: the page shows the value back, and a right-to-left override
    would show it, and the rest of its line, reversed. So is every other invisible format
    character (without_format_characters): "smith" with a zero-width space, a byte-order mark or
    a soft hyphen pasted in showed "smith" in the box and found nobody. The marks that only steer
    the punctuation beside them (U+200E, U+200F, U+061C) stay, for right-to-left words.
    """
    raw = raw or ""
    if not raw.isascii():  # ASCII holds none: a search asks this of every value typed
        raw = "".join(
            ch if ch in "\u200e\u200f\u061c" else without_format_characters(ch) for ch in raw
        )
    # Without `words` (a folder's name), only those at its ends go, as a paste brings them.
    text = _TAB_OR_LINE_BREAK_RE.sub(" ", raw) if words else raw.strip(" \t\r\n")
    # Checked before trimming or folding: str.strip() and str.split() would quietly take a
    # U+001F or a NEL for a space.
    found = control_characters(text)
    # Any other space (a no-break space, an ideographic space) still only separates words.
    value = " ".join(text.split()) if words else text.strip()
    if len(value) > limit:
        return "", f"{label} can be at most {limit} characters{LEFT_OUT}"
    if found:
        return "", f"{label} cannot hold control characters ({found}){LEFT_OUT}"
    return value, None


def ungrouped(text: str) -> str:
    """A number typed with its thousands grouped ("1,000", "1 000") without the grouping; any other
    text as it is. "1,5" is no grouped number: whether 1.5 or 15 was meant is not guessed."""
    return text.replace(",", "").replace(" ", "") if _GROUPED_RE.fullmatch(text) else text
