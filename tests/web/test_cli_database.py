"""The commands on a database they cannot use: unreachable, or without this version's tables (no
`db-upgrade` yet). Each says so and exits 1, never with a traceback."""

from __future__ import annotations

import pytest

from webapp import config as settings
from webapp import create_app

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
