"""The search pages /candidates and /contacts: the GET form, results, paging, sorting, fragments,
the Bulk SMS form ("Select all N matching"), permissions and bad query parameters."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.html_tree import Node, html
from tests.search_people import BY_NAME, OLDEST_FIRST, add_contacts, add_sortable, bulk_candidates
from webapp.people.search import COUNT_CAP


def row_names(doc: Node) -> list[str]:
    """The names in the results table, in order."""
    table = doc.one("table", class_="results")
    return [
        row.all("td")[1 if row.all("input") else 0].text for row in table.one("tbody").all("tr")
    ]


def heading(doc: Node) -> str:
    return doc.one("h2", id="results-heading").text


def refused(client, url: str) -> Node:
    """The search page for `url`, answered 400: the page with its errors and results."""
    response = client.get(url)
    assert response.status_code == 400
    return html(response)


def error_summary(doc: Node) -> str:
    return doc.one("div", class_="error-summary").text


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- signed out ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/candidates", "/contacts", "/candidates?q=ada&page=2"])
def test_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert query(response.headers["Location"])["next"] == [url]


# --- the GET form (works with JavaScript off) ----------------------------------------------------

CANDIDATE_FIELDS = {
    "q",
    "status",
    "location",
    "job",
    "consent",
    "created_from",
    "created_to",
    "sort",
}
CONTACT_FIELDS = {
    "q",
    "status",
    "client",
    "position",
    "consent",
    "created_from",
    "created_to",
    "sort",
}


@pytest.mark.parametrize(
    "url, fields", [("/candidates", CANDIDATE_FIELDS), ("/contacts", CONTACT_FIELDS)]
)
def test_search_form_is_a_real_get_form_with_every_filter_named(client, login, url, fields):
    login("consultant")
    response = client.get(url)
    assert response.status_code == 200
    form = html(response).one("form", id="search")
    assert form.get("method") == "get"
    assert form.get("action") == url
    assert form.get("hx-get") == url
    named = {
        node.get("name")
        for node in form.all()
        if node.tag in {"input", "select"} and node.get("name")
    }
    assert named == fields
    assert form.one("button", type="submit").text == "Search"


def test_search_field_is_labelled_search(client, login):
    login("viewer")
    doc = html(client.get("/candidates"))
    label = [node for node in doc.all("label") if node.get("for") == "q"]
    assert [node.text for node in label] == ["Search"]
    assert doc.one("input", id="q").get("name") == "q"


def test_results_page_keeps_every_value_that_was_searched_for(client, login):
    login("consultant")
    response = client.get(
        "/candidates?q=Zo%C3%AB&status=Placed&location=Sydney&job=nurse&consent=no"
        "&created_from=2025-01-02&created_to=2025-03-04&sort=-created"
    )
    assert response.status_code == 200
    form = html(response).one("form", id="search")
    values = {node.get("name"): node.get("value") for node in form.all("input")}
    assert values == {
        "q": "Zoë",
        "location": "Sydney",
        "job": "nurse",
        "created_from": "2025-01-02",
        "created_to": "2025-03-04",
    }
    selected = {
        select.get("name"): [
            o.get("value", o.text) for o in select.all("option") if "selected" in o.attrs
        ]
        for select in form.all("select")
    }
    assert selected == {"status": ["Placed"], "consent": ["no"], "sort": ["-created"]}


def test_contacts_page_keeps_client_and_position(client, login):
    login("consultant")
    form = html(client.get("/contacts?client=Harbour&position=Site+Manager")).one(
        "form", id="search"
    )
    values = {node.get("name"): node.get("value") for node in form.all("input")}
    assert (values["client"], values["position"]) == ("Harbour", "Site Manager")


# --- filters through the page --------------------------------------------------------------------


@pytest.fixture
def crowd(make_candidate):
    return {
        "ada": make_candidate(
            "Ada",
            "Lovelace",
            "0412 345 678",
            email="ada@example.com",
            status="Active",
            location="Sydney",
            job_title="Analyst",
            skills="Python, SQL",
            sms_consent=True,
            created_at=utc(2025, 1, 15, 10),
        ),
        "zoe": make_candidate(
            "Zoë",
            "Müller",
            "0413 000 001",
            email="zm@example.de",
            status="Placed",
            location="Melbourne",
            job_title="Registered Nurse",
            skills="Triage",
            sms_consent=False,
            created_at=utc(2025, 2, 15, 10),
        ),
        "grace": make_candidate(
            "Grace",
            "Hopper",
            "+61 413 000 002",
            email="grace@navy.example",
            status="Available",
            location="Sydney",
            job_title="Engineer",
            skills="COBOL",
            sms_consent=True,
            created_at=utc(2025, 3, 15, 10),
        ),
    }


@pytest.mark.parametrize(
    "params, expected",
    [
        ("q=ada", ["Ada Lovelace"]),
        ("q=LOVE", ["Ada Lovelace"]),
        ("q=lovelace+ada", ["Ada Lovelace"]),
        ("q=Ada+Lovelace", ["Ada Lovelace"]),
        ("q=z%C3%B6%C3%AB", ["Zoë Müller"]),  # "zöë": accents are not searched for
        ("q=zoe+muller", ["Zoë Müller"]),
        ("q=zoey", []),
        ("q=zo%C3%AB", ["Zoë Müller"]),
        ("q=M%C3%9CLLER", ["Zoë Müller"]),
        ("q=0412+345+678", ["Ada Lovelace"]),
        ("q=%2B61412345678", ["Ada Lovelace"]),
        ("q=%2804%29+1234+5678", ["Ada Lovelace"]),
        ("q=61+412+345+678", ["Ada Lovelace"]),
        ("q=0413000002", ["Grace Hopper"]),
        ("q=grace%40navy.example", ["Grace Hopper"]),
        ("q=GRACE%40", ["Grace Hopper"]),
        ("status=Placed", ["Zoë Müller"]),
        ("location=syd", ["Grace Hopper", "Ada Lovelace"]),
        ("job=nurse", ["Zoë Müller"]),
        ("job=cobol", ["Grace Hopper"]),
        ("consent=yes", ["Grace Hopper", "Ada Lovelace"]),
        ("consent=no", ["Zoë Müller"]),
        ("consent=any", ["Grace Hopper", "Ada Lovelace", "Zoë Müller"]),
        ("created_from=2025-02-01", ["Grace Hopper", "Zoë Müller"]),
        ("created_to=2025-02-15", ["Ada Lovelace", "Zoë Müller"]),
        ("created_from=2025-02-15&created_to=2025-02-15", ["Zoë Müller"]),
        ("location=sydney&consent=yes&job=eng&status=Available", ["Grace Hopper"]),
        ("q=ada&status=Placed", []),
    ],
)
def test_candidate_filters_narrow_the_results(client, login, crowd, params, expected):
    login("consultant")
    response = client.get(f"/candidates?{params}")
    assert response.status_code == 200
    doc = html(response)
    if expected:
        assert row_names(doc) == expected
    else:
        assert not doc.all("table", class_="results")
        assert "Nobody matches" in doc.one("section", id="results").text


@pytest.fixture
def contact_crowd(make_contact):
    add_contacts(make_contact)


@pytest.mark.parametrize(
    "params, expected",
    [
        ("client=harbour", ["Grace Hopper", "Alan Turing"]),
        ("client=%C3%B6stlund", ["Kath Johnson"]),
        ("client=mining", []),
        ("position=MANAGER", ["Grace Hopper", "Kath Johnson"]),
        ("client=harb&position=manager", ["Grace Hopper"]),
        ("q=turing", ["Alan Turing"]),
    ],
)
def test_contact_filters_narrow_the_results(client, login, contact_crowd, params, expected):
    login("consultant")
    response = client.get(f"/contacts?{params}")
    assert response.status_code == 200
    doc = html(response)
    assert (row_names(doc) if expected else []) == expected
    if not expected:
        assert "Nobody matches" in doc.one("section", id="results").text


def test_contact_rows_show_position_and_client(client, login, contact_crowd):
    login("consultant")
    row = (
        html(client.get("/contacts?q=turing")).one("table", class_="results").one("tbody").one("tr")
    )
    cells = [cell.text for cell in row.all("td")]
    assert "Payroll Officer" in cells and "Harbour Mining Pty Ltd" in cells


def test_candidates_page_does_not_list_contacts(client, login, make_candidate, make_contact):
    make_candidate("Ada", "Candidate", "0413 000 001")
    make_contact("Ada", "Contact", "0413 000 002")
    login("consultant")
    assert row_names(html(client.get("/candidates?q=ada"))) == ["Ada Candidate"]
    assert row_names(html(client.get("/contacts?q=ada"))) == ["Ada Contact"]


# --- count, paging and sorting -------------------------------------------------------------------


def test_heading_counts_the_matches(client, login, crowd):
    login("consultant")
    assert heading(html(client.get("/candidates"))) == "3 matching"
    assert heading(html(client.get("/candidates?q=ada"))) == "1 match"
    assert heading(html(client.get("/candidates?q=nobody"))) == "0 matching"


def test_first_page_shows_50_and_links_to_the_next_keeping_the_search(client, login, session):
    bulk_candidates(session, 51)
    login("consultant")
    doc = html(client.get("/candidates?q=person&sort=-name"))
    assert heading(doc) == "51 matching"
    assert len(row_names(doc)) == 50
    pager = doc.one("nav", aria_label="Pages")
    assert "Page 1 of 2" in pager.text
    assert not pager.all("a", rel="prev")
    next_link = pager.one("a", rel="next")
    assert next_link.text == "Next page"
    assert query(next_link.get("href")) == {"q": ["person"], "sort": ["-name"], "page": ["2"]}
    assert next_link.get("hx-get") == next_link.get("href")


def test_next_page_holds_the_rest_and_links_back(client, login, session):
    bulk_candidates(session, 51)
    login("consultant")
    first = row_names(html(client.get("/candidates?q=person")))
    response = client.get("/candidates?q=person&page=2")
    assert response.status_code == 200
    doc = html(response)
    assert row_names(doc) == ["Bulk00050 Person"]
    assert "Bulk00050 Person" not in first
    pager = doc.one("nav", aria_label="Pages")
    assert "Page 2 of 2" in pager.text
    assert not pager.all("a", rel="next")
    prev = pager.one("a", rel="prev")
    assert prev.text == "Previous page"
    assert query(prev.get("href")) == {"q": ["person"], "page": ["1"]}


def test_more_than_the_cap_of_matches_show_a_bounded_count(client, login, session):
    bulk_candidates(session, COUNT_CAP + 1)
    login("consultant")
    response = client.get("/candidates")
    assert response.status_code == 200
    doc = html(response)
    assert heading(doc) == f"More than {COUNT_CAP:,} matching"
    assert f"Select all {COUNT_CAP:,}+ matching" in doc.one("form", id="bulk-sms").text
    # What "N selected" says once Select all matching is ticked (shortcuts.js): the same bound.
    assert doc.one("output", id="selected-count").get("data-total") == f"{COUNT_CAP:,}+"
    pager = doc.one("nav", aria_label="Pages")
    assert " of " not in pager.text
    assert pager.one("a", rel="next")


def test_exactly_the_cap_of_matches_are_counted_exactly(client, login, session):
    bulk_candidates(session, COUNT_CAP)
    login("consultant")
    doc = html(client.get("/candidates"))
    assert heading(doc) == f"{COUNT_CAP:,} matching"
    assert doc.one("output", id="selected-count").get("data-total") == f"{COUNT_CAP:,}"
    assert f"Page 1 of {COUNT_CAP // 50}" in doc.one("nav", aria_label="Pages").text


@pytest.fixture
def sortable(make_candidate):
    add_sortable(make_candidate)


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("", BY_NAME),
        ("name", BY_NAME),
        ("-name", BY_NAME[::-1]),
        ("created", OLDEST_FIRST),
        ("-created", OLDEST_FIRST[::-1]),
    ],
)
def test_sorting_by_name_and_created_both_ways(client, login, sortable, sort, expected):
    login("consultant")
    response = client.get(f"/candidates?sort={sort}")
    assert response.status_code == 200
    assert row_names(html(response)) == expected


def test_sort_options_are_offered_in_the_form(client, login):
    login("consultant")
    select = html(client.get("/candidates")).one("select", name="sort")
    assert [option.get("value") for option in select.all("option")] == [
        "name",
        "-name",
        "-created",
        "created",
    ]


# --- full page, fragment and Vary ----------------------------------------------------------------


def test_full_page_varies_on_hx_request(client, login, crowd):
    login("consultant")
    response = client.get("/candidates?q=ada")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" in body and 'id="search"' in body and 'id="results"' in body
    assert "HX-Request" in response.headers.get("Vary", "")


def test_htmx_search_returns_only_the_results_section(client, login, crowd):
    login("consultant")
    response = client.get("/candidates?q=ada", htmx=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<head" not in body
    assert 'id="search"' not in body
    doc = html(response)
    top = [child for child in doc.children if not isinstance(child, str)]
    # The results, and (out of band) the text for the screen reader's live region.
    assert [(node.tag, node.get("id")) for node in top] == [
        ("div", "live-status"),
        ("section", "results"),
    ]
    assert row_names(doc) == ["Ada Lovelace"]


def test_htmx_search_updates_the_status_region_out_of_band(client, login, crowd):
    login("consultant")
    doc = html(client.get("/candidates", htmx=True))
    status = doc.one("div", id="live-status")
    assert status.get("hx-swap-oob") == "innerHTML"
    assert status.text == "3 candidates found"


def test_status_announcement_uses_the_singular_for_one_result(client, login, crowd, contact_crowd):
    login("consultant")
    assert (
        html(client.get("/candidates?q=ada", htmx=True)).one("div", id="live-status").text
        == "1 candidate found"
    )
    assert (
        html(client.get("/contacts?q=turing", htmx=True)).one("div", id="live-status").text
        == "1 client contact found"
    )


@pytest.mark.parametrize(
    "headers", [{"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}]
)
def test_boosted_and_history_restore_requests_get_the_whole_page(client, login, crowd, headers):
    login("consultant")
    response = client.get("/candidates?q=ada", htmx=True, headers=headers)
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    body = response.get_data(as_text=True)
    assert "<html" in body and 'id="search"' in body
    assert row_names(html(response)) == ["Ada Lovelace"]


def test_htmx_paging_returns_a_fragment_too(client, login, session):
    bulk_candidates(session, 51)
    login("consultant")
    response = client.get("/candidates?page=2", htmx=True)
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)
    assert row_names(html(response)) == ["Bulk00050 Person"]


# --- rows, tick boxes and the Bulk SMS form ------------------------------------------------------


def test_each_row_has_a_labelled_tick_box_tied_to_the_bulk_form(client, login, crowd):
    login("consultant")
    doc = html(client.get("/candidates"))
    boxes = doc.all("input", class_="row-select")
    assert {box.get("aria-label") for box in boxes} == {
        "Select Ada Lovelace",
        "Select Zoë Müller",
        "Select Grace Hopper",
    }
    assert {box.get("form") for box in boxes} == {"bulk-sms"}
    assert {box.get("type") for box in boxes} == {"checkbox"}
    assert {box.get("name") for box in boxes} == {"ids"}
    assert sorted(int(box.get("value")) for box in boxes) == sorted(p.id for p in crowd.values())
    select_all = doc.one("input", id="select-page")
    assert select_all.get("form") == "bulk-sms"
    assert select_all.parent.text == "Select all"


def test_mobile_links_to_the_sms_screen_for_that_candidate(client, login, crowd):
    login("consultant")
    doc = html(client.get("/candidates?q=ada"))
    # With the search, for the SMS screen's Cancel (test_row_sms_link_keeps_the_search).
    link = doc.one("a", href=f"/sms/compose?candidate={crowd['ada'].id}&criteria-q=ada")
    assert link.text == "SMS 0412 345 678"  # "SMS " is visually hidden: the link's name


def test_mobile_links_to_the_sms_screen_for_that_contact(client, login, make_contact):
    contact = make_contact("Grace", "Hopper", "0413 222 333")
    login("consultant")
    doc = html(client.get("/contacts"))
    assert doc.one("a", href=f"/sms/compose?contact={contact.id}").text == "SMS 0413 222 333"


def test_name_links_to_the_record(client, login, crowd):
    login("consultant")
    doc = html(client.get("/candidates?q=ada"))
    assert doc.one("a", href=f"/candidates/{crowd['ada'].id}").text == "Ada Lovelace"


def test_row_links_are_url_for_with_the_id_placed_once(app):
    # The row links are built once per page as a `format` template; a `%` that url_for encoded
    # stays as it was, and a URL the id cannot be placed in exactly once is refused.
    from flask import url_for

    from webapp.ids import MAX_ID
    from webapp.web.row_urls import id_url

    with app.test_request_context():
        record = id_url("records.show", "person_id", kind="candidates")
        assert record % 42 == url_for("records.show", kind="candidates", person_id=42)
        sms = id_url("compose.compose", "candidate", note="50% off")
        assert "%25" in sms % 7
        assert sms % 7 == url_for("compose.compose", note="50% off", candidate=7)
        with pytest.raises(ValueError, match="cannot place an id"):
            id_url("compose.compose", "candidate", contact=MAX_ID)


def test_missing_and_invalid_mobiles_are_shown_without_a_link(client, login, make_candidate):
    make_candidate("Nomo", "Bile", None)
    bad = make_candidate("Inva", "Lid", "12345")
    login("consultant")
    doc = html(client.get("/candidates"))
    rows = {row.all("td")[1].text: row for row in doc.one("tbody").all("tr")}
    assert rows["Nomo Bile"].all("td")[2].text == "No mobile"
    assert rows["Inva Lid"].all("td")[2].text == "12345 invalid number"
    assert not doc.all("a", href=f"/sms/compose?candidate={bad.id}")


def test_consent_is_shown_as_text(client, login, crowd):
    login("consultant")
    doc = html(client.get("/candidates"))
    consent = {row.all("td")[1].text: row.all("td")[3].text for row in doc.one("tbody").all("tr")}
    assert consent == {"Ada Lovelace": "Yes", "Zoë Müller": "No", "Grace Hopper": "Yes"}


def test_bulk_form_carries_the_search_and_the_page(client, login, crowd):
    login("consultant")
    response = client.get(
        "/candidates?location=sydney&consent=yes&created_from=2025-01-01&sort=-created"
    )
    form = html(response).one("form", id="bulk-sms")
    assert form.get("method") == "post"
    assert form.get("action") == "/sms/compose"
    assert form.get("hx-post") == "/sms/compose"
    hidden = [(node.get("name"), node.get("value")) for node in form.all("input", type="hidden")]
    assert ("kind", "candidates") in hidden
    assert any(name == "csrf_token" and value for name, value in hidden)
    criteria = {name: value for name, value in hidden if name.startswith("criteria-")}
    assert criteria == {
        "criteria-location": "sydney",
        "criteria-consent": "yes",
        "criteria-created_from": "2025-01-01",
        "criteria-sort": "-created",
    }
    assert sorted(int(v) for n, v in hidden if n == "page_ids") == sorted(
        [crowd["ada"].id, crowd["grace"].id]
    )
    box = form.one("input", name="select_matching")
    assert (box.get("type"), box.get("value")) == ("checkbox", "1")
    assert "Select all 2 matching" in box.parent.text
    assert "Bulk SMS" in form.one("button", type="submit").text


def test_contacts_bulk_form_says_contacts(client, login, contact_crowd):
    login("consultant")
    form = html(client.get("/contacts?client=harbour")).one("form", id="bulk-sms")
    assert form.one("input", name="kind").get("value") == "contacts"
    assert form.one("input", name="criteria-client").get("value") == "harbour"


def test_bulk_form_without_filters_carries_no_criteria(client, login, crowd):
    login("consultant")
    form = html(client.get("/candidates")).one("form", id="bulk-sms")
    assert not [
        node for node in form.all("input") if (node.get("name") or "").startswith("criteria-")
    ]


def test_select_all_matching_opens_the_sms_screen_for_exactly_the_matching_people(
    client, login, crowd, session
):
    bulk_candidates(session, 60, last_name="Other")  # a busy database; none of them match
    login("consultant")
    form = html(client.get("/candidates?location=sydney&consent=yes")).one("form", id="bulk-sms")
    data = {
        node.get("name"): node.get("value")
        for node in form.all("input", type="hidden")
        if node.get("name") not in {"page_ids", "csrf_token"}
    }
    data["select_matching"] = "1"
    response = client.post("/sms/compose", data=data, follow_redirects=True)
    assert response.status_code == 200
    doc = html(response)
    assert doc.one("h1", id="compose-heading").text == "SMS to 2 people"
    recipients = doc.one("fieldset", id="recipients").text
    assert "Ada Lovelace" in recipients and "Grace Hopper" in recipients
    assert "Zoë Müller" not in recipients and "Other" not in recipients


def test_select_all_matching_reaches_beyond_the_first_page(client, login, session, make_candidate):
    bulk_candidates(session, 75, last_name="Match")
    make_candidate("Not", "Included", "0413 999 999")
    login("consultant")
    response = client.post(
        "/sms/compose",
        data={"kind": "candidates", "criteria-q": "match", "select_matching": "1"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    doc = html(response)
    # All 75 share one mobile, so one is sent and 74 are duplicates; all 75 were selected.
    counts = doc.one("section", class_="outcomes").text
    assert "74 Same number as another recipient" in counts
    assert "Not Included" not in response.get_data(as_text=True)


def test_select_all_matching_for_contacts_uses_client_and_position(client, login, contact_crowd):
    login("consultant")
    response = client.post(
        "/sms/compose",
        data={
            "kind": "contacts",
            "criteria-client": "harbour",
            "criteria-position": "manager",
            "select_matching": "1",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    doc = html(response)
    assert doc.one("h1", id="compose-heading").text == "SMS to 1 person"
    recipients = doc.one("fieldset", id="recipients").text
    assert "Grace Hopper" in recipients
    assert "Alan Turing" not in recipients and "Kath Johnson" not in recipients


def test_ticked_rows_without_select_matching_send_only_those(client, login, crowd):
    login("consultant")
    response = client.post(
        "/sms/compose",
        data={
            "kind": "candidates",
            "ids": [str(crowd["grace"].id)],
            "page_ids": [str(p.id) for p in crowd.values()],
            "criteria-q": "a",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    doc = html(response)
    assert doc.one("h1", id="compose-heading").text == "SMS to 1 person"
    assert "Grace Hopper" in doc.one("fieldset", id="recipients").text
    assert "Ada Lovelace" not in doc.one("fieldset", id="recipients").text


@pytest.mark.parametrize("url", ["/candidates", "/contacts"])
def test_viewer_sees_no_bulk_sms_button_and_no_tick_boxes(client, login, crowd, contact_crowd, url):
    login("viewer")
    response = client.get(url)
    assert response.status_code == 200
    doc = html(response)
    assert row_names(doc)  # the results themselves are shown
    assert not doc.all("form", id="bulk-sms")
    assert not doc.all("input", type="checkbox")
    assert not [button for button in doc.all("button") if "Bulk SMS" in button.text]
    assert not [a for a in doc.all("a") if (a.get("href") or "").startswith("/sms/compose")]


def test_viewer_sees_the_mobile_as_plain_text(client, login, crowd):
    login("viewer")
    doc = html(client.get("/candidates?q=ada"))
    assert doc.one("tbody").one("tr").all("td")[1].text == "0412 345 678"


def test_viewer_sees_no_add_link(client, login):
    login("viewer")
    assert not html(client.get("/candidates")).all("a", href="/candidates/new")
    assert not html(client.get("/contacts")).all("a", href="/contacts/new")


def test_consultant_sees_the_add_links(client, login):
    login("consultant")
    assert html(client.get("/candidates")).one("a", href="/candidates/new").text == "Add candidate"
    assert html(client.get("/contacts")).one("a", href="/contacts/new").text == "Add client contact"


# --- bad query parameters ------------------------------------------------------------------------


def test_unknown_sort_is_400_with_the_message_and_results_sorted_by_name(client, login, sortable):
    login("consultant")
    response = client.get("/candidates?sort=salary")
    assert response.status_code == 400
    assert "HX-Request" in response.headers.get("Vary", "")
    doc = html(response)
    assert "Unknown sort order" in error_summary(doc)
    assert row_names(doc) == BY_NAME
    assert doc.one("select", name="sort").get("aria-invalid") == "true"


@pytest.mark.parametrize("page", ["-1", "0", "abc", "999999", "1.5", "²"])
def test_a_page_that_is_not_a_page_number_is_400_and_shows_page_one(client, login, crowd, page):
    login("consultant")
    doc = refused(client, f"/candidates?page={page}")
    assert "Page must be a number" in error_summary(doc)
    assert len(row_names(doc)) == 3


def test_a_page_beyond_the_last_but_in_range_says_there_is_no_such_page(client, login, crowd):
    login("consultant")
    response = client.get("/candidates?q=a&page=7")
    assert response.status_code == 200
    doc = html(response)
    results = doc.one("section", id="results")
    assert "There is no page 7 of these results" in results.text
    [back] = [a for a in results.all("a") if a.text == "Go to the first page"]
    assert urlsplit(back.get("href")).path == "/candidates"
    assert query(back.get("href")) == {"q": ["a"], "page": ["1"]}


@pytest.mark.parametrize(
    "field, label", [("created_from", "Created from"), ("created_to", "Created to")]
)
@pytest.mark.parametrize("raw", ["2025-13-40", "tomorrow", "31%2F01%2F2025"])
def test_a_malformed_date_is_400_naming_the_field(client, login, crowd, field, label, raw):
    login("consultant")
    doc = refused(client, f"/candidates?{field}={raw}")
    assert f"{label} must be a date" in error_summary(doc)
    control = doc.one("input", name=field)
    assert control.get("aria-invalid") == "true"
    assert control.get("aria-describedby") == f"{field}-error"
    assert doc.one("span", id=f"{field}-error").text.startswith(label)
    assert len(row_names(doc)) == 3


def test_a_status_not_in_the_list_is_400(client, login, crowd):
    login("consultant")
    doc = refused(client, "/candidates?status=Retired")
    assert "Status must be one of Active, Available, Placed, Inactive" in error_summary(doc)
    assert len(row_names(doc)) == 3


def test_a_contact_status_only_candidates_have_is_400(client, login, contact_crowd):
    login("consultant")
    assert client.get("/contacts?status=Placed").status_code == 400


def test_an_unknown_consent_value_is_400(client, login, crowd):
    login("consultant")
    response = client.get("/candidates?consent=maybe")
    assert response.status_code == 400
    assert len(row_names(html(response))) == 3


def test_created_from_after_created_to_is_400(client, login, crowd):
    login("consultant")
    doc = refused(client, "/candidates?created_from=2025-03-01&created_to=2025-02-01")
    assert "Created to is before Created from" in error_summary(doc)
    # The "to" date is dropped; the "from" date still applies.
    assert row_names(doc) == ["Grace Hopper"]


def test_bad_parameters_on_an_htmx_request_return_the_fragment_with_400(client, login, crowd):
    login("consultant")
    response = client.get("/candidates?sort=salary", htmx=True)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "<html" not in body
    assert "Unknown sort order" in body
    assert "HX-Request" in response.headers.get("Vary", "")


def test_a_bad_parameter_keeps_the_other_filters(client, login, crowd):
    login("consultant")
    response = client.get("/candidates?location=melb&page=0")
    assert response.status_code == 400
    assert row_names(html(response)) == ["Zoë Müller"]


def test_select_all_matching_with_criteria_that_do_not_parse_is_refused(client, login, crowd):
    login("consultant")
    response = client.post(
        "/sms/compose",
        data={"kind": "candidates", "criteria-status": "Retired", "select_matching": "1"},
    )
    assert response.status_code == 400
    assert "could not be repeated" in response.get_data(as_text=True)


def test_page_text_is_escaped(client, login, make_candidate):
    make_candidate("<script>x</script>", "Evil", "0413 000 001")
    login("consultant")
    response = client.get("/candidates?q=%3Cb%3E")
    body = response.get_data(as_text=True)
    assert "<b>" not in body and "&lt;b&gt;" in body
    body = client.get("/candidates").get_data(as_text=True)
    assert "<script>x</script>" not in body
    assert re.search(r"&lt;script&gt;x&lt;/script&gt; Evil", body)
