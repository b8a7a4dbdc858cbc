"""The SQL statements code under test sends, as they reach the driver: for tests that hold a page
or a function to the queries it may make."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def recorded(engine: sa.Engine) -> Iterator[list[str]]:
    """The statements `engine` runs while the block runs (SELECTs and all), in order."""
    seen: list[str] = []

    def note(_connection, _cursor, statement, *_args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def selects(statements: list[str]) -> list[str]:
    """Those of `statements` that read."""
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
