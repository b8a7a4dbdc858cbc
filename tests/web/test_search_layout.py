"""The search page's shape without JavaScript: filters other than Search and Status fold under
"More filters" unless one of them is set, and Bulk SMS comes after the list it acts on."""

from __future__ import annotations

import pytest

from tests.html_tree import Node, html

FOLDED = ["location", "job", "consent", "created_from", "created_to", "sort"]


def more_filters(doc: Node) -> Node:
    details = doc.one("form", id="search").one("details", class_="more-filters")
    assert details.one("summary").text == "More filters"
    return details


def field_names(node: Node) -> set[str]:
    return {n.get("name") for n in node.all() if n.tag in {"input", "select"} and n.get("name")}


def test_only_search_and_status_are_outside_more_filters(client, login):
    login("consultant")
    doc = html(client.get("/candidates"))
    details = more_filters(doc)
    assert "open" not in details.attrs
    assert field_names(details) == set(FOLDED)
    assert field_names(doc.one("form", id="search")) - field_names(details) == {"q", "status"}


@pytest.mark.parametrize(
    ("url", "opened"),
    [
        ("/candidates?q=Ada", False),
        ("/candidates?status=Active", False),
        ("/candidates?consent=any&sort=name", False),  # the defaults are not a filter
        ("/candidates?page=2", False),
        ("/candidates?location=Sydney", True),
        ("/candidates?job=nurse", True),
        ("/candidates?consent=no", True),
        ("/candidates?created_from=2025-01-02", True),
        ("/candidates?created_to=2025-01-02", True),
        ("/candidates?sort=-created", True),
        ("/contacts?client=Harbour", True),
        ("/contacts?position=Manager", True),
        ("/candidates?created_from=not-a-date", True),  # a problem is never folded away
        ("/candidates?sort=sideways", True),
        # Another kind's filter has no box here: nothing in the fold to show.
        ("/contacts?location=Sydney", False),
        ("/contacts?job=nurse", False),
        ("/contacts?location=%1B", False),  # named in the summary above the list
        ("/candidates?client=Harbour", False),
    ],
)
def test_more_filters_open_only_when_one_of_them_is_set(client, login, url, opened):
    login("consultant")
    response = client.get(url)
    assert response.status_code in (200, 400)
    assert ("open" in more_filters(html(response)).attrs) is opened


def test_bulk_sms_comes_after_the_rows_and_rows_carry_their_sms_link(client, login, ada):
    login("consultant")
    doc = html(client.get("/candidates"))
    order = [node.get("id") or node.get("class") for node in doc.one("section", id="results").all()]
    assert order.index("results-table") < order.index("bulk-sms")
    rows = doc.one("table", id="results-table").one("tbody").all("tr")
    assert len(rows) == 1
    for row in rows:
        person_id = row.one("input", class_="row-select").get("value")
        assert row.get("data-sms-url") == f"/sms/compose?candidate={person_id}"


def test_a_viewer_gets_no_sms_link_on_rows(client, login, ada):
    login("viewer")
    doc = html(client.get("/candidates"))
    rows = doc.one("table", id="results-table").one("tbody").all("tr")
    assert rows and all(row.get("data-sms-url") is None for row in rows)
