"""The template editor as a tester found it: a preview that stayed as it was while the counter
beside it counted new text, a preview for the wrong kind of person, HEAD answered as a refused
save, the focus lost after Deactivate, and "1 characters"."""

from __future__ import annotations

import html
import re

import pytest

from tests.pages import Tags, text


def form_values(**fields) -> dict[str, str]:
    values = {
        "name": "Catch-up",
        "folder": "General",
        "body": "Hi {{first_name}} abc",
        "record_type": "both",
        "active": "y",
    }
    values.update(fields)
    return {key: value for key, value in values.items() if value is not None}


def bubble(page: str) -> str:
    match = re.search(r'<blockquote class="sms-bubble">(.*?)</blockquote>', page, re.S)
    assert match, "no preview bubble"
    return html.unescape(match.group(1))


def autofocused(page: str) -> list[str | None]:
    return [attrs.get("id") for tag, attrs in Tags(page).tags if "autofocus" in attrs]


# --- the preview follows the counter ---------------------------------------------------------


def test_a_shown_preview_posts_that_it_is_shown(client, login, make_candidate):
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    data = form_values(action="preview", preview_kind="candidate", preview_id=str(ada.id))
    page = text(client.post("/templates/new", data=data, htmx=True))
    assert Tags(page).one("input", name="previewing")["type"] == "hidden"
    # Pressed Preview: the focus goes to what it shows.
    assert autofocused(page) == ["preview-heading"]
    # Nothing shown, nothing to follow.
    assert 'name="previewing"' not in text(client.get("/templates/new"))


@pytest.mark.parametrize("commercial", [None, "y"], ids=["typed", "commercial"])
def test_the_counter_draws_a_shown_preview_again_without_taking_the_focus(
    client, login, make_candidate, commercial
):
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    data = form_values(
        action="counter",
        body="Hi {{first_name}} abc MORE TEXT",
        commercial=commercial,
        preview_kind="candidate",
        preview_id=str(ada.id),
        previewing="1",
    )
    response = client.post("/templates/new", data=data, htmx=True)
    assert response.status_code == 200
    page = text(response)
    assert re.search(r'<output id="sms-counter"[^>]*hx-swap-oob="true"', page)
    assert re.search(r'<div id="preview-result"[^>]*hx-swap-oob="true"', page)
    shown = bubble(page)
    assert shown.startswith("Hi Ada abc MORE TEXT")
    # Ticked, with the opt-out line the counter says it counts.
    assert (shown != "Hi Ada abc MORE TEXT") == bool(commercial)
    assert ("with the opt-out line" in page) == bool(commercial)
    # The user is typing in Message (or on Commercial): nothing in the answer takes the focus.
    assert autofocused(page) == []
    # It is still on show, so the next counter draws it again too.
    assert 'name="previewing"' in page


def test_the_counter_alone_when_no_preview_is_shown(client, login, make_candidate):
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    data = form_values(action="counter", preview_kind="candidate", preview_id=str(ada.id))
    page = text(client.post("/templates/new", data=data, htmx=True))
    assert page.lstrip().startswith('<output id="sms-counter"')
    assert 'id="preview"' not in page


@pytest.mark.parametrize("raw", ["", "abc", "999999"])
def test_a_preview_whose_id_is_no_longer_right_is_taken_away_quietly(client, login, raw):
    """Refusing the id is Preview's to do: as the user types in Message it neither says 400 nor
    sends the focus to Record id."""
    login("consultant")
    data = form_values(action="counter", preview_kind="candidate", preview_id=raw, previewing="1")
    response = client.post("/templates/new", data=data, htmx=True)
    assert response.status_code == 200
    page = text(response)
    assert re.search(r'<div id="preview-result"[^>]*hx-swap-oob="true"', page)
    assert "sms-bubble" not in page and 'name="previewing"' not in page
    assert 'id="preview_id-error"' not in page and autofocused(page) == []


# --- the preview's record type ---------------------------------------------------------------


def preview_kind(page: str) -> str | None:
    select = re.search(r'<select id="preview_kind".*?</select>', page, re.S)
    assert select, "no Record type"
    chosen = Tags(select.group(0)).find("option", selected=True)
    return chosen[0]["value"] if chosen else None


@pytest.mark.parametrize(
    "record_type, kind", [("contact", "contact"), ("candidate", "candidate"), ("both", "candidate")]
)
def test_the_preview_is_for_the_people_the_template_is_for(
    client, login, make_template, record_type, kind
):
    me = login("consultant")
    mine = make_template("Catch-up", "Hi", owner=me, shared=False, record_type=record_type)
    assert preview_kind(text(client.get(f"/templates/{mine.id}"))) == kind


def test_a_contact_templates_preview_shows_the_contact_of_the_id_typed(
    client, login, make_template, make_contact
):
    me = login("consultant")
    grace = make_contact("Grace", "Hopper", client="Harbour Mining Pty Ltd")
    mine = make_template(
        "Catch-up", "Hi {{client_name}}", owner=me, shared=False, record_type="contact"
    )
    # What the page posts with Enter in Record id: the Record type it chose.
    kind = preview_kind(text(client.get(f"/templates/{mine.id}")))
    data = form_values(
        action="preview",
        body="Hi {{client_name}}",
        record_type="contact",
        preview_kind=kind,
        preview_id=str(grace.id),
    )
    page = text(client.post(f"/templates/{mine.id}", data=data))
    assert bubble(page) == "Hi Harbour Mining Pty Ltd"
    assert "Empty for" not in page


def test_a_record_type_chosen_is_kept(client, login, make_candidate):
    login("consultant")
    ada = make_candidate("Ada", "Lovelace")
    data = form_values(
        action="preview", record_type="contact", preview_kind="candidate", preview_id=str(ada.id)
    )
    page = text(client.post("/templates/new", data=data))
    assert preview_kind(page) == "candidate"
    assert "Preview for Ada Lovelace" in page


# --- HEAD ------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["new", "mine"])
def test_head_on_the_form_is_answered_as_its_get(client, login, make_template, which):
    me = login("team-leader")
    mine = make_template("Catch-up", "Hi", owner=me, shared=False)
    url = "/templates/new" if which == "new" else f"/templates/{mine.id}"
    got = client.get(url)
    head = client.head(url)
    assert (head.status_code, head.headers["Content-Type"]) == (200, got.headers["Content-Type"])
    assert head.get_data() == b""


# --- Deactivate and Reactivate on the list ----------------------------------------------------


@pytest.mark.parametrize("action, said", [("deactivate", "deactivated"), ("reactivate", "was")])
def test_deactivate_lands_on_the_list_with_the_focus_on_what_it_did(
    client, login, make_template, action, said
):
    me = login("team-leader")
    mine = make_template("Catch-up", "Hi", owner=me, shared=False)
    response = client.post(f"/templates/{mine.id}/{action}", data={"inactive": "1"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/templates?inactive=1"
    page = text(client.get(response.headers["Location"]))
    notice = re.search(r'<p class="flash flash-info"[^>]*>(.*?)</p>', page, re.S)
    assert notice, "no notice in the results"
    assert said in html.unescape(notice.group(1)) and "Catch-up" in notice.group(1)
    # In the results, under their heading, and the one thing the page focuses.
    results = page.index('<section id="results"')
    assert page.index('id="results-heading"') < page.index(notice.group(0))
    assert results < page.index(notice.group(0))
    assert autofocused(page) == [None] and 'tabindex="-1" autofocus' in notice.group(0)
    # Said once: not in the layout's list at the top as well.
    assert '<ul class="flashes">' not in page
    # And not again on the next visit.
    assert "flash-info" not in text(client.get("/templates"))


def test_a_refused_reactivate_lands_on_the_list_with_the_focus_on_why(client, login, make_template):
    me = login("team-leader")
    make_template("Catch-up", "Hi", owner=me, shared=False)
    old = make_template("Catch-up", "Hi", owner=me, shared=False, active=False)
    response = client.post(f"/templates/{old.id}/reactivate", data={"inactive": "1"})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    notice = re.search(r'<p class="flash flash-warning"[^>]*>(.*?)</p>', page, re.S)
    assert notice, "no notice in the results"
    assert "was not reactivated" in html.unescape(notice.group(1))
    assert 'role="alert"' in notice.group(0)
    assert autofocused(page) == [None] and 'tabindex="-1" autofocus' in notice.group(0)


# --- 1 character ------------------------------------------------------------------------------


def test_one_character_is_one_character(client, login, make_template):
    login("consultant")
    response = client.post("/templates/new", htmx=True, data={"body": "A", "action": "counter"})
    assert "1 character ·" in text(response)
    assert "2 characters ·" in text(
        client.post("/templates/new", htmx=True, data={"body": "AB", "action": "counter"})
    )
    shared = make_template("Shared one", "A")
    assert "1 character ·" in text(client.get(f"/templates/{shared.id}"))
