"""The declarative base, naming conventions and the UTC timestamp type every model shares."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> sa.Index:
    """An index of only the rows `where` holds, on SQLite and PostgreSQL alike."""
    return sa.Index(
        name,
        *columns,
        unique=unique,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def index_where_set(name: str, *columns: str, unique: bool = False) -> sa.Index:
    """An index of the rows whose first column is set.

    For a column most rows leave empty (a message's person of the other kind, the message a reply
    answers): those rows then cost no index write, and a lookup `column = value` still uses the
    index on both databases, as it cannot match an empty column."""
    return partial_index(name, *columns, where=f"{columns[0]} IS NOT NULL", unique=unique)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """Stores naive UTC and returns aware UTC, so SQLite and PostgreSQL compare alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def key_string(length: int) -> sa.types.TypeEngine:
    """A string searched by prefix: byte order on PostgreSQL so a btree range is a prefix match."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


class Base(so.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
