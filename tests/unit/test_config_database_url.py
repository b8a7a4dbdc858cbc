"""DATABASE_URL: one SQLAlchemy cannot open stops the start with a message naming it and the forms
it may take, not with SQLAlchemy's traceback; Heroku's postgres:// is read as PostgreSQL."""

from __future__ import annotations

import pytest

from webapp.config import ConfigError, from_environment

SECRET = {"SECRET_KEY": "a-fixed-secret-for-the-test"}


def database_url(tmp_path, value: str) -> str:
    return from_environment({**SECRET, "DATABASE_URL": value}, tmp_path)["DATABASE_URL"]


@pytest.mark.parametrize(
    "value, said",
    [
        ("mysql://u:secret@db/sms", "must be SQLite or PostgreSQL"),
        ("ftp://u:secret@x", "must be SQLite or PostgreSQL"),
        ("postgresql+nodriver://u:secret@db/sms", "no driver postgresql+nodriver://"),
        ("sqlite+nodriver:///x.sqlite3", "no driver sqlite+nodriver://"),
        ("u:secret@db/sms", "is not a database URL"),
        ("smsdesk.sqlite3", "is not a database URL"),
    ],
)
def test_a_database_url_that_cannot_be_opened_is_refused_with_the_forms_it_may_take(
    tmp_path, value, said
):
    with pytest.raises(ConfigError, match="^DATABASE_URL") as refused:
        database_url(tmp_path, value)
    message = str(refused.value)
    assert said in message
    assert "sqlite:///" in message and "postgresql+psycopg://" in message
    assert "secret" not in message  # the password is not printed


def test_herokus_postgres_url_is_read_as_postgresql_with_psycopg(tmp_path):
    assert (
        database_url(tmp_path, "postgres://u:p%40ss@db.example:5432/sms?sslmode=require")
        == "postgresql+psycopg://u:p%40ss@db.example:5432/sms?sslmode=require"
    )


@pytest.mark.parametrize(
    "value",
    [
        "sqlite:////var/lib/sms-desk/smsdesk.sqlite3",
        "sqlite+pysqlite:///smsdesk.sqlite3",
        "postgresql+psycopg://smsdesk:pw@db-host/smsdesk",
    ],
)
def test_the_supported_forms_are_kept_as_they_are(tmp_path, value):
    assert database_url(tmp_path, value) == value
