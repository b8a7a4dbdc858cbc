"""Quiet hours: the organisation's window (QUIET_HOURS, e.g. 20:00-08:00) in which no message
reaches a recipient, read in the recipient's local time, and when a message due in it may go.

The local time comes from the number (phonenumbers' time-zone data). Where the number's zones
disagree on the time now (an Australian mobile: Perth to Lord Howe), the sender's office zone is
used if listed, else the organisation's if listed, else every listed zone is heeded: the message
goes at the first moment none of them is quiet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import sqlalchemy as sa
import sqlalchemy.orm as so
from phonenumbers.timezone import (
    TIMEZONE_DATA,
    TIMEZONE_LONGEST_PREFIX,
    UNKNOWN_TIMEZONE,
    time_zones_for_number,
)

from webapp import settings_store
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import Message, Setting, User
from webapp.models.base import utcnow
from webapp.models.messaging import QUEUED
from webapp.sms.outbox import QuietUntil
from webapp.sms.settings import organisation_zone
from webapp.times import DEFAULT_ZONE, first_zone, zone_problem

SETTING_KEY = "quiet_hours"
OFF = "off"
_CLOCK = r"([01]?\d|2[0-3])[:.]([0-5]\d)"
_WINDOW = re.compile(rf"\s*{_CLOCK}\s*[-–—]\s*{_CLOCK}\s*")
EXAMPLE = "two times like 20:00-08:00 (from 8 pm to 8 am), or off"


@dataclass(frozen=True)
class Window:
    """From `start` to `end` in local time; start after end means across midnight."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def shown(self) -> str:
        """As a sentence shows it: "20:00–08:00"."""
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def covers(self, clock: time) -> bool:
        """True when the wall-clock time `clock` is inside the window (its end is not)."""
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


def parse_window(text: str | None) -> Window | None:
    """A window as typed ("20:00-08:00", "8:00 – 9:30"); None for "" or "off". ValueError says
    what is wrong with anything else (a window of no length among it)."""
    typed = (text or "").strip()
    if not typed or typed.lower() == OFF:
        return None
    match = _WINDOW.fullmatch(typed)
    if match is None:
        raise ValueError(f"“{typed[:40]}” is not a window: enter {EXAMPLE}.")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    window = Window(time(h1, m1), time(h2, m2))
    if window.start == window.end:
        raise ValueError(f"{window.shown} starts and ends at the same time: enter {EXAMPLE}.")
    return window


@dataclass(frozen=True)
class QuietSettings:
    """What the environment says: QUIET_HOURS (None: off) and the organisation's zone."""

    window: Window | None = None
    organisation_zone: str = DEFAULT_ZONE

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> QuietSettings:
        return cls(
            parse_window(config.get("QUIET_HOURS") or ""),
            config.get("TIMEZONE") or DEFAULT_ZONE,
        )


# --- the setting (the admin Settings page wins over QUIET_HOURS) -------------------------------


def check_setting(text: str | None) -> str:
    """The Settings page's value as stored: "20:00-08:00", "off", or "" (the environment's)."""
    typed = (text or "").strip()
    if not typed:
        return ""
    try:
        window = parse_window(typed)
    except ValueError as error:
        raise FieldError(str(error), SETTING_KEY) from None
    return str(window) if window is not None else OFF


def stored(session: so.Session) -> str:
    """The stored setting: a window, "off", or "" when the environment decides."""
    row = session.get(Setting, SETTING_KEY)
    return str(row.value) if row is not None and row.value else ""


def save(session: so.Session, actor: User | None, text: str | None) -> dict[str, list[Any]]:
    """Store the Settings page's value (audited as "settings.changed"); commits. A change puts the
    messages held for the old window back in the queue: turned off or narrowed, it kept them
    waiting until the old window's end. The worker's check as it takes each (the dispatcher's
    _quiet) holds again those the new window covers, until its end."""
    changes = settings_store.save(session, actor, {SETTING_KEY: check_setting(text)})
    if changes:
        now = utcnow()
        begin_write(session)
        session.execute(
            sa.update(Message)
            .where(Message.state == QUEUED, Message.quiet_until > now)
            .values(next_attempt_at=now, quiet_until=None)
        )
        session.commit()
    return changes


def window(session: so.Session, settings: QuietSettings | None) -> Window | None:
    """The window in force: the Settings page's, else the environment's; None: quiet hours off."""
    value = stored(session)
    if value:
        return parse_window(value)
    return settings.window if settings is not None else None


# --- each number's zones ------------------------------------------------------------------------

# Digits kept after the longest prefix the zone data knows: whether a number is a mobile (its
# country's zones) or a fixed line (its area's) can depend on them. With 3, every example number
# of every region and type gets the zones phonenumbers gives it, and 10,000 Australian mobiles
# cost at most 1,000 parses (a parse is about 20 µs).
_TYPE_DIGITS = 3
_ZONES: dict[tuple[str, int], tuple[str, ...]] = {}
_MAX_REMEMBERED = 200_000


def _prefix_key(e164: str) -> tuple[str, int]:
    digits = e164.lstrip("+")
    for length in range(min(TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        if digits[:length] in TIMEZONE_DATA:
            return digits[: length + _TYPE_DIGITS], len(digits)
    return digits[:_TYPE_DIGITS], len(digits)


def number_zones(e164: str) -> tuple[str, ...]:
    """The zone names phonenumbers lists for a number, those this machine knows; () when it
    knows none ("Etc/Unknown", an invalid number): the organisation's zone then applies."""
    key = _prefix_key(e164)
    found = _ZONES.get(key)
    if found is None:
        try:
            listed = time_zones_for_number(phonenumbers.parse(e164, None))
        except phonenumbers.NumberParseException:
            listed = ()
        found = tuple(z for z in listed if z != UNKNOWN_TIMEZONE and zone_problem(z) is None)
        if len(_ZONES) >= _MAX_REMEMBERED:
            _ZONES.clear()
        _ZONES[key] = found
    return found


# --- when a message may go ----------------------------------------------------------------------


def quiet_end(window: Window, zone: ZoneInfo, moment: datetime) -> datetime | None:
    """When the quiet hours `moment` falls in end in `zone` (UTC, after `moment`); None when it is
    not in them.

    The end is a wall-clock time on the right local day, so a night when the clocks change is
    as long as it really is. An end the clocks skip (02:30 the night they go forward) is the
    moment they jump; an end they read twice (02:30 the night they go back) is the first after
    `moment`: quiet hours end at the first 02:30, and a moment of the repeated hour that reads
    before 02:30 again is quiet until the second. Quiet hours begin at the first reading of their
    start: a moment the clocks put back before it after that is quiet too. A moment whose end
    would be past the last date there is (a Send at of 9999-12-31 kept on a draft) is not quiet:
    there is no end to wait for.
    """
    try:
        return _quiet_end(window, zone, moment)
    except OverflowError:
        return None


def _quiet_end(window: Window, zone: ZoneInfo, moment: datetime) -> datetime | None:
    local = moment.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    day = local.date()
    across = window.start > window.end
    if window.covers(clock):
        if across and clock >= window.start:
            day += timedelta(days=1)
        return _first_after(_readings(day, window.end, zone), moment)
    if clock >= window.start:
        return None
    # The clock reads before the start, but may have read it already today: the clocks went back
    # across it (a window from 01:30 and a moment of London's second 01:00-02:00). Quiet hours
    # began then, and last until the first end after their start.
    began = _readings(day, window.start, zone)[0]
    if began > moment:
        return None
    end = _first_after(_readings(day + timedelta(days=1 if across else 0), window.end, zone), began)
    return end if end is not None and end > moment else None


def _first_after(readings: list[datetime], moment: datetime) -> datetime | None:
    return next((reading for reading in readings if reading > moment), None)


def _readings(day: date, clock: time, zone: ZoneInfo) -> list[datetime]:
    """The UTC moments the clocks read `clock` on `day` in `zone`, earliest first: two in the hour
    repeated when they go back, else one; in a gap, the moment the clocks jump."""
    naive = datetime.combine(day, clock)
    first = naive.replace(tzinfo=zone).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) != naive:
        return [_jump(naive, zone, first)]
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return sorted({first, second})


def _jump(naive: datetime, zone: ZoneInfo, late: datetime) -> datetime:
    """The moment the clocks jump over `naive` (`late`: its reading with fold=0)."""
    # Skipped: fold=0 reads it with the offset before the jump (too late), fold=1 with the one
    # after (too early); the jump is between them. Seconds are enough: zones change on a second.
    early = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    before = early.astimezone(zone).utcoffset()
    low, high = early, late
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high


def until_all_free(window: Window, zones: Iterable[ZoneInfo], moment: datetime) -> datetime | None:
    """The first moment from `moment` when none of `zones` is in quiet hours; None when none is
    now. If their windows together leave no moment free (a long window over many zones), the
    latest of the ends of those quiet now."""
    zones = tuple(zones)
    at = moment
    for _ in range(4 * len(zones) + 4):
        ends = [end for zone in zones if (end := quiet_end(window, zone, at)) is not None]
        if not ends:
            return None if at == moment else at
        at = max(ends)
        if at - moment > timedelta(days=2):
            break
    return max(end for zone in zones if (end := quiet_end(window, zone, moment)) is not None)


def heeded_zones(
    listed: Iterable[str], office: str | None, organisation: str, moment: datetime
) -> tuple[ZoneInfo, ...]:
    """The zones whose quiet hours a number's message waits for, from the zones listed for it.

    None listed: the organisation's. Zones that agree on the time at `moment` count as one;
    where they disagree, the office's zone if listed, else the organisation's if listed, else
    all of them (careful: no one listed is woken).
    """
    names = tuple(listed)
    if not names:
        return (_zone(organisation),)
    for preferred in (office, organisation):
        if preferred and preferred in names:
            return (_zone(preferred),)
    distinct: dict[timedelta | None, ZoneInfo] = {}
    for name in names:
        zone = _zone(name)
        distinct.setdefault(moment.astimezone(zone).utcoffset(), zone)
    return tuple(distinct.values())


def _zone(name: str) -> ZoneInfo:
    """The zone called `name`; one that is not a zone (an office's stored before names were
    checked; the organisation's gives way to TIMEZONE in settings.organisation_zone) is UTC."""
    return first_zone(name)


def plan(window: Window, office: str | None, organisation: str) -> QuietUntil:
    """The QuietUntil for one sender: each number's end of quiet hours, memoised by its zones
    and the moment asked about (one Send asks for all its messages at one moment)."""
    remembered: dict[tuple[tuple[str, ...], datetime], datetime | None] = {}

    def quiet_until(e164: str, now: datetime) -> datetime | None:
        listed = number_zones(e164)
        key = (listed, now)
        if key not in remembered:
            zones = heeded_zones(listed, office, organisation, now)
            remembered[key] = until_all_free(window, zones, now)
        return remembered[key]

    return quiet_until


def planner(session: so.Session, sender: User, settings: QuietSettings | None) -> QuietUntil | None:
    """When quiet hours end for each number, for messages `sender` sends; None when they are off
    (no window stored on the Settings page, none in the environment)."""
    settings = settings or QuietSettings()
    found = window(session, settings)
    if found is None:
        return None
    office = sender.office.timezone if sender.office is not None else None
    return plan(found, office, organisation_zone(session, {"TIMEZONE": settings.organisation_zone}))


def planners(
    session: so.Session, sender_ids: Iterable[int | None], settings: QuietSettings | None
) -> dict[int | None, QuietUntil] | None:
    """`planner` for each of several senders at once (the worker's claim: one read of the
    setting, one of the senders and their offices); None when quiet hours are off. A message
    without a sender (or whose sender was removed) is planned with no office zone."""
    settings = settings or QuietSettings()
    found = window(session, settings)
    if found is None:
        return None
    organisation = organisation_zone(session, {"TIMEZONE": settings.organisation_zone})
    wanted = {sender_id for sender_id in sender_ids if sender_id is not None}
    offices = {
        user.id: user.office.timezone if user.office is not None else None
        for user in (session.scalars(sa.select(User).where(User.id.in_(wanted))) if wanted else ())
    }
    # One plan per office zone: its memo then serves every sender of that office.
    plans: dict[str | None, QuietUntil] = {}
    for office in {None, *offices.values()}:
        plans[office] = plan(found, office, organisation)
    return {sender_id: plans[offices.get(sender_id)] for sender_id in {None, *wanted}}


# --- what the pages say -------------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    """How many messages wait for quiet hours, and the first and last moment they go (UTC)."""

    count: int
    first: datetime
    last: datetime


def waiting(quiet: QuietUntil | None, numbers: Iterable[str], at: datetime) -> Waiting | None:
    """Of messages to `numbers` due `at`, those that would wait; None when none would."""
    if quiet is None:
        return None
    ends = [end for number in numbers if number and (end := quiet(number, at)) is not None]
    if not ends:
        return None
    return Waiting(len(ends), min(ends), max(ends))


@dataclass(frozen=True)
class Forecast:
    """What the SMS screen says: the window in force and the messages that would wait for it."""

    window: Window
    waiting: Waiting


def forecast(
    session: so.Session,
    sender: User,
    settings: QuietSettings | None,
    numbers: Iterable[str | None],
    at: datetime,
) -> Forecast | None:
    """Of a Send by `sender` to `numbers` going `at`, the messages that would wait for quiet
    hours; None when quiet hours are off or none would wait."""
    found = window(session, settings)
    quiet = planner(session, sender, settings) if found is not None else None
    waits = waiting(quiet, (n for n in numbers if n), at)
    return Forecast(found, waits) if found is not None and waits is not None else None


def waiting_in_batch(
    session: so.Session, batch_id: int, now: datetime | None = None
) -> Waiting | None:
    """A batch's messages still queued for the end of their quiet hours; None when none are."""
    now = now or utcnow()
    row = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.min(Message.quiet_until),
            sa.func.max(Message.quiet_until),
        ).where(
            Message.batch_id == batch_id,
            Message.state == QUEUED,
            Message.quiet_until > now,
        )
    ).one()
    return Waiting(row[0], row[1], row[2]) if row[0] else None
