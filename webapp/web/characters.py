"""The `character` template filter: a character as a reader can tell it, named when it shows
nothing or next to nothing (a no-break space pasted from Word makes an SMS Unicode, three times
the parts, and shown as itself it is a blank between two words)."""

from __future__ import annotations

import unicodedata

from flask import Flask

# Spaces other than " ", format characters (zero-width space, soft hyphen), controls, and marks
# that sit on whatever comes before them.
_UNSEEN = {"Zs", "Zl", "Zp", "Cf", "Cc", "Mn", "Me"}
CONTROL_NAMES = {"\t": "tab", "\x0b": "vertical tab", "\x0c": "form feed"}


def init_app(app: Flask) -> None:
    app.add_template_filter(character, "character")


def character(ch: str) -> str:
    """`ch` itself, or its Unicode name and code point when it cannot be seen on its own:
    "no-break space (U+00A0)"."""
    if ch == " " or unicodedata.category(ch) not in _UNSEEN:
        return ch
    # Controls have no name in Unicode's table.
    name = unicodedata.name(ch, "").lower() or CONTROL_NAMES.get(ch, "control character")
    return f"{name} (U+{ord(ch):04X})"
