"""Unit tests for parsing, search keys and display of phone numbers."""

import pytest

from webapp.sms.numbers import NO_NUMBER, display, normalise, search_key


def test_australian_national_format_becomes_e164():
    parsed = normalise("0412 345 678", "AU")
    assert (parsed.e164, parsed.region, parsed.valid) == ("+61412345678", "AU", True)


def test_international_format_ignores_default_region():
    parsed = normalise("+44 7400 123456", "AU")
    assert (parsed.e164, parsed.region, parsed.valid) == ("+447400123456", "GB", True)


def test_uk_style_number_can_resolve_to_a_crown_dependency():
    # phonenumbers 9.0.43 puts +44 7911 12xxxx in Guernsey, not GB: region comes from the number's
    # range, never from the calling code alone.
    parsed = normalise("+44 7911 123456", "AU")
    assert (parsed.e164, parsed.region, parsed.valid) == ("+447911123456", "GG", True)


def test_new_zealand_mobile():
    parsed = normalise("+64 21 123 4567", "AU")
    assert (parsed.e164, parsed.region, parsed.valid) == ("+64211234567", "NZ", True)


def test_unparseable_text_is_invalid_but_keeps_raw():
    parsed = normalise("call me", "AU")
    assert parsed.valid is False
    assert parsed.e164 is None
    assert parsed.raw == "call me"
    assert parsed.present


def test_too_short_number_is_invalid_but_keeps_raw():
    parsed = normalise("12", "AU")
    assert parsed.valid is False
    assert parsed.region is None
    assert parsed.raw == "12"
    assert parsed.present


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
    ["0412345678", "+61 412 345 678", "(04) 1234-5678", "0412-345-678", "61412345678", "+61412345678"],
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


@pytest.mark.parametrize("e164", [None, ""])
def test_display_of_nothing_is_empty(e164):
    assert display(e164) == ""


def test_display_of_unparseable_returns_it_unchanged():
    assert display("garbage") == "garbage"
