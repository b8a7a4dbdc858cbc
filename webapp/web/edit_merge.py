"""Edit forms that never silently undo someone else's save: each carries the values it was opened
with (a hidden `loaded` field, JSON), and a save applies only the fields its user changed there,
taking everyone else's from the record as stored now. A field both changed, to different values,
is refused (409) with what it holds now, the user's values kept in the form for a second Save."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field, HiddenField

from webapp.errors import FieldError

LOADED = "loaded"
# Fields no record holds: the CSRF token and the loaded values themselves.
_NOT_VALUES = frozenset({"csrf_token", LOADED})
# How a field holding a number reads what is typed in it (webapp.sms.limits.parse_limit, say),
# raising FieldError for text it refuses.
Parser = Callable[[str], object]


def loaded_field() -> HiddenField:
    """The hidden field an edit form carries its loaded values in."""
    return HiddenField()


def stamp(form: FlaskForm) -> FlaskForm:
    """Set `form`'s loaded values to what it holds (a form filled from the stored record)."""
    form[LOADED].data = json.dumps(values(form))
    return form


def values(form: FlaskForm) -> dict[str, Any]:
    """Each of the record's fields in `form`, in a form two reads of it compare equal in: text
    stripped, nothing as "", a choice of many as a sorted list, a tick box as a bool."""
    return {name: _plain(field.data) for name, field in _fields(form)}


def merge(
    form: FlaskForm, stored: FlaskForm, parsers: Mapping[str, Parser] | None = None
) -> str | None:
    """Make `form` (as posted) what its save should write over `stored` (the form filled from the
    record as it is now, read under webapp.database.reread_for_update): the fields its user changed
    since it was loaded, the stored values for the rest. Return the refusal when a field its user
    changed was changed since by someone else to another value, `form` then holding its user's
    values where they changed a field (the stored ones elsewhere) and loaded afresh, so that a
    second Save keeps the user's values knowingly; None to go on and save.

    Fields with a parser in `parsers` (numbers) are compared by what it reads them as: see
    three_way. A post without loaded values (from no page of ours) is saved as posted, as before
    forms carried them."""
    loaded = read(form[LOADED].data)
    now = values(stored)
    form[LOADED].data = json.dumps(now)
    if loaded is None:
        return None
    typed = values(form)
    theirs, clashes = three_way(loaded, typed, now, parsers)
    for name in theirs:
        form[name].data = stored[name].data
    return refusal(
        f"{form[name].label.text} is now {shown(now[name], stored[name])}" for name in clashes
    )


def three_way(
    loaded: dict[str, Any],
    typed: dict[str, Any],
    now: dict[str, Any],
    parsers: Mapping[str, Parser] | None = None,
) -> tuple[list[str], list[str]]:
    """Of the fields in `typed` (as posted by a form opened with `loaded`), against `now` (as
    stored): the ones to take from `now` (changed by someone else, not by this user), and the
    ones changed by both to different values. A field its user changed keeps its typed value.

    A field with a parser in `parsers` is compared by the value it parses to: "1,000" typed in
    one tab is the 1000 saved from another, no clash (text the parser refuses, as typed)."""
    parsers = parsers or {}
    theirs, clashes = [], []
    for name, value in typed.items():
        was, mine, stored = (
            _compared(each, parsers.get(name)) for each in (loaded.get(name), value, now.get(name))
        )
        if mine != was and stored != was and mine != stored:
            clashes.append(name)
        elif stored != was and mine == was:
            theirs.append(name)
    return theirs, clashes


def _compared(value: Any, parse: Parser | None) -> Any:
    """`value` as three_way compares it: what `parse` reads the text as, in a tuple so that it
    never equals an unparsed value (a loaded None, from a page without the field, is no "")."""
    if parse is not None and isinstance(value, str):
        with suppress(FieldError):
            return (parse(value),)
    return value


def refusal(clashes: Iterable[str]) -> str | None:
    """The message refusing a save for these clashes ("Email is now “…”" each); None for none."""
    said = list(clashes)
    if not said:
        return None
    return (
        "This was saved from another tab or by someone else after you opened it: "
        + "; ".join(said)
        + ". Your changes are still below: Save again to keep them, or change them."
    )


def _fields(form: FlaskForm) -> Iterable[tuple[str, Field]]:
    # A form's `write_only` fields (secrets, never shown again) are left out: one typed is
    # always meant, and one left empty keeps the saved one anyway.
    skipped = _NOT_VALUES | frozenset(getattr(form, "write_only", ()))
    return ((name, field) for name, field in form._fields.items() if name not in skipped)


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return sorted(str(item) for item in value)
    return str(value).strip()


def read(text: str | None) -> dict | None:
    """The loaded values a form posted; None when it posted none (or not a JSON object)."""
    try:
        loaded = json.loads(text or "")
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" posted by hand
        return None
    return loaded if isinstance(loaded, dict) else None


def shown(value: Any, field: Field | None = None) -> str:
    """A stored value in a refusal: quoted, a choice by its field's label, a tick box in words."""
    if isinstance(value, bool):
        return "ticked" if value else "not ticked"
    labels = _choice_labels(field) if field is not None else {}
    if isinstance(value, list):
        return "“" + ", ".join(labels.get(item, item) for item in value) + "”" if value else "empty"
    label = labels.get(value, value)
    return f"“{label}”" if label else "empty"


def _choice_labels(field: Field) -> dict[str, str]:
    if not hasattr(field, "iter_choices"):
        return {}
    labels = {}
    for choice in field.iter_choices():
        # WTForms 3.3 gives Choice objects; earlier releases (value, label, selected, ...) tuples.
        value, label = (choice.value, choice.label) if hasattr(choice, "label") else choice[:2]
        labels[str(value)] = str(label)
    return labels
