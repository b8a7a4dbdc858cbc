"""Messages shown after a redirect inside the section of the page they are about, with the focus on
them: the top of a long page, where the others show, is out of sight of the section saved."""

from __future__ import annotations

from flask import flash

# A flash category's start: the layout's list leaves these to the section's notice (notices.html).
SECTION = "section:"


def flash_in(section: str, message: str) -> None:
    """Say `message` in the section of the next page whose id is `section`."""
    flash(message, SECTION + section)
