"""The commands on a database they cannot use: unreachable, or without this version's tables (no
`db-upgrade` yet). Each says so and exits 1, never with a traceback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.util import CommandError

from webapp import cli, create_app, migrate
from webapp import config as settings

COMMANDS = {
    "seed-demo": (["seed-demo"], None),
    "create-user": (["create-user", "robin", "--role", "viewer", "--email", "r@example.com"], None),
    "office-add": (["office", "add", "Perth"], None),
    "import": (["import", "candidates", "{csv}"], None),
    "sms-account-add": (
        ["sms-account", "add", "Perth SMS", "--provider", "smscentral", "--username", "u"],
        "api-password\n",
    ),
    "sms-account-list": (["sms-account", "list"], None),
    # It printed SQLAlchemy's tracebacks, and with --once exited 0 (without, looped on them).
    "sms-worker": (["sms", "worker", "--once"], None),
}


def run(app, tmp_path, name: str):
    """Command `name` (of COMMANDS, or db-upgrade) as `flask` runs it, in an app context."""
    path = tmp_path / "people.csv"
    path.write_text("first_name,last_name,mobile,email,sms_consent\nAda,Lovelace,,,yes\n")
    args, stdin = COMMANDS.get(name, ([name], None))
    with app.app_context():
        return app.test_cli_runner().invoke(
            args=[arg.replace("{csv}", str(path)) for arg in args],
            input=stdin or "a-long-password-123\n",
        )


def run_on(url: str, tmp_path, name: str):
    """Command `name` run by an app of its own on the database at `url`."""
    app = create_app(settings.testing_config(url))
    try:
        return run(app, tmp_path, name)
    finally:
        app.extensions["database"].engine.dispose()


@pytest.mark.parametrize("name", [*COMMANDS, "db-upgrade"])
def test_a_command_on_an_unreachable_database_says_so(app_without_database, tmp_path, name):
    result = run(app_without_database, tmp_path, name)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "The database did not answer" in result.output
    assert "check DATABASE_URL" in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_a_command_on_a_database_without_its_tables_asks_for_db_upgrade(tmp_path, name):
    result = run_on(f"sqlite:///{tmp_path / 'new.sqlite3'}", tmp_path, name)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "The database is at revision none (empty)" in result.output
    assert "run `flask db-upgrade` first" in result.output


@pytest.mark.parametrize("name", [*COMMANDS, "db-upgrade"])
def test_a_command_on_a_file_that_is_no_database_says_so(tmp_path, name):
    path = tmp_path / "people.sqlite3"
    path.write_bytes(b"first_name,last_name\n" * 400)  # a CSV given as DATABASE_URL by mistake
    result = run_on(f"sqlite:///{path}", tmp_path, name)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert "The database did not answer (file is not a database)" in result.output


def at_revision(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


NEWER = (
    "The database is at revision 0999, which this version of SMS Desk does not know: a newer "
    "version upgraded it. Run that version, or restore the backup taken before its upgrade."
)


@pytest.mark.parametrize("name", [*COMMANDS, "db-upgrade"])
def test_a_command_on_a_database_a_newer_version_upgraded_says_so(database_url, tmp_path, name):
    """After going back to an older release it said "run `flask db-upgrade` first", and
    db-upgrade then died with Alembic's traceback (Can't locate revision)."""
    at_revision(database_url, "0999")

    result = run_on(database_url, tmp_path, name)

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert NEWER in result.output
    assert "db-upgrade" not in result.output


def test_db_upgrade_says_what_alembic_refused_without_a_traceback(
    database_url, tmp_path, monkeypatch
):
    def refuse(_engine, revision="head"):
        raise CommandError("Multiple head revisions are present")

    monkeypatch.setattr(migrate, "upgrade", refuse)

    result = run_on(database_url, tmp_path, "db-upgrade")

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception
    assert (
        "Error: The database could not be upgraded: Multiple head revisions are present"
        in result.output
    )


def test_a_running_worker_waits_for_a_database_that_does_not_answer(app_without_database):
    """`sms worker` without --once retries until the database answers: its check lets that pass
    (but not a database without its tables, tested above with --once)."""
    with app_without_database.app_context():
        assert cli._database_ready(wait_if_away=True) is None
