"""What the GET filters of the list pages share: reading text, a date range and a page number as
typed, the reader's time zone the dates are days of, and the filters in force (a frozen dataclass)
as query-string values for page links."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import field, fields
from datetime import date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from webapp.ids import as_id
from webapp.text import filter_value
from webapp.times import end_of, start_of

UTC_ZONE = ZoneInfo("UTC")
# The days a date filter takes. Python's dates end at years 1 and 9999, and a day's bounds in a
# zone far from UTC (or the day after the last, for an end) would pass them; no record is dated
# outside these.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)
# Typed as a day is (a month 01-12 and a day 01-31), though the month may not have that day. ASCII
# digits only: "٢٠٢٦-01-01" is not a date typed wrong but no date.
_DAY_FORM = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", re.ASCII)


def zone_field() -> Any:
    """The zone a filter's dates are days in (the reader's): never in a link, since the page that
    reads the link reads it in its own reader's zone."""
    return field(default=UTC_ZONE, metadata={"in_link": False})


def day_bounds(
    first: date | None, last: date | None, zone: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """The UTC moments from the start of `first` to the end of `last` in `zone` (the end not
    included); None for a day not given."""
    return (
        start_of(first, zone) if first else None,
        end_of(last, zone) if last else None,
    )


def query_params(filters: Any, leave_out: Collection[str] = ()) -> dict[str, str]:
    """The fields of `filters` that differ from their defaults, as query-string values (a date in
    ISO form); `leave_out` names fields that never go in a link."""
    out = {}
    for f in fields(filters):
        value = getattr(filters, f.name)
        if f.name in leave_out or not f.metadata.get("in_link", True):
            continue
        if value in (None, "", f.default):
            continue
        out[f.name] = value.isoformat() if isinstance(value, date) else str(value)
    return out


def read_text(
    args: Mapping[str, str], labels: Mapping[str, str], most: int
) -> tuple[dict[str, str], dict[str, str]]:
    """Each labelled filter as typed (see filter_value), and the problem of each one that is wrong:
    (text, errors)."""
    text: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, label in labels.items():
        text[key], problem = filter_value(label, args.get(key), most)
        if problem:
            errors[key] = problem
    return text, errors


def is_iso_day(typed: str) -> bool:
    """Whether `typed` is a day written yyyy-mm-dd in ASCII digits (what a browser's date box
    holds; Python's own parse also takes 20260131 and week dates)."""
    if not _DAY_FORM.fullmatch(typed):
        return False
    try:
        date.fromisoformat(typed)
    except ValueError:
        return False
    return True


def filter_day(typed: str, label: str) -> tuple[date | None, str | None]:
    """A date filter as typed (ISO, "2026-01-31") as a day from FIRST_DAY to LAST_DAY, or the
    problem with it: (day, None) or (None, problem)."""
    try:
        day = date.fromisoformat(typed)
    except ValueError:
        if _DAY_FORM.fullmatch(typed):  # 2026-02-29: the form is right, the day is not
            return None, f"{label}: there is no such day as {typed}."
        return None, f"{label} must be a date like 2026-01-31, not “{typed}”."
    if not FIRST_DAY <= day <= LAST_DAY:
        return None, f"{label} must be a day from {FIRST_DAY.year} to {LAST_DAY.year}."
    return day, None


def date_range(
    text: Mapping[str, str], labels: Mapping[str, str], errors: dict[str, str]
) -> dict[str, date]:
    """The `date_from` and `date_to` filters (ISO dates as typed) as dates; one that is not a day
    filter_day takes, or a To before the From, is named in `errors` and left out."""
    dates = {}
    for key in ("date_from", "date_to"):
        if text[key]:
            day, problem = filter_day(text[key], labels[key])
            if problem:
                errors[key] = problem
            else:
                dates[key] = day
    if "date_from" in dates and "date_to" in dates and dates["date_from"] > dates["date_to"]:
        errors["date_to"] = f"{labels['date_to']} is before {labels['date_from']}."
        del dates["date_to"]
    return dates


def page_number(text: str, most: int, errors: dict[str, str], advice: str = "") -> int:
    """The page asked for (1 when none is); one that is not 1 to `most` is named in `errors`."""
    if not text:
        return 1
    number = as_id(text)
    if number is None or number > most:
        errors["page"] = f"Page must be a number from 1 to {most:,}{advice}."
        return 1
    return number
