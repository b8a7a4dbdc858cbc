"""Bulk SMS is tied to the list it was ticked on: the search page's form carries the search its
results were rendered for, and with JavaScript also the search as typed now; the server refuses
(409) ticks from a list rendered for another search. The browser side is in tests/e2e."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa

from tests.html_tree import html
from webapp.models import ComposeDraft

LIST_CHANGED = "The list changed; tick again."
# What hx-include="#search" adds for an untouched candidate search form.
SEARCH_FORM = {
    "q": "",
    "status": "",
    "location": "",
    "job": "",
    "consent": "any",
    "created_from": "",
    "created_to": "",
    "sort": "name",
}


def post_bulk(client, *, typed: dict | None = None, **form):
    """The Bulk SMS request: with `typed`, as htmx sends it (the search form as it is now)."""
    data = {"kind": "candidates", **form}
    if typed is not None:
        data |= {"search_as_typed": "1", **SEARCH_FORM, **typed}
    # Without JS a good selection redirects to the SMS screen (post/redirect/get): followed.
    return client.post(
        "/sms/compose", data=data, htmx=typed is not None, follow_redirects=typed is None
    )


def drafts(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ComposeDraft))


def test_ticks_from_a_list_rendered_for_another_search_are_refused(
    client, login, make_candidate, session
):
    """Ticks of the unfiltered list sent after "Lovelace" was searched, as a slow network can."""
    login("consultant")
    make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "0412 345 679")

    response = post_bulk(client, ids=[str(bob.id)], typed={"q": "Lovelace"})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert LIST_CHANGED in body
    assert "Bob Brown" not in body and 'id="compose-form"' not in body
    assert drafts(session) == 0

    # The same ticks with the search they were made on (spacing aside) open the SMS screen...
    response = post_bulk(client, ids=[str(bob.id)], typed={"q": "  "})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Bob Brown" in response.get_data(as_text=True)
    # ...and without JavaScript the form posts the page it shows, whatever is typed in Search.
    response = post_bulk(client, ids=[str(bob.id)], q="Lovelace")
    assert response.status_code == 200
    assert "Bob Brown" in response.get_data(as_text=True)


def test_select_all_matching_from_a_stale_list_is_refused(client, login, make_candidate, session):
    login("consultant")
    make_candidate("Ada", "Lovelace", "0412 345 678")
    make_candidate("Bob", "Brown", "0412 345 679")
    response = post_bulk(
        client,
        select_matching="1",
        **{"criteria-q": "Brown"},
        typed={"q": "Lovelace", "status": "Active"},
    )
    assert response.status_code == 409
    assert LIST_CHANGED in response.get_data(as_text=True)
    assert drafts(session) == 0

    response = post_bulk(
        client, select_matching="1", **{"criteria-q": "Brown"}, typed={"q": " Brown "}
    )
    assert response.status_code == 200
    assert "Bob Brown" in response.get_data(as_text=True)


def test_search_page_ties_bulk_sms_to_the_search(client, login, make_candidate):
    """The bulk form waits for (or is aborted by) a search and sends the search form with it; the
    search and the pager disable the tick boxes and Bulk SMS while the list is on its way."""
    make_candidate("Ada", "Lovelace", "0412 345 678")
    login("consultant")
    doc = html(client.get("/candidates?q=ada"))
    bulk = doc.one("form", id="bulk-sms")
    assert bulk.get("hx-sync") == "#search:abort"
    assert bulk.get("hx-include") == "#search"
    assert bulk.get("hx-vals") == '{"search_as_typed": "1"}'
    assert doc.one("input", name="criteria-q").get("value") == "ada"
    controls = doc.one("form", id="search").get("hx-disabled-elt")
    assert set(controls.split(", ")) == {
        "#select-page",
        "#select-matching",
        ".row-select",
        "#bulk-sms-button",
    }

    # A viewer has no tick boxes: a selector matching nothing would make htmx log an error.
    client.post("/logout")
    login("viewer")
    doc = html(client.get("/candidates?q=ada"))
    assert doc.one("form", id="search").get("hx-disabled-elt") is None


def test_pager_shares_the_search_sync_and_disables_the_ticks(client, login, make_candidate):
    for number in range(51):
        make_candidate("Bulk", f"Person{number:02d}", f"0412 345 {number:03d}")
    login("consultant")
    doc = html(client.get("/candidates?page=2"))
    link = doc.one("a", rel="prev")
    assert link.get("hx-sync") == "#search:drop"
    assert link.get("hx-disabled-elt") == doc.one("form", id="search").get("hx-disabled-elt")


def test_bulk_sms_help_says_another_page_clears_the_ticks(client, login, make_candidate):
    """A tick is for a row of this page (with JavaScript off too): the next page drops it, as a new
    search does, and the help beside Bulk SMS says both."""
    make_candidate("Ada", "Lovelace", "0412 345 678")
    login("consultant")
    doc = html(client.get("/candidates?q=ada"))
    assert doc.one("form", id="bulk-sms").one("span", id="bulk-help").text == (
        "Tick people first. Changing the search or the page clears the ticks."
    )


def test_back_to_the_search_from_a_refusal_keeps_the_search_and_its_filters(
    client, login, make_contact
):
    """Without JavaScript a Bulk SMS with nothing ticked is refused on a page of its own: its
    Back to the search goes to the list as it was, not to everyone."""
    make_contact("Jo", "Smith", "0412 345 678", position="Site manager", status="Active")
    make_contact("Al", "Smith", "0412 345 679", position="Driver", status="Active")
    login("consultant")
    search = {"q": "smith", "status": "Active", "position": "manager", "sort": "-created"}
    doc = html(client.get("/contacts", query_string=search))
    bulk = doc.one("form", id="bulk-sms")
    # The form as the browser posts it with nothing ticked: its hidden fields only.
    posted = {field.get("name"): field.get("value") for field in bulk.all("input", type="hidden")}
    posted.pop("page_ids")

    response = client.post("/sms/compose", data=posted)
    assert response.status_code == 400
    back = html(response).one("a", class_="compose-cancel").get("href")
    url = urlsplit(back)
    assert url.path == "/contacts"
    assert dict(parse_qsl(url.query)) == search


def test_back_to_the_search_leaves_out_a_value_the_search_would_drop(client, login):
    login("consultant")
    response = client.post(
        "/sms/compose",
        data={"kind": "candidates", "criteria-q": "ada", "criteria-status": "Nonsense"},
    )
    back = html(response).one("a", class_="compose-cancel").get("href")
    assert back == "/candidates?q=ada"


def test_a_candidate_filter_in_a_contacts_link_is_not_carried_into_bulk_sms(
    client, login, make_contact, session
):
    """/contacts?location=Syd (a bookmark, or a candidates link edited): contacts have no
    Location box, so the filter is not kept at all. Were it carried in the hidden fields, the
    search as typed (which has no such field) would never match them and every Bulk SMS would be
    refused as a changed list."""
    for number in range(51):
        make_contact("Bulk", f"Person{number:02d}", f"0412 345 {number:03d}")
    login("consultant")
    doc = html(client.get("/contacts?location=Syd&job=nurse&q=bulk"))
    search = doc.one("form", id="search")
    typed = {
        field.get("name"): field.get("value") or ""
        for field in search.all("input")
        if field.get("name")
    } | {"status": "", "consent": "any", "sort": "name"}
    assert "location" not in typed and "job" not in typed
    assert "open" not in search.one("details", class_="more-filters").attrs
    bulk = doc.one("form", id="bulk-sms")
    hidden = {field.get("name"): field.get("value") for field in bulk.all("input", type="hidden")}
    assert {name for name in hidden if name.startswith("criteria-")} == {"criteria-q"}
    next_page = urlsplit(doc.one("a", rel="next").get("href"))
    assert dict(parse_qsl(next_page.query)) == {"q": "bulk", "page": "2"}

    ticked = doc.all("input", class_="row-select", form="bulk-sms")[0].get("value")
    data = {**hidden, "ids": ticked, "search_as_typed": "1", **typed}
    response = client.post("/sms/compose", data=data, htmx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert LIST_CHANGED not in response.get_data(as_text=True)
    assert drafts(session) == 1
