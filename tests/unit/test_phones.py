"""Unit tests for parsing, search keys and display of phone numbers."""

import phonenumbers
import pytest

from webapp.phones import (
    NO_NUMBER,
    NOT_MOBILE,
    SMS_TYPES,
    _number_type,
    display,
    mobile_problem,
    normalise,
    search_key,
    stored_problem,
    what_number,
)


@pytest.mark.parametrize(
    ("raw", "e164", "region"),
    [
        ("0412 345 678", "+61412345678", "AU"),
        (
            "+44 7400 123456",
            "+447400123456",
            "GB",
        ),  # international format ignores the default region
        # phonenumbers 9.0.43 puts +44 7911 12xxxx in Guernsey, not GB: region comes from the
        # number's range, never from the calling code alone.
        ("+44 7911 123456", "+447911123456", "GG"),
        ("+64 21 123 4567", "+64211234567", "NZ"),
    ],
    ids=["australian-national-format", "international-format", "crown-dependency", "new-zealand"],
)
def test_a_mobile_becomes_e164_with_the_region_of_its_range(raw, e164, region):
    parsed = normalise(raw, "AU")
    assert (parsed.e164, parsed.region, parsed.valid) == (e164, region, True)


@pytest.mark.parametrize(
    ("raw", "unknown"),
    [("call me", "e164"), ("12", "region")],
    ids=["unparseable-text", "too-short"],
)
def test_a_number_that_is_not_one_is_invalid_but_keeps_raw(raw, unknown):
    parsed = normalise(raw, "AU")
    assert parsed.valid is False
    assert getattr(parsed, unknown) is None
    assert parsed.raw == raw
    assert parsed.present


@pytest.mark.parametrize("raw", ["+263 12345678901234567", "+1 2345678901234567", "0" + "9" * 17])
def test_digits_beyond_what_e164_holds_are_no_number(raw):
    # phonenumbers reads up to 17 national digits; E.164 holds 15 in all (the stored columns 20).
    parsed = normalise(raw, "AU")
    assert (parsed.e164, parsed.region, parsed.valid, parsed.raw) == (None, None, False, raw)


def test_raw_is_stripped():
    assert normalise("  0412 345 678 ", "AU").raw == "0412 345 678"


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_is_not_present(raw):
    parsed = normalise(raw, "AU")
    assert parsed == NO_NUMBER
    assert not parsed.present


def test_default_region_is_case_insensitive():
    assert normalise("0412 345 678", "au").e164 == "+61412345678"


@pytest.mark.parametrize(
    "text",
    [
        "0412345678",
        "+61 412 345 678",
        "(04) 1234-5678",
        "0412-345-678",
        "61412345678",
        "+61412345678",
    ],
)
def test_search_key_matches_all_formats_of_the_same_mobile(text):
    assert search_key(text, "AU") == "+61412345678"


@pytest.mark.parametrize("text", ["John Smith", "jane@example.com", "0412", "12345", "04123 abc"])
def test_search_key_is_none_for_names_emails_and_short_digits(text):
    assert search_key(text, "AU") is None


def test_search_key_is_none_for_invalid_number_with_enough_digits():
    assert search_key("000000", "AU") is None


def test_display_is_readable_international_form():
    assert display("+61412345678") == "+61 412 345 678"
    assert display("+447911123456") == "+44 7911 123456"


def test_display_is_national_for_the_default_region_only():
    assert display("+61412345678", "AU") == "0412 345 678"
    assert display("+61412345678", "nz") == "+61 412 345 678"
    assert display("+64211234567", "NZ") == "021 123 4567"


@pytest.mark.parametrize("e164", [None, ""])
def test_display_of_nothing_is_empty(e164):
    assert display(e164) == ""


def test_display_of_unparseable_returns_it_unchanged():
    assert display("garbage") == "garbage"


# --- only a mobile is one: landlines, service numbers and letters ---------------------------------


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        ("02 9374 4000", "a landline"),
        ("+64 9 377 1234", "a landline"),
        ("1800 123 456", "a freecall service number"),
        ("+1 800 555 0199", "a freecall service number"),
        ("1300 655 506", "a local-rate service number"),
        ("13 13 13", "a local-rate service number"),
        ("1900 123 456", "a premium-rate service number"),
        ("+44 76 2345 6789", "a pager number"),
        ("+44 56 1234 5678", "an internet (VoIP) number"),
    ],
)
def test_a_real_number_no_sms_reaches_is_not_a_valid_mobile_and_says_what_it_is(raw, what):
    parsed = normalise(raw, "AU")
    assert (parsed.valid, parsed.not_mobile, parsed.real) == (False, what, True)
    assert parsed.e164 is not None  # kept, so the record can say what it is
    assert mobile_problem(raw, "AU") == (
        f"“{raw}” is {what}, not a mobile: an SMS reaches mobile numbers only. Use a mobile "
        "number (like 0412 345 678, or +64 21 123 4567 for another country)."
    )
    assert what_number(parsed.e164) == what
    assert stored_problem(parsed.e164) == f"{what[0].upper()}{what[1:]}, not a mobile"
    # A user's own number is shown in messages, never texted: any real number does.
    assert mobile_problem(raw, "AU", for_sms=False) is None


@pytest.mark.parametrize(
    "raw", ["0412 345 678", "+64 21 123 4567", "+1 201 555 0123", "+1 604 555 0199"]
)
def test_a_mobile_or_a_number_that_may_be_one_is_valid(raw):
    # The US and Canada do not tell a mobile from a landline by the number: the gateway decides.
    parsed = normalise(raw, "AU")
    assert (parsed.valid, parsed.not_mobile) == (True, None)
    assert mobile_problem(raw, "AU") is None


@pytest.mark.parametrize("raw", ["0412 FLOWER", "0412 345 678 ext 2", "0412 345 678 x2"])
def test_letters_are_refused_never_read_as_a_keypads_digits(raw):
    parsed = normalise(raw, "AU")
    assert (parsed.valid, parsed.e164, parsed.real) == (False, None, False)
    assert mobile_problem(raw, "AU") == (
        f"“{raw}” has letters in it: type the mobile number in digits only (like 0412 345 678, "
        "or +64 21 123 4567 for another country)."
    )
    assert mobile_problem(raw, "AU", for_sms=False) is not None


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+881612345678", "+881612345678"),  # Iridium
        ("+870 773111632", "+870773111632"),  # Inmarsat
        ("+882 342 1234", "+8823421234"),  # an international network's mobile
    ],
)
def test_a_mobile_of_no_country_is_real_but_no_mobile_and_has_no_region(raw, e164):
    """phonenumbers calls these valid mobiles of region "001", which the two-letter region
    columns cannot hold (a 500 on PostgreSQL) and no SMS account serves."""
    parsed = normalise(raw, "AU")
    assert (parsed.e164, parsed.region, parsed.valid, parsed.real) == (e164, None, False, True)
    assert parsed.not_mobile == "a satellite or international-network number"
    assert mobile_problem(raw, "AU") == (
        f"“{raw}” is a satellite or international-network number: SMS Desk sends to the mobile "
        "numbers of a country only. Use one (like 0412 345 678, or +64 21 123 4567 for another "
        "country)."
    )
    assert what_number(e164) == "a satellite or international-network number"
    assert stored_problem(e164) == "A satellite or international-network number, not a mobile"
    assert search_key(raw, "AU") == e164  # a reply from it, or a search, still finds its person
    assert mobile_problem(raw, "AU", for_sms=False) is None


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        ("+800 1234 5678", "a freecall service number"),
        ("+979 123456789", "a premium-rate service number"),
    ],
)
def test_a_service_number_of_no_country_says_what_it_is_and_has_no_region(raw, what):
    parsed = normalise(raw, "AU")
    assert (parsed.region, parsed.valid, parsed.not_mobile) == (None, False, what)


def test_an_invalid_number_of_no_country_has_no_region():
    parsed = normalise("+883 123456789", "AU")
    assert (parsed.region, parsed.valid, parsed.not_mobile, parsed.real) == (
        None,
        False,
        None,
        False,
    )


def test_a_stored_number_that_is_no_number_says_so():
    assert stored_problem(None) == "Not a valid mobile number"
    assert stored_problem("+6112345") == "Not a valid mobile number"


def test_search_finds_a_stored_landline_by_its_number():
    assert search_key("(02) 9374 4000", "AU") == "+61293744000"


def test_the_type_read_with_the_region_found_is_phonenumbers_own():
    """describe() reads a number's type through phonenumbers' helper, with the region it has
    already found, to spare number_type() looking it up again: it must agree with number_type()
    for every kind of number, in regions sharing a calling code and outside any region."""
    samples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in ("AU", "CX", "NZ", "GB", "JE", "US", "CA", "DE", "IN", "SG")
        for kind in NOT_MOBILE.keys() | SMS_TYPES
    ]
    samples += [phonenumbers.parse("+80012345678"), phonenumbers.parse("+61 2 1234")]
    checked = 0
    for number in filter(None, samples):
        region = phonenumbers.region_code_for_number(number)
        if region is None:
            continue
        assert _number_type(number, region) == phonenumbers.number_type(number), number
        checked += 1
    assert checked > 40
