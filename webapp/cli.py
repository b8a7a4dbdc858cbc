"""The `flask --app wsgi ...` commands of DESIGN.md section 6."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import click
import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app
from flask.cli import with_appcontext

from webapp import config as settings
from webapp import migrate
from webapp.database import begin_write
from webapp.extensions import db
from webapp.people.kinds import KINDS


def init_app(app: Flask) -> None:
    app.cli.add_command(db_upgrade)
    app.cli.add_command(seed_demo)
    app.cli.add_command(create_user)
    app.cli.add_command(office_group)
    app.cli.add_command(import_command)
    app.cli.add_command(sms_group)
    app.cli.add_command(sms_account_group)


def _unreachable(error: sa.exc.DatabaseError) -> click.ClickException:
    reason = (str(error.orig or error).strip().splitlines() or ["no answer"])[0]
    return click.ClickException(
        f"The database did not answer ({reason}): check DATABASE_URL and that the database "
        "server is running."
    )


def _database_ready(wait_if_away: bool = False) -> None:
    """Stop with a message, not a traceback, when the database cannot be reached or does not
    have this version's tables (`db-upgrade` not run yet, or not since an upgrade). With
    `wait_if_away` a database not answering passes: the caller retries until it does."""
    try:
        with db.engine.connect() as connection:
            current = migrate.stored_revision(connection)
    except sa.exc.OperationalError as error:
        if wait_if_away:
            return
        raise _unreachable(error) from None
    except sa.exc.DatabaseError as error:  # a file that is not a database
        raise _unreachable(error) from None
    head = migrate.head_revision()
    if current is not None and current != head and not migrate.known_revision(current):
        raise click.ClickException(_newer_database(current))
    if current != head:
        raise click.ClickException(
            f"The database is at revision {current or 'none (empty)'} and this version of SMS "
            f"Desk needs {head}: run `flask db-upgrade` first."
        )


def _newer_database(revision: str) -> str:
    from webapp.sms.status import revision_problem  # as /readyz says it

    return revision_problem(revision)


@click.command("db-upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply all database migrations."""
    from alembic.util import CommandError

    try:
        with db.engine.connect() as connection:
            current = migrate.stored_revision(connection)
    except sa.exc.DatabaseError as error:  # OperationalError, or a file that is not one
        raise _unreachable(error) from None
    if current is not None and not migrate.known_revision(current):
        raise click.ClickException(_newer_database(current))
    try:
        migrate.upgrade(db.engine)
    except CommandError as error:  # Alembic's own refusal, said without its traceback
        raise click.ClickException(f"The database could not be upgraded: {error}") from None
    click.echo(f"Database at revision {migrate.current_revision(db.engine)}.")


@click.command("seed-demo")
@with_appcontext
@click.option("--candidates", default=5_000, show_default=True, type=click.IntRange(0))
@click.option("--contacts", default=1_000, show_default=True, type=click.IntRange(0))
@click.option("--clients", default=200, show_default=True, type=click.IntRange(1))
@click.option(
    "--if-empty", is_flag=True, help="Do nothing when the database already has people or clients."
)
def seed_demo(candidates: int, contacts: int, clients: int, if_empty: bool) -> None:
    """Fill an empty database with deterministic demo data and the four demo users."""
    _database_ready()
    from webapp.data import demo

    session = db.session
    if demo.has_people(session):
        if if_empty:
            click.echo("The database already has people or clients; demo data not added.")
            _print_demo_logins()
            return
        raise click.ClickException(
            "The database already has people or clients; seed an empty database."
        )

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
@click.option("--office", default=None, help="The name of an office (see `office add`).")
def create_user(
    username: str,
    role: str,
    email: str,
    mobile: str | None,
    full_name: str | None,
    office: str | None,
) -> None:
    """Create a user; the password is read from standard input."""
    from webapp.models import Role, User
    from webapp.models.people import EMAIL_PATTERN
    from webapp.phones import normalise
    from webapp.text import is_blank, plain_text_problem, visible
    from webapp.users import accounts, offices
    from webapp.users.accounts import USERNAME_PATTERN, password_problem

    _database_ready()
    username, email = username.strip(), email.strip()
    if full_name is not None:
        # As the user form takes it: trimmed, and never blank (no name wherever names show).
        full_name = full_name.strip()
        if is_blank(full_name):
            raise click.ClickException(
                "The full name is blank: leave --full-name out, or give one."
            )
    session = db.session
    role_row = session.scalar(sa.select(Role).where(Role.name == role))
    if role_row is None:
        names = ", ".join(session.scalars(sa.select(Role.name).order_by(Role.name)))
        raise click.ClickException(f"No role {role!r}; choose one of: {names}.")
    _refuse_taken(session, username)
    if not re.fullmatch(EMAIL_PATTERN, email):
        raise click.ClickException(f"{email!r} is not an email address.")
    for label, value in (("username", username), ("email", email), ("full name", full_name or "")):
        problem = plain_text_problem(f"The {label}", value)
        if problem:  # the web forms refuse these too: a line break would reach an email's header
            raise click.ClickException(problem)
    if full_name is not None:
        # Stored as the user form stores it: a soft hyphen or zero-width space pasted in shows
        # nothing, yet would make every SMS merging the sender's name Unicode.
        full_name = visible(full_name)
    # As the user form has them: a name it would refuse could never be saved there again.
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise click.ClickException(
            f"{username!r} is not a username: use letters, digits and . _ @ - only, with no spaces."
        )
    for label, value, column in (
        ("username", username, User.username),
        ("email", email, User.email),
        ("full name", full_name or "", User.full_name),
    ):
        if len(value) > column.type.length:
            raise click.ClickException(
                f"The {label} can be at most {column.type.length} characters."
            )
    office_row = offices.find_by_name(session, office) if office is not None else None
    if office is not None and office_row is None:
        raise click.ClickException(
            f"There is no office called {office.strip()!r}; add it first with `office add NAME`."
        )
    # Read as the web forms read it for this user: in their office's region, if it has one.
    parsed = normalise(mobile, offices.office_region(office_row, _region()))
    # As the user forms take it: any real number, in digits (shown in messages as the sender's
    # mobile, never texted).
    if (mobile or "").strip() and not parsed.real:
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
        mobile=parsed.e164 if parsed.real else None,
        office=office_row,
        roles=[role_row],
    )
    user.set_password(password)
    # Read, then written: on SQLite a write by the running app since the reads above (a worker's
    # heartbeat, a sign-in) would fail the INSERT at once. Take the write lock now, after the
    # slow hashing and the prompt, and ask again under it whether the name is free.
    begin_write(session)
    _refuse_taken(session, username)
    if holder := accounts.email_holder(session, email, None):
        # As the user form refuses it: single sign-on cannot tell the two apart.
        raise click.ClickException(f"The user {holder!r} already has the email address {email!r}.")
    session.add(user)
    accounts.audit_created(session, None, user)  # no user did it: as `office add`
    session.commit()
    click.echo(f"Created {username} ({role}).")


def _refuse_taken(session: so.Session, username: str) -> None:
    from webapp.models import User

    # Any case, as the user form decides it: "Admin" beside "admin" would leave neither editable.
    taken = session.scalar(
        sa.select(User.username).where(sa.func.lower(User.username) == username.lower())
    )
    if taken is not None:
        raise click.ClickException(f"A user named {taken!r} already exists.")


@click.group("office")
def office_group() -> None:
    """Offices: their users' default time zone and phone region."""


@office_group.command("add")
@click.argument("name")
@click.option("--timezone", default="", help="An IANA zone name, like Australia/Perth.")
@click.option("--region", default="", help="A country code for typed numbers, like AU or NZ.")
@with_appcontext
def office_add(name: str, timezone: str, region: str) -> None:
    """Add an office (audited, with no user as the actor)."""
    from webapp.errors import FieldError
    from webapp.users import offices

    _database_ready()
    details = offices.OfficeDetails(name=name, timezone=timezone, region=region)
    # Reads (is the name free?), then writes: on SQLite with the app running, take the write lock
    # first, or a write of the app's in between fails the INSERT at once ("database is locked").
    begin_write(db.session)
    try:
        office = offices.add_office(db.session, None, details)
    except FieldError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    click.echo(
        f"Added office {office.name} (time zone: {office.timezone or 'the organisation’s'}, "
        f"phone region: {office.region or 'the organisation’s'})."
    )


@click.command("import")
@with_appcontext
@click.argument("kind", type=click.Choice(KINDS.segments))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(kind: str, file: Path) -> None:
    """Import candidates or contacts from FILE.csv: every row, or none if any line is bad."""
    from webapp.data.csv_import import ImportFailed, import_people

    _database_ready()

    def progress(read: int, imported: int) -> None:
        click.echo(f"\r  {read:,} rows read, {imported:,} imported", nl=False, err=True)

    try:
        with _signals_interrupt():
            report = import_people(db.session, kind, file, _region(), progress=progress)
    except ImportFailed as failure:
        click.echo("", err=True)
        click.echo(f"Import of {file.name} failed. {failure}", err=True)
        raise SystemExit(1) from None
    click.echo("", err=True)
    if not report.ok:
        click.echo(f"Nothing imported: {len(report.errors)} bad line(s) in {file.name}:", err=True)
        for line, problem in report.errors:
            click.echo(f"  line {line}: {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"Imported {report.created:,} {kind}.")
    if report.kept_opted_out:
        click.echo(
            f"{len(report.kept_opted_out):,} kept opted out: their number replied STOP or "
            "unsubscribed at the gateway on another record, so they are imported with SMS "
            "unticked though the file says yes:"
        )
        for line, name, how in report.kept_opted_out:
            click.echo(f"  line {line}: {name}: their number {how}")
    if report.skipped:
        click.echo(
            f"{len(report.skipped):,} line(s) skipped, the person being there already "
            "(same name and mobile):"
        )
        for line, why in report.skipped:
            click.echo(f"  line {line}: {why}")
    if report.consent_withdrawn:
        click.echo(
            f"{len(report.consent_withdrawn):,} of them say sms_consent no for a person stored "
            "with consent: not applied (an import changes nobody already there); if it stands, "
            "change it on their record:"
        )
        for line, name in report.consent_withdrawn:
            click.echo(f"  line {line}: {name}: consent withdrawn in the file, not applied")
    if report.unparseable_mobiles:
        click.echo(
            f"{len(report.unparseable_mobiles)} mobile number(s) could not be read "
            "(imported, shown as invalid; they will not be sent to):"
        )
        for line, raw in report.unparseable_mobiles:
            click.echo(f"  line {line}: {raw}")
    if report.not_mobiles:
        click.echo(
            f"{len(report.not_mobiles)} number(s) are not mobiles "
            "(imported, shown as not a mobile; they will not be sent to):"
        )
        for line, raw, what in report.not_mobiles:
            click.echo(f"  line {line}: {raw} is {what}")


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a `timeout`, a service stopped, a closed terminal) stop the block as
    Ctrl+C does, by KeyboardInterrupt, so an import undoes what it wrote. Once: a second one
    while it undoes is ignored, or the rows written would stay after all."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return
    signals = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    interrupted = False

    def interrupt(_signum, _frame) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            raise KeyboardInterrupt

    before = {signum: signal.signal(signum, interrupt) for signum in signals}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


@click.group("sms")
def sms_group() -> None:
    """SMS sending."""


def _worker_rate(rate: float | None) -> float | None:
    """0 (no limit) or at least an SMS account's lowest rate: a claimed message is leased for as
    long as its wait, and a rate like 1e-12 overflowed the date, so every claim failed."""
    from webapp.sms.accounts import MIN_RATE

    if rate is not None and not (rate == 0 or rate >= MIN_RATE):  # NaN is neither
        raise click.BadParameter(f"use 0 for no limit, or {MIN_RATE} or more (not {rate:g}).")
    return rate


@sms_group.command("worker")
@click.option("--once", is_flag=True, help="Send what is due, then stop.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, settings.MAX_CONCURRENCY),
    default=None,
    help="Parallel gateway calls (default DISPATCH_CONCURRENCY).",
)
@click.option(
    "--rate",
    type=click.FloatRange(0),
    default=None,
    callback=lambda _ctx, _param, value: _worker_rate(value),
    help="Messages per second at most, 0 for no limit (default DISPATCH_RATE_PER_SECOND).",
)
@with_appcontext
def sms_worker(once: bool, concurrency: int | None, rate: float | None) -> None:
    """Send queued SMS until stopped (SIGTERM or Ctrl+C finish the calls in flight first)."""

    from webapp import worker

    # A running worker waits for a database that does not answer yet (it retries), as a one-off
    # run does not; one without this version's tables loops on tracebacks: said now.
    _database_ready(wait_if_away=not once)
    try:
        dispatcher = worker.build(current_app, concurrency=concurrency, rate_per_second=rate)
    except ValueError as error:  # a gateway setting that is missing or not usable
        raise click.ClickException(f"The SMS worker cannot start: {error}") from None
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
    if once and dispatcher.failed_steps:
        # Each step's error is logged and the run carries on: a cron job learns of it here.
        raise click.ClickException(
            f"{len(dispatcher.failed_steps)} step(s) failed: "
            f"{', '.join(dispatcher.failed_steps)} (see the errors logged above)."
        )


@click.group("sms-account")
def sms_account_group() -> None:
    """SMS accounts per office and destination country (the admin SMS accounts page's records)."""


@sms_account_group.command("add")
@click.argument("name")
@click.option("--provider", required=True, type=click.Choice(["smscentral", "twilio"]))
@click.option("--api-url", default="", help="SMS Central API (default SMSCENTRAL_API_URL).")
@click.option("--username", default="", help="SMS Central username.")
@click.option("--originator", default="", help="SMS Central sender ID.")
@click.option("--account-sid", default="", help="Twilio Account SID.")
@click.option("--from", "from_number", default="", help="Twilio From number.")
@click.option("--messaging-service-sid", default="", help="Twilio Messaging Service SID.")
@click.option("--webhook-username", default="", help="SMS Central webhook user name.")
@click.option("--office", "offices", multiple=True, help="An office it serves (repeatable).")
@click.option("--countries", default="", help="Destination countries it serves: NZ,FJ.")
@click.option("--rate", default="", help="Messages per second at most (default: no own limit).")
@with_appcontext
def sms_account_add(name: str, provider: str, **options) -> None:
    """Add an SMS account; its secrets are read from standard input, one a line (SMS Central:
    the API password, then the webhook password; Twilio: the auth token)."""
    from webapp.errors import FieldError
    from webapp.sms import account_secrets, accounts

    _database_ready()
    names = accounts.SECRET_NAMES[provider]
    if provider == "smscentral" and not options["webhook_username"]:
        names = ("password",)  # no webhook user: no webhook password to read
    secrets = {}
    for secret in names:
        label = accounts.SECRET_LABELS[secret]
        if sys.stdin.isatty():
            secrets[secret] = click.prompt(label, hide_input=True)
        else:
            secrets[secret] = sys.stdin.readline().rstrip("\r\n")
    details = accounts.AccountDetails(
        name=name,
        provider=provider,
        api_url=options["api_url"],
        username=options["username"],
        originator=options["originator"],
        account_sid=options["account_sid"],
        from_number=options["from_number"],
        messaging_service_sid=options["messaging_service_sid"],
        webhook_username=options["webhook_username"],
        rate_per_second=options["rate"],
        offices=tuple(options["offices"]),
        countries=options["countries"],
        secrets=secrets,
    )
    begin_write(db.session)  # as `office add`: reads, then writes
    try:
        account = accounts.add_account(
            db.session,
            None,
            details,
            account_secrets.key_material(current_app.config),
            default_api_url=current_app.config.get("SMSCENTRAL_API_URL", ""),
        )
    except FieldError as error:
        raise click.ClickException(f"{error.field}: {error.message}") from None
    click.echo(
        f"Added {account.name} ({accounts.PROVIDERS[provider]}), webhook name {account.slug}."
    )
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    for _purpose, url in accounts.webhook_urls(account, base):
        click.echo(f"  webhook: {url}")


@sms_account_group.command("list")
@with_appcontext
def sms_account_list() -> None:
    """List the SMS accounts (never their secrets)."""
    from webapp.sms import accounts

    _database_ready()
    provider = current_app.config.get("SMS_PROVIDER", "sandbox")
    click.echo(f"default\tDefault account (from the environment)\tSMS_PROVIDER={provider}")
    for account in accounts.all_accounts(db.session):
        click.echo(
            "\t".join(
                [
                    account.slug,
                    account.name,
                    accounts.PROVIDERS[account.provider],
                    accounts.sender(account) or "-",
                    "offices: " + (", ".join(o.name for o in account.offices) or "-"),
                    "countries: " + (",".join(r.region for r in account.countries) or "-"),
                    "active" if account.active else "off",
                ]
            )
        )
