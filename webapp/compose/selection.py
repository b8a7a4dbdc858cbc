"""Read who was chosen from the search page's Bulk SMS form, or a record's mobile link."""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.datastructures import MultiDict

from webapp.errors import FieldError
from webapp.ids import as_id
from webapp.people import search as people_search
from webapp.people.kinds import KINDS
from webapp.sms.compose import MAX_RECIPIENTS
from webapp.web.times import user_zone

CRITERIA_PREFIX = "criteria-"
# Sent (with the search form's fields as they are now) only by the htmx request: without JS the
# form posts the page it shows, and there is nothing newer to compare with.
SEARCH_AS_TYPED = "search_as_typed"
LIST_CHANGED = "The list changed; tick again."


def _ints(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        number = as_id(value)
        if number is None:
            raise FieldError(f"“{value.strip()[:20]}” is not a record id.", "ids")
        ids.append(number)
    return ids


def from_link(args: Mapping[str, str]) -> tuple[str, list[int]]:
    """?candidate=<id> or ?contact=<id>: the single SMS from a record's mobile number."""
    for kind in KINDS:
        if kind.singular in args:
            return kind.segment, _ints([args[kind.singular]])
    raise FieldError("Open the SMS screen from a search or from a person's mobile number.", "ids")


def shown_search(form: MultiDict) -> dict[str, str]:
    """The search the results (and so the ticks) were rendered for, from the Bulk SMS form."""
    return {
        key[len(CRITERIA_PREFIX) :]: value
        for key, value in form.items()
        if key.startswith(CRITERIA_PREFIX)
    }


def _list_changed(kind: str, form: MultiDict) -> bool:
    """True when the ticks came from a list rendered for another search than the one now typed.

    On a slow network a Bulk SMS sent just after a search carries the previous list's ticks; the
    results shown by the time its answer lands are the new search's. Both sides go through parse,
    so a value it drops (or trims) on one side is dropped on the other.
    """
    if not form.get(SEARCH_AS_TYPED):
        return False
    shown, _page, _errors = people_search.parse(kind, shown_search(form), user_zone())
    typed, _page, _errors = people_search.parse(kind, form, user_zone())
    return shown != typed


def from_form(form: MultiDict, session, default_region: str) -> tuple[str, list[int]]:
    """The ticked ids, the page ("Select all"), or the search itself ("Select all N matching")."""
    kind = form.get("kind", "")
    if kind not in KINDS.segments:
        raise FieldError("Choose candidates or client contacts.", "kind")
    if _list_changed(kind, form):
        raise FieldError(LIST_CHANGED, "ids", status=409)
    if form.get("select_matching"):
        # The created dates are read in the same zone as on the search page the ticks came from.
        criteria, _page, errors = people_search.parse(kind, shown_search(form), user_zone())
        if errors:
            raise FieldError(
                "The search could not be repeated: " + " ".join(errors.values()), "ids"
            )
        ids = people_search.matching_ids(session, criteria, default_region, MAX_RECIPIENTS + 1)
        if not ids:
            raise FieldError("Nobody matches that search any more.", "ids")
        return kind, ids
    ids = _ints(form.getlist("ids"))
    if form.get("select_page"):
        ids += _ints(form.getlist("page_ids"))
    return kind, ids
