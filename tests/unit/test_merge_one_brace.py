"""One literal brace before a word: "{Email us}" is an unfinished merge field to the checks, so
`\\{` writes one brace as `\\{{` writes two; the hint says so, and the counters count the brace."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from webapp.sms import merge, segments
from webapp.sms.templates import counted, template_text

ADA = SimpleNamespace(first_name="Ada", location="Sydney", email="ada@example.com")
SAM = SimpleNamespace(full_name="Sam Smith", office_name="Melbourne")


def fill(body: str) -> merge.Rendered:
    return merge.render(merge.parse(body), ADA, SAM)


@pytest.mark.parametrize(
    "typed, sent",
    [
        (r"Salary \{location dependent}", "Salary {location dependent}"),
        (r"\{Email us}", "{Email us}"),
        (r"\{Mobile: yes}", "{Mobile: yes}"),
        (r"\{first_name} is {{first_name}}", "{first_name} is Ada"),
        (r"\{\{first_name}}", "{{first_name}}"),  # two escaped braces are two braces
    ],
)
def test_an_escaped_brace_is_sent_as_one_brace_and_is_not_unfinished(typed, sent):
    """Refused as "Unfinished merge field(s): {location", and "\\{location" too."""
    assert merge.unfinished_fields(typed) == ()
    assert merge.unknown_problem(typed) is None
    rendered = fill(typed)
    assert rendered.text == sent
    assert rendered.leftover == () and rendered.unknown == ()


@pytest.mark.parametrize(
    "typed, sent",
    [
        (r"\{{location dependent}", "{{location dependent}"),
        (r"\{{first_name}} is {{first_name}}", "{{first_name}} is Ada"),
        (r"Hi \{{{{first_name}}", "Hi {{Ada"),
    ],
)
def test_an_escaped_pair_of_braces_is_two_braces_as_before(typed, sent):
    assert merge.unfinished_fields(typed) == ()
    assert fill(typed).text == sent


def test_an_escaped_brace_beside_a_value_forms_no_tag_left_over():
    """The brace was typed to be sent as it is, as `\\{{` is: with a brace in a value beside it,
    it is no tag formed across a field, which would refuse the message."""
    braced = SimpleNamespace(first_name="Ada", location="{", email="")
    rendered = merge.render(merge.parse(r"{{location}}\{first_name}}"), braced, SAM)
    assert rendered.text == "{{first_name}}"
    assert rendered.leftover == ()


def test_a_brace_unescaped_is_still_unfinished_and_the_hint_says_how_to_write_one():
    problem = merge.unknown_problem("Salary {location dependent}")
    assert problem == (
        "Unfinished merge field(s): {location . A merge field has two braces each side, like "
        "{{first_name}}; write \\{ for one literal brace, \\{{ for two."
    )


def test_the_counters_count_the_brace_the_escape_stands_for():
    typed = r"Salary \{location dependent}"
    assert template_text(typed) == "Salary {location dependent}"
    assert counted(typed) == segments.count("Salary {location dependent}")
    assert merge.parse(typed).parts[1] is merge.ESCAPED_BRACE
