"""A results row's mobile number opens the SMS screen for that person: its link carries the search
the row was listed by (criteria-…, as the Bulk SMS form does), so the screen's Cancel goes back to
that search rather than to the bare list."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from tests import html_tree
from tests.web.test_compose import back_to, token_of

SEARCH = {"q": "lee", "page": "2", "sort": "-created"}


@pytest.fixture
def lees(make_candidate):
    return [make_candidate("Ann", f"Lee{n:02}", f"0412 345 6{n:02}") for n in range(55)]


def row_sms_links(client, search) -> list[str]:
    page = html_tree.html(client.get("/candidates", query_string=search))
    return [a.get("href") for a in page.all("a") if a.get("href", "").startswith("/sms/compose?")]


def test_a_rows_mobile_link_carries_the_search_it_was_listed_by(client, login, lees):
    login("consultant")
    [link, *_] = row_sms_links(client, SEARCH)

    url = urlsplit(link)
    args = dict(parse_qsl(url.query))
    assert url.path == "/sms/compose"
    assert args.pop("candidate").isdigit()
    assert args == {f"criteria-{key}": value for key, value in SEARCH.items()}


def test_a_rows_mobile_link_carries_only_the_criteria_given(client, login, lees, make_candidate):
    """No empty criteria and no first page: the bare list's links stay short. A value is quoted
    whole, a "%" or an "&" in it too."""
    login("consultant")
    [link, *_] = row_sms_links(client, {"q": "", "location": "", "page": "1"})
    assert set(dict(parse_qsl(urlsplit(link).query))) == {"candidate"}
    make_candidate("Cy", "Zed", "0413 000 001", location="50% Perth&Co")
    [link] = row_sms_links(client, {"location": "50% perth&co"})
    assert dict(parse_qsl(urlsplit(link).query))["criteria-location"] == "50% perth&co"


def test_cancel_on_the_sms_screen_of_a_rows_mobile_goes_back_to_its_search(client, login, lees):
    """Without JavaScript Cancel went to the bare /candidates: the search, its page of results
    and its order were lost."""
    login("consultant")
    [link, *_] = row_sms_links(client, SEARCH)
    screen = client.get(link)
    assert screen.status_code == 200
    token = token_of(screen)

    response = client.post(f"/sms/compose/{token}/cancel", data={})

    assert response.status_code == 303
    assert back_to(response) == ("/candidates", SEARCH)


def test_cancel_with_javascript_goes_back_to_the_rows_search(client, login, lees):
    login("consultant")
    [link, *_] = row_sms_links(client, SEARCH)
    token = token_of(client.get(link))

    response = client.post(f"/sms/compose/{token}/cancel", data={"message": "Kept"}, htmx=True)

    assert response.status_code == 204
    redirect = urlsplit(response.headers["HX-Redirect"])
    assert (redirect.path, dict(parse_qsl(redirect.query))) == ("/candidates", SEARCH)


def test_a_record_pages_mobile_link_still_cancels_to_the_bare_list(client, login, lees):
    login("consultant")
    token = token_of(client.get(f"/sms/compose?candidate={lees[0].id}"))
    assert back_to(client.post(f"/sms/compose/{token}/cancel", data={})) == ("/candidates", {})
