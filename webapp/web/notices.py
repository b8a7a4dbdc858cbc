"""Messages shown after a redirect inside the section of the page they are about, with the focus on
them: the top of a long page, where the others show, is out of sight of the section saved."""

from __future__ import annotations

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response

# A flash category's start: the layout's list leaves these to the section's notice (notices.html)
# on the page they name, and shows them on any other (another tab's page may be the next loaded).
SECTION = "section:"


def back_to_section(
    endpoint: str, section: str, message: str, code: int = 302, **values
) -> Response:
    """A redirect to the page of `endpoint` (with `values`, url_for's), saying `message` in its
    section whose id is `section`."""
    flash(message, f"{SECTION}{endpoint}#{section}")
    return redirect(url_for(endpoint, **values), code)
