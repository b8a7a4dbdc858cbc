"""Parse phone numbers once, to E.164 with their region, so nothing downstream re-parses them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import phonenumbers


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """A phone number as typed, and what `phonenumbers` made of it."""

    raw: str | None
    e164: str | None
    region: str | None
    valid: bool

    @property
    def present(self) -> bool:
        return bool(self.raw)


NO_NUMBER = ParsedNumber(raw=None, e164=None, region=None, valid=False)
MAX_E164 = 16  # "+" and at most 15 digits (ITU-T E.164)


@cache
def examples(region: str) -> tuple[str, str]:
    """A mobile of `region` as people there type it ("0412 345 678" in AU), and one of another
    country in international form, for the hints and refusals of a mobile field."""
    region = region.upper()
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if number is not None
        else "0412 345 678"
    )
    return national, "+61 412 345 678" if region == "NZ" else "+64 21 123 4567"


def mobile_problem(text: str | None, default_region: str) -> str | None:
    """Why `text` is not a usable mobile number (empty is fine), or None; the refusal names a
    number of `default_region` as people there type it."""
    parsed = normalise(text, default_region)
    if not parsed.present or parsed.valid:
        return None
    national, international = examples(default_region)
    return (
        f"“{parsed.raw}” is not a valid mobile number. Use a national number for {default_region} "
        f"(like {national}) or an international one starting with + (like {international})."
    )


def normalise(raw: str | None, default_region: str) -> ParsedNumber:
    """Parse `raw` with `default_region` for national formats ("0412 345 678" in AU).

    A number that cannot be parsed at all keeps its raw text with no E.164 form, so it can be shown
    to the user as invalid rather than silently dropped.
    """
    text = (raw or "").strip()
    if not text:
        return NO_NUMBER
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException:
        return ParsedNumber(raw=text, e164=None, region=None, valid=False)
    return describe(text, number)


def describe(raw: str, number: phonenumbers.PhoneNumber) -> ParsedNumber:
    """The stored form of `number`, already read from `raw` (or made from its digits by a
    generator that knows them, which spares parsing its own text back)."""
    # is_valid_number() would look the region up again; seeding a million rows notices.
    region = phonenumbers.region_code_for_number(number)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > MAX_E164:
        # phonenumbers reads up to 17 national digits after a 3-digit code ("+263 1234…"): no
        # number at all, and too long for the columns that hold E.164 (PostgreSQL refused it).
        return ParsedNumber(raw=raw, e164=None, region=None, valid=False)
    return ParsedNumber(
        raw=raw,
        e164=e164,
        region=region,
        valid=region is not None and phonenumbers.is_valid_number_for_region(number, region),
    )


def search_key(text: str, default_region: str) -> str | None:
    """The E.164 form of a search term that looks like a phone number, else None."""
    digits = sum(ch.isdigit() for ch in text)
    if digits < 6 or any(ch.isalpha() for ch in text):
        return None
    parsed = normalise(text, default_region)
    return parsed.e164 if parsed.valid else None


def display(e164: str | None, default_region: str | None = None) -> str:
    """How a stored E.164 number is shown: national if it belongs to `default_region`, else
    international; text that is not a number comes back as it is."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    formats = phonenumbers.PhoneNumberFormat
    national = bool(default_region) and (
        phonenumbers.region_code_for_number(number) == default_region.upper()
    )
    return phonenumbers.format_number(
        number, formats.NATIONAL if national else formats.INTERNATIONAL
    )
