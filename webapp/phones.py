"""Parse phone numbers once, to E.164 with their region, so nothing downstream re-parses them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    """A phone number as typed, and what `phonenumbers` made of it."""

    raw: str | None
    e164: str | None
    region: str | None
    valid: bool  # a number an SMS reaches: a mobile (see SMS_TYPES)
    # A real number that no SMS reaches, said as the refusal says it ("a landline"); else None.
    not_mobile: str | None = None

    @property
    def present(self) -> bool:
        return bool(self.raw)

    @property
    def real(self) -> bool:
        """A number that exists, an SMS reaching it or not: one to search and match replies by."""
        return self.valid or self.not_mobile is not None


NO_NUMBER = ParsedNumber(raw=None, e164=None, region=None, valid=False)
MAX_E164 = 16  # "+" and at most 15 digits (ITU-T E.164)

_TYPE = phonenumbers.PhoneNumberType
try:  # see _number_type
    from phonenumbers.phonenumberutil import _number_type_helper as _type_in_region
except ImportError:  # pragma: no cover - a phonenumbers release without it
    _type_in_region = None
# The numbers an SMS reaches. The US, Canada and a few others cannot tell a mobile from a landline
# by its number (FIXED_LINE_OR_MOBILE): those pass, and the gateway has the last word on them.
SMS_TYPES = frozenset({_TYPE.MOBILE, _TYPE.FIXED_LINE_OR_MOBILE})
# Every other type of valid number, as a refusal names it. Pagers, VoIP and personal (forwarding)
# numbers are refused too: SMS Central and Twilio deliver to mobiles, and these mostly take no SMS.
NOT_MOBILE = {
    _TYPE.FIXED_LINE: "a landline",
    _TYPE.TOLL_FREE: "a freecall service number",
    _TYPE.SHARED_COST: "a local-rate service number",
    _TYPE.PREMIUM_RATE: "a premium-rate service number",
    _TYPE.UAN: "a service number",
    _TYPE.VOICEMAIL: "a voicemail access number",
    _TYPE.PAGER: "a pager number",
    _TYPE.VOIP: "an internet (VoIP) number",
    _TYPE.PERSONAL_NUMBER: "a personal (forwarding) number",
}
# phonenumbers' region of the numbers of no country ("001"): satellite phones (+881 Iridium, +870
# Inmarsat), international networks (+882, +883) and services (+800 freecall). It calls their
# mobiles valid, but the columns of a number's region hold a country's two letters, SMS accounts
# serve and block countries, and SMS gateways seldom deliver to them: no SMS goes to one, and its
# region is stored as unknown.
NON_GEOGRAPHIC = phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY
SATELLITE = "a satellite or international-network number"


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


def mobile_problem(text: str | None, default_region: str, *, for_sms: bool = True) -> str | None:
    """Why `text` is not a usable mobile number (empty is fine), or None; the refusal names a
    number of `default_region` as people there type it.

    `for_sms=False` takes any real number (a user's own, shown in messages, never texted)."""
    parsed = normalise(text, default_region)
    if not parsed.present or parsed.valid or (parsed.real and not for_sms):
        return None
    national, international = examples(default_region)
    if parsed.not_mobile == SATELLITE:  # a satellite phone is a mobile, but of no country
        return (
            f"“{parsed.raw}” is {SATELLITE}: SMS Desk sends to the mobile numbers of a country "
            f"only. Use one (like {national}, or {international} for another country)."
        )
    if parsed.not_mobile:
        return (
            f"“{parsed.raw}” is {parsed.not_mobile}, not a mobile: an SMS reaches mobile numbers "
            f"only. Use a mobile number (like {national}, or {international} for another country)."
        )
    if _has_letters(parsed.raw):
        return (
            f"“{parsed.raw}” has letters in it: type the mobile number in digits only (like "
            f"{national}, or {international} for another country)."
        )
    return (
        f"“{parsed.raw}” is not a valid mobile number. Use a national number for {default_region} "
        f"(like {national}) or an international one starting with + (like {international})."
    )


def stored_problem(e164: str | None) -> str:
    """Why a stored number that is not valid takes no SMS: "A landline, not a mobile" for a real
    number of another type, else "Not a valid mobile number"."""
    kind = what_number(e164)
    return f"{kind[0].upper()}{kind[1:]}, not a mobile" if kind else "Not a valid mobile number"


@lru_cache(maxsize=4096)
def what_number(e164: str | None) -> str | None:
    """What a stored E.164 number is when it is real but no mobile ("a landline"), else None (no
    number too): read from the number alone, so it holds whatever region it was typed in."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    return _not_mobile(
        phonenumbers.region_code_for_number(number), phonenumbers.number_type(number)
    )


def _not_mobile(region: str | None, kind: int) -> str | None:
    """What a number of `region` and type `kind` is when it is real but takes no SMS, else None."""
    if region == NON_GEOGRAPHIC and kind in SMS_TYPES:
        return SATELLITE
    return NOT_MOBILE.get(kind)


def _has_letters(text: str | None) -> bool:
    # phonenumbers reads letters as a keypad's digits ("0412 FLOWER") and "x2" or "ext. 2" as an
    # extension that E.164 drops: a number typed so is not the one an SMS would go to.
    return any(ch.isalpha() for ch in text or "")


def normalise(raw: str | None, default_region: str) -> ParsedNumber:
    """Parse `raw` with `default_region` for national formats ("0412 345 678" in AU).

    A number that cannot be parsed at all keeps its raw text with no E.164 form, so it can be shown
    to the user as invalid rather than silently dropped.
    """
    text = (raw or "").strip()
    if not text:
        return NO_NUMBER
    if _has_letters(text):
        return ParsedNumber(raw=text, e164=None, region=None, valid=False)
    try:
        number = phonenumbers.parse(text, default_region.upper())
    except phonenumbers.NumberParseException:
        return ParsedNumber(raw=text, e164=None, region=None, valid=False)
    return describe(text, number)


def describe(raw: str, number: phonenumbers.PhoneNumber) -> ParsedNumber:
    """The stored form of `number`, already read from `raw` (or made from its digits by a
    generator that knows them, which spares parsing its own text back)."""
    region = phonenumbers.region_code_for_number(number)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if len(e164) > MAX_E164:
        # phonenumbers reads up to 17 national digits after a 3-digit code ("+263 1234…"): no
        # number at all, and too long for the columns that hold E.164 (PostgreSQL refused it).
        return ParsedNumber(raw=raw, e164=None, region=None, valid=False)
    kind = _number_type(number, region) if region is not None else _TYPE.UNKNOWN
    if region == NON_GEOGRAPHIC:
        # Found and matched by its number, but no SMS goes to it and "001" fits no region column.
        return ParsedNumber(
            raw=raw, e164=e164, region=None, valid=False, not_mobile=_not_mobile(region, kind)
        )
    return ParsedNumber(
        raw=raw,
        e164=e164,
        region=region,
        valid=kind in SMS_TYPES,
        not_mobile=NOT_MOBILE.get(kind),
    )


def _number_type(number: phonenumbers.PhoneNumber, region: str) -> int:
    """phonenumbers.number_type(number), given the region already found for it.

    UNKNOWN is a number invalid in its region (is_valid_number_for_region's own test), so one
    call tells both whether it is a number and whether an SMS reaches it. number_type() itself
    would look the region up again, 10 µs a number more than the validity alone (measured), ten
    seconds of seeding a million; its helper, which takes the region's metadata, costs what the
    validity did. The helper is not public API: where a release lacks it, number_type() serves.
    """
    if _type_in_region is None:
        return phonenumbers.number_type(number)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        number.country_code, region
    )
    if metadata is None:
        return _TYPE.UNKNOWN
    return _type_in_region(phonenumbers.national_significant_number(number), metadata)


def search_key(text: str, default_region: str) -> str | None:
    """The E.164 form of a search term that looks like a phone number, else None."""
    parsed = searched_number(text, default_region)
    # A stored landline is found by its number too: searching is not sending.
    return parsed.e164 if parsed.real else None


def searched_number(text: str, default_region: str) -> ParsedNumber:
    """A search term read as a phone number (NO_NUMBER for one with letters or fewer than six
    digits). Search only: its E.164 form may be of no real number, and a record whose mobile was
    kept as typed ("0412 345", listed as an invalid number) is stored under that form all the
    same (+61412345), to be found by what was typed."""
    digits = sum(ch.isdigit() for ch in text)
    if digits < 6 or any(ch.isalpha() for ch in text):
        return NO_NUMBER
    return normalise(text, default_region)


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
