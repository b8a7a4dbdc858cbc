"""Links for the rows of a long table, built once per page instead of once per row."""

from __future__ import annotations

from flask import Flask, url_for

from webapp.ids import MAX_ID


class IdUrl:
    """url_for(endpoint, **values) with `param` left open for a record id.

    A results page links every row twice; routing each link through url_for costs more than the
    rest of the row. The URL is built once with a stand-in id and split around it.
    """

    def __init__(self, endpoint: str, param: str, **values) -> None:
        slot = str(MAX_ID)
        url = url_for(endpoint, **values, **{param: MAX_ID})
        if url.count(slot) != 1:
            raise ValueError(f"cannot place an id in {url!r}")
        self.head, self.tail = url.split(slot)

    def __call__(self, record_id: int) -> str:
        return f"{self.head}{int(record_id)}{self.tail}"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["id_url"] = IdUrl
