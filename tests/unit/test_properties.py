"""Property tests over free-text inputs: numbers, segments, merge rendering, CSV import and search
arguments never raise, and always answer something well-formed."""

from __future__ import annotations

import re
from types import SimpleNamespace

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp import migrate, phones
from webapp.data import csv_import
from webapp.database import make_engine
from webapp.models import Candidate, ClientContact
from webapp.people import search as people_search
from webapp.sms import merge, segments

REGIONS = st.sampled_from(["AU", "NZ", "GB", "US", "FI", "au", "ZZ"])
KNOWN_TAG = re.compile(r"\{\{ *(" + "|".join(merge.FIELDS) + r") *\}\}")
TAGS = st.sampled_from(
    [field.tag() for field in merge.CATALOGUE] + ["{{ first_name }}", "{{nope}}"]
)
# No backslash (the escape for a literal "{{") and no braces in values: then every known tag left
# in the output would be one the renderer failed to resolve.
BODY = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_characters="\\"), max_size=20),
        TAGS,
        st.sampled_from(["{", "}", "{{", "}}", " "]),
    ),
    max_size=12,
).map("".join)
VALUE = st.one_of(
    st.none(), st.text(alphabet=st.characters(blacklist_characters="{}\\"), max_size=30)
)
# No per-example deadline: on a loaded machine (tests in parallel, a shared CPU) an example can take
# longer than Hypothesis's default 200 ms, and phone numbers load their region data on first use.
# These tests are about never raising, not about speed.
NO_DEADLINE = settings(deadline=None)


@NO_DEADLINE
@given(st.one_of(st.none(), st.text()), REGIONS)
def test_normalise_never_raises_and_valid_numbers_are_e164(raw, region):
    parsed = phones.normalise(raw, region)

    if parsed.valid:
        assert parsed.e164 is not None and re.fullmatch(r"\+[1-9]\d{6,14}", parsed.e164)


@NO_DEADLINE
@given(st.text(), REGIONS)
def test_search_key_never_raises_and_answers_e164_or_none(text, region):
    key = phones.search_key(text, region)

    assert key is None or re.fullmatch(r"\+[1-9]\d{6,14}", key)


@NO_DEADLINE
@given(st.text(min_size=1))
def test_non_empty_text_costs_at_least_one_segment(text):
    count = segments.count(text)

    assert count.segments >= 1
    assert count.encoding in {"GSM-7", "UCS-2"}
    assert count.characters == len(text)


def person(**values) -> SimpleNamespace:
    fields = (
        "first_name",
        "last_name",
        "mobile_raw",
        "email",
        "job_title",
        "location",
        "position",
        "full_name",
        "mobile",
        "office_name",
    )
    namespace = SimpleNamespace(**{name: values.get(name) for name in fields})
    namespace.client = None
    namespace.candidate_job_title = values.get("job_title")
    return namespace


@NO_DEADLINE
@given(
    BODY,
    st.fixed_dictionaries(
        {
            "first_name": VALUE,
            "last_name": VALUE,
            "email": VALUE,
            "mobile_raw": VALUE,
            "job_title": VALUE,
            "location": VALUE,
        }
    ),
    st.fixed_dictionaries(
        {"full_name": VALUE, "email": VALUE, "mobile": VALUE, "office_name": VALUE}
    ),
)
def test_render_never_raises_and_resolves_every_known_tag(body, recipient, sender):
    template = merge.parse(body)

    rendered = merge.render(template, person(**recipient), person(**sender))

    # A tag can only survive by forming across an empty field, and then it is named in `leftover`
    # (which stops Send).
    assert KNOWN_TAG.search(rendered.text) is None or rendered.leftover, rendered.text
    assert set(rendered.empty) <= set(template.fields)


def test_a_tag_formed_across_an_empty_field_is_reported_so_it_is_never_sent():
    # The property above rarely builds this: an empty field between the halves of a tag joins them
    # into one. The text keeps it, but `leftover` names it, and Send refuses such a message
    # (tests/web/test_compose_send.py checks the refusal).
    body = "{{fir{{last_name}}st_name}}"

    rendered = merge.render(merge.parse(body), person(first_name="Ada"), person())

    assert KNOWN_TAG.search(rendered.text) is not None
    assert rendered.leftover == ("first_name",)


@NO_DEADLINE
@given(st.text())
def test_parse_reports_exactly_the_unknown_tag_names(body):
    template = merge.parse(body)

    assert not set(template.unknown) & set(merge.FIELDS)
    assert set(template.fields) <= set(merge.FIELDS)


# One migrated in-memory database for all examples; each import that succeeds is undone after.
ENGINE = None


def engine() -> sa.Engine:
    global ENGINE
    if ENGINE is None:
        ENGINE = make_engine("sqlite://", poolclass=sa.pool.StaticPool)
        migrate.upgrade(ENGINE)
    return ENGINE


HEADER = b"first_name,last_name,mobile,email,sms_consent\r\n"
CSV_CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15)
GOOD_ROW = st.tuples(
    st.text(alphabet="AdaLovelce é-'", min_size=1, max_size=10),
    st.text(alphabet="BobYung ü", min_size=1, max_size=10),
    st.sampled_from(["", "0412 345 678", "+61 413 222 333", "12", "not a number"]),
    st.sampled_from(["", "ada@example.com", "x@y.z"]),
    st.sampled_from(["yes", "no", "Y", "maybe", ""]),
).map(lambda cells: ",".join(cells))
GOOD_CSV = st.lists(GOOD_ROW, min_size=1, max_size=5).map(
    lambda rows: HEADER + "".join(row + "\r\n" for row in rows).encode("utf-8")
)
CSV_ROWS = st.lists(st.lists(CSV_CELL, min_size=0, max_size=7), max_size=6).map(
    lambda rows: "".join(",".join(row) + "\r\n" for row in rows).encode("utf-8")
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400), CSV_ROWS, CSV_ROWS.map(lambda body: HEADER + body), GOOD_CSV
    ),
    st.sampled_from(["candidates", "contacts"]),
)
def test_import_people_never_raises_and_either_imports_or_lists_errors(data, kind):
    with sa.orm.Session(engine()) as session:
        before = session.scalar(sa.select(sa.func.count()).select_from(Candidate))
        report = csv_import.import_people(session, kind, data, "AU")

        if report.ok:
            model = Candidate if kind == "candidates" else ClientContact
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == report.created
        else:
            assert report.created == 0
            assert all(
                isinstance(line, int) and line >= 1 and message for line, message in report.errors
            )
            assert session.scalar(sa.select(sa.func.count()).select_from(Candidate)) == before
        # Leave the database as it was for the next example.
        session.execute(sa.delete(Candidate))
        session.execute(sa.text("DELETE FROM client_contacts"))
        session.execute(sa.text("DELETE FROM clients"))
        session.commit()


ARG_NAMES = st.sampled_from(
    [
        "q",
        "status",
        "location",
        "job",
        "consent",
        "client",
        "position",
        "sort",
        "created_from",
        "created_to",
        "page",
        "other",
    ]
)


@NO_DEADLINE
@given(
    st.sampled_from(["candidates", "contacts"]),
    st.dictionaries(
        ARG_NAMES,
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(
                [
                    "2026-01-31",
                    "0",
                    "-1",
                    "2000",
                    "2001",
                    "name",
                    "-created",
                    "yes",
                    "any",
                    "99999999999",
                ]
            ),
        ),
    ),
)
def test_search_parse_never_raises_and_yields_a_valid_page_and_sort(kind, args):
    criteria, page, errors = people_search.parse(kind, args)

    assert 1 <= page <= people_search.MAX_PAGE
    assert criteria.sort in people_search.SORTS
    assert criteria.consent in people_search.CONSENT_CHOICES
    assert criteria.status in ("", *criteria.statuses)
    assert set(errors) <= set(args)


def test_no_property_test_here_has_a_deadline():
    """A deadline fails these on a busy machine (the import test did, at 200 ms, in a parallel
    run)."""
    tests = {
        name: value
        for name, value in globals().items()
        if name.startswith("test_") and hasattr(value, "hypothesis")
    }

    assert len(tests) == 7
    assert {
        name: value._hypothesis_internal_use_settings.deadline for name, value in tests.items()
    } == {name: None for name in tests}
