"""Consent keywords in replies: STOP-type words withdraw SMS consent, START and UNSTOP restore
it."""

from __future__ import annotations

import string
import unicodedata

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
# Not YES: consultants ask "Reply YES if you're interested", and that answer is not consent.
OPT_IN = frozenset({"START", "UNSTOP"})
_ASCII_TRIM = frozenset(string.whitespace + string.punctuation)
# Emoji presentation selectors: a phone may put one after a word.
_SELECTORS = frozenset(chr(code) for code in range(0xFE00, 0xFE10))
# The hyphen-minus and the hyphens and dashes a phone's keyboard may put in its place.
_HYPHENS = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2212")


def consent_change(body: str) -> bool | None:
    """False for an opt-out keyword, True for an opt-in one, None for anything else.

    The keyword must be the whole message ("Stop!" counts, "please stop by" does not).
    """
    word = keyword(body)
    if word in OPT_OUT:
        return False
    if word in OPT_IN:
        return True
    return None


def keyword(body: str) -> str:
    """The reply as the one word it may be, upper case: compatibility forms folded (full-width
    "ＳＴＯＰ" is STOP), invisible characters dropped (a zero-width space), and the spaces and
    punctuation of any script around it cut off (a no-break space, "。", "¡"), and so are emoji and
    other symbols ("STOP 🛑", "Stop 👍🏽"): a phone's keyboard offers them beside the word. Spaces
    and hyphens inside it are dropped too ("Opt out", "OPT-OUT" and "Stop all" are OPTOUT and
    STOPALL)."""
    text = unicodedata.normalize("NFKC", body)
    text = "".join(ch for ch in text if ch not in _SELECTORS and unicodedata.category(ch) != "Cf")
    start, end = 0, len(text)
    while start < end and _around(text[start]):
        start += 1
    while end > start and _around(text[end - 1]):
        end -= 1
    # Spaces and hyphens inside it do not count: "OPT OUT" and "Opt-out" are OPTOUT, "Stop all"
    # STOPALL (an opt-out line may well spell them so, and people type what it says).
    inner = "".join(ch for ch in text[start:end] if not (ch.isspace() or ch in _HYPHENS))
    return inner.upper()


def _around(ch: str) -> bool:
    """Whether `ch` may stand around a keyword: a space, punctuation or a symbol (an emoji, its
    skin tone)."""
    return ch in _ASCII_TRIM or ch.isspace() or unicodedata.category(ch)[0] in "PZS"
