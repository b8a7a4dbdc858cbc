"""Reading "Send at" (webapp.sms.schedule.parse_send_at): a datetime-local value in the user's
zone becomes a UTC moment; empty is now; the past, beyond 90 days, times the clocks skip or
repeat, and anything unreadable are refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from webapp.errors import FieldError
from webapp.sms.schedule import MAX_AHEAD, parse_send_at

SYDNEY = ZoneInfo("Australia/Sydney")
AUCKLAND = ZoneInfo("Pacific/Auckland")
# 11:00 am in Sydney (AEDT, +11), 1:00 pm in Auckland (NZDT, +13).
NOW = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


def refused(text: str, zone=SYDNEY, now: datetime = NOW) -> str:
    with pytest.raises(FieldError) as caught:
        parse_send_at(text, zone, now)
    assert caught.value.field == "send_at"
    assert caught.value.status == 400
    return caught.value.message


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_means_now(text):
    assert parse_send_at(text, SYDNEY, NOW) is None


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2026-12-03T09:30", SYDNEY, datetime(2026, 12, 2, 22, 30, tzinfo=UTC)),
        ("2026-12-03T09:30:15", SYDNEY, datetime(2026, 12, 2, 22, 30, 15, tzinfo=UTC)),
        ("2026-12-03T09:30:15.500", SYDNEY, datetime(2026, 12, 2, 22, 30, 15, 500000, tzinfo=UTC)),
        ("2026-12-03T09:30", AUCKLAND, datetime(2026, 12, 2, 20, 30, tzinfo=UTC)),
        ("2026-12-03T09:30", ZoneInfo("UTC"), datetime(2026, 12, 3, 9, 30, tzinfo=UTC)),
        # Perth keeps +8 all year.
        ("2027-02-20T09:30", ZoneInfo("Australia/Perth"), datetime(2027, 2, 20, 1, 30, tzinfo=UTC)),
        (" 2026-12-03 09:30 ", SYDNEY, datetime(2026, 12, 2, 22, 30, tzinfo=UTC)),
    ],
)
def test_a_local_time_is_read_in_the_users_zone_and_returned_in_utc(text, zone, expected):
    moment = parse_send_at(text, zone, NOW)
    assert moment == expected
    assert moment.utcoffset() == timedelta(0)


def test_daylight_and_standard_time_use_their_own_offsets():
    march = datetime(2027, 3, 1, tzinfo=UTC)
    # Sydney is on daylight time (+11) until 4 Apr 2027, on standard time (+10) after.
    assert parse_send_at("2027-03-10T09:00", SYDNEY, march) == datetime(
        2027, 3, 9, 22, 0, tzinfo=UTC
    )
    assert parse_send_at("2027-04-10T09:00", SYDNEY, march) == datetime(
        2027, 4, 9, 23, 0, tzinfo=UTC
    )


def test_the_hour_the_clocks_skip_is_refused_with_the_reason():
    spring = datetime(2026, 9, 1, tzinfo=UTC)
    message = refused("2026-10-04T02:30", SYDNEY, spring)
    assert "2:30 am on 4 Oct 2026 does not exist in Australia/Sydney" in message
    assert "clocks go forward" in message
    message = refused("2026-09-27T02:15", AUCKLAND, spring)
    assert "does not exist in Pacific/Auckland" in message
    # Either side of the gap is fine.
    assert parse_send_at("2026-10-04T01:59", SYDNEY, spring) == datetime(
        2026, 10, 3, 15, 59, tzinfo=UTC
    )
    assert parse_send_at("2026-10-04T03:00", SYDNEY, spring) == datetime(
        2026, 10, 3, 16, 0, tzinfo=UTC
    )


def test_the_hour_the_clocks_repeat_is_refused_as_ambiguous():
    autumn = datetime(2027, 3, 1, tzinfo=UTC)
    message = refused("2027-04-04T02:30", SYDNEY, autumn)
    assert "happens twice in Australia/Sydney" in message
    assert "clocks go back" in message
    assert parse_send_at("2027-04-04T03:00", SYDNEY, autumn) == datetime(
        2027, 4, 3, 17, 0, tzinfo=UTC
    )


def test_a_time_in_the_past_is_refused_saying_what_time_it_is_now_in_their_zone():
    message = refused("2026-12-02T10:59")
    assert "has passed" in message
    assert "it is now 2 Dec 2026, 11:00 am AEDT" in message
    # Auckland's user is told Auckland's time.
    assert "it is now 2 Dec 2026, 1:00 pm NZDT" in refused("2026-12-02T12:00", AUCKLAND)
    assert "has passed" in refused("2025-01-01T09:00")


def test_a_time_only_compared_with_a_batch_made_already_may_have_passed():
    # Back and Send after the scheduled batch went at 10:59: its time, to find that batch.
    past = parse_send_at("2026-12-02T10:59", SYDNEY, NOW, compare_only=True)
    assert past == NOW - timedelta(minutes=1)
    with pytest.raises(FieldError, match="is not a date and time"):  # unreadable still is
        parse_send_at("soon", SYDNEY, NOW, compare_only=True)


def test_the_current_minute_is_not_the_past():
    later = NOW + timedelta(seconds=40)
    assert parse_send_at("2026-12-02T11:00", SYDNEY, later) == NOW


def test_at_most_90_days_ahead_and_the_latest_is_named():
    assert MAX_AHEAD == timedelta(days=90)
    latest = NOW + MAX_AHEAD  # 2 Mar 2027, 11:00 am AEDT
    assert parse_send_at("2027-03-02T11:00", SYDNEY, NOW) == latest
    message = refused("2027-03-02T11:01")
    assert "at most 90 days ahead" in message
    assert "the latest is 2 Mar 2027, 11:00 am AEDT" in message
    assert "at most 90 days ahead" in refused("9999-12-31T23:59")


@pytest.mark.parametrize(
    "text",
    [
        "tomorrow",
        "2026-12-03",
        "09:30",
        "2026-13-01T09:00",
        "2026-02-30T09:00",
        "2026-12-03T25:00",
        "2026-12-03T09:30+10:00",
        "2026-12-03T09:30Z",
        "{{ 7*7 }}",
        "x" * 5000,
    ],
)
def test_anything_but_a_date_and_time_is_refused(text):
    message = refused(text)
    assert "is not a date and time" in message
    assert "2026-12-03 09:30" in message  # an example of what is wanted
    assert len(message) < 200  # what was typed is quoted, not all of it


def test_a_date_out_of_range_is_refused_not_a_crash():
    assert "out of range" in refused("0001-01-01T00:00")
