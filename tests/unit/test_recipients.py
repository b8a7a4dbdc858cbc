"""Unit tests for the recipient analysis and the SMS Central blocked list it is fed from."""

import itertools
from types import SimpleNamespace

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.phones import normalise
from webapp.sms.blocked_countries import SMSCENTRAL_BLOCKED, SMSCENTRAL_EFFECTIVE
from webapp.sms.recipients import (
    BLOCKED_COUNTRY,
    DUPLICATE,
    INVALID_NUMBER,
    NO_MOBILE,
    OK,
    OPTED_OUT,
    OUTCOMES,
    analyse,
)

BLOCKED = frozenset(SMSCENTRAL_BLOCKED)
AU_MOBILE = "0412 345 678"
OTHER_AU_MOBILE = "0413 345 678"
# A mobile of a blocked region that shares its calling code (+7) with a served one (Russia).
KAZAKH = "+7 701 123 4567"

_ids = itertools.count(1)


def person(raw=AU_MOBILE, consent=True):
    parsed = normalise(raw, "AU")
    n = next(_ids)
    return SimpleNamespace(
        id=n,
        first_name=f"First{n}",
        last_name=f"Last{n}",
        mobile_raw=parsed.raw,
        mobile_e164=parsed.e164,
        mobile_region=parsed.region,
        mobile_valid=parsed.valid,
        sms_consent=consent,
    )


def outcomes_of(people, **kwargs):
    return [o.outcome for o in analyse(people, BLOCKED, **kwargs).outcomes]


# --- the blocked list ---------------------------------------------------------------------------


def test_blocked_list_is_exactly_smscentral_regions():
    assert SMSCENTRAL_EFFECTIVE.isoformat() == "2023-07-14"
    assert set(SMSCENTRAL_BLOCKED) == set(
        "AX AG BD BZ BJ BM KH IO EC MF GF GP GN GW HT VA IR IQ KZ XK MW MQ YT MN MM "
        "CW BQ SX NE PW PG RE RW KN LC SO UM ZM".split()
    )
    assert all(SMSCENTRAL_BLOCKED.values())


def test_blocked_list_codes_are_phonenumbers_regions_except_um():
    # UM has no phonenumbers metadata, so its numbers resolve as US and that entry cannot match.
    assert set(SMSCENTRAL_BLOCKED) - phonenumbers.SUPPORTED_REGIONS == {"UM"}


def test_blocked_list_is_read_only():
    with pytest.raises(TypeError):
        SMSCENTRAL_BLOCKED["AU"] = "Australia"  # type: ignore[index]


# --- single outcomes ----------------------------------------------------------------------------


def test_consenting_valid_unblocked_person_is_ok():
    result = analyse([person()], BLOCKED)
    [only] = result.outcomes
    assert only.outcome == OK and only.included and not only.overridden


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_mobile_is_no_mobile(raw):
    assert outcomes_of([person(raw)]) == [NO_MOBILE]


@pytest.mark.parametrize("raw", ["call me", "12"])
def test_unparseable_or_invalid_mobile_is_invalid_number(raw):
    assert outcomes_of([person(raw)]) == [INVALID_NUMBER]


def test_valid_flag_with_no_e164_is_invalid_number():
    someone = person()
    someone.mobile_e164 = None
    assert outcomes_of([someone]) == [INVALID_NUMBER]


def test_person_in_blocked_region_is_blocked_country():
    assert outcomes_of([person(KAZAKH)]) == [BLOCKED_COUNTRY]


def test_person_without_consent_is_opted_out():
    result = analyse([person(consent=False)], BLOCKED)
    [only] = result.outcomes
    assert only.outcome == OPTED_OUT and not only.included and not only.overridden


def test_blocked_regions_come_from_the_argument_not_the_module():
    assert outcomes_of([person(KAZAKH)]) == [BLOCKED_COUNTRY]
    assert [o.outcome for o in analyse([person(KAZAKH)], frozenset()).outcomes] == [OK]
    assert [o.outcome for o in analyse([person()], frozenset({"AU"})).outcomes] == [BLOCKED_COUNTRY]


# --- order of checks ----------------------------------------------------------------------------


def test_blank_and_opted_out_is_no_mobile():
    assert outcomes_of([person(None, consent=False)]) == [NO_MOBILE]


def test_invalid_and_opted_out_is_invalid_number():
    assert outcomes_of([person("call me", consent=False)]) == [INVALID_NUMBER]


def test_blocked_and_opted_out_is_blocked_country():
    assert outcomes_of([person(KAZAKH, consent=False)]) == [BLOCKED_COUNTRY]


def test_blocked_duplicate_is_blocked_country_not_duplicate():
    assert outcomes_of([person(KAZAKH), person(KAZAKH)]) == [BLOCKED_COUNTRY, BLOCKED_COUNTRY]


def test_opted_out_duplicate_is_opted_out():
    assert outcomes_of([person(), person(consent=False)]) == [OK, OPTED_OUT]


# --- duplicates ---------------------------------------------------------------------------------


def test_first_person_with_a_number_wins_later_ones_are_duplicates():
    people = [
        person(AU_MOBILE),
        person(OTHER_AU_MOBILE),
        person("+61 412 345 678"),
        person("(04) 1234-5678"),
    ]
    assert outcomes_of(people) == [OK, OK, DUPLICATE, DUPLICATE]


def test_opted_out_first_person_does_not_use_up_the_number():
    assert outcomes_of([person(consent=False), person()]) == [OPTED_OUT, OK]


def test_invalid_person_does_not_use_up_the_number():
    invalid = person()
    invalid.mobile_valid = False
    assert outcomes_of([invalid, person()]) == [INVALID_NUMBER, OK]


# --- ignore opt-out -----------------------------------------------------------------------------


def test_ignore_opt_out_includes_opted_out_person_as_overridden():
    result = analyse([person(consent=False)], BLOCKED, ignore_opt_out=True)
    [only] = result.outcomes
    assert only.outcome == OK and only.included and only.overridden


def test_ignore_opt_out_never_unblocks_blocked_or_invalid():
    people = [
        person(KAZAKH, consent=False),
        person("call me", consent=False),
        person(None, consent=False),
    ]
    result = analyse(people, BLOCKED, ignore_opt_out=True)
    assert [o.outcome for o in result.outcomes] == [BLOCKED_COUNTRY, INVALID_NUMBER, NO_MOBILE]
    assert not any(o.overridden for o in result.outcomes)


@pytest.mark.parametrize("opted_out_first", [True, False], ids=["opted-out-first", "second"])
def test_a_number_goes_to_the_one_who_consented_before_anyone_ignore_lets_through(opted_out_first):
    """The opted-out first of two on a number took it under Ignore, and the consenting second
    became the duplicate: an override nobody needed, and the SMS to the wrong person."""
    out, fine = person(consent=False), person()
    people = [out, fine] if opted_out_first else [fine, out]
    result = analyse(people, BLOCKED, ignore_opt_out=True)

    by_person = {id(o.person): (o.outcome, o.overridden) for o in result.outcomes}
    assert by_person == {id(fine): (OK, False), id(out): (DUPLICATE, False)}
    # Not counted as an opt-out let through: it is not sent at all.
    assert result.opted_out == []


def test_people_ignore_lets_through_take_part_in_duplicate_detection():
    first, second = person(consent=False), person(consent=False)
    result = analyse([first, second], BLOCKED, ignore_opt_out=True)
    assert [(o.outcome, o.overridden) for o in result.outcomes] == [(OK, True), (DUPLICATE, False)]


def test_consenting_people_are_never_overridden():
    result = analyse([person(), person(OTHER_AU_MOBILE)], BLOCKED, ignore_opt_out=True)
    assert not any(o.overridden for o in result.outcomes)


def test_opted_out_lists_people_whether_or_not_overridden():
    out, fine = person(consent=False), person(OTHER_AU_MOBILE)
    assert analyse([out, fine], BLOCKED).opted_out == [out]
    assert analyse([out, fine], BLOCKED, ignore_opt_out=True).opted_out == [out]


# --- the Analysis object ------------------------------------------------------------------------


def test_one_outcome_per_person_in_input_order():
    people = [
        person(),
        person(None),
        person("call me"),
        person(KAZAKH),
        person(OTHER_AU_MOBILE, consent=False),
        person(),
    ]
    result = analyse(iter(people), BLOCKED)  # any iterable, consumed once
    assert [o.person for o in result.outcomes] == people
    assert [o.outcome for o in result.outcomes] == [
        OK,
        NO_MOBILE,
        INVALID_NUMBER,
        BLOCKED_COUNTRY,
        OPTED_OUT,
        DUPLICATE,
    ]


def test_counts_has_every_outcome_including_zeros():
    result = analyse([person(), person(), person(None)], BLOCKED)
    assert list(result.counts()) == list(OUTCOMES)
    assert result.counts() == {
        OK: 1,
        OPTED_OUT: 0,
        BLOCKED_COUNTRY: 0,
        INVALID_NUMBER: 0,
        NO_MOBILE: 1,
        DUPLICATE: 1,
    }


def test_counts_of_nobody_are_all_zero():
    assert analyse([], BLOCKED).counts() == dict.fromkeys(OUTCOMES, 0)


def test_included_and_of_filter_outcomes():
    a, b, c = person(), person(None), person(OTHER_AU_MOBILE)
    result = analyse([a, b, c], BLOCKED)
    assert [o.person for o in result.included()] == [a, c]
    assert [o.person for o in result.of(NO_MOBILE)] == [b]
    assert result.of(DUPLICATE) == []


# --- blocked regions that share calling codes (checked against phonenumbers 9.0.43) -------------


@pytest.mark.parametrize(
    ("raw", "region", "outcome"),
    [
        # Åland's and the Vatican's mobiles are in Finland's and Italy's ranges, so phonenumbers
        # resolves them to FI and IT; their own ranges hold landlines, which are no mobiles (below).
        ("+358 457 3123456", "FI", OK),
        ("+7 701 123 4567", "KZ", BLOCKED_COUNTRY),
        ("+7 912 345 6789", "RU", OK),
        ("+39 312 345 6789", "IT", OK),
        ("+262 692 12 34 56", "RE", BLOCKED_COUNTRY),
        ("+262 639 01 23 45", "YT", BLOCKED_COUNTRY),
        ("+1 441 777 1234", "BM", BLOCKED_COUNTRY),
        ("+1 268 464 1234", "AG", BLOCKED_COUNTRY),
        ("+1 869 765 2917", "KN", BLOCKED_COUNTRY),
        ("+1 721 520 1234", "SX", BLOCKED_COUNTRY),
        ("+1 201 555 0123", "US", OK),
        ("+1 604 555 0199", "CA", OK),
        ("+383 43 201 234", "XK", BLOCKED_COUNTRY),
        ("+599 9 518 1234", "CW", BLOCKED_COUNTRY),
        ("+599 318 1234", "BQ", BLOCKED_COUNTRY),
        ("+44 7911 123456", "GG", OK),
    ],
)
def test_blocking_is_by_region_not_calling_code(raw, region, outcome):
    someone = person(raw)
    assert (someone.mobile_valid, someone.mobile_region) == (True, region)
    assert outcomes_of([someone]) == [outcome]


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+358 18 123456", "AX"),
        ("+39 06 698 12345", "VA"),
        ("+39 06 1234 5678", "IT"),
        ("02 9374 4000", "AU"),
        ("1800 123 456", "AU"),
        ("1300 655 506", "AU"),
        ("13 13 13", "AU"),
    ],
)
def test_a_landline_or_service_number_is_an_invalid_number_in_any_region(raw, region):
    """Checked before the region: a landline of a blocked region is no mobile either."""
    someone = person(raw)
    assert (someone.mobile_valid, someone.mobile_region) == (False, region)
    assert outcomes_of([someone]) == [INVALID_NUMBER]


# --- properties ---------------------------------------------------------------------------------

_POOL = [
    AU_MOBILE,
    "+61 412 345 678",
    OTHER_AU_MOBILE,
    "+64 21 123 4567",
    KAZAKH,
    "+1 441 777 1234",
    "call me",
    None,
]
_people = st.lists(st.tuples(st.sampled_from(_POOL), st.booleans()), max_size=20).map(
    lambda rows: [person(raw, consent) for raw, consent in rows]
)


@given(_people)
def test_every_person_gets_one_outcome_and_included_numbers_are_unique(people):
    for ignore in (False, True):
        result = analyse(people, BLOCKED, ignore_opt_out=ignore)
        assert [o.person for o in result.outcomes] == people
        assert all(o.outcome in OUTCOMES for o in result.outcomes)
        assert sum(result.counts().values()) == len(people)
        included = [o.person.mobile_e164 for o in result.included()]
        assert len(included) == len(set(included))


@given(_people)
def test_ignoring_opt_out_only_adds_numbers(people):
    # Compared by number, not person: with Ignore an opted-out first person may take a number that a
    # later consenting person would otherwise have had.
    without = {o.person.mobile_e164 for o in analyse(people, BLOCKED).included()}
    with_ignore = {
        o.person.mobile_e164 for o in analyse(people, BLOCKED, ignore_opt_out=True).included()
    }
    assert with_ignore >= without
