"""Times as people read them (webapp.times): a UTC moment in a zone with its abbreviation across
Sydney's daylight-saving changes and in other zones, the UTC bounds of a local day, zone names as
typed, and TIMEZONE read at start-up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from webapp.config import ConfigError, from_environment
from webapp.errors import FieldError
from webapp.times import (
    check_zone,
    day,
    end_of,
    first_zone,
    start_of,
    user_zone,
    when,
    zone,
    zone_names,
)

SYDNEY = ZoneInfo("Australia/Sydney")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- a moment shown in a zone --------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment, shown",
    [
        # 5 April 2026: 03:00 AEDT becomes 02:00 AEST, so 2:30 am happens twice; the
        # abbreviation tells them apart.
        (utc(2026, 4, 4, 15, 30), "5 Apr 2026, 2:30 am AEDT"),
        (utc(2026, 4, 4, 15, 59, 59), "5 Apr 2026, 2:59 am AEDT"),
        (utc(2026, 4, 4, 16, 0), "5 Apr 2026, 2:00 am AEST"),
        (utc(2026, 4, 4, 16, 30), "5 Apr 2026, 2:30 am AEST"),
        # 4 October 2026: 02:00 AEST becomes 03:00 AEDT; 2:30 am never happens.
        (utc(2026, 10, 3, 15, 59), "4 Oct 2026, 1:59 am AEST"),
        (utc(2026, 10, 3, 16, 0), "4 Oct 2026, 3:00 am AEDT"),
        # The example, and the noon and midnight of a 12-hour clock.
        (utc(2026, 12, 1, 22, 5), "2 Dec 2026, 9:05 am AEDT"),
        (utc(2026, 12, 2, 1, 0), "2 Dec 2026, 12:00 pm AEDT"),
        (utc(2026, 12, 2, 13, 0), "3 Dec 2026, 12:00 am AEDT"),
    ],
)
def test_a_moment_is_shown_in_sydney_with_the_abbreviation_in_force_then(moment, shown):
    assert when(moment, SYDNEY) == shown


def test_the_same_moment_reads_in_each_readers_zone():
    moment = utc(2026, 10, 3, 16, 30)
    assert when(moment, SYDNEY) == "4 Oct 2026, 3:30 am AEDT"
    assert when(moment, AUCKLAND) == "4 Oct 2026, 5:30 am NZDT"
    assert when(moment, ZoneInfo("Europe/London")) == "3 Oct 2026, 5:30 pm BST"
    assert when(moment, ZoneInfo("UTC")) == "3 Oct 2026, 4:30 pm UTC"


def test_seconds_day_and_no_moment():
    moment = utc(2026, 4, 4, 15, 30, 7)
    assert when(moment, SYDNEY, seconds=True) == "5 Apr 2026, 2:30:07 am AEDT"
    assert day(moment, SYDNEY) == "5 Apr 2026"
    assert day(moment, ZoneInfo("UTC")) == "4 Apr 2026"
    assert day(date(2023, 7, 14)) == "14 Jul 2023"
    assert when(None, SYDNEY) == ""


# --- a local day as UTC bounds -------------------------------------------------------------------


def test_sydneys_25_hour_day_when_the_clocks_go_back():
    first, last = start_of(date(2026, 4, 5), SYDNEY), end_of(date(2026, 4, 5), SYDNEY)
    assert first == utc(2026, 4, 4, 13, 0)  # 00:00 AEDT
    assert last == utc(2026, 4, 5, 14, 0)  # 00:00 AEST on the 6th
    assert last - first == timedelta(hours=25)


def test_sydneys_23_hour_day_when_the_clocks_go_forward():
    first, last = start_of(date(2026, 10, 4), SYDNEY), end_of(date(2026, 10, 4), SYDNEY)
    assert first == utc(2026, 10, 3, 14, 0)  # 00:00 AEST
    assert last == utc(2026, 10, 4, 13, 0)  # 00:00 AEDT on the 5th
    assert last - first == timedelta(hours=23)


def test_a_day_whose_midnight_never_happens_starts_at_the_jump():
    # Chile's clocks go from 00:00 to 01:00 on 6 September 2026: the day starts at 01:00 -03.
    santiago = ZoneInfo("America/Santiago")
    assert start_of(date(2026, 9, 6), santiago) == utc(2026, 9, 6, 4, 0)
    assert end_of(date(2026, 9, 5), santiago) == start_of(date(2026, 9, 6), santiago)


# --- zone names ----------------------------------------------------------------------------------


def test_zone_names_are_checked_as_typed():
    assert check_zone("  Pacific/Auckland ") == "Pacific/Auckland"
    assert check_zone("") == ""
    with pytest.raises(FieldError) as refused:
        check_zone("Sydney")
    assert refused.value.field == "timezone"
    assert refused.value.message == (
        "“Sydney” is not a time zone name like Australia/Sydney, Pacific/Auckland or UTC."
    )


def test_an_empty_or_unknown_zone_falls_back_to_the_organisations():
    assert zone(None, "Pacific/Auckland") == AUCKLAND
    assert zone("", "Pacific/Auckland") == AUCKLAND
    assert zone("Nowhere/Special", "Pacific/Auckland") == AUCKLAND
    assert zone("Europe/London", "Pacific/Auckland") == ZoneInfo("Europe/London")
    assert zone(None) == SYDNEY


def test_a_users_zone_passes_over_stored_names_that_are_not_zones():
    """A "localtime" saved before names were checked: the office's, then the organisation's."""
    office = SimpleNamespace(timezone="Pacific/Auckland")
    stale = SimpleNamespace(timezone="localtime", office=office)
    assert user_zone(stale, "Australia/Sydney") == AUCKLAND
    office.timezone = "Factory"
    assert user_zone(stale, "Australia/Sydney") == SYDNEY
    assert user_zone(stale, "posixrules") == ZoneInfo("UTC")
    assert user_zone(None, "Pacific/Auckland") == AUCKLAND
    assert first_zone(None, "", "right/UTC", "Europe/London") == ZoneInfo("Europe/London")


# --- TIMEZONE -------------------------------------------------------------------------------------


def test_timezone_defaults_to_sydney_and_may_be_set(tmp_path):
    env = {"SECRET_KEY": "a-fixed-secret-for-the-test"}
    assert from_environment(env, tmp_path)["TIMEZONE"] == "Australia/Sydney"
    assert from_environment({**env, "TIMEZONE": "Asia/Tokyo"}, tmp_path)["TIMEZONE"] == "Asia/Tokyo"
    # In any case, as the forms take it, kept as the zone is named.
    assert from_environment({**env, "TIMEZONE": "utc"}, tmp_path)["TIMEZONE"] == "UTC"
    assert (
        from_environment({**env, "TIMEZONE": " asia/TOKYO"}, tmp_path)["TIMEZONE"] == "Asia/Tokyo"
    )


def test_an_unknown_timezone_stops_the_start_naming_the_variable(tmp_path):
    env = {"SECRET_KEY": "a-fixed-secret-for-the-test", "TIMEZONE": "AEST"}
    with pytest.raises(ConfigError) as refused:
        from_environment(env, tmp_path)
    assert str(refused.value) == (
        "TIMEZONE: “AEST” is not a time zone name like Australia/Sydney, Pacific/Auckland or UTC."
    )


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules", "posix/UTC", "right/UTC"])
def test_names_beside_the_zones_are_not_offered_or_taken(name):
    """ "localtime" showed every time in the server's zone, and "Factory" as "-00"."""
    assert name not in zone_names()
    with pytest.raises(FieldError):
        check_zone(name)


@pytest.mark.parametrize("typed, kept", [("utc", "UTC"), (" australia/PERTH ", "Australia/Perth")])
def test_a_zone_typed_in_another_case_is_kept_as_named(typed, kept):
    assert check_zone(typed) == kept
