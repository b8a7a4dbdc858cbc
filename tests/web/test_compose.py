"""The SMS screen (/sms/compose): recipient analysis and its lists, blocked regions, the Ignore box,
removing recipients, the template and merge-field pickers, preview and the live counter.

Send itself, its failures and the batch page are in test_compose_send.py."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

from tests import html_tree
from tests.pages import held, text
from webapp.models import ComposeDraft, Message

TOKEN = re.compile(r'/sms/compose/([^/"]+)/update')
COUNT = re.compile(r'<li class="outcome outcome-(\w+)">\s*<span class="count">([\d,]+)</span>')
# A recipient and their number, shown by the `phone` filter with the E.164 form in its title.
RECIPIENT = re.compile(
    r'<span class="recipient"><bdi>(.*?)</bdi> '
    r'&lt;<span title="(.*?)">[^<]+</span>&gt;</span>'
)
OUTPUT = re.compile(r'<output id="sms-counter"[^>]*>')


# --- helpers -------------------------------------------------------------------------------------


def open_sms(client, people, kind: str = "candidates", *, htmx: bool = False):
    """Bulk SMS from the search page with these people ticked; returns (response, token)."""
    # Without JS the POST redirects to the screen's own address (post/redirect/get).
    response = client.post(
        "/sms/compose",
        data={"kind": kind, "ids": [str(p.id) for p in people]},
        htmx=htmx,
        follow_redirects=not htmx,
    )
    assert response.status_code == 200, text(response)
    return response, token_of(response)


def token_of(response) -> str:
    match = TOKEN.search(text(response))
    assert match, "no SMS screen in the page"
    return match.group(1)


def outcome_counts(page: str) -> dict[str, int]:
    return {name: int(n.replace(",", "")) for name, n in COUNT.findall(page)}


def recipients(page: str) -> list[tuple[str, str]]:
    """The Mobile Number field: (name, E.164) of everyone who will be sent the message."""
    return [(html.unescape(name), number) for name, number in RECIPIENT.findall(page)]


def message_box(page: str) -> str:
    match = re.search(r'<textarea id="message"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, "no Message field"
    # As a browser reads it: the one line break after <textarea> is markup, not the value.
    return html.unescape(match.group(1).removeprefix("\n"))


def counter(page: str) -> dict[str, str]:
    tag = OUTPUT.search(page)
    assert tag, "no counter"
    return dict(re.findall(r'data-(\w+)="([^"]*)"', tag.group(0)))


def update(client, token: str, *, _htmx: bool = False, _headers=None, **form):
    """A change on the screen; without JS, followed to the screen it redirects to."""
    return client.post(
        f"/sms/compose/{token}/update",
        data=form,
        htmx=_htmx,
        headers=_headers,
        follow_redirects=not _htmx,
    )


def template_options(page: str) -> list[str]:
    select = re.search(r'<select id="template_id".*?</select>', page, re.S).group(0)
    return [
        html.unescape(name)
        for name in re.findall(r'<option value="\d+"[^>]*>(.*?)</option>', select)
    ]


@pytest.fixture
def consultant(login):
    return login("consultant")


# --- the analysis on the SMS screen --------------------------------------------------------------


@pytest.fixture
def mixed(make_candidate):
    """One or more people for each outcome, in this order of ticking."""
    return {
        "ada": make_candidate("Ada", "Lovelace", "0412 345 678"),
        "bob": make_candidate("Bob", "Brown", "+44 7400 123456"),
        "dan": make_candidate("Dan", "Double", "+61 412 345 678"),  # Ada's number: duplicate
        "olive": make_candidate("Olive", "Out", "0412 000 111", sms_consent=False),
        "kaz": make_candidate("Kaz", "Akh", "+7 701 123 4567"),
        "ivan": make_candidate("Ivan", "Invalid", "12345"),
        "nora": make_candidate("Nora", "None", None),
    }


def test_screen_shows_each_outcome_with_its_count(client, consultant, mixed):
    response, _token = open_sms(client, mixed.values())
    page = text(response)
    assert outcome_counts(page) == {
        "ok": 2,
        "opted_out": 1,
        "blocked_country": 1,
        "invalid_number": 1,
        "no_mobile": 1,
        "duplicate": 1,
    }
    assert recipients(page) == [("Ada Lovelace", "+61412345678"), ("Bob Brown", "+447400123456")]
    assert "SMS to 2 people" in page


def test_duplicate_number_is_sent_once_and_the_first_ticked_wins(
    client, consultant, make_candidate
):
    second = make_candidate("Second", "Ticked", "+61 412 345 678")
    first = make_candidate("First", "Ticked", "0412 345 678")
    response, token = open_sms(client, [first, second])
    assert recipients(text(response)) == [("First Ticked", "+61412345678")]
    listed = text(client.get(f"/sms/compose/{token}/list/duplicate", htmx=True))
    assert "Second Ticked" in listed
    assert "First Ticked" not in listed


def test_opted_out_first_person_does_not_make_the_next_a_duplicate(
    client, consultant, make_candidate
):
    out = make_candidate("Olive", "Out", "0412 345 678", sms_consent=False)
    keen = make_candidate("Kim", "Keen", "+61 412 345 678")
    response, _ = open_sms(client, [out, keen])
    assert outcome_counts(text(response)) == {"ok": 1, "opted_out": 1}
    assert recipients(text(response)) == [("Kim Keen", "+61412345678")]


@pytest.mark.parametrize(
    "outcome, names",
    [
        ("ok", ["Ada Lovelace", "Bob Brown"]),
        ("opted_out", ["Olive Out"]),
        ("blocked_country", ["Kaz Akh"]),
        ("invalid_number", ["Ivan Invalid"]),
        ("no_mobile", ["Nora None"]),
        ("duplicate", ["Dan Double"]),
    ],
)
def test_each_outcome_list_is_one_click_away(client, consultant, mixed, outcome, names):
    response, token = open_sms(client, mixed.values())
    url = f"/sms/compose/{token}/list/{outcome}"
    assert f'href="{url}"' in text(response)

    fragment = client.get(url, htmx=True)
    assert fragment.status_code == 200
    assert "HX-Request" in fragment.headers["Vary"]
    body = text(fragment)
    assert "<html" not in body
    assert body.lstrip().startswith('<section class="outcome-people"')
    everyone = {f"{p.first_name} {p.last_name}" for p in mixed.values()}
    shown = {name for name in everyone if f">{name}</a>" in body}
    assert shown == set(names)
    assert f"({len(names)})" in body

    page = client.get(url)  # JS off: the same list as a whole page with a way back
    assert page.status_code == 200
    assert "<html" in text(page)
    assert f'href="/sms/compose/{token}"' in text(page)
    assert {name for name in everyone if f">{name}</a>" in text(page)} == set(names)


def test_a_list_drawn_as_the_page_is_headed_by_its_h1(client, consultant, mixed):
    """Without JavaScript (Show list) the list is the whole page: its heading is the page's h1;
    shown under the SMS screen's "Who gets it" it is an h3."""
    _, token = open_sms(client, mixed.values())
    url = f"/sms/compose/{token}/list/blocked_country"
    page = html_tree.html(client.get(url))
    [h1] = page.all("h1")
    assert h1.get("id") == "outcome-list-heading"
    assert h1.text == "Country the gateway will not serve (1)"
    fragment = html_tree.html(client.get(url, htmx=True))
    assert fragment.all("h1") == []
    assert fragment.one("h3", id="outcome-list-heading")


def test_an_unknown_list_is_404(client, consultant, mixed):
    _, token = open_sms(client, mixed.values())
    assert client.get(f"/sms/compose/{token}/list/everyone").status_code == 404


def test_opt_out_list_link_shows_only_when_someone_opted_out(client, consultant, make_candidate):
    keen = make_candidate("Kim", "Keen", "0412 345 678")
    response, _ = open_sms(client, [keen])
    assert "Opt Out Recipient List" not in text(response)

    out = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    response, token = open_sms(client, [keen, out])
    assert f'<a href="/sms/compose/{token}/list/opted_out"' in text(response)
    assert "Opt Out Recipient List</a>" in text(response)


def test_opt_out_list_gives_name_number_and_a_link_to_the_record(
    client, consultant, make_candidate
):
    keen = make_candidate("Kim", "Keen", "0412 345 678")
    out = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    _, token = open_sms(client, [keen, out])
    body = text(client.get(f"/sms/compose/{token}/list/opted_out", htmx=True))
    assert "Opt Out Recipient List (1)" in body
    assert f'<a href="/candidates/{out.id}">Olive Out</a>' in body
    assert "0412 000 111" in body
    assert "Kim Keen" not in body


def test_opt_out_list_for_contacts_links_to_the_contact_record(client, consultant, make_contact):
    out = make_contact("Olive", "Out", "0413 000 111", sms_consent=False)
    _, token = open_sms(client, [out], kind="contacts")
    body = text(client.get(f"/sms/compose/{token}/list/opted_out", htmx=True))
    assert f'<a href="/contacts/{out.id}">Olive Out</a>' in body


def test_a_landline_or_service_number_is_not_sent_and_the_list_says_what_it_is(
    client, consultant, make_candidate
):
    landline = make_candidate("Lana", "Line", "02 9374 4000")
    freecall = make_candidate("Fred", "Free", "1800 123 456")
    garbled = make_candidate("Ivan", "Invalid", "12345")
    keen = make_candidate("Kim", "Keen", "0412 345 678")
    response, token = open_sms(client, [landline, freecall, garbled, keen])
    page = text(response)
    assert outcome_counts(page) == {"ok": 1, "invalid_number": 3}
    assert "Invalid mobile number" in page
    assert recipients(page) == [("Kim Keen", "+61412345678")]

    listed = text(client.get(f"/sms/compose/{token}/list/invalid_number", htmx=True))
    rows = re.findall(
        r">([A-Z][a-z]+ [A-Z][a-z]+)</a></td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>", listed
    )
    assert [(name, why) for name, _number, why in rows] == [
        ("Lana Line", "A landline, not a mobile"),
        ("Fred Free", "A freecall service number, not a mobile"),
        ("Ivan Invalid", "Not a valid mobile number"),
    ]


# --- blocked regions: decided by region, never by calling code -----------------------------------


@pytest.mark.parametrize(
    "blocked_number, country, allowed_number, allowed_e164",
    [
        # Åland's and the Vatican's own ranges hold only landlines (their mobiles are Finland's and
        # Italy's): no mobile of theirs can be blocked, and their landlines are no mobiles at all.
        (
            "+1 721 520 1234",
            "Sint Maarten (Netherlands Antilles)",
            "+1 604 555 0199",
            "+16045550199",
        ),
        ("+7 701 123 4567", "Kazakhstan", "+7 912 345 6789", "+79123456789"),
        (
            "+599 318 1234",
            "Caribbean Netherlands (Netherlands Antilles)",
            "+39 312 345 6789",
            "+393123456789",
        ),
        ("+262 639 01 23 45", "Mayotte", "0412 345 678", "+61412345678"),
        ("+1 441 777 1234", "Bermuda", "+1 201 555 0123", "+12015550123"),
    ],
    ids=[
        "sint-maarten-vs-canada",
        "kazakhstan-vs-russia",
        "bonaire-vs-italy",
        "mayotte",
        "bermuda-vs-us",
    ],
)
def test_blocked_region_sharing_a_calling_code_is_refused_and_its_neighbour_sent(
    client,
    consultant,
    make_candidate,
    session,
    blocked_number,
    country,
    allowed_number,
    allowed_e164,
):
    stopped = make_candidate("Blocked", "Person", blocked_number)
    sent = make_candidate("Allowed", "Person", allowed_number)
    response, token = open_sms(client, [stopped, sent])
    assert outcome_counts(text(response)) == {"ok": 1, "blocked_country": 1}
    assert recipients(text(response)) == [("Allowed Person", allowed_e164)]

    listed = text(client.get(f"/sms/compose/{token}/list/blocked_country", htmx=True))
    assert "Blocked Person" in listed
    assert f"<td>{html.escape(country)}</td>" in listed
    assert "Allowed Person" not in listed

    done = client.post(f"/sms/compose/{token}/send", data={"message": "Hello {{first_name}}"})
    assert done.status_code == 303
    session.rollback()
    assert [(m.candidate_id, m.to_e164) for m in session.scalars(sa.select(Message))] == [
        (sent.id, allowed_e164)
    ]


# --- Ignore: who may see it, and what ticking it does --------------------------------------------


@pytest.fixture
def with_opt_out(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Olive", "Out", "0412 000 111", sms_consent=False),
    ]


def test_consultant_sees_the_opt_out_list_but_no_ignore_box(client, consultant, with_opt_out):
    response, _ = open_sms(client, with_opt_out)
    page = text(response)
    assert "Opt Out Recipient List</a>" in page
    assert 'name="ignore"' not in page
    assert "Ignore</label>" not in page


def test_team_leader_sees_the_ignore_box(client, login, with_opt_out):
    login("team-leader")
    response, _ = open_sms(client, with_opt_out)
    assert re.search(r'<input type="checkbox" id="ignore" name="ignore" value="1"', text(response))
    assert "Ignore</label>" in text(response)


def test_ignore_box_is_not_offered_when_nobody_opted_out(client, login, make_candidate):
    login("team-leader")
    response, _ = open_sms(client, [make_candidate()])
    assert 'name="ignore"' not in text(response)


def test_ticking_ignore_puts_opted_out_people_into_the_mobile_number_field(
    client, login, with_opt_out
):
    login("team-leader")
    response, token = open_sms(client, with_opt_out)
    assert recipients(text(response)) == [("Ada Lovelace", "+61412345678")]

    ticked = update(client, token, ignore="1", message="Hi", _htmx=True)
    assert ticked.status_code == 200
    page = text(ticked)
    assert recipients(page) == [("Ada Lovelace", "+61412345678"), ("Olive Out", "+61412000111")]
    assert "opted out — Ignore" in page
    assert "SMS to 2 people" in page
    assert re.search(r'name="ignore" value="1" checked', page)
    # The list the FastTrack360 users know still names who opted out.
    assert f"/sms/compose/{token}/list/opted_out?ignore=1" in page
    listed = text(client.get(f"/sms/compose/{token}/list/opted_out?ignore=1", htmx=True))
    assert "Olive Out" in listed


def test_ignore_never_lets_blocked_or_invalid_numbers_through(client, login, make_candidate):
    login("team-leader")
    people = [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Kaz", "Out", "+7 701 123 4567", sms_consent=False),
        make_candidate("Ivan", "Out", "12345", sms_consent=False),
        make_candidate("Nora", "Out", None, sms_consent=False),
    ]
    _, token = open_sms(client, people)
    page = text(update(client, token, ignore="1"))
    assert recipients(page) == [("Ada Lovelace", "+61412345678")]
    assert outcome_counts(page) == {
        "ok": 1,
        "blocked_country": 1,
        "invalid_number": 1,
        "no_mobile": 1,
    }


def test_consultant_ticking_ignore_through_update_is_refused(client, consultant, with_opt_out):
    _, token = open_sms(client, with_opt_out)
    response = update(client, token, ignore="1", message="Hi")
    assert response.status_code == 403
    assert "Olive Out &lt;" not in text(response)


@pytest.mark.parametrize("path", ["counter", "preview"])
def test_consultant_cannot_preview_or_count_with_ignore(client, consultant, with_opt_out, path):
    _, token = open_sms(client, with_opt_out)
    response = client.post(f"/sms/compose/{token}/{path}", data={"ignore": "1", "message": "Hi"})
    assert response.status_code == 403


def test_a_refused_update_changes_nothing(client, consultant, with_opt_out, session):
    # A consultant's update that carries ignore=1 is refused; the removal it also carried must not
    # have been applied either.
    ada, _olive = with_opt_out
    _, token = open_sms(client, with_opt_out)
    response = update(client, token, remove=str(ada.id), ignore="1")
    assert response.status_code == 403
    session.rollback()
    draft = session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == token))
    assert draft.removed_ids == []
    assert recipients(text(client.get(f"/sms/compose/{token}"))) == [
        ("Ada Lovelace", "+61412345678")
    ]


# --- removing and restoring recipients -----------------------------------------------------------


def test_a_message_that_starts_with_a_blank_line_keeps_it_through_a_redraw(
    client, consultant, make_candidate
):
    # The HTML parser takes the one line break straight after <textarea> as markup: the page
    # writes one of its own there, or the message's first blank line went at every redraw.
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    _, token = open_sms(client, [ada, bob])
    removed = update(client, token, remove=str(bob.id), message="\nHi {{first_name}}")
    assert message_box(text(removed)) == "\nHi {{first_name}}"
    form = held(html_tree.html(removed), f"/sms/compose/{token}/update")
    assert form["message"] == "\nHi {{first_name}}"


def test_removing_a_recipient_takes_them_off_and_restore_puts_them_back(
    client, consultant, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    response, token = open_sms(client, [ada, bob])
    assert f'name="remove" value="{bob.id}"' in text(response)
    # With the number, as Put back is: two people may share a name.
    assert 'aria-label="Remove Bob Brown (0412 345 679)"' in text(response)

    removed = update(client, token, remove=str(bob.id), message="Hello")
    assert removed.status_code == 200
    page = text(removed)
    assert recipients(page) == [("Ada Lovelace", "+61412345678")]
    assert f'name="restore" value="{bob.id}"' in page
    # Named with the number, as in Mobile Number: two people may share a name.
    assert '<bdi>Bob Brown</bdi> &lt;<span title="+61412345679">0412 345 679</span>&gt;' in page
    assert 'aria-label="Put back Bob Brown (0412 345 679)"' in page
    assert "SMS to 1 person" in page
    assert message_box(page) == "Hello"  # what was typed survives the change
    listed = text(client.get(f"/sms/compose/{token}/list/removed", htmx=True))
    assert "Bob Brown" in listed and "Ada Lovelace" not in listed

    restored = update(client, token, restore=str(bob.id))
    assert recipients(text(restored)) == [
        ("Ada Lovelace", "+61412345678"),
        ("Bob Brown", "+61412345679"),
    ]
    assert 'name="restore"' not in text(restored)


def test_removing_someone_not_on_the_sms_is_refused_on_the_form(client, consultant, make_candidate):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    other = make_candidate("Not", "Chosen", "0412 345 679")
    _, token = open_sms(client, [ada])
    response = update(client, token, remove=str(other.id))
    assert response.status_code == 400
    assert "That person is not on this SMS." in text(response)
    assert recipients(text(response)) == [("Ada Lovelace", "+61412345678")]


# --- fragment or page ----------------------------------------------------------------------------


def test_bulk_sms_with_htmx_returns_only_the_compose_section(client, consultant, make_candidate):
    response, _ = open_sms(client, [make_candidate()], htmx=True)
    body = text(response)
    assert body.lstrip().startswith('<section id="compose"')
    assert "<html" not in body and "<body" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_bulk_sms_without_js_returns_a_full_page(client, consultant, make_candidate):
    response, _ = open_sms(client, [make_candidate()])
    body = text(response)
    assert "<html" in body
    assert '<section id="compose"' in body
    assert "HX-Request" in response.headers["Vary"]


def test_the_whole_page_is_headed_by_an_h1_the_panel_by_an_h2(client, consultant, make_candidate):
    """Without JavaScript the screen is a page of its own, and it had no h1 (only the h2 it has
    as a part of the search page, under that page's h1)."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    for page in (client.get(f"/sms/compose?candidate={ada.id}"), open_sms(client, [ada])[0]):
        doc = html_tree.html(page)
        headings = doc.all("h1")
        assert [node.get("id") for node in headings] == ["compose-heading"]
        assert headings[0].text == "SMS to 1 person"
        assert not doc.all("h2", id="compose-heading")

    fragment = html_tree.html(open_sms(client, [ada], htmx=True)[0])
    assert not fragment.all("h1")
    assert fragment.one("h2", id="compose-heading").text == "SMS to 1 person"


def test_the_screen_opened_as_a_page_keeps_its_h1_when_htmx_redraws_it(
    client, consultant, make_candidate
):
    """Opened from a record's mobile link with JavaScript on, the screen is the page; its own
    redraws (Remove, Ignore, Update recipients) made its heading an h2, leaving no h1."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    token = token_of(client.get(f"/sms/compose?candidate={ada.id}"))
    on_its_page = {"HX-Current-URL": f"http://localhost/sms/compose?candidate={ada.id}"}
    redrawn = update(client, token, message="Hi", _htmx=True, _headers=on_its_page)
    assert html_tree.html(redrawn).one("h1", id="compose-heading").text == "SMS to 1 person"
    in_the_panel = {"HX-Current-URL": "http://localhost/candidates?q=lovelace"}
    redrawn = update(client, token, message="Hi", _htmx=True, _headers=in_the_panel)
    assert html_tree.html(redrawn).one("h2", id="compose-heading").text == "SMS to 1 person"


def test_a_refused_screen_is_headed_by_an_h1_as_a_page(client, consultant):
    page = client.get("/sms/compose")
    assert page.status_code == 400
    assert html_tree.html(page).one("h1", id="compose-heading").text == "SMS"
    fragment = client.get("/sms/compose", htmx=True)
    assert html_tree.html(fragment).one("h2", id="compose-heading").text == "SMS"


def test_select_page_adds_every_row_of_the_page(client, consultant, make_candidate):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    response = client.post(
        "/sms/compose",
        data={"kind": "candidates", "select_page": "1", "page_ids": [str(ada.id), str(bob.id)]},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert [name for name, _ in recipients(text(response))] == ["Ada Lovelace", "Bob Brown"]


def test_select_all_matching_carries_the_search_not_the_ids(client, consultant, make_candidate):
    make_candidate("Ada", "Lovelace", "0412 345 678")
    make_candidate("Ava", "Lovelace", "0412 345 679")
    make_candidate("Bob", "Brown", "0412 345 680")
    response = client.post(
        "/sms/compose",
        data={"kind": "candidates", "select_matching": "1", "criteria-q": "Lovelace"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert sorted(name for name, _ in recipients(text(response))) == [
        "Ada Lovelace",
        "Ava Lovelace",
    ]


def test_single_sms_from_a_candidate_record(client, consultant, make_candidate):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    response = client.get(f"/sms/compose?candidate={ada.id}")
    assert response.status_code == 200
    assert recipients(text(response)) == [("Ada Lovelace", "+61412345678")]
    assert "SMS to 1 person" in text(response)


def test_single_sms_from_a_contact_record(client, consultant, make_contact):
    grace = make_contact("Grace", "Hopper", "0413 222 333")
    response = client.get(f"/sms/compose?contact={grace.id}")
    assert response.status_code == 200
    assert recipients(text(response)) == [("Grace Hopper", "+61413222333")]
    # Cancel goes back to the contacts search.
    cancelled = client.post(f"/sms/compose/{token_of(response)}/cancel", data={"message": ""})
    assert cancelled.headers["Location"] == "/contacts"


def test_single_sms_to_an_opted_out_person_shows_the_opt_out_list(
    client, consultant, make_candidate
):
    out = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    response = client.get(f"/sms/compose?candidate={out.id}")
    assert response.status_code == 200
    assert "Opt Out Recipient List</a>" in text(response)
    assert recipients(text(response)) == []


def test_single_sms_for_a_record_that_does_not_exist_is_refused(client, consultant):
    response = client.get("/sms/compose?candidate=987654")
    assert response.status_code == 409
    assert "no longer exist" in text(response)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_viewer_may_not_open_the_sms_screen(client, login, make_candidate, method, session):
    login("viewer")
    ada = make_candidate()
    if method == "GET":
        response = client.get(f"/sms/compose?candidate={ada.id}")
    else:
        response = client.post("/sms/compose", data={"kind": "candidates", "ids": [str(ada.id)]})
    assert response.status_code == 403
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ComposeDraft)) == 0


def test_nothing_ticked_is_refused_with_a_message(client, consultant):
    response = client.post("/sms/compose", data={"kind": "candidates"})
    assert response.status_code == 400
    assert "Tick at least one person" in text(response)


def test_nothing_ticked_with_htmx_answers_the_compose_fragment(client, consultant):
    response = client.post("/sms/compose", data={"kind": "candidates"}, htmx=True)
    assert response.status_code == 400
    assert "Tick at least one person" in text(response)
    assert "<html" not in text(response)


def test_an_id_that_no_longer_exists_is_refused_with_409(
    client, consultant, make_candidate, session
):
    ada = make_candidate()
    response = client.post(
        "/sms/compose", data={"kind": "candidates", "ids": [str(ada.id), str(ada.id + 500)]}
    )
    assert response.status_code == 409
    assert "1 of the chosen people no longer exist" in text(response)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ComposeDraft)) == 0


def test_an_id_that_is_not_a_number_is_refused(client, consultant):
    response = client.post("/sms/compose", data={"kind": "candidates", "ids": ["1; DROP TABLE x"]})
    assert response.status_code == 400
    assert "is not a record id" in text(response)


# --- Cancel --------------------------------------------------------------------------------------

SEARCH = {"q": "lee", "sort": "-created"}


def bulk_sms_from_the_search(client, people, search=SEARCH):
    """Tick `people` on the candidates search and press Bulk SMS without JavaScript: the screen
    its redirect leads to."""
    form = held(html_tree.html(client.get("/candidates", query_string=search)), "/sms/compose")
    form.pop("page_ids", None)  # Select all is not ticked
    form["ids"] = [str(p.id) for p in people]
    response = client.post("/sms/compose", data=form, follow_redirects=True)
    assert response.status_code == 200, text(response)
    return response


def back_to(response) -> tuple[str, dict[str, str]]:
    url = urlsplit(response.headers["Location"])
    return url.path, dict(parse_qsl(url.query))


@pytest.fixture
def lees(make_candidate):
    make_candidate("Sam", "Smith", "0412 345 670")  # not found by the search
    return [
        make_candidate("Ann", "Lee", "0412 345 678"),
        make_candidate("Ben", "Lee", "0412 345 679"),
    ]


def test_cancel_without_javascript_keeps_the_message_and_goes_back_to_the_search(
    client, consultant, lees
):
    """Cancel was a link to the bare search: the typed message and the search were both lost."""
    screen = bulk_sms_from_the_search(client, lees)
    token = token_of(screen)
    page = html_tree.html(screen)
    cancel = page.one("button", class_="link-button compose-cancel")
    assert cancel.get("formaction") == f"/sms/compose/{token}/cancel"
    form = held(page, f"/sms/compose/{token}/update") | {"message": "Hi there, new role for you"}

    response = client.post(cancel.get("formaction"), data=form)

    assert response.status_code == 303
    assert back_to(response) == ("/candidates", SEARCH)
    again = bulk_sms_from_the_search(client, lees)
    assert token_of(again) == token
    assert message_box(text(again)) == "Hi there, new role for you"


def test_the_search_to_go_back_to_outlives_every_step_without_javascript(client, consultant, lees):
    """Remove, a list and its Back to the SMS, and Preview each show the screen at its own
    address: each carries the search on, for Cancel at the end."""
    _ann, ben = lees
    screen = bulk_sms_from_the_search(client, lees)
    token = token_of(screen)
    update_url = f"/sms/compose/{token}/update"
    form = held(html_tree.html(screen), update_url) | {"remove": str(ben.id)}
    removed = client.post(update_url, data=form, follow_redirects=True)
    form = held(html_tree.html(removed), update_url) | {"show_list": "removed"}
    listed = html_tree.html(client.post(update_url, data=form, follow_redirects=True))
    [back] = [a for a in listed.all("a") if a.text == "Back to the SMS"]
    shown = client.get(back.get("href"))
    form = held(html_tree.html(shown), update_url)
    previewed = client.post(f"/sms/compose/{token}/preview", data=form, follow_redirects=True)
    form = held(html_tree.html(previewed), update_url)

    response = client.post(f"/sms/compose/{token}/cancel", data=form)

    assert back_to(response) == ("/candidates", SEARCH)


def test_cancel_with_javascript_outside_the_panel_keeps_the_message_and_goes_back(
    client, consultant, lees, session
):
    """The screen out of the search page's panel (reloaded at its own address), with JavaScript:
    htmx posts Cancel, and is told where to go. A search value the search page would drop is not
    carried back."""
    ids = [str(p.id) for p in lees]
    opened = client.post(
        "/sms/compose",
        data={"kind": "candidates", "ids": ids, "criteria-q": "lee", "criteria-status": "Nonsense"},
        htmx=True,
    )
    token = token_of(opened)

    response = client.post(f"/sms/compose/{token}/cancel", data={"message": "Kept"}, htmx=True)

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/candidates?q=lee"
    session.rollback()
    draft = session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == token))
    assert draft.message == "Kept"


def test_cancel_without_javascript_goes_back_to_the_page_of_results_ticked_on(
    client, consultant, make_candidate
):
    """Cancel went back to the search's first page, though the ticks were made on its second."""
    lees = [make_candidate("Ann", f"Lee{n:02}", f"0412 345 6{n:02}") for n in range(55)]
    second_page = SEARCH | {"page": "2"}
    token = token_of(bulk_sms_from_the_search(client, lees[-2:], search=second_page))

    assert back_to(client.post(f"/sms/compose/{token}/cancel", data={})) == (
        "/candidates",
        second_page,
    )


def test_each_screen_cancels_to_its_own_search(client, consultant, lees, make_candidate):
    """Screens opened from other searches since (up to a few) keep their own way back; Bulk SMS
    for the same people from another search goes back to that one."""
    sam = make_candidate("Sam", "Smythe", "0412 345 671")
    token = token_of(bulk_sms_from_the_search(client, lees))
    smythe = {"q": "smythe"}
    other = token_of(bulk_sms_from_the_search(client, [sam], search=smythe))

    assert back_to(client.post(f"/sms/compose/{token}/cancel", data={})) == ("/candidates", SEARCH)
    assert back_to(client.post(f"/sms/compose/{other}/cancel", data={})) == ("/candidates", smythe)
    by_name = {"q": "lee"}
    assert token_of(bulk_sms_from_the_search(client, lees, search=by_name)) == token
    assert back_to(client.post(f"/sms/compose/{token}/cancel", data={})) == ("/candidates", by_name)


# --- templates -----------------------------------------------------------------------------------


def test_template_picker_offers_active_templates_for_the_record_type(
    client, login, make_user, make_candidate, make_contact, make_template
):
    me = login("consultant")
    someone = make_user()
    make_template("Interview", "Interview at 10", record_type="candidate")
    make_template("Timesheets", "Timesheets due", record_type="contact")
    make_template("Welcome", "Welcome {{first_name}}", record_type="both")
    make_template("Retired", "Old text", active=False)
    make_template("Theirs", "Their private text", owner=someone, shared=False)
    make_template("Mine", "My private text", owner=me, shared=False)

    response, _ = open_sms(client, [make_candidate()])
    assert sorted(template_options(text(response))) == ["Interview", "Mine", "Welcome"]

    response, _ = open_sms(client, [make_contact()], kind="contacts")
    assert sorted(template_options(text(response))) == ["Mine", "Timesheets", "Welcome"]


def test_choosing_a_template_without_js_puts_its_text_in_the_message(
    client, consultant, make_candidate, make_template
):
    interview = make_template("Interview", "Hi {{first_name}}, interview at 10 <sharp>")
    _, token = open_sms(client, [make_candidate()])
    response = update(
        client, token, template_id=str(interview.id), action="use_template", message=""
    )
    assert response.status_code == 200
    page = text(response)
    assert message_box(page) == "Hi {{first_name}}, interview at 10 <sharp>"
    assert "&lt;sharp&gt;" in page  # escaped in the textarea, not markup
    assert re.search(rf'<option value="{interview.id}" selected>Interview</option>', page)


def test_using_a_template_with_htmx_swaps_its_text_in(
    client, consultant, make_candidate, make_template
):
    interview = make_template("Interview", "Interview at 10")
    _, token = open_sms(client, [make_candidate()])
    response = update(
        client, token, template_id=str(interview.id), action="use_template", _htmx=True
    )
    assert response.status_code == 200
    # The screen again, with the focus on the Message to carry on typing.
    assert text(response).lstrip().startswith('<section id="compose"')
    assert re.search(r'<textarea id="message" name="message" rows="6" autofocus', text(response))
    assert message_box(text(response)) == "Interview at 10"


@pytest.mark.parametrize(
    "case", ["another user's private", "inactive", "for contacts only", "missing"]
)
def test_a_template_the_user_cannot_pick_is_refused(
    client, login, make_user, make_candidate, make_template, case
):
    login("consultant")
    if case == "another user's private":
        template_id = make_template("Theirs", "Secret text", owner=make_user(), shared=False).id
    elif case == "inactive":
        template_id = make_template("Retired", "Secret text", active=False).id
    elif case == "for contacts only":
        template_id = make_template("Timesheets", "Secret text", record_type="contact").id
    else:
        template_id = 424242
    _, token = open_sms(client, [make_candidate()])
    response = update(
        client, token, template_id=str(template_id), action="use_template", message="typed before"
    )
    assert response.status_code == 400
    assert "That template is not available for this SMS." in text(response)
    assert message_box(text(response)) == "typed before"
    assert "Secret text" not in text(response)


# --- merge fields, preview and the counter -------------------------------------------------------


def test_insert_merge_field_without_js_appends_the_tag(client, consultant, make_candidate):
    _, token = open_sms(client, [make_candidate()])
    response = update(client, token, action="insert_field", merge_field="first_name", message="Hi ")
    assert response.status_code == 200
    assert message_box(text(response)) == "Hi {{first_name}}"


def test_insert_merge_field_ignores_a_field_not_in_the_catalogue(
    client, consultant, make_candidate
):
    _, token = open_sms(client, [make_candidate()])
    response = update(
        client, token, action="insert_field", merge_field="password_hash", message="Hi "
    )
    assert message_box(text(response)) == "Hi "


@pytest.mark.parametrize(
    "kind, own, other",
    [("candidates", "location", "client_name"), ("contacts", "client_name", "location")],
)
def test_merge_field_picker_lists_the_fields_for_the_recipients_kind(
    client, consultant, make_candidate, make_contact, kind, own, other
):
    person = make_candidate() if kind == "candidates" else make_contact()
    response, _ = open_sms(client, [person], kind=kind)
    page = text(response)
    assert '<label for="merge_field">Insert merge field</label>' in page
    for name in (
        "first_name",
        "last_name",
        "full_name",
        "mobile",
        "email",
        "job_title",
        own,
        "sender_first_name",
        "sender_full_name",
        "sender_mobile",
        "sender_email",
        "sender_office",
    ):
        assert f'<option value="{name}" data-tag="{{{{{name}}}}}"' in page
    assert f'<option value="{other}"' not in page


def bubble(page: str) -> str:
    match = re.search(r'<blockquote class="sms-bubble">(.*?)</blockquote>', page, re.S)
    assert match, "no preview bubble"
    return html.unescape(match.group(1))


@pytest.fixture
def two_people(make_candidate):
    return [
        make_candidate("Ada", "Lovelace", "0412 345 678", location="Sydney"),
        make_candidate("Bartholomew", "Brown", "0412 345 679", location=None),
    ]


def test_preview_renders_the_message_for_each_recipient_in_turn(client, consultant, two_people):
    _, token = open_sms(client, two_people)
    url = f"/sms/compose/{token}/preview"
    first = client.post(url, data={"message": "Hi {{first_name}} {{last_name}}"}, htmx=True)
    assert first.status_code == 200
    assert "<html" not in text(first)
    assert bubble(text(first)) == "Hi Ada Lovelace"
    assert "Recipient 1 of 2" in text(first)
    assert 'name="preview_index" value="1"' in text(first)  # Next recipient

    second = client.post(
        url, data={"message": "Hi {{first_name}} {{last_name}}", "preview_index": "1"}, htmx=True
    )
    assert bubble(text(second)) == "Hi Bartholomew Brown"
    assert "Recipient 2 of 2" in text(second)
    assert 'name="preview_index" value="0"' in text(second)  # Previous recipient
    assert "Next recipient" not in text(second)

    beyond = client.post(
        url, data={"message": "Hi {{first_name}}", "preview_index": "99"}, htmx=True
    )
    assert bubble(text(beyond)) == "Hi Bartholomew"


def test_preview_without_js_is_a_full_page_with_the_preview(client, consultant, two_people):
    _, token = open_sms(client, two_people)
    response = client.post(
        f"/sms/compose/{token}/preview",
        data={"message": "Hi {{first_name}}"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "<html" in text(response)
    assert bubble(text(response)) == "Hi Ada"
    assert message_box(text(response)) == "Hi {{first_name}}"


def test_an_open_preview_follows_the_message_as_it_is_typed(client, consultant, two_people):
    """Preview open on recipient 2, then the Message edited: the counter's answer redraws the
    preview out of band at the same recipient, with the text now typed, and moves no focus."""
    _, token = open_sms(client, two_people)
    shown = client.post(
        f"/sms/compose/{token}/preview",
        data={"message": "Hi {{first_name}}", "preview_index": "1"},
        htmx=True,
    )
    # The preview posts the recipient it shows with the counter's requests.
    assert html_tree.parse(text(shown)).one("input", name="previewing").get("value") == "1"

    typed = client.post(
        f"/sms/compose/{token}/counter",
        data={"message": "Hi {{first_name}}, shift moved", "previewing": "1"},
        htmx=True,
    )

    page = html_tree.parse(text(typed))
    preview = page.one("section", id="preview")
    assert preview.get("hx-swap-oob") == "true"
    assert bubble(text(typed)) == "Hi Bartholomew, shift moved"
    assert "Recipient 2 of 2" in text(typed)
    assert "Worst case across all recipients: 1 SMS, 27 characters, GSM-7." in text(typed)
    assert "autofocus" not in page.one("h3", id="preview-heading").attrs
    # Closed (nothing posted for it), the counter's answer carries no preview.
    closed = client.post(f"/sms/compose/{token}/counter", data={"message": "Hi"}, htmx=True)
    assert 'id="preview"' not in text(closed)


def test_preview_flags_empty_fields_for_the_recipient_that_lacks_them(
    client, consultant, two_people
):
    _, token = open_sms(client, two_people)
    url = f"/sms/compose/{token}/preview"
    ada = text(client.post(url, data={"message": "See you in {{location}}"}, htmx=True))
    assert bubble(ada) == "See you in Sydney"
    assert "Empty for this person" not in ada
    assert "1 of 2 recipients have an empty merge field" in ada

    bart = text(
        client.post(
            url, data={"message": "See you in {{location}}", "preview_index": "1"}, htmx=True
        )
    )
    assert bubble(bart) == "See you in "
    assert re.search(r"Empty for this person: <code>\{\{location\}\}</code>", bart)


def test_preview_flags_unknown_fields(client, consultant, two_people):
    _, token = open_sms(client, two_people)
    body = text(
        client.post(f"/sms/compose/{token}/preview", data={"message": "Hi {{nope}}"}, htmx=True)
    )
    assert re.search(r"Unknown merge fields: <code>\{\{nope\}\}</code>", body)
    assert bubble(body) == "Hi {{nope}}"


def test_preview_shows_the_worst_case_segment_count_across_recipients(
    client, consultant, two_people
):
    _, token = open_sms(client, two_people)
    message = "{{first_name}} " + "x" * 150  # Ada: 154 characters, Bartholomew: 162
    body = text(client.post(f"/sms/compose/{token}/preview", data={"message": message}, htmx=True))
    assert bubble(body) == "Ada " + "x" * 150
    assert "154 characters · 1 SMS · GSM-7" in body
    assert "Worst case across all recipients: 2 SMS, 162 characters, GSM-7." in body
    assert counter(body) == {"characters": "162", "segments": "2", "encoding": "GSM-7"}


def test_worst_case_counts_a_recipient_whose_name_forces_unicode(
    client, consultant, make_candidate
):
    people = [
        make_candidate("Ann", "Lee", "0412 345 678"),
        make_candidate("Zoë", "Ōta", "0412 345 679"),
    ]
    _, token = open_sms(client, people)
    message = (
        "Hi {{first_name}} {{last_name}} " + "x" * 60
    )  # 71 chars each: 1 GSM-7 part for Ann, 2 UCS-2 parts for Zoë
    body = text(client.post(f"/sms/compose/{token}/counter", data={"message": message}, htmx=True))
    assert counter(body) == {"characters": "71", "segments": "2", "encoding": "UCS-2"}
    # The costliest message, not the longest: a longer one may take fewer parts.
    assert "(the recipient's message with the most SMS parts)" in body


@pytest.mark.parametrize(
    "message",
    [
        "Hi {{ 7*7 }} and {% for x in y %}{{x}}{% endfor %}",
        "{{ config }} {{ ''.__class__ }} <script>alert(1)</script>",
    ],
)
def test_hostile_text_stays_literal_in_the_preview(client, consultant, make_candidate, message):
    _, token = open_sms(client, [make_candidate()])
    body = text(client.post(f"/sms/compose/{token}/preview", data={"message": message}, htmx=True))
    assert bubble(body) == message
    assert "<script>" not in body
    assert "49" not in bubble(body)


@pytest.mark.parametrize(
    "message, characters, segments, encoding",
    [
        ("a" * 160, 160, 1, "GSM-7"),
        ("a" * 161, 161, 2, "GSM-7"),
        ("a" * 306, 306, 2, "GSM-7"),
        ("a" * 307, 307, 3, "GSM-7"),
        ("€" * 80, 80, 1, "GSM-7"),  # extension characters cost 2 septets
        ("€" * 81, 81, 2, "GSM-7"),
        ("á" * 70, 70, 1, "UCS-2"),
        ("á" * 71, 71, 2, "UCS-2"),
        ("😀" * 35, 35, 1, "UCS-2"),  # an emoji is 2 UTF-16 units
        ("😀" * 36, 36, 2, "UCS-2"),
        ("", 0, 0, "GSM-7"),
    ],
)
def test_counter_reports_characters_segments_and_encoding(
    client, consultant, make_candidate, message, characters, segments, encoding
):
    _, token = open_sms(client, [make_candidate()])
    response = client.post(f"/sms/compose/{token}/counter", data={"message": message}, htmx=True)
    assert response.status_code == 200
    body = text(response).strip()
    # The counter, then only what rides out of band with it (the totals beside Send).
    assert body.startswith('<output id="sms-counter"') and "<form" not in body
    assert counter(body) == {
        "characters": str(characters),
        "segments": str(segments),
        "encoding": encoding,
    }


@pytest.mark.parametrize(
    "message, named",
    [
        ("Caf\u00e9 is fine but \u201cquotes\u201d are not", "\u201c</code> <code>\u201d"),
        # A no-break space pasted from Word shows as a blank: named, with its code point.
        (
            "Hi Amelia,\u00a0your interview\u200b is at 10",
            "no-break space (U+00A0)</code> <code>zero width space (U+200B)",
        ),
    ],
    ids=["quotes", "invisible"],
)
def test_counter_names_the_characters_that_force_unicode(
    client, consultant, make_candidate, message, named
):
    _, token = open_sms(client, [make_candidate()])
    body = text(client.post(f"/sms/compose/{token}/counter", data={"message": message}, htmx=True))
    assert counter(body)["encoding"] == "UCS-2"
    assert f"Unicode because of: <code>{named}</code>" in body


def test_counter_warns_when_the_message_is_too_long(client, consultant, make_candidate):
    _, token = open_sms(client, [make_candidate()])
    body = text(
        client.post(f"/sms/compose/{token}/counter", data={"message": "x" * 1_601}, htmx=True)
    )
    assert counter(body)["characters"] == "1601"
    assert "too long (at most 1,600)" in body


def test_counter_counts_the_rendered_text_not_the_template(client, consultant, make_candidate):
    _, token = open_sms(client, [make_candidate("Ada", "Lovelace", "0412 345 678")])
    body = text(
        client.post(
            f"/sms/compose/{token}/counter", data={"message": "Hi {{full_name}}"}, htmx=True
        )
    )
    assert counter(body)["characters"] == str(len("Hi Ada Lovelace"))


# --- tokens belong to their user -----------------------------------------------------------------

# A request of each kind the SMS screen makes, after /sms/compose/{token}.
SCREEN_REQUESTS = [
    ("GET", ""),
    ("POST", "/update"),
    ("POST", "/counter"),
    ("POST", "/preview"),
    ("GET", "/list/ok"),
]


@pytest.mark.parametrize("method, path", SCREEN_REQUESTS)
def test_another_users_sms_screen_is_404(client, login, make_candidate, method, path):
    login("consultant")
    _, token = open_sms(client, [make_candidate()])
    client.post("/logout")
    login("consultant")
    response = client.open(f"/sms/compose/{token}{path}", method=method, data={"message": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize("method, path", SCREEN_REQUESTS)
def test_a_forged_token_is_404(client, consultant, method, path):
    response = client.open(
        f"/sms/compose/not-a-real-token{path}", method=method, data={"message": "x"}
    )
    assert response.status_code == 404


def test_a_long_search_is_not_kept_in_the_session_cookie(client, consultant, lees):
    """Five screens opened from 200-character searches (each character six in the cookie's JSON)
    passed the 4 KB a browser keeps of a cookie: it dropped the whole session cookie, and with it
    the new recovery codes it was carrying. A long search is not remembered: Cancel goes to the
    bare search."""
    ids = [str(p.id) for p in lees]
    words = "".join(chr(0x4E00 + 37 * i) for i in range(199))  # 199 different characters
    for n in range(5):
        opened = client.post(
            "/sms/compose",
            data={"kind": "candidates", "ids": ids, "criteria-q": words + str(n)},
            htmx=True,
        )
        assert opened.status_code == 200

    response = client.post(f"/sms/compose/{token_of(opened)}/cancel", data={}, htmx=True)

    assert response.headers["HX-Redirect"] == "/candidates"
