"""render(): a whole page, or only its named blocks when htmx asks for a part of it."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_blocks


def wants_fragment() -> bool:
    """True for an htmx request that swaps part of a page (not boosted, not a history restore)."""
    htmx = request.htmx
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(template: str, *, blocks: Sequence[str] = (), status: int = 200, **context) -> Response:
    """Render `template` whole, or just `blocks` of it for an htmx partial request."""
    fragment = bool(blocks) and wants_fragment()
    context["is_fragment"] = fragment
    if fragment:
        html = render_blocks(template, list(blocks), **context)
    else:
        html = render_template(template, **context)
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response
