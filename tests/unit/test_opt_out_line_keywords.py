"""The opt-out line tells people a reply SMS Desk acts on: a keyword spelt with a space or hyphen
inside ("OPT OUT", "OPT-OUT", "STOP ALL") is honoured as a reply, and a line is accepted only when
the reply it asks for is one, not because a keyword stands elsewhere in it."""

from __future__ import annotations

import pytest

from webapp.errors import FieldError
from webapp.sms import keywords
from webapp.sms.opt_out_line import DEFAULT_LINE, check_line


@pytest.mark.parametrize(
    ("reply", "word"),
    [
        ("OPT OUT", "OPTOUT"),
        ("opt-out", "OPTOUT"),
        ("Opt – out!", "OPTOUT"),  # the dash a phone's keyboard may put for a hyphen
        ("STOP ALL", "STOPALL"),
        ("stop\u00a0all.", "STOPALL"),
        ("Un-subscribe", "UNSUBSCRIBE"),
    ],
)
def test_a_keyword_with_a_space_or_hyphen_inside_is_an_opt_out(reply, word):
    assert keywords.keyword(reply) == word
    assert keywords.consent_change(reply) is False


@pytest.mark.parametrize(
    "reply", ["please stop by", "Stop calling me", "STOP STOP", "STOP 🛑 STOP", "Opt in", "STOP.ME"]
)
def test_a_reply_that_only_holds_a_keyword_is_still_none(reply):
    assert keywords.consent_change(reply) is None


def test_twilios_standard_opt_out_words_are_all_keywords():
    assert {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"} <= (
        keywords.OPT_OUT
    )


WORKING_LINES = [
    DEFAULT_LINE,
    "Reply OPT OUT to unsubscribe",
    "Reply STOP ALL to opt out",
    "Text OPT-OUT to stop",
    "Text UNSUBSCRIBE to stop",
    "Text QUIT to stop these",
    "Opt out: reply optout",
    "To opt out, reply with STOP",
    "Reply 'STOP' to opt out",
    "Txt END to 0412 345 678",
    "SMS Desk alerts: reply STOP to opt out",
    "Reply YES for roles, STOP to opt out",
    "STOP to end",
    "Opt out: CANCEL",
]


@pytest.mark.parametrize("line", WORKING_LINES)
def test_a_line_asking_for_a_reply_that_opts_out_is_accepted(line):
    assert check_line(line) == line


@pytest.mark.parametrize(
    ("line", "told"),
    [
        ("Reply HALT to unsubscribe", "HALT"),
        ("Unsubscribe: reply NO", "NO"),
        ("To stop these, text QUITTING", "QUITTING"),
        ("Reply STOPPING to cancel", "STOPPING"),
    ],
)
def test_a_line_asking_for_a_reply_that_does_nothing_is_refused_naming_it(line, told):
    with pytest.raises(FieldError) as refused:
        check_line(line)
    assert refused.value.field == "opt_out_line"
    assert refused.value.message.startswith(f"Replying “{told}” opts nobody out.")
    assert "must name a reply that opts out" in refused.value.message


def test_a_line_asking_for_no_reply_is_refused():
    with pytest.raises(FieldError) as refused:
        check_line("You may unsubscribe at any time")
    assert refused.value.message.startswith("The opt-out line must name a reply that opts out")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("Reply OPT OUT to unsubscribe", "OPT OUT"),
        ("Reply STOP ALL to opt out", "STOP ALL"),
        ("Text OPT-OUT to stop", "OPT-OUT"),
    ],
)
def test_the_reply_an_accepted_line_asks_for_opts_the_reader_out(line, reply):
    """The lines the bug hunter saved: accepted, and the reply they ask for now does what they
    say."""
    assert check_line(line) == line
    assert keywords.consent_change(reply) is False
