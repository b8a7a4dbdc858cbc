"""The `flask --app wsgi ...` commands of DESIGN.md section 6."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp import migrate
from webapp.extensions import db
from webapp.people.kinds import KINDS


def init_app(app: Flask) -> None:
    app.cli.add_command(db_upgrade)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(import_command)
    app.cli.add_command(sms_group)


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply all database migrations."""
    migrate.upgrade(db.engine)
    click.echo(f"Database at revision {migrate.current_revision(db.engine)}.")


@click.command("seed-demo")
@with_appcontext
@click.option("--candidates", default=5_000, show_default=True, type=click.IntRange(0))
@click.option("--contacts", default=1_000, show_default=True, type=click.IntRange(0))
@click.option("--clients", default=200, show_default=True, type=click.IntRange(1))
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has people.")
def seed_demo(candidates: int, contacts: int, clients: int, if_empty: bool) -> None:
    """Fill an empty database with deterministic demo data and the four demo users."""
    from webapp.data import demo

    session = db.session
    if demo.has_people(session):
        if if_empty:
            click.echo("The database already has people; demo data not added.")
            _print_demo_logins()
            return
        raise click.ClickException("The database already has people; seed an empty database.")

    def progress(label: str, done: int, total: int) -> None:
        click.echo(f"\r  {label}: {done:,} of {total:,}", nl=done >= total, err=True)

    report = demo.seed(
        session,
        candidates=candidates,
        contacts=contacts,
        clients=clients,
        region=_region(),
        progress=progress,
    )
    click.echo(
        f"Seeded {report.clients:,} clients, {report.candidates:,} candidates, "
        f"{report.contacts:,} client contacts, {report.users} new users."
    )
    _print_demo_logins()


def _region() -> str:
    from webapp.sms.settings import default_region

    return default_region(db.session, current_app.config)


def _print_demo_logins() -> None:
    from webapp.data.demo import DEMO_PASSWORD, DEMO_USERS

    click.echo(f"Demo logins (password for each: {DEMO_PASSWORD}):")
    for username, _name, role, _office, _mobile in DEMO_USERS:
        click.echo(f"  {username:<11} {role}")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", required=True, help="administrator, team-leader, consultant or viewer")
@click.option("--email", required=True)
@click.option("--mobile", default=None)
@click.option("--full-name", default=None, help="Defaults to the username.")
def create_user(
    username: str, role: str, email: str, mobile: str | None, full_name: str | None
) -> None:
    """Create a user; the password is read from standard input."""
    from webapp.models import Role, User
    from webapp.phones import normalise
    from webapp.text import plain_text_problem
    from webapp.users.accounts import password_problem

    username = username.strip()
    session = db.session
    role_row = session.scalar(sa.select(Role).where(Role.name == role))
    if role_row is None:
        names = ", ".join(session.scalars(sa.select(Role.name).order_by(Role.name)))
        raise click.ClickException(f"No role {role!r}; choose one of: {names}.")
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise click.ClickException(f"A user named {username!r} already exists.")
    if "@" not in email:
        raise click.ClickException(f"{email!r} is not an email address.")
    for label, value in (("username", username), ("email", email), ("full name", full_name or "")):
        problem = plain_text_problem(f"The {label}", value)
        if problem:  # the web forms refuse these too: a line break would reach an email's header
            raise click.ClickException(problem)
    parsed = normalise(mobile, _region())
    if mobile and not parsed.valid:
        raise click.ClickException(f"{mobile!r} is not a valid mobile number.")

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        raise click.ClickException(problem)

    user = User(
        username=username,
        full_name=full_name or username,
        email=email,
        mobile=parsed.e164 if parsed.valid else None,
        roles=[role_row],
    )
    user.set_password(password)
    session.add(user)
    session.commit()
    click.echo(f"Created {username} ({role}).")


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(KINDS.segments))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(kind: str, file: Path) -> None:
    """Import candidates or contacts from FILE.csv: every row, or none if any line is bad."""
    from webapp.data.csv_import import import_people

    def progress(rows: int) -> None:
        click.echo(f"\r  {rows:,} rows read", nl=False, err=True)

    report = import_people(db.session, kind, file, _region(), progress=progress)
    click.echo("", err=True)
    if not report.ok:
        click.echo(f"Nothing imported: {len(report.errors)} bad line(s) in {file.name}:", err=True)
        for line, problem in report.errors:
            click.echo(f"  line {line}: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"Imported {report.created:,} {kind}.")
    if report.unparseable_mobiles:
        click.echo(
            f"{len(report.unparseable_mobiles)} mobile number(s) could not be read "
            "(imported, shown as invalid; they will not be sent to):"
        )
        for line, raw in report.unparseable_mobiles:
            click.echo(f"  line {line}: {raw}")


@click.group("sms")
def sms_group() -> None:
    """SMS sending."""


@sms_group.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, then stop.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Parallel gateway calls (default DISPATCH_CONCURRENCY).",
)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=None,
    help="Messages per second at most, 0 for no limit (default DISPATCH_RATE_PER_SECOND).",
)
@with_appcontext
def sms_worker(once: bool, concurrency: int | None, rate: float | None) -> None:
    """Send queued SMS until stopped (SIGTERM or Ctrl+C finish the calls in flight first)."""
    import signal

    from webapp import worker

    dispatcher = worker.build(current_app, concurrency=concurrency, rate_per_second=rate)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: dispatcher.stop())
    click.echo(
        f"SMS worker: {dispatcher.provider.name} gateway, "
        f"{dispatcher.settings.concurrency} at a time"
        + (
            f", at most {dispatcher.settings.rate_per_second:g}/s"
            if dispatcher.settings.rate_per_second
            else ""
        ),
        err=True,
    )
    # Supervised: an unexpected error is logged and the loop starts again; only a signal ends it.
    from webapp.sms.dispatcher import supervise

    try:
        handled = supervise(dispatcher, once=once)
    finally:
        dispatcher.provider.close()
    click.echo(f"SMS worker stopped after handling {handled} message(s).", err=True)
