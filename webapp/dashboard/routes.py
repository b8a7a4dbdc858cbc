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


def now() -> datetime:
    """The moment "today" is read from; tests and the bench replace this to fix the day."""
    return datetime.now(UTC)


@bp.route("/dashboard")
@login_required
def index():
    """Show the last 30 days of sending: messages by final state, delivery rate, failures by
    reason, replies and opt-outs, SMS parts; mine, or (with audit.view) anyone's or an office's."""
    form = DashboardFilterForm.read(request.args)
    wanted = form.filters
    may_see_everyone = current_user.can("audit.view")
    if not may_see_everyone:
        # Asking for someone else's figures is refused rather than quietly ignored, so a shared
        # link never shows a consultant their own figures under another person's name.
        if wanted["office"] is not None or wanted["user"] not in (None, current_user.id):
            abort(403, description=REFUSED)
        scope = dashboard.Scope(user_id=current_user.id)
    else:
        scope = dashboard.Scope(
            user_id=wanted["user"],
            office_id=wanted["office"],
            team=offices.team_of(db.session, current_user),
        )
    zone = user_zone()
    figures = dashboard.figures(
        db.session, today=now().astimezone(zone).date(), zone=zone, scope=scope
    )
    users, office_list = ([], [])
    if may_see_everyone:
        users = list(db.session.scalars(_users(scope.team)))
        office_list = offices.all_offices(db.session)
    return render(
        "dashboard/index.html",
        blocks=["results"],
        status=400 if form.problems else 200,
        errors=form.problems,
        board=figures,
        views=_views(figures),
        wanted=wanted,
        scope=scope,
        may_see_everyone=may_see_everyone,
        users=users,
        offices=office_list,
        subject=_subject(wanted, may_see_everyone),
        state_names=dashboard.STATE_NAMES,
    )


def _users(team: offices.Team | None) -> sa.Select:
    query = sa.select(User).order_by(sa.func.lower(User.full_name), User.id)
    return query.where(User.id.in_(team.members())) if team is not None else query


def _subject(wanted: dict, may_see_everyone: bool) -> str:
    """Whose figures the page shows, in words."""
    if not may_see_everyone:
        return "Your"
    parts = []
    if wanted["user"] is not None:
        user = db.session.get(User, wanted["user"])
        parts.append(f"{user.full_name}’s" if user else "No such user’s")
    if wanted["office"] is not None:
        office = db.session.get(Office, wanted["office"])
        parts.append(f"the {office.name} office’s" if office else "no such office’s")
    if not parts:
        return "Everyone’s"
    said = " and ".join(parts)
    return said[0].upper() + said[1:]


def _views(figures: dashboard.Dashboard) -> dict:
    """The charts' geometry, from the figures the tables show."""
    labels = [f"{day.day.day} {day.day:%b}" for day in figures.days]
    states = [state for state, _ in dashboard.STATES]
    rates = [round(day.delivery_rate or 0) for day in figures.days]
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
