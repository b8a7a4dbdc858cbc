"""Read who was chosen from the search page's Bulk SMS form, or a record's mobile link."""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.datastructures import MultiDict

from webapp.ids import as_id
from webapp.models import people_search
from webapp.sms.compose import MAX_RECIPIENTS, ComposeError

CRITERIA_PREFIX = "criteria-"


def _ints(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        number = as_id(value)
        if number is None:
            raise ComposeError(f"“{value.strip()[:20]}” is not a record id.", "ids")
        ids.append(number)
    return ids


def from_link(args: Mapping[str, str]) -> tuple[str, list[int]]:
    """?candidate=<id> or ?contact=<id>: the single SMS from a record's mobile number."""
    for param, kind in (("candidate", "candidates"), ("contact", "contacts")):
        if param in args:
            return kind, _ints([args[param]])
    raise ComposeError("Open the SMS screen from a search or from a person's mobile number.", "ids")


def from_form(form: MultiDict, session, default_region: str) -> tuple[str, list[int]]:
    """The ticked ids, the page ("Select all"), or the search itself ("Select all N matching")."""
    kind = form.get("kind", "")
    if kind not in people_search.MODELS:
        raise ComposeError("Choose candidates or client contacts.", "kind")
    if form.get("select_matching"):
        args = {key[len(CRITERIA_PREFIX):]: value for key, value in form.items()
                if key.startswith(CRITERIA_PREFIX)}
        criteria, _page, errors = people_search.parse(kind, args)
        if errors:
            raise ComposeError("The search could not be repeated: " + " ".join(errors.values()), "ids")
        ids = people_search.matching_ids(session, criteria, default_region, MAX_RECIPIENTS + 1)
        if not ids:
            raise ComposeError("Nobody matches that search any more.", "ids")
        return kind, ids
    ids = _ints(form.getlist("ids"))
    if form.get("select_page"):
        ids += _ints(form.getlist("page_ids"))
    return kind, ids
