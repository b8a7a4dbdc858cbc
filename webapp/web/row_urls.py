"""Links for the rows of a long table, built once per page instead of once per row."""

from __future__ import annotations

from flask import Flask, url_for

from webapp.ids import MAX_ID


def id_url(endpoint: str, param: str, **values) -> str:
    """url_for(endpoint, **values) with `param` left as `%d`, for Jinja's `format` filter:
    `{{ record_url|format(person.id) }}`.

    A results page links every row twice; routing each link through url_for costs more than the
    rest of the row. The URL is built once with a stand-in id and split around it. A filter, not
    a call: Jinja routes every call in a template through Context.call, which costs as much again.
    """
    slot = str(MAX_ID)
    url = url_for(endpoint, **values, **{param: MAX_ID})
    if url.count(slot) != 1:
        raise ValueError(f"cannot place an id in {url!r}")
    return "%d".join(part.replace("%", "%%") for part in url.split(slot))


def init_app(app: Flask) -> None:
    app.jinja_env.globals["id_url"] = id_url
