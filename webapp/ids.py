"""Read whole numbers (record ids, page numbers) from user input, safely for both databases."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL's integer; a bigger number would be a database error, not a 404


def as_id(text: str | None) -> int | None:
    """The number in `text` if it is plain ASCII digits within 1..MAX_ID, else None.

    str.isdigit() alone accepts "²" and "٣", which int() then refuses or reads unexpectedly.
    """
    text = (text or "").strip()
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: 1..MAX_ID, so an oversized id is a 404 rather than a database
    error."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)
