"""Insert many rows at once through the database driver's fastest path (COPY on PostgreSQL,
executemany on SQLite), for Send's messages and comments and for the demo seed."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlalchemy.orm as so


def bound_values(
    table: sa.Table, rows: Sequence[dict], dialect: sa.Dialect
) -> tuple[list[str], list[list]]:
    """Column names, and each row's values as the driver takes them.

    Each value goes through its column type's bind processing once per distinct value of the
    column (a batch's rows share their timestamps): SQLAlchemy's own executemany processed
    every value of every row, which for 10,000 messages cost more than writing them. A column
    left out gets its scalar Python default, as an ORM or Core insert would give it.
    """
    if not rows:
        return [], []
    given = list(rows[0])
    defaults = {}
    for column in table.columns:
        if column.name in given or column.default is None:
            continue
        if not column.default.is_scalar:
            raise ValueError(f"{table.name}.{column.name} has a computed default; give it a value")
        defaults[column.name] = column.default.arg
    columns = given + list(defaults)
    processors = [table.c[name].type.bind_processor(dialect) for name in columns]
    caches: list[dict] = [{} for _ in columns]
    fill = list(defaults.values())
    values = []
    for row in rows:
        out = []
        for value, process, cache in zip(
            [row[name] for name in given] + fill, processors, caches, strict=True
        ):
            if process is not None and value is not None:
                try:
                    value = (
                        cache[value] if value in cache else cache.setdefault(value, process(value))
                    )
                except TypeError:  # unhashable (a JSON value): process it every time
                    value = process(value)
            out.append(value)
        values.append(out)
    return columns, values


def write_rows(
    session: so.Session, table: sa.Table, columns: list[str], values: list[list]
) -> None:
    """Write already bound values in the session's transaction; a database error is raised as
    SQLAlchemy's (IntegrityError and so on), as any other statement's would be."""
    if not values:
        return
    connection = session.connection()
    names = ", ".join(columns)
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(row) for row in values],
        )
        return
    statement = f"COPY {table.name} ({names}) FROM STDIN"
    error = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.driver_connection.cursor().copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    except error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, error) from exc


def insert_rows(session: so.Session, table: sa.Table, rows: Sequence[dict]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in the session's transaction."""
    columns, values = bound_values(table, rows, session.get_bind().dialect)
    write_rows(session, table, columns, values)
