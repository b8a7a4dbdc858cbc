"""Region and country codes as typed on the settings, office and SMS account forms: two ASCII
letters, upper-cased only once they are known to be."""

from __future__ import annotations

import pytest

from webapp.errors import FieldError
from webapp.sms.accounts import parse_countries
from webapp.sms.settings import check_region

# str.upper() makes two ASCII letters of each: a long s, ligatures, a dotless i.
LOOKALIKES = ["ſt", "ﬅ", "ﬆ", "ıe", "nſ", "ﬀ"]


@pytest.mark.parametrize("typed, code", [("au", "AU"), (" Nz ", "NZ"), ("GB", "GB")])
def test_a_region_code_is_two_letters_in_either_case(typed, code):
    assert check_region(typed) == code


@pytest.mark.parametrize("typed", LOOKALIKES)
def test_a_region_code_that_only_upper_cases_to_letters_is_refused(typed):
    with pytest.raises(FieldError) as refused:
        check_region(typed, "region", required=True)
    assert refused.value.field == "region"
    assert refused.value.message == f"“{typed}” is not a two-letter region code like AU, NZ or GB."


@pytest.mark.parametrize("typed", LOOKALIKES)
@pytest.mark.parametrize("known", [True, False])
def test_a_country_list_refuses_codes_that_only_upper_case_to_letters(typed, known):
    with pytest.raises(FieldError) as refused:
        parse_countries(f"nz, {typed}", "blocked", known=known)
    assert refused.value.field == "blocked"


def test_a_country_list_still_takes_ascii_codes_in_any_case():
    assert parse_countries("nz, Au;fj NZ", "countries") == ["NZ", "AU", "FJ"]
    assert parse_countries("um kp", "blocked", known=False) == ["UM", "KP"]
