"""The dashboard page: the last 30 days of sending as SVG charts, each with its data table."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user, login_required

from webapp import charts
from webapp.dashboard import bp
from webapp.dashboard.forms import DashboardFilterForm
from webapp.extensions import db
from webapp.models import Office, User
from webapp.sms import dashboard
from webapp.users import offices
from webapp.web.rendering import render
from webapp.web.times import user_zone

REFUSED = "You need the permission “audit.view” to see another user’s or an office’s figures."
OUTSIDE_TEAM = "With “Team views by office” on, you see the figures of your own office only."
NO_SUCH_USER = "There is no such user; choose one from the list."


def now() -> datetime:
    """The moment "today" is read from; tests and the bench replace this to fix the day."""
    return datetime.now(UTC)


@bp.route("/dashboard")
@login_required
def index():
    """Show the last 30 days of sending: messages by final state, delivery rate, failures by
    reason, replies and opt-outs, SMS parts; mine, or (with audit.view) anyone's or an office's."""
    form = DashboardFilterForm.read(request.args)
    wanted, problems = dict(form.filters), dict(form.problems)
    may_see_everyone = current_user.can("audit.view")
    team = None
    if not may_see_everyone:
        # Asking for someone else's figures (or filtering at all: a consultant has no filter) is
        # refused rather than quietly ignored, so a shared link never shows a consultant their
        # own figures under another person's name.
        typed = {name: (request.args.get(name) or "").strip() for name in wanted}
        if typed["office"] or (typed["user"] and wanted["user"] != current_user.id):
            abort(403, description=REFUSED)
        scope = dashboard.Scope(user_id=current_user.id)
    else:
        team = offices.team_of(db.session, current_user)
        _check_filters(wanted, problems, team)
        scope = dashboard.Scope(user_id=wanted["user"], office_id=wanted["office"], team=team)
    zone = user_zone()
    moment = now()
    figures = dashboard.figures(
        db.session, today=moment.astimezone(zone).date(), zone=zone, scope=scope, now=moment
    )
    users, office_list = {}, {}
    if may_see_everyone:
        users = dict(db.session.execute(_users(team)).all())
        office_list = {office.id: office.name for office in _offices(team)}
    return render(
        "dashboard/index.html",
        blocks=["results"],
        status=400 if problems else 200,
        errors=problems,
        board=figures,
        views=_views(figures),
        wanted=wanted,
        scope=scope,
        may_see_everyone=may_see_everyone,
        users=users,
        offices=office_list,
        subject=_subject(wanted, may_see_everyone, team, users),
        # A team leader limited to their office chooses among their team, not everyone.
        team_only=team is not None,
        state_names=dashboard.STATE_NAMES,
    )


def _check_filters(wanted: dict, problems: dict, team: offices.Team | None) -> None:
    """Refuse (403) a user or office outside a team-limited leader's team; name an id that is no
    user or office beside its field (and leave it out)."""
    if wanted["user"] is not None:
        user = db.session.get(User, wanted["user"])
        if user is None:
            problems["user"], wanted["user"] = NO_SUCH_USER, None
        elif team is not None and user.office_id != team.office_id:
            abort(403, description=OUTSIDE_TEAM)
    if wanted["office"] is not None:
        office = db.session.get(Office, wanted["office"])
        if office is None:
            problems["office"], wanted["office"] = offices.NO_SUCH_OFFICE, None
        elif team is not None and office.id != team.office_id:
            abort(403, description=OUTSIDE_TEAM)


def _offices(team: offices.Team | None) -> list[Office]:
    """The offices to choose from: every one, or a team-limited leader's own (if any)."""
    if team is None:
        return offices.all_offices(db.session)
    office = db.session.get(Office, team.office_id) if team.office_id is not None else None
    return [office] if office is not None else []


def _users(team: offices.Team | None) -> sa.Select:
    """The users to choose from, (id, name) by name, a shared name with its username: not as User
    objects, whose office, roles and permissions would load with them (three statements more for
    a list of names)."""
    query = sa.select(User.id, dashboard.user_label())
    query = query.order_by(sa.func.lower(User.full_name), User.id)
    return query.where(User.id.in_(team.members())) if team is not None else query


def _subject(
    wanted: dict, may_see_everyone: bool, team: offices.Team | None, users: dict[int, str]
) -> str:
    """Whose figures the page shows, in words; a user by their name in the list of `users`."""
    if not may_see_everyone:
        return "Your"
    office = db.session.get(Office, wanted["office"]) if wanted["office"] is not None else None
    if wanted["user"] is not None:
        name = users.get(wanted["user"]) or db.session.get(User, wanted["user"]).full_name
        # Both chosen: that user's figures if they belong to that office (not the two added).
        return f"{name}’s (in the {office.name} office)" if office else f"{name}’s"
    if office is not None:
        return f"The {office.name} office’s"
    return "Everyone’s" if team is None else "Your team’s"


def _views(figures: dashboard.Dashboard) -> dict:
    """The charts' geometry, from the figures the tables show."""
    labels = [f"{day.day.day} {day.day:%b}" for day in figures.days]
    states = [state for state, _ in dashboard.STATES]
    rates = [_rate_column(day) for day in figures.days]
    return {
        "labels": labels,
        "messages": charts.columns(labels, [(s, figures.series(s)) for s in states]),
        "rate": charts.columns(labels, [("rate", rates)], top=100),
        "failures": charts.bar_list(figures.failures),
        "replies": charts.columns(
            labels,
            [
                ("replies", [day.replies for day in figures.days]),
                ("opt_outs", [day.opt_outs for day in figures.days]),
            ],
            stacked=False,
        ),
        "parts": charts.columns(labels, [("parts", [day.parts for day in figures.days])]),
        "senders": charts.bar_list([(s.name, s.parts) for s in figures.senders]),
    }


def _rate_column(day: dashboard.Day) -> int:
    """A day's delivery rate column, in whole percent: a day with any delivered has a column,
    however low its rate ("no column" says none finished or none was delivered, and 1 in 250,
    0.4 %, would round to none); one with any not delivered falls short of 100, as its rate in
    the table (99.9 %) does."""
    delivered = day.states[dashboard.DELIVERED]
    if not delivered:
        return 0
    whole = round(day.delivery_rate)
    return whole if delivered == day.finished else min(max(whole, 1), 99)
