"""Offices as records: added, edited and listed, each change audited; the office a user chooses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import form_tokens, settings_store
from webapp.errors import FieldError, FieldErrors
from webapp.models.activity import audit
from webapp.models.offices import Office
from webapp.models.users import User
from webapp.sms.settings import check_region
from webapp.text import as_seen, is_blank, plain_text_problem, visible
from webapp.times import check_zone

MAX_NAME = 120
NO_SUCH_OFFICE = "There is no such office; choose one from the list."
# The Settings page's "Team views by office" (a bool in the settings table).
TEAM_VIEWS_SETTING = "team_views_by_office"


@dataclass(frozen=True)
class OfficeDetails:
    """What the office form (or `office add`) submits: the texts as typed."""

    name: str
    timezone: str = ""
    region: str = ""


def all_offices(session: so.Session) -> list[Office]:
    """Every office, by name (any case)."""
    return list(session.scalars(sa.select(Office).order_by(sa.func.lower(Office.name), Office.id)))


def member_counts(session: so.Session) -> dict[int, int]:
    """{office id: how many users belong to it}, offices without users left out."""
    rows = session.execute(
        sa.select(User.office_id, sa.func.count(User.id))
        .where(User.office_id.is_not(None))
        .group_by(User.office_id)
    )
    return {office_id: count for office_id, count in rows}


def find_by_name(session: so.Session, name: str) -> Office | None:
    """The office called `name` as a reader sees it (any case, spaces and invisible characters
    aside: as_seen), or None. Compared in Python, as names are when an office is saved: SQLite's
    lower() knows only ASCII letters, and an organisation has a few dozen offices."""
    wanted = as_seen(name)
    if not wanted:
        return None
    # The oldest first: two saved before names were compared so may look alike.
    offices = session.scalars(sa.select(Office).order_by(Office.id))
    return next((office for office in offices if as_seen(office.name) == wanted), None)


def chosen(session: so.Session, office_id: int | None, field: str = "office") -> Office | None:
    """The office a form chose by id (None: no office); a FieldError for an id that is not one."""
    if office_id is None:
        return None
    office = session.get(Office, office_id)
    if office is None:
        raise FieldError(NO_SUCH_OFFICE, field)
    return office


@dataclass(frozen=True)
class Added:
    """What an Add office did: the office it added, or the one this form's token added before
    (`repeated`: the same submission sent again, nothing new written)."""

    office: Office
    repeated: bool = False


def add_office_once(
    session: so.Session, actor: User, details: OfficeDetails, *, token: str = ""
) -> Added:
    """Add an office from the Offices page's form, once per form: a repeat of a submission (its
    `token`, kept in the creation's audit event, already added the office of the name typed)
    returns that office instead of refusing the name as taken.

    The token is looked up and the office added under one lock (SQLite's write lock; on
    PostgreSQL the actor's row, FOR UPDATE), so two posts of one form racing add one office."""
    office, repeated = form_tokens.add_once(
        session,
        actor,
        token,
        "office.added",
        Office,
        lambda before: as_seen(before.name) == as_seen(details.name),
        lambda token: add_office(session, actor, details, form_token=token),
    )
    return Added(office, repeated)


def add_office(
    session: so.Session, actor: User | None, details: OfficeDetails, *, form_token: str = ""
) -> Office:
    """Add an office (audited `office.added`, keeping the form's `form_token`: see
    add_office_once); a FieldError names the field that is wrong."""
    office = Office()
    _apply(session, office, details)
    session.add(office)
    session.flush()
    once = {form_tokens.AUDITED_AS: form_token} if form_token else {}
    audit(session, actor, "office.added", office, **_snapshot(office), **once)
    session.commit()
    return office


def edit_office(
    session: so.Session, actor: User | None, office: Office, details: OfficeDetails
) -> dict[str, list[Any]]:
    """Change an office; returns {field: [old, new]}, audited `office.changed` when not empty."""
    before = _snapshot(office)
    _apply(session, office, details)
    after = _snapshot(office)
    changes = {key: [before[key], value] for key, value in after.items() if before[key] != value}
    if changes:
        audit(session, actor, "office.changed", office, name=office.name, changes=changes)
    session.commit()
    return changes


def phone_region(user: User | None, organisation_region: str) -> str:
    """The region national numbers `user` types are read in: their office's, else the
    organisation's."""
    return office_region(user.office if user is not None else None, organisation_region)


def office_region(office: Office | None, organisation_region: str) -> str:
    """`office`'s phone region, else the organisation's."""
    return (office.region if office is not None else None) or organisation_region


@dataclass(frozen=True)
class Team:
    """Whose work a team leader's "everyone's" views show when they are limited to an office: the
    users of `office_id` (None: the users with no office, like the leader)."""

    office_id: int | None

    def members(self) -> sa.Select:
        """The ids of the users in the team, for an IN condition."""
        if self.office_id is None:
            return sa.select(User.id).where(User.office_id.is_(None))
        return sa.select(User.id).where(User.office_id == self.office_id)

    def member_ids(self, session: so.Session) -> frozenset[int]:
        """The ids of the users in the team (an office's users: a few dozen)."""
        return frozenset(session.scalars(self.members()))


def team_of(session: so.Session, user: User) -> Team | None:
    """The team `user`'s "everyone's" views (Sent, Replies) are limited to, or None for everyone:
    limited only when "Team views by office" is on and the user cannot manage users (team
    leaders); administrators always see all."""
    if user.can("users.manage") or not team_views_by_office(session):
        return None
    return Team(user.office_id)


def team_views_by_office(session: so.Session) -> bool:
    """Whether team leaders' "everyone's" views show only their own office (off by default)."""
    return bool(settings_store.value(session, TEAM_VIEWS_SETTING))


def _apply(session: so.Session, office: Office, details: OfficeDetails) -> None:
    """Check every field first and only then change the office, so a refusal leaves it as it was;
    a refusal names every wrong field (FieldErrors), not only the first."""
    problems: list[FieldError] = []
    checked: list[str] = []
    for check in (
        lambda: _name(session, office, details.name),
        lambda: check_zone(details.timezone),
        lambda: check_region(details.region, "region"),
    ):
        try:
            checked.append(check())
        except FieldError as problem:
            problems.append(problem)
    FieldErrors.raise_any(problems)
    office.name, timezone, region = checked
    office.timezone = timezone or None
    office.region = region or None


def _name(session: so.Session, office: Office, typed: str) -> str:
    typed = (typed or "").strip()
    if is_blank(typed):  # a zero-width space alone is a link without a name, a blank choice
        raise FieldError("Enter the office’s name.", "name")
    problem = plain_text_problem("The name", typed)
    if problem:
        raise FieldError(problem, "name")
    # Stored without invisible characters: "Bris" + a zero-width space + "bane" read "Brisbane"
    # everywhere, yet made every SMS with {{sender_office}} in it Unicode, twice the parts.
    name = visible(typed)
    if len(name) > MAX_NAME:
        raise FieldError(f"The name can be at most {MAX_NAME} characters.", "name")
    # As a reader sees them, so "Perth", "perth" and "Perth" + a zero-width space cannot be three
    # offices (one choice shown twice in every list). Compared here, not in SQL: SQLite's lower()
    # knows only ASCII letters. An organisation has a few dozen offices.
    others = session.scalars(sa.select(Office.name).where(Office.id != (office.id or 0)))
    if any(as_seen(other) == as_seen(name) for other in others):
        raise FieldError(f"There is already an office called “{typed}”.", "name")
    return name


def _snapshot(office: Office) -> dict[str, Any]:
    return {"name": office.name, "timezone": office.timezone, "region": office.region}
