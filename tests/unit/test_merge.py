from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.sms import merge
from webapp.sms.merge import CATALOGUE, FIELDS, parse, render, unknown_fields

CANDIDATE = SimpleNamespace(
    first_name="Ada",
    last_name="Lovelace",
    mobile_e164="+61412345678",
    mobile_valid=True,
    mobile_raw="0412 345 678",
    email="ada@example.com",
    job_title="Data Analyst",
    location="Sydney",
)

CONTACT = SimpleNamespace(
    first_name="Grace",
    last_name="Hopper",
    mobile_e164=None,
    mobile_valid=False,
    mobile_raw="call reception",
    email="grace@acme.example",
    position="Head of Engineering",
    client=SimpleNamespace(name="Acme Pty Ltd"),
)

SENDER = SimpleNamespace(
    full_name="Sam  Consultant Smith",
    mobile="+61 400 000 000",
    email="sam@agency.example",
    office_name="Melbourne",
)


def fill(body: str, person=CANDIDATE, sender=SENDER) -> merge.Rendered:
    return render(parse(body), person, sender)


# --- catalogue -------------------------------------------------------------------------------


def test_catalogue_is_in_fixed_grouped_order():
    assert [(f.group, f.name) for f in CATALOGUE] == [
        ("Recipient", "first_name"),
        ("Recipient", "last_name"),
        ("Recipient", "full_name"),
        ("Recipient", "mobile"),
        ("Recipient", "email"),
        ("Recipient", "job_title"),
        ("Recipient", "location"),
        ("Client", "client_name"),
        ("Sender", "sender_first_name"),
        ("Sender", "sender_full_name"),
        ("Sender", "sender_mobile"),
        ("Sender", "sender_email"),
        ("Sender", "sender_office"),
    ]
    assert list(FIELDS) == [f.name for f in CATALOGUE]


def test_field_tag_is_the_double_braced_name():
    assert FIELDS["first_name"].tag() == "{{first_name}}"
    assert all(parse(f.tag()).fields == (f.name,) for f in CATALOGUE)


@pytest.mark.parametrize(
    ("name", "for_candidate", "for_contact"),
    [
        ("first_name", "Ada", "Grace"),
        ("last_name", "Lovelace", "Hopper"),
        ("full_name", "Ada Lovelace", "Grace Hopper"),
        ("mobile", "0412 345 678", "call reception"),
        ("email", "ada@example.com", "grace@acme.example"),
        ("job_title", "Data Analyst", "Head of Engineering"),
        ("location", "Sydney", ""),
        ("client_name", "", "Acme Pty Ltd"),
    ],
)
def test_recipient_fields_for_a_candidate_and_a_client_contact(name, for_candidate, for_contact):
    tag = "{{" + name + "}}"
    assert fill(tag, CANDIDATE).text == for_candidate
    assert fill(tag, CONTACT).text == for_contact


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sender_first_name", "Sam"),
        ("sender_full_name", "Sam  Consultant Smith"),
        ("sender_mobile", "+61 400 000 000"),
        ("sender_email", "sam@agency.example"),
        ("sender_office", "Melbourne"),
    ],
)
def test_sender_fields(name, expected):
    assert fill("{{" + name + "}}").text == expected


def test_full_name_with_only_a_first_name_has_no_trailing_space():
    person = SimpleNamespace(first_name="Cher", last_name=None)
    assert fill("[{{full_name}}]", person).text == "[Cher]"


def test_client_name_is_empty_when_client_is_none():
    person = SimpleNamespace(client=None)
    assert fill("{{client_name}}", person).empty == ("client_name",)


# --- parsing and rendering -------------------------------------------------------------------


def test_tags_may_have_inner_spaces():
    assert fill("Hi {{ first_name }}, {{first_name  }}!").text == "Hi Ada, Ada!"
    # A no-break space, as pasted from a phone or a word processor, too.
    assert fill("Hi {{\u00a0first_name\u00a0}}!").text == "Hi Ada!"


def test_template_records_known_fields_once_in_order():
    template = parse("{{last_name}} {{first_name}} {{last_name}}")
    assert template.fields == ("last_name", "first_name")
    assert template.unknown == ()


def test_unknown_field_is_reported_and_kept_literal():
    result = fill("Hi {{ nickname }} {{first_name}} {{nickname}} {{shoe_size}}")
    assert result.text == "Hi {{ nickname }} Ada {{nickname}} {{shoe_size}}"
    assert result.unknown == ("nickname", "shoe_size")
    assert unknown_fields("{{nickname}} {{shoe_size}} {{nickname}}") == ("nickname", "shoe_size")


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_empty_field_is_reported_and_rendered_as_empty_string(blank):
    person = SimpleNamespace(**{**vars(CANDIDATE), "location": blank})
    result = fill("In {{location}}, {{location}}.", person)
    assert result.text == "In , ."
    assert result.empty == ("location",)


def test_values_are_stripped_of_surrounding_whitespace():
    person = SimpleNamespace(**{**vars(CANDIDATE), "first_name": "  Ada\n"})
    assert fill("Hi {{first_name}}!", person).text == "Hi Ada!"


def test_a_value_stored_with_a_right_to_left_override_is_merged_without_it():
    """A name saved before the forms refused it: the override would show the rest of the SMS
    reversed (and make it a Unicode SMS)."""
    person = SimpleNamespace(**{**vars(CANDIDATE), "last_name": "Lee\u202e", "location": "\u2067"})
    rendered = fill("Hi {{last_name}}, at 10:30 in {{location}}.", person=person)
    assert rendered.text == "Hi Lee, at 10:30 in ."
    assert rendered.empty == ("location",)


def test_each_field_is_read_once_per_recipient_even_if_used_twice():
    reads: list[str] = []

    class Counting(SimpleNamespace):
        def __getattribute__(self, name):
            reads.append(name)
            return super().__getattribute__(name)

    render(parse("{{email}} {{ email }} {{email}}"), Counting(**vars(CANDIDATE)), SENDER)
    assert reads.count("email") == 1


def test_one_template_renders_for_many_recipients():
    template = parse("Hi {{first_name}}, from {{sender_first_name}}")
    texts = [render(template, person, SENDER).text for person in (CANDIDATE, CONTACT)]
    assert texts == ["Hi Ada, from Sam", "Hi Grace, from Sam"]


# --- escapes ---------------------------------------------------------------------------------


def test_backslash_before_braces_makes_a_tag_literal():
    result = fill(r"Type \{{first_name}} to get {{first_name}}")
    assert result.text == "Type {{first_name}} to get Ada"
    assert result.empty == ()


def test_backslash_elsewhere_is_kept():
    # Before a brace it is the escape of that brace (\{ is one, \{{ two).
    body = r"C:\temp \ {first_name} \{ {{first_name}}\ "
    assert fill(body).text == r"C:\temp \ {first_name} { Ada\ "


def test_only_the_backslash_next_to_the_braces_is_consumed():
    assert fill(r"\\{{first_name}}").text == r"\{{first_name}}"


def test_an_escaped_tag_beside_a_field_is_text_not_a_tag_left_over():
    # The escape is the documented way to send "{{first_name}}" as it is: with a field elsewhere
    # in the message it was taken for a tag formed across a field, and the message refused.
    result = fill(r"Reply \{{first_name}} literally, {{first_name}}")
    assert result.text == "Reply {{first_name}} literally, Ada"
    assert result.leftover == ()


def test_a_tag_formed_across_an_empty_field_is_still_left_over():
    person = SimpleNamespace(**{**vars(CANDIDATE), "location": ""})
    result = fill("{{fir{{location}}st_name}} and \\{{last_name}}", person)
    assert result.text == "{{first_name}} and {{last_name}}"
    assert result.leftover == ("first_name",)


def test_escaped_unknown_tag_is_not_reported():
    result = fill(r"\{{nickname}}")
    assert result.text == "{{nickname}}"
    assert result.unknown == ()


# --- hostile or template-like text -----------------------------------------------------------


@pytest.mark.parametrize(
    "body, unknown",
    [
        ("{{ 7*7 }}", ("7*7",)),
        ("{% if 1 %}x{% endif %}", ()),
        ("{{ ''.__class__ }}", ("''.__class__",)),
        (
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            ("''.__class__.__mro__[1].__subclasses__()",),
        ),
        ("${7*7}", ()),
        ("#{7*7}", ()),
        ("{first_name}", ()),
        ("{0} {name!r} %s %(first_name)s", ()),
        # Near misses of a field are typos to report, never sent as typed without a word.
        (
            "{{First_Name}} {{1st}} {{first-name}} {{ first name }} {{first_name}",
            ("First_Name", "1st", "first-name", "first name"),
        ),
        ("{{{{}}}}", ()),
        ("{{}} {{ }}", ()),
        ("{{first_name\n}}", ()),  # a tag is on one line
    ],
)
def test_template_language_syntax_stays_literal_and_braces_are_reported(body, unknown):
    result = fill(body)
    assert result.text == body
    assert result.unknown == unknown


@pytest.mark.parametrize(
    "body, unfinished",
    [
        (
            "Hi {{first_name}, at 10. {{sender_first_name}",
            ("{{first_name}", "{{sender_first_name}"),
        ),
        ("Hi {first_name}} and { last_name }", ("{first_name}}", "{ last_name }")),
        ("Hi {{ first_name }", ("{{ first_name }",)),
        ("Hi {{first_name}}, {{first_name}} again", ()),
        (r"Hi \{{first_name}}", ()),  # escaped: braces on purpose
        # A brace beside a whole tag reached the recipient as "Hi {Ada}", with no word.
        ("Hi {{{first_name}}}, see you Monday", ("{{{first_name}}}",)),
        ("Hi {{first_name}}}", ("{{first_name}}}",)),
        ("Hi {{{first_name}}", ("{{{first_name}}",)),
        ("Hi {{ first_name }}}}", ("{{ first_name }}}}",)),
        ("{{}} and {{ }}", ("{{}}", "{{ }}")),  # a tag naming nothing went as typed
        (r"Hi \{{{{first_name}}", ()),  # escaped braces, then a whole tag
        ("{ {{first_name}} } {", ()),  # braces apart from a tag are text
        ("Hi {nickname} {{first_names}}", ()),  # not fields
        ("Hi {{first_name, see you", ("{{first_name",)),  # never closed
        ("Hi {{First_Name} and {{Last_Name}}", ("{{First_Name}",)),  # the whole one is unknown
    ],
)
def test_a_field_with_a_brace_too_few_or_too_many_is_unfinished(body, unfinished):
    assert merge.unfinished_fields(body) == unfinished
    problem = merge.unknown_problem(body) or ""
    if unfinished:
        assert f"Unfinished merge field(s): {', '.join(unfinished)}." in problem
    else:
        assert "Unfinished" not in problem


def test_unknown_and_unfinished_fields_are_both_said():
    problem = merge.unknown_problem("{{nope}} {first_name}")
    assert problem.startswith("Unknown merge field(s): {{nope}}.")
    assert "Unfinished merge field(s): {first_name}." in problem


def test_config_matches_the_grammar_so_is_an_unknown_field():
    result = fill("{{ config }}")
    assert result.text == "{{ config }}"
    assert result.unknown == ("config",)


def test_a_value_that_looks_like_a_tag_is_not_expanded():
    person = SimpleNamespace(**{**vars(CANDIDATE), "first_name": "{{last_name}}"})
    result = fill("Hi {{first_name}}", person)
    assert result.text == "Hi {{last_name}}"
    assert result.unknown == ()


def test_unicode_values_and_text_pass_through():
    person = SimpleNamespace(**{**vars(CANDIDATE), "first_name": "Zoë", "last_name": "Ōtsuka 大塚"})
    assert fill("Kia ora {{full_name}} 👋").text == "Kia ora Ada Lovelace 👋"
    assert fill("Kia ora {{full_name}} 👋", person).text == "Kia ora Zoë Ōtsuka 大塚 👋"


# --- properties ------------------------------------------------------------------------------

# Brace-free values, each with a character outside the tag grammar, so a value can never combine
# with the surrounding text into something that looks like a tag.
FILLED = SimpleNamespace(**{**vars(CANDIDATE), "client": SimpleNamespace(name="Acme")})
KNOWN_TAG = re.compile(r"\{\{ *(" + "|".join(FIELDS) + r") *\}\}")
TAGGY_TEXT = st.lists(
    st.one_of(
        st.sampled_from([f.tag() for f in CATALOGUE] + ["{{ first_name }}", "{{nope}}"]),
        st.sampled_from(["{", "}", "{{", "}}", " ", "first_name", "_", "x", "%"]),
        st.text(alphabet=st.characters(blacklist_characters="\\"), max_size=5),
    ),
    max_size=20,
).map("".join)


@given(body=st.text(), value=st.text())
def test_render_never_raises(body, value):
    person = SimpleNamespace(**{**vars(FILLED), "first_name": value, "location": value})
    result = render(parse(body), person, SENDER)
    assert isinstance(result.text, str)


@given(body=TAGGY_TEXT)
def test_without_escapes_no_known_tag_survives(body):
    assert KNOWN_TAG.search(render(parse(body), FILLED, SENDER).text) is None


@given(body=st.one_of(st.text(), TAGGY_TEXT))
def test_parse_and_unknown_fields_agree(body):
    assert parse(body).unknown == unknown_fields(body)
