"""Invisible format characters (a zero-width space, a soft hyphen) in names: left out of what is
stored and of every value merged into an SMS, where each one made the message Unicode."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from webapp.errors import FieldError
from webapp.sms import segments
from webapp.sms.merge import parse, render
from webapp.sms.settings import parse_comment_types
from webapp.text import visible, without_format_characters

CANDIDATE = SimpleNamespace(first_name="Ada", last_name="Lovelace", location="Sydney")


def sender(**fields) -> SimpleNamespace:
    return SimpleNamespace(
        **{
            "full_name": "Sam Smith",
            "mobile": None,
            "email": None,
            "office_name": "Perth",
            **fields,
        }
    )


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("Bris\u200bbane", "Brisbane"),
        ("Lee\u00adTeamleader", "LeeTeamleader"),
        ("\ufeffPerth \u2060 SMS\u200b", "Perth SMS"),
        ("Perth\u00a0 \u3000SMS", "Perth SMS"),
        # The joiners shape emoji and some scripts' letters: they stay.
        ("Dev \U0001f469\u200d\U0001f4bb", "Dev \U0001f469\u200d\U0001f4bb"),
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        ),
        ("Zoe\u0308", "Zo\u00eb"),  # NFC, as typed search text is
    ],
    ids=["zero-width", "soft-hyphen", "several", "spaces", "zwj-emoji", "zwnj", "nfc"],
)
def test_a_name_is_stored_as_it_is_seen(typed, stored):
    assert visible(typed) == stored


def test_format_characters_go_and_line_breaks_and_spaces_stay():
    assert without_format_characters("a\u00ad\u200b \u202e\n b\u200d") == "a \n b\u200d"
    assert without_format_characters("plain ASCII") == "plain ASCII"


@pytest.mark.parametrize(
    "who",
    [
        sender(office_name="Bris\u200bbane"),
        sender(full_name="Lee\u00adTeamleader Smith"),
        sender(full_name="\ufeffLee\u2060Teamleader"),
    ],
    ids=["office", "full-name", "first-name"],
)
def test_a_stored_name_with_an_invisible_character_merges_as_gsm7(who):
    """A name saved before names were cleaned: the merged SMS must not turn Unicode for it."""
    template = parse(
        "Our {{sender_office}} office is closed Monday. {{sender_first_name}} "
        "({{sender_full_name}})"
    )
    rendered = render(template, CANDIDATE, who)
    assert all(ch.isascii() for ch in rendered.text), ascii(rendered.text)
    assert segments.count(rendered.text).encoding == segments.GSM_7


def test_a_value_of_invisible_characters_alone_is_reported_empty():
    rendered = render(parse("Hi from {{sender_office}}"), CANDIDATE, sender(office_name="\u200b"))
    assert (rendered.text, rendered.empty) == ("Hi from ", ("sender_office",))


def test_a_merged_value_keeps_the_joiners_of_an_emoji():
    who = sender(office_name="Dev \U0001f469\u200d\U0001f4bb")
    assert (
        render(parse("{{sender_office}}"), CANDIDATE, who).text == "Dev \U0001f469\u200d\U0001f4bb"
    )


def test_invisible_only_comment_type_lines_are_blank():
    assert parse_comment_types("SMS\n\u200b\n \ufeff \nCall") == ("SMS", "Call")
    with pytest.raises(FieldError, match="at least one comment type"):
        parse_comment_types("\u200b\n\u00ad")


@pytest.mark.parametrize("twin", ["SMS\u200b", "S\u00adMS", "sms", "\ufeffSMS"])
def test_comment_types_that_read_the_same_are_one_repeated(twin):
    with pytest.raises(FieldError, match="listed more than once") as refused:
        parse_comment_types(f"SMS\n{twin}\nCall")
    assert refused.value.field == "comment_types"
