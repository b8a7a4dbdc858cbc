"""Quiet hours' rule on a fixed clock: the window, the recipient's zone from the number, the zone
chosen where a number's zones disagree, and the clock changes."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from phonenumbers.timezone import time_zones_for_number

from webapp.config import ConfigError, from_environment
from webapp.sms import quiet_hours
from webapp.sms.quiet_hours import (
    QuietSettings,
    Window,
    heeded_zones,
    number_zones,
    parse_window,
    plan,
    quiet_end,
    until_all_free,
)
from webapp.times import DEFAULT_ZONE

NIGHT = Window(time(20, 0), time(8, 0))
SYDNEY = "Australia/Sydney"
PERTH = "Australia/Perth"
LONDON = "Europe/London"
AU_MOBILE = "+61412345678"
NZ_MOBILE = "+64211234567"
RU_MOBILE = "+79123456789"
UK_MOBILE = "+447911123456"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the window ---------------------------------------------------------------------------------


def test_a_window_across_midnight_covers_the_evening_and_the_morning_not_its_end():
    assert NIGHT.covers(time(20, 0)) and NIGHT.covers(time(23, 59)) and NIGHT.covers(time(7, 59))
    assert not NIGHT.covers(time(8, 0)) and not NIGHT.covers(time(19, 59))


def test_a_window_within_one_day_covers_only_between_its_times():
    lunch = parse_window("12:00-13:30")
    assert lunch == Window(time(12), time(13, 30))
    assert lunch.covers(time(12, 0)) and lunch.covers(time(13, 29))
    assert not lunch.covers(time(13, 30)) and not lunch.covers(time(11, 59))


@pytest.mark.parametrize("typed", ["", "  ", "off", "OFF", None])
def test_empty_or_off_is_no_window(typed):
    assert parse_window(typed) is None


@pytest.mark.parametrize("typed", ["8:00 – 9:30", "08.00-09.30", " 08:00-09:30 "])
def test_a_window_may_be_typed_loosely(typed):
    assert str(parse_window(typed)) == "08:00-09:30"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("20:00-20:00", "same time"),
        ("20:00", "not a window"),
        ("24:00-08:00", "not a window"),
        ("8pm-8am", "not a window"),
        ("20:60-08:00", "not a window"),
    ],
)
def test_a_window_that_cannot_be_meant_is_refused_with_the_reason(typed, problem):
    with pytest.raises(ValueError, match=problem):
        parse_window(typed)


def test_quiet_hours_are_off_by_default_and_a_bad_value_names_the_variable(tmp_path):
    secret = {"SECRET_KEY": "a-fixed-secret-for-the-test"}
    assert from_environment(secret, tmp_path)["QUIET_HOURS"] == ""
    assert QuietSettings.from_config(from_environment(secret, tmp_path)).window is None
    config = from_environment(secret | {"QUIET_HOURS": "20:00 – 8:00"}, tmp_path)
    assert config["QUIET_HOURS"] == "20:00-08:00"
    assert QuietSettings.from_config(config).window == NIGHT
    for bad in ("21:00-21:00", "evenings"):
        with pytest.raises(ConfigError, match="QUIET_HOURS"):
            from_environment(secret | {"QUIET_HOURS": bad}, tmp_path)


# --- the end of quiet hours, clock changes included ---------------------------------------------


def test_the_end_is_the_next_morning_in_the_evening_and_the_same_morning_after_midnight():
    sydney = ZoneInfo(SYDNEY)  # AEDT, +11, in December
    assert quiet_end(NIGHT, sydney, utc(2026, 12, 2, 10, 0)) == utc(2026, 12, 2, 21, 0)  # 21:00
    assert quiet_end(NIGHT, sydney, utc(2026, 12, 2, 15, 0)) == utc(2026, 12, 2, 21, 0)  # 02:00
    assert quiet_end(NIGHT, sydney, utc(2026, 12, 2, 21, 0)) is None  # 08:00: over
    assert quiet_end(NIGHT, sydney, utc(2026, 12, 2, 8, 59)) is None  # 19:59


def test_the_night_the_clocks_go_back_in_sydney_is_an_hour_longer():
    # 4 April 2026, 21:00 AEDT (+11); the clocks go back at 03:00 on the 5th; 08:00 is AEST (+10).
    assert quiet_end(NIGHT, ZoneInfo(SYDNEY), utc(2026, 4, 4, 10, 0)) == utc(2026, 4, 4, 22, 0)


def test_the_night_the_clocks_go_forward_in_sydney_is_an_hour_shorter():
    # 3 October 2026, 21:00 AEST (+10); the clocks go forward at 02:00 on the 4th; 08:00 is AEDT.
    assert quiet_end(NIGHT, ZoneInfo(SYDNEY), utc(2026, 10, 3, 11, 0)) == utc(2026, 10, 3, 21, 0)


def test_an_end_the_clocks_skip_is_the_moment_they_jump():
    # 02:30 does not exist in Sydney on 4 October 2026: at 02:00 AEST (16:00 UTC) it is 03:00.
    late = parse_window("22:00-02:30")
    assert quiet_end(late, ZoneInfo(SYDNEY), utc(2026, 10, 3, 13, 0)) == utc(2026, 10, 3, 16, 0)
    # Lord Howe goes forward half an hour, at 02:00 its standard time (+10:30).
    lord_howe = ZoneInfo("Australia/Lord_Howe")
    assert quiet_end(late, lord_howe, utc(2026, 10, 3, 13, 0)) == utc(2026, 10, 3, 15, 30)


def test_an_end_the_clocks_read_twice_is_the_first_after_the_moment():
    # Sydney goes back at 03:00 AEDT on 4 April 2027 (16:00 UTC on the 3rd): 02:00-03:00 twice.
    late, sydney = parse_window("20:00-02:30"), ZoneInfo(SYDNEY)
    assert quiet_end(late, sydney, utc(2027, 4, 3, 15, 10)) == utc(2027, 4, 3, 15, 30)  # AEDT
    assert quiet_end(late, sydney, utc(2027, 4, 3, 15, 40)) is None  # 02:40 AEDT: over
    # The second 02:10 (AEST) waits for the second 02:30, not the first, 40 minutes gone.
    assert quiet_end(late, sydney, utc(2027, 4, 3, 16, 10)) == utc(2027, 4, 3, 16, 30)
    assert until_all_free(late, [sydney], utc(2027, 4, 3, 16, 10)) == utc(2027, 4, 3, 16, 30)
    assert plan(late, None, SYDNEY)(AU_MOBILE, utc(2027, 4, 3, 16, 20)) == utc(2027, 4, 3, 16, 30)
    # London goes back at 02:00 BST on 25 October 2026 (01:00 UTC): 01:00-02:00 twice.
    london = ZoneInfo(LONDON)
    small_hours = parse_window("22:00-01:30")
    assert quiet_end(small_hours, london, utc(2026, 10, 25, 0, 10)) == utc(2026, 10, 25, 0, 30)
    assert quiet_end(small_hours, london, utc(2026, 10, 25, 0, 45)) is None  # 01:45 BST
    assert quiet_end(small_hours, london, utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 1, 30)


def test_quiet_hours_begun_stay_begun_when_the_clocks_go_back_before_their_start():
    london = ZoneInfo(LONDON)
    from_half_past_one = parse_window("01:30-07:00")
    assert quiet_end(from_half_past_one, london, utc(2026, 10, 25, 0, 10)) is None  # 01:10 BST
    # Begun at 01:30 BST (00:30 UTC); at 01:10 GMT the clock reads before the start again.
    assert quiet_end(from_half_past_one, london, utc(2026, 10, 25, 1, 10)) == utc(2026, 10, 25, 7)
    # A window over before the clocks went back does not come back by the start.
    short = parse_window("01:30-01:45")
    assert quiet_end(short, london, utc(2026, 10, 25, 1, 10)) is None  # 01:10 GMT
    assert quiet_end(short, london, utc(2026, 10, 25, 1, 35)) == utc(2026, 10, 25, 1, 45)


def test_a_start_the_clocks_skip_begins_quiet_hours_as_they_jump():
    # 02:30 does not exist in Sydney on 4 October 2026: 01:59 AEST, then 03:00 AEDT (16:00 UTC).
    early = parse_window("02:30-08:00")
    assert quiet_end(early, ZoneInfo(SYDNEY), utc(2026, 10, 3, 15, 59)) is None
    assert quiet_end(early, ZoneInfo(SYDNEY), utc(2026, 10, 3, 16, 0)) == utc(2026, 10, 3, 21, 0)


def test_no_end_is_ever_before_its_moment_around_the_clock_changes():
    windows = [parse_window(text) for text in ("20:00-02:30", "01:30-07:00", "00:30-01:30")]
    for name, changes in (
        (SYDNEY, (utc(2027, 4, 3, 16), utc(2026, 10, 3, 16))),
        (LONDON, (utc(2026, 10, 25, 1), utc(2026, 3, 29, 1))),
        ("Australia/Lord_Howe", (utc(2027, 4, 3, 15), utc(2026, 10, 3, 15, 30))),
    ):
        zone = ZoneInfo(name)
        for change in changes:
            for minutes in range(-600, 600, 5):
                moment = change + timedelta(minutes=minutes)
                for window in windows:
                    end = quiet_end(window, zone, moment)
                    clock = moment.astimezone(zone).time().replace(tzinfo=None)
                    assert end is None or end > moment, (name, window, moment)
                    assert end is not None or not window.covers(clock), (name, window, moment)


# --- the recipient's zone -----------------------------------------------------------------------


def test_a_number_with_one_zone_uses_it_whatever_the_office():
    quiet = plan(NIGHT, SYDNEY, SYDNEY)
    assert number_zones(UK_MOBILE) == (
        "Europe/Guernsey",
        "Europe/Isle_of_Man",
        "Europe/Jersey",
        LONDON,
    )  # all on one clock: they count as one
    assert quiet(UK_MOBILE, utc(2026, 12, 2, 22, 0)) == utc(2026, 12, 3, 8, 0)
    assert quiet(UK_MOBILE, utc(2026, 12, 2, 12, 0)) is None  # 23:00 in Sydney, noon in London


# 12:00 UTC on 2 December 2026: 20:00 in Perth, 23:00 in Sydney and Lord Howe (DST), 18:30 on
# Cocos (+6:30), 19:00 on Christmas Island (+7).
EVENING = utc(2026, 12, 2, 12, 0)


def test_an_australian_mobile_sent_from_a_perth_office_waits_for_perth_morning():
    assert plan(NIGHT, PERTH, SYDNEY)(AU_MOBILE, EVENING) == utc(2026, 12, 3, 0, 0)  # 08:00 AWST
    # An hour earlier it is 19:00 in Perth: it goes, though Sydney is already quiet.
    assert plan(NIGHT, PERTH, SYDNEY)(AU_MOBILE, utc(2026, 12, 2, 11, 0)) is None


def test_an_australian_mobile_sent_from_a_sydney_office_waits_for_sydney_morning():
    assert plan(NIGHT, SYDNEY, LONDON)(AU_MOBILE, EVENING) == utc(2026, 12, 2, 21, 0)


def test_without_an_office_the_organisation_zone_decides_when_listed():
    assert plan(NIGHT, None, SYDNEY)(AU_MOBILE, EVENING) == utc(2026, 12, 2, 21, 0)
    # An office zone the number does not list (Auckland) is passed over for the organisation's.
    assert plan(NIGHT, "Pacific/Auckland", SYDNEY)(AU_MOBILE, EVENING) == utc(2026, 12, 2, 21, 0)


def test_with_neither_zone_listed_an_australian_mobile_waits_until_no_zone_is_quiet():
    # London's zone is not one of Australia's: careful. Quiet ends last on Cocos (08:00 +6:30 is
    # 01:30 UTC); by then it is 12:30 in Sydney, so nowhere in Australia is it quiet.
    assert plan(NIGHT, None, LONDON)(AU_MOBILE, EVENING) == utc(2026, 12, 3, 1, 30)
    # At 10:00 UTC (21:00 in Sydney, 18:00 in Perth) the east is already quiet: it waits too.
    assert plan(NIGHT, None, LONDON)(AU_MOBILE, utc(2026, 12, 2, 10, 0)) == utc(2026, 12, 3, 1, 30)
    # At 02:00 UTC it is between 08:30 and 13:00 everywhere listed: it goes.
    assert plan(NIGHT, None, LONDON)(AU_MOBILE, utc(2026, 12, 3, 2, 0)) is None


def test_a_new_zealand_mobile_waits_for_auckland_and_chatham_unless_one_is_chosen():
    # 18:30 UTC: 07:30 in Auckland (+13), 08:15 on the Chatham Islands (+13:45).
    early = utc(2026, 12, 2, 18, 30)
    assert plan(NIGHT, None, SYDNEY)(NZ_MOBILE, early) == utc(2026, 12, 2, 19, 0)  # careful
    assert plan(NIGHT, "Pacific/Chatham", SYDNEY)(NZ_MOBILE, early) is None
    assert plan(NIGHT, None, "Pacific/Auckland")(NZ_MOBILE, early) == utc(2026, 12, 2, 19, 0)


def test_a_russian_mobile_waits_until_quiet_hours_are_over_in_all_its_zones():
    # From Europe/Bucharest (+2 in December) to Kamchatka and Anadyr (+12): the only hours when
    # none of them is between 20:00 and 08:00 are 06:00 to 08:00 UTC.
    quiet = plan(NIGHT, None, SYDNEY)
    assert len(number_zones(RU_MOBILE)) > 10
    for now in (utc(2026, 12, 2, 12, 0), utc(2026, 12, 2, 22, 0), utc(2026, 12, 3, 5, 59)):
        assert quiet(RU_MOBILE, now) == utc(2026, 12, 3, 6, 0)
    assert quiet(RU_MOBILE, utc(2026, 12, 3, 6, 0)) is None
    assert quiet(RU_MOBILE, utc(2026, 12, 3, 7, 59)) is None
    assert quiet(RU_MOBILE, utc(2026, 12, 3, 8, 0)) == utc(2026, 12, 4, 6, 0)  # Kamchatka 20:00
    # From a Moscow office, Moscow's morning (08:00 MSK, +3).
    assert plan(NIGHT, "Europe/Moscow", SYDNEY)(RU_MOBILE, utc(2026, 12, 2, 22, 0)) == utc(
        2026, 12, 3, 5, 0
    )


def test_a_window_that_leaves_no_moment_free_in_every_zone_still_gives_an_end():
    # 16 hours of quiet over Russia's 10 hours of zones cover the whole day: the latest end of
    # those quiet now, rather than waiting for ever.
    long = parse_window("18:00-10:00")
    until = plan(long, None, SYDNEY)(RU_MOBILE, utc(2026, 12, 2, 12, 0))
    assert until is not None and utc(2026, 12, 2, 12, 0) < until <= utc(2026, 12, 3, 12, 0)


def test_zones_that_agree_on_the_time_count_as_one():
    now = utc(2026, 7, 1, 0, 0)  # winter: Brisbane and Sydney both +10
    agree = heeded_zones(("Australia/Brisbane", SYDNEY), None, LONDON, now)
    assert [zone.key for zone in agree] == ["Australia/Brisbane"]
    summer = heeded_zones(("Australia/Brisbane", SYDNEY), None, LONDON, EVENING)
    assert [zone.key for zone in summer] == ["Australia/Brisbane", SYDNEY]


def test_an_unknown_number_is_read_in_the_organisation_zone():
    assert number_zones("+61412") == ()
    assert plan(NIGHT, PERTH, SYDNEY)("+61412", EVENING) == utc(2026, 12, 2, 21, 0)


def test_a_zone_name_that_is_not_a_zone_is_utc():
    # A "localtime" stored before names were checked (the stored organisation zone gives way to
    # TIMEZONE before it gets here): 21:00 UTC is quiet until 08:00 UTC.
    assert heeded_zones((), None, "localtime", EVENING) == (ZoneInfo("UTC"),)
    assert plan(NIGHT, None, "localtime")("+61412", utc(2026, 12, 2, 21)) == utc(2026, 12, 3, 8)


def test_each_number_gets_the_zones_phonenumbers_gives_it_though_looked_up_by_prefix():
    quiet_hours._ZONES.clear()
    numbers = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
            phonenumbers.PhoneNumberType.VOIP,
        ):
            if (example := phonenumbers.example_number_for_type(region, kind)) is not None:
                numbers.append(example)
    looked_up = {
        phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164): n for n in numbers
    }
    memoised = {e164: number_zones(e164) for e164 in looked_up}
    for e164, number in looked_up.items():
        direct = tuple(z for z in time_zones_for_number(number) if z != "Etc/Unknown")
        assert memoised[e164] == tuple(z for z in direct if z in memoised[e164]), e164
        assert set(direct) - set(memoised[e164]) <= {
            z for z in direct if quiet_hours.zone_problem(z)
        }, e164


def test_ten_thousand_mobiles_cost_at_most_a_thousand_lookups():
    quiet_hours._ZONES.clear()
    rng = random.Random(21)
    quiet = plan(NIGHT, None, SYDNEY)
    for _ in range(10_000):
        quiet(f"+614{rng.randrange(10**8):08d}", EVENING)
    assert len(quiet_hours._ZONES) <= 1_000


def test_a_moment_whose_end_would_be_past_the_last_date_is_not_quiet():
    # 23:00 on 31 Dec 9999 in Sydney: quiet, but its end (08:00 on 1 Jan 10000) cannot be named.
    last_night = datetime(9999, 12, 31, 12, 0, tzinfo=UTC)
    assert quiet_end(NIGHT, ZoneInfo(SYDNEY), last_night) is None
    assert quiet_hours.plan(NIGHT, None, SYDNEY)(AU_MOBILE, last_night) is None


def test_the_default_organisation_zone_is_the_apps():
    assert QuietSettings().organisation_zone == DEFAULT_ZONE
