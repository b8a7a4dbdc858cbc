"""Property test of the ranked one-word search: on random small populations it returns, page by
page, exactly what one plain ORDER BY … LIMIT query over the same conditions returns, and counts
the same, on SQLite and PostgreSQL.

The ranked path (_word_branches and _ranked_by_name in webapp.people.search) splits a word's
matches into disjoint branches, ranks each from its own index and merges them; the reference below
is written from the documented meaning instead: a one-word search matches people whose first name,
last name or email starts with the word (compared by name_key: case folded, NFKC), sorted by last
name, first name and id (or by created time and id), with the filters ANDed on.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.db.property_settings import ON_A_DATABASE
from webapp.models import Candidate, ClientContact
from webapp.models.people import CANDIDATE_STATUSES, CONTACT_STATUSES, name_key
from webapp.people import search as ps

REGION = "AU"
KINDS = {
    "candidates": (Candidate, CANDIDATE_STATUSES),
    "contacts": (ClientContact, CONTACT_STATUSES),
}
# Few letters, so names share prefixes and a word matches several branches at once; upper case,
# an accent and its decomposed spelling, so matching has to go through the keys.
LETTERS = ["a", "b", "A", "B", "é", "É", "e\u0301", "o"]
NAMES = st.lists(st.sampled_from(LETTERS + [" "]), max_size=3).map("".join)
# Common names, so one branch often holds more matches than a page or a limit.
COMMON = st.sampled_from(["ab", "Ab", "aba", "Bo", "bob"])
LOCAL_PARTS = st.lists(st.sampled_from(LETTERS + ["."]), min_size=1, max_size=5).map("".join)
DAYS = [date(2025, 1, day) for day in range(1, 5)]
PROPERTY = settings(ON_A_DATABASE, max_examples=40)


@st.composite
def people(draw, statuses: tuple[str, ...]) -> list[dict]:
    """Up to 40 people; many addresses start with their owner's name, as firms' addresses do."""
    out = []
    for _ in range(draw(st.one_of(st.integers(0, 3), st.integers(12, 40), st.integers(12, 40)))):
        first, last = draw(st.one_of(NAMES, COMMON)), draw(st.one_of(NAMES, COMMON))
        email = draw(
            st.one_of(
                st.none(),
                st.just(f"{first}.{last}"),
                st.just(last),
                st.just(first + "x"),
                LOCAL_PARTS,
                st.builds(lambda a, b: a + b, st.just(first), LOCAL_PARTS),
            )
        )
        if email is not None:
            email = email.replace(" ", "") + "@x.io"
        created = datetime.combine(draw(st.sampled_from(DAYS)), datetime.min.time(), UTC)
        created = created.replace(hour=draw(st.sampled_from([0, 12, 23])))
        out.append(
            {
                "first_name": first,
                "last_name": last,
                "email": email,
                "status": draw(st.sampled_from(statuses[:1] * 2 + statuses)),
                "sms_consent": draw(st.booleans()),
                "created_at": created,
                "updated_at": created,
            }
        )
    return out


@st.composite
def one_words(draw, population: list[dict]) -> str:
    """A word with no space or @: most often a prefix of someone's name or address, in any case."""
    sources = [
        text
        for person in population
        for text in (person["first_name"], person["last_name"], person["email"])
        if text
    ]
    # The rare branch: a word longer than a name its owner's address starts with ("kel" for Ke
    # Zed, kelpie@…), so the address matches and neither name does.
    beyond = [
        (person["email"].split("@")[0], len(name))
        for person in population
        if person["email"]
        for name in (person["first_name"], person["last_name"])
        if name
        and " " not in name
        and person["email"].startswith(name)
        and len(person["email"].split("@")[0]) > len(name)
    ]
    word = ""
    way = draw(st.sampled_from(["prefix", "prefix", "beyond", "random"]))
    if way == "beyond" and beyond:
        local, shortest = draw(st.sampled_from(beyond))
        word = local[: draw(st.integers(shortest + 1, len(local)))]
    elif way != "random" and sources:
        words = draw(st.sampled_from(sources)).split("@")[0].split()
        if words:
            word = draw(st.sampled_from(words))
            word = word[: draw(st.integers(1, len(word)))]
    if not word.strip():
        word = draw(st.lists(st.sampled_from(LETTERS + ["."]), min_size=1, max_size=3).map("".join))
    return draw(st.sampled_from([word, word.upper(), word.lower()]))


def _starts_with(column, key: str):
    return sa.func.substr(column, 1, len(key)) == key


def reference(model, args: dict, q: str, sort: str) -> sa.Select:
    """The plain query: every condition in one WHERE, one ORDER BY, no ranking."""
    key = name_key(q)
    where = [
        sa.or_(
            _starts_with(model.first_name_key, key),
            _starts_with(model.last_name_key, key),
            _starts_with(model.email_key, key),
        )
    ]
    if args.get("status"):
        where.append(model.status == args["status"])
    if args.get("consent", "any") != "any":
        where.append(model.sms_consent == (args["consent"] == "yes"))
    if args.get("created_from"):
        start = date.fromisoformat(args["created_from"])
        where.append(model.created_at >= datetime.combine(start, datetime.min.time(), UTC))
    if args.get("created_to"):
        end = date.fromisoformat(args["created_to"]) + timedelta(days=1)
        where.append(model.created_at < datetime.combine(end, datetime.min.time(), UTC))
    order = {
        "name": [model.last_name_key, model.first_name_key, model.id],
        "-name": [model.last_name_key.desc(), model.first_name_key.desc(), model.id.desc()],
        "created": [model.created_at, model.id],
        "-created": [model.created_at.desc(), model.id.desc()],
    }[sort]
    return sa.select(model.id).where(*where).order_by(*order)


@st.composite
def filters(draw, statuses: tuple[str, ...]) -> dict:
    """No filter half the time; otherwise some of status, consent and the created dates."""
    args = {}
    if draw(st.booleans()):
        return args
    if draw(st.integers(0, 3)) == 0:
        args["status"] = draw(st.sampled_from(statuses))
    args["consent"] = draw(st.sampled_from(["any", "any", "any", "any", "yes", "no"]))
    days = sorted(draw(st.lists(st.sampled_from(DAYS), max_size=2)))
    if days and draw(st.integers(0, 2)) == 0:
        args["created_from"] = days[0].isoformat()
    if days and draw(st.integers(0, 2)) == 0:
        args["created_to"] = days[-1].isoformat()
    return args


@pytest.mark.parametrize("kind", list(KINDS))
@PROPERTY
@given(data=st.data())
def test_one_word_search_returns_what_a_plain_order_by_limit_returns(
    session, monkeypatch, kind, data
):
    model, statuses = KINDS[kind]
    population = data.draw(people(statuses), label="people")
    session.add_all(model(**person) for person in population)
    session.flush()
    event(f"people: {len(population) // 10 * 10}+")
    try:
        # Several searches of one population: writing the people is what costs.
        for _ in range(data.draw(st.integers(1, 4), label="searches")):
            _check_one_search(session, monkeypatch, kind, data, population)
    finally:
        session.rollback()


def _check_one_search(session, monkeypatch, kind: str, data, population: list[dict]) -> None:
    model, statuses = KINDS[kind]
    q = data.draw(one_words(population), label="q")
    args = data.draw(filters(statuses), label="filters")
    sort = data.draw(st.sampled_from(list(ps.SORTS)), label="sort")
    criteria, _page, errors = ps.parse(kind, {**args, "q": q, "sort": sort})
    assert errors == {} and criteria.q == q
    # The case under test: a one-word query, which the search ranks by branches.
    assert ps._word_branches(ps._bind(criteria, REGION, "sqlite")[0]) is not None

    plain = reference(model, args, q, sort)
    expected = list(session.scalars(plain))
    event(f"matches: {'none' if not expected else 'one' if len(expected) == 1 else 'several'}")
    # Small pages, so a population of a few dozen spans several of them.
    size = data.draw(st.integers(1, 7), label="page size")
    monkeypatch.setattr(ps, "PAGE_SIZE", size)
    last = max(1, -(-len(expected) // size))
    pages = data.draw(
        st.lists(st.integers(1, last + 1), min_size=1, max_size=4, unique=True), label="pages"
    )
    for page in pages:
        result = ps.search(session, criteria, page, REGION)
        wanted = list(session.scalars(plain.limit(size).offset((page - 1) * size)))
        assert [row.id for row in result.rows] == wanted, f"page {page}"
        assert result.has_next == (len(expected) > page * size), f"page {page}"
        assert (result.total, result.capped) == (len(expected), False)

    cap = data.draw(st.integers(1, len(expected) + 2), label="cap")
    assert ps.count(session, criteria, REGION, cap=cap) == (
        (cap, True) if len(expected) > cap else (len(expected), False)
    )

    limit = data.draw(st.integers(1, len(expected) + 2), label="limit")
    assert ps.matching_ids(session, criteria, REGION, limit) == expected[:limit]
