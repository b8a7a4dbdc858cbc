"""render(): a whole page, or only its named blocks when htmx asks for a part of it; render_list()
for the list pages."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, make_response, render_template, request
from jinja2_fragments.flask import render_blocks

from webapp.web.forms import FilterForm


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


def render_list(template: str, form: FilterForm, **context) -> Response:
    """A list page under its GET filters (`form`, validated): only the results block for htmx, and
    400 when a value was left out (named beside its field and in the summary above the list)."""
    errors = form.problems
    return render(
        template, blocks=["results"], status=400 if errors else 200, errors=errors, **context
    )
