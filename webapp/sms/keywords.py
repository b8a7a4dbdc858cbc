"""Consent keywords in replies: STOP-type words withdraw SMS consent, START and UNSTOP restore
it."""

from __future__ import annotations

import string

OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
# Not YES: consultants ask "Reply YES if you're interested", and that answer is not consent.
OPT_IN = frozenset({"START", "UNSTOP"})
_TRIM = string.whitespace + string.punctuation + "¡¿“”‘’…"


def consent_change(body: str) -> bool | None:
    """False for an opt-out keyword, True for an opt-in one, None for anything else.

    The keyword must be the whole message ("Stop!" counts, "please stop by" does not).
    """
    word = body.strip(_TRIM).upper()
    if word in OPT_OUT:
        return False
    if word in OPT_IN:
        return True
    return None
