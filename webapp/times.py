"""Times as people read them: a UTC moment shown in a time zone with its abbreviation, and a day
typed in a time zone turned into the UTC moments that bound it (stored times stay UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from webapp.errors import FieldError

DEFAULT_ZONE = "Australia/Sydney"


# What the system's zone folder holds beside the zones: "localtime" (a link to the server's own,
# so times would follow the server), "Factory" ("-00"), and copies under other rules.
_NOT_ZONES = ("localtime", "Factory", "posixrules")
_NOT_ZONE_FOLDERS = ("posix/", "right/")


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted (for the Profile and Settings pickers)."""
    return tuple(
        sorted(
            name
            for name in available_timezones()
            if name not in _NOT_ZONES and not name.startswith(_NOT_ZONE_FOLDERS)
        )
    )


@cache
def _by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in zone_names()}


def canonical_zone(text: str | None) -> str:
    """A zone name as typed, trimmed, and spelled as the zone is ("utc" is UTC, "australia/perth"
    Australia/Perth); any other text as it is, for zone_problem to name."""
    name = (text or "").strip()
    return _by_folded_name().get(name.casefold(), name)


def zone_problem(name: str) -> str | None:
    """Why `name` is not a time zone, or None when it is one."""
    if name in zone_names():
        return None
    shown = f"“{name[:60]}” is not" if name else "Enter"
    return f"{shown} a time zone name like Australia/Sydney, Pacific/Auckland or UTC."


def check_zone(text: str | None, field: str = "timezone") -> str:
    """An IANA time zone name as typed ("Australia/Perth"), or "" for the default; a FieldError
    for `field` names any other text."""
    name = canonical_zone(text)
    if name and (problem := zone_problem(name)):
        raise FieldError(problem, field)
    return name


def zone(name: str | None, fallback: str = DEFAULT_ZONE) -> ZoneInfo:
    """The zone called `name`, else `fallback`'s (an empty or unknown name is not an error here:
    names are checked where they are typed, and a zone removed from the system must not break
    a page)."""
    return first_zone(name, fallback)


def first_zone(*names: str | None) -> ZoneInfo:
    """The first of `names` that is a zone (a stored "localtime", saved before names were checked,
    is passed over), else UTC."""
    for candidate in (*names, "UTC"):
        if candidate and zone_problem(candidate) is None:
            return ZoneInfo(candidate)
    raise ZoneInfoNotFoundError("UTC")  # pragma: no cover - every system has UTC


def user_zone(user: Any, organisation: str) -> ZoneInfo:
    """The zone `user`'s times are shown in: their own, else their office's, else `organisation`
    (the organisation's zone name), else UTC; a name that is not a zone is passed over. The one
    place that chain is decided: pages and reply emails."""
    office = getattr(user, "office", None)
    return first_zone(
        getattr(user, "timezone", None), getattr(office, "timezone", None), organisation
    )


def when(moment: datetime | None, where: tzinfo, *, seconds: bool = False) -> str:
    """`moment` (aware) as "2 Dec 2026, 9:05 am AEDT" in `where`; "" for no moment."""
    if moment is None:
        return ""
    local = moment.astimezone(where)
    clock = f"{local.hour % 12 or 12}:{local.minute:02d}"
    if seconds:
        clock += f":{local.second:02d}"
    return f"{day(local)}, {clock} {'am' if local.hour < 12 else 'pm'} {local.tzname()}"


def day(moment: datetime | date, where: tzinfo | None = None) -> str:
    """The calendar day as "2 Dec 2026": of `moment` in `where` when both are given."""
    if isinstance(moment, datetime) and where is not None:
        moment = moment.astimezone(where)
    return f"{moment.day} {moment.strftime('%b %Y')}"


def start_of(local_day: date, where: tzinfo) -> datetime:
    """The UTC moment `local_day` begins in `where`."""
    # Midnight with fold=0 is the first midnight of a day whose clocks go back at 00:00, and for a
    # zone whose clocks jump forward at 00:00 it resolves to the instant of the jump: the start.
    return datetime.combine(local_day, time.min, tzinfo=where).astimezone(UTC)


def end_of(local_day: date, where: tzinfo) -> datetime:
    """The UTC moment `local_day` ends in `where` (the next day's start; not inside the day)."""
    return start_of(local_day + timedelta(days=1), where)
