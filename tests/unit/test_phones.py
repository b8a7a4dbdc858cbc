"""Unit tests for parsing, search keys and display of phone numbers."""

import pytest

from webapp.phones import NO_NUMBER, display, normalise, search_key


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
