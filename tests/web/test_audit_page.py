"""The audit log page (/audit): its permission gate, filters by actor, action, person and dates,
paging, details in words (Ignore overrides with their people and reason, consent and permission
changes), bad filter values on the form, and the results block as an htmx fragment."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests import html_tree
from tests.pages import Tags, linked_page, text
from tests.statements import recorded

TOKEN = re.compile(r'/sms/compose/([^/"]+)/update')
ROW = re.compile(r'<tr id="event-(\d+)">')


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def shown(response) -> list[int]:
    """Ids of the events listed, in page order."""
    return [int(n) for n in ROW.findall(text(response))]


def row(response, event_id: int) -> str:
    """One event's row, as text with the markup taken out (links keep their text)."""
    match = re.search(rf'<tr id="event-{event_id}">(.*?)</tr>', text(response), re.S)
    assert match, f"event {event_id} is not listed"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def row_html(response, event_id: int) -> str:
    match = re.search(rf'<tr id="event-{event_id}">(.*?)</tr>', text(response), re.S)
    assert match, f"event {event_id} is not listed"
    return match.group(1)


@pytest.fixture
def lead(login):
    return login("team-leader", full_name="Lee Leader")


# --- the gate ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["consultant", "viewer"])
def test_without_audit_view_there_is_no_link_and_the_page_is_403(client, login, audit_event, role):
    login(role)
    audit_event("sms.sent", secret="do not show")
    assert 'href="/audit"' not in text(client.get("/candidates"))
    response = client.get("/audit")
    assert response.status_code == 403
    assert "do not show" not in text(response)
    fragment = client.get("/audit", htmx=True)
    assert fragment.status_code == 403
    assert "do not show" not in text(fragment)


@pytest.mark.parametrize("role", ["team-leader", "administrator"])
def test_with_audit_view_the_link_and_the_page_are_there(client, login, role):
    login(role)
    linked_page(client, "/audit", "Audit log", "Audit log")


def test_the_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/audit")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- the filter form -----------------------------------------------------------------------------


def test_filters_are_a_get_form_that_htmx_enhances(client, lead):
    page = Tags(text(client.get("/audit")))
    form = page.one("form", id="audit-filters")
    assert (
        form["action"],
        form["method"],
        form["hx-get"],
        form["hx-target"],
        form["hx-push-url"],
    ) == ("/audit", "get", "/audit", "#results", "true")
    for name, label in (
        ("actor", "Who (username)"),
        ("action", "Action"),
        ("person_kind", "Record type"),
        ("person_id", "Record id"),
        ("person", "Name"),
        ("date_from", "From"),
        ("date_to", "To"),
    ):
        assert f'<label for="{name}">{label}</label>' in text(client.get("/audit")), name


def test_filter_by_actor(client, lead, audit_event, make_user):
    other = make_user("other.person")
    mine = audit_event(actor=lead, at=utc(2026, 3, 1, 9))
    theirs = audit_event(actor=other, at=utc(2026, 3, 1, 10))
    assert shown(client.get("/audit")) == [theirs.id, mine.id]
    assert shown(client.get("/audit?actor=OTHER.person")) == [theirs.id]
    assert f'value="{other.username}"' in text(client.get("/audit"))  # suggested in the datalist


def test_filter_by_action_offers_the_actions_present(client, lead, audit_event):
    sent = audit_event("sms.sent")
    audit_event("privacy.changed")
    page = text(client.get("/audit"))
    select = re.search(r'<select id="action".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", "privacy.changed", "sms.sent"]
    response = client.get("/audit?action=sms.sent")
    assert shown(response) == [sent.id]
    assert '<option value="sms.sent" selected>' in text(response)


def test_status_page_and_sign_in_actions_are_named_in_words(client, lead, audit_event):
    for action in ("email.retried", "email.discarded", "auth.login_failed", "user.two_factor_on"):
        audit_event(action)
    page = text(client.get("/audit"))
    select = re.search(r'<select id="action".*?</select>', page, re.S).group(0)
    assert dict(re.findall(r'<option value="([^"]+)">([^<]+)</option>', select)) == {
        "auth.login_failed": "Sign-in failed",
        "email.discarded": "Failed reply email discarded",
        "email.retried": "Failed reply email retried",
        "user.two_factor_on": "Two-factor turned on",
    }


def test_filter_by_person_id_and_by_name(client, lead, audit_event, make_candidate, make_contact):
    ada = make_candidate("Ada", "Lovelace")
    grace = make_contact("Grace", "Hopper")
    on_ada = audit_event(subject=("candidate", ada.id), at=utc(2026, 3, 1, 9))
    on_grace = audit_event(subject=("contact", grace.id), at=utc(2026, 3, 1, 10))
    assert shown(client.get(f"/audit?person_kind=candidate&person_id={ada.id}")) == [on_ada.id]
    assert shown(client.get(f"/audit?person_kind=contact&person_id={grace.id}")) == [on_grace.id]
    assert shown(client.get("/audit?person=hopper")) == [on_grace.id]
    assert shown(client.get("/audit?person=ada+lov")) == [on_ada.id]


def test_filter_by_dates(client, lead, audit_event):
    # Whole days in the reader's zone (the organisation's, Australia/Sydney: AEDT, UTC+11).
    audit_event(at=utc(2026, 1, 31, 12, 59))  # 31 Jan, 11:59 pm AEDT
    inside = audit_event(at=utc(2026, 1, 31, 13, 0))  # 1 Feb, 12:00 am AEDT
    audit_event(at=utc(2026, 2, 28, 13, 0))  # 1 Mar, 12:00 am AEDT
    response = client.get("/audit?date_from=2026-02-01&date_to=2026-02-28")
    assert shown(response) == [inside.id]
    assert 'value="2026-02-01"' in text(response) and 'value="2026-02-28"' in text(response)


def test_paging_fifty_to_a_page_keeps_the_filters(client, lead, audit_event):
    start = utc(2026, 1, 1)
    ids = [audit_event("sms.sent", at=start + timedelta(minutes=i)).id for i in range(55)]
    audit_event("privacy.changed", at=start + timedelta(days=1))
    first = client.get("/audit?action=sms.sent")
    assert shown(first) == list(reversed(ids))[:50]
    assert "<span>1–50 of 55</span>" in text(first)
    older = re.search(r'<a href="([^"]+)"[^>]*rel="next">Older</a>', text(first))
    assert older, "no link to the next page"
    link = html.unescape(older.group(1))
    assert "action=sms.sent" in link and f"older=20260101T000500000000-{ids[5]}" in link
    # Older shares the filters' sync point: dropped while a filter is on its way (as on Sent).
    assert 'hx-sync="#audit-filters:drop"' in older.group(0)
    assert f'hx-get="{older.group(1)}"' in older.group(0)
    second = client.get(link)
    assert shown(second) == list(reversed(ids))[50:]
    assert "<span>51–55 of 55</span>" in text(second)
    assert 'rel="next"' not in text(second)
    assert 'rel="prev"' in text(second)


def older_link(response) -> str:
    found = re.search(r'<a href="([^"]+)"[^>]*rel="next">Older</a>', text(response))
    assert found, "no Older link"
    return html.unescape(found.group(1))


def newer_link(response) -> str:
    found = re.search(r'<a href="([^"]+)"[^>]*rel="prev">Newer</a>', text(response))
    assert found, "no Newer link"
    return html.unescape(found.group(1))


def test_older_and_newer_neither_repeat_nor_skip_events_written_meanwhile(
    client, lead, audit_event
):
    start = utc(2026, 1, 1)
    ids = [audit_event("sms.sent", at=start + timedelta(minutes=i)).id for i in range(120)]
    newest_first = list(reversed(ids))
    first = client.get("/audit")
    assert shown(first) == newest_first[:50]

    # Ten events are written while the reader looks at the first page.
    later = [audit_event("sms.sent", at=start + timedelta(days=1, minutes=i)).id for i in range(10)]
    second = client.get(older_link(first))
    assert shown(second) == newest_first[50:100]  # not the first page's last ten again
    # Where it is among the events now: ten more are newer than it.
    assert "<span>61–110 of 130</span>" in text(second)
    third = client.get(older_link(second))
    assert shown(third) == newest_first[100:]
    assert 'rel="next"' not in text(third)

    # Newer goes back to the events just newer than those shown, then to the newest page.
    back = client.get(newer_link(third))
    assert shown(back) == newest_first[50:100]
    assert "<span>61–110 of 130</span>" in text(back)
    nearer = client.get(newer_link(back))
    assert shown(nearer) == newest_first[:50]
    assert "<span>11–60 of 130</span>" in text(nearer)
    top = client.get(newer_link(nearer))  # fewer than a page newer: the newest page
    assert shown(top) == list(reversed(later)) + newest_first[:40]
    assert "<span>1–50 of 130</span>" in text(top) and 'rel="prev"' not in text(top)


def test_newer_from_the_second_page_is_the_first_page_when_nothing_changed(
    client, lead, audit_event
):
    start = utc(2026, 1, 1)
    ids = [audit_event("sms.sent", at=start + timedelta(minutes=i)).id for i in range(120)]
    second = client.get(older_link(client.get("/audit")))
    third = client.get(older_link(second))
    assert shown(client.get(newer_link(third))) == shown(second)
    assert shown(client.get(newer_link(second))) == list(reversed(ids))[:50]


def test_events_at_the_same_moment_page_by_id(client, lead, audit_event):
    # Sixty events in one moment: Older goes on by id, none twice and none left out.
    moment = utc(2026, 3, 3, 9)
    ids = [audit_event("sms.sent", at=moment).id for _ in range(60)]
    first = client.get("/audit?action=sms.sent")
    second = client.get(older_link(first))
    assert shown(first) + shown(second) == sorted(ids, reverse=True)


def test_a_broken_page_link_shows_the_newest_with_the_problem(client, lead, audit_event):
    event = audit_event("sms.sent")
    response = client.get("/audit?older=yesterday")
    assert response.status_code == 400
    assert shown(response) == [event.id]
    assert "That page link is not one of this log’s" in html.unescape(text(response))


# --- details in words ----------------------------------------------------------------------------


def test_an_ignore_override_shows_its_recipients_linked_and_the_reason(
    client, lead, make_candidate, session
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "<b>Out</b>", "0412 000 111", sms_consent=False)
    opened = client.post(
        "/sms/compose",
        data={"kind": "candidates", "ids": [str(ada.id), str(olive.id)]},
        follow_redirects=True,
    )
    token = TOKEN.search(text(opened)).group(1)
    sent = client.post(
        f"/sms/compose/{token}/send",
        data={
            "message": "Site closed today",
            "ignore": "1",
            "ignore_reason": "Safety notice <script>alert(1)</script> {{ 7*7 }}",
        },
    )
    assert sent.status_code == 303
    batch_url = sent.headers["Location"]

    response = client.get("/audit?action=sms.ignore_opt_out")
    [event_id] = shown(response)
    words = row(response, event_id)
    assert "Opt-out ignored for 1 person: Olive <b>Out</b> ( 0412 000 111 )" in words  # a <span>
    assert "Reason: Safety notice <script>alert(1)</script> {{ 7*7 }}" in words
    assert "Lee Leader (" in words
    markup = row_html(response, event_id)
    assert f'<a href="/candidates/{olive.id}"><bdi>Olive &lt;b&gt;Out&lt;/b&gt;</bdi></a>' in markup
    assert f'<a href="{batch_url}">SMS batch' in markup
    assert '(<span title="+61412000111">0412 000 111</span>)' in markup
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup
    assert "Ada Lovelace" not in words  # she had consented: not part of the override


def test_an_override_of_more_people_than_the_cap_shows_their_count_and_id_ranges(
    client, lead, audit_event
):
    event = audit_event(
        "sms.ignore_opt_out",
        subject=("batch", 7),
        reason="Site closed",
        kind="candidates",
        people_count=6_002,
        ids="1-6000,6003,6005",
    )
    words = row(client.get("/audit?action=sms.ignore_opt_out"), event.id)
    assert "Opt-out ignored for 6,002 people: Candidate ids 1–6000, 6003, 6005" in words
    assert "Reason: Site closed" in words


def test_a_consent_change_reads_old_to_new_and_links_the_record(client, lead, make_candidate):
    ada = make_candidate("Ada", "Lovelace")
    loaded = {
        "was_sms_consent": "1",
        "was_email_consent": "1",
        "was_mail_consent": "1",
        "was_privacy_statement_read": "0",
    }
    assert (
        client.post(
            f"/candidates/{ada.id}/privacy",
            data={"email_consent": "y", "mail_consent": "y", **loaded},
        ).status_code
        == 302
    )
    response = client.get("/audit?action=privacy.changed")
    [event_id] = shown(response)
    assert "SMS: ticked → not ticked" in row(response, event_id)
    assert f'<a href="/candidates/{ada.id}">Ada Lovelace</a>' in row_html(response, event_id)


def test_stop_reply_withdrawal_shows_old_to_new(client, lead, audit_event, make_contact):
    grace = make_contact("Grace", "Hopper")
    event = audit_event(
        "consent.sms_withdrawn",
        subject=("contact", grace.id),
        changes={"sms_consent": [True, False]},
        number="+61413222333",
        keyword="STOP",
    )
    response = client.get("/audit")
    words = row(response, event.id)
    assert "SMS: ticked → not ticked" in words
    assert "number +61413222333" in words and "keyword STOP" in words
    assert "system" in words
    assert f'<a href="/contacts/{grace.id}">Grace Hopper</a>' in row_html(response, event.id)


def test_a_permission_change_shows_what_was_added_and_removed(client, lead, audit_event):
    event = audit_event(
        "role.permissions_changed",
        actor=lead,
        subject=("role", 3),
        role="consultant",
        added=["sms.ignore_opt_out"],
        removed=["records.edit", "audit.view"],
    )
    words = row(client.get("/audit"), event.id)
    assert "Added: sms.ignore_opt_out" in words
    assert "Removed: records.edit, audit.view" in words
    assert "role consultant" in words


def test_other_details_are_key_value_lines_never_evaluated(client, lead, audit_event):
    event = audit_event(
        "settings.changed",
        actor=lead,
        note="<img src=x onerror=alert(1)>",
        template="{{ config }}",
        limits={"rate": 5, "on": True},
    )
    response = client.get("/audit")
    markup = row_html(response, event.id)
    assert "<img" not in markup
    assert "&lt;img src=x onerror=alert(1)&gt;" in markup
    words = row(response, event.id)
    assert "template {{ config }}" in words
    assert "limits rate: 5; on: yes" in words


def test_user_events_without_a_username_name_the_user_as_they_are_now(
    client, lead, audit_event, make_user, session
):
    mia = make_user("mia.w")
    edited = audit_event("user.edited", actor=lead, subject=("user", mia.id), changes={})
    two_factor = audit_event("user.two_factor_on", actor=mia, subject=("user", mia.id))
    # One that kept the username it had then is named as it was, not as it is now.
    renamed = audit_event("user.deactivated", subject=("user", mia.id), username="mia.old")
    gone = audit_event("user.two_factor_reset", subject=("user", 999999))

    with recorded(session.get_bind()) as statements:
        response = client.get("/audit")
    assert row(response, edited.id).count("User “mia.w”") == 1
    assert "User “mia.w”" in row(response, two_factor.id)
    assert "User “mia.old”" in row(response, renamed.id)
    assert "User 999999" in row(response, gone.id)
    # Every user on the page in one query, whichever events name them.
    assert len([s for s in statements if s.startswith("SELECT users.id, users.username")]) == 1


def test_a_lock_until_a_time_is_shown_in_the_readers_zone(client, lead, audit_event):
    event = audit_event("auth.locked", until="2026-03-01T09:30:00+00:00", username="jo")
    words = row(client.get("/audit"), event.id)
    assert "2026-03-01T09:30" not in words and "username jo" in words
    assert "until 1 Mar 2026, 8:30 pm" in words  # Sydney, in daylight saving then


@pytest.mark.parametrize(
    "typed", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-12:00", "2026-01-01T00:00+00:00"]
)
def test_a_username_typed_as_a_time_is_shown_as_typed(app, client, lead, typed):
    # Anyone may type this at sign-in; the failure is audited with the username as typed. Read as
    # a time, it would show as another text (a misleading entry), or not fit the reader's zone
    # at the calendar's ends (a 500 for every reader of the log).
    stranger = app.test_client()
    assert stranger.login(typed, "wrong password").status_code == 401
    response = client.get("/audit?action=auth.login_failed")
    assert response.status_code == 200
    assert f"username {typed}" in row(response, shown(response)[0])


# --- bad values, fragments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "query, field, message",
    [
        (
            "date_from=yesterday",
            "date_from",
            "From must be a date like 2026-01-31, not “yesterday”.",
        ),
        ("date_to=2026-13-01", "date_to", "To must be a date like 2026-01-31, not “2026-13-01”."),
        ("date_from=2026-03-01&date_to=2026-02-01", "date_to", "To is before From."),
        ("person_id=abc", "person_id", "Record id must be a whole number like 42, not “abc”."),
        ("actor=ghost", "actor", "There is no user with the username “ghost”."),
        ("action=nope", "action", "Choose an action from the list."),
    ],
)
def test_a_bad_filter_is_answered_400_on_the_form(client, lead, audit_event, query, field, message):
    kept = audit_event()
    response = client.get(f"/audit?{query}")
    assert response.status_code == 400
    page = text(response)
    assert f'<span class="error" id="{field}-error">{message}</span>' in page
    control = Tags(page).one("select" if field == "action" else "input", id=field)
    assert control["aria-invalid"] == "true" and control["aria-describedby"] == f"{field}-error"
    assert message in re.search(r'<div class="error-summary".*?</div>', page, re.S).group(0)
    assert shown(response) == [kept.id]  # the rest of the filters still apply


def test_a_bad_date_keeps_what_was_typed_in_the_box(client, lead):
    response = client.get("/audit?date_from=31%2F01%2F2026")
    assert Tags(text(response)).one("input", id="date_from")["value"] == "31/01/2026"


def test_a_name_left_out_as_too_long_stays_in_its_box(client, lead):
    typed = "Lovelace " * 30  # 270 characters: more than a filter takes
    response = client.get("/audit", query_string={"person": typed})
    assert response.status_code == 400
    assert "Name can be at most 200 characters" in text(response)
    assert Tags(text(response)).one("input", id="person")["value"] == typed


RESULTS = ("section", "results")


def parts(fragment) -> list[tuple[str, str | None]]:
    """An htmx fragment's top-level elements: (tag, id)."""
    return [(node.tag, node.get("id")) for node in html_tree.html(fragment).elements]


def clear_links(node) -> list[tuple[str, str]]:
    return [(a.text, a.get("href")) for a in node.one("span", id="clear-filters").all("a")]


@pytest.mark.parametrize(
    ("query", "cleared"),
    [
        ({"action": "sms.sent"}, True),
        ({"date_from": "nope"}, True),  # refused: a way back too
        ({}, False),
    ],
)
def test_clear_filters_shows_alike_with_and_without_javascript(
    client, lead, audit_event, query, cleared
):
    """The filter form is outside the results htmx swaps: a filter typed with JavaScript on left
    no Clear filters (and one cleared by typing left it there), where without JavaScript the page
    had it. The results bring it out of band, with the ids htmx keeps the focus by."""
    audit_event("sms.sent")
    expected = [("Clear filters", "/audit")] if cleared else []

    page = html_tree.html(client.get("/audit", query_string=query))
    fragment = html_tree.html(client.get("/audit", query_string=query, htmx=True))

    form = page.one("form", id="audit-filters")
    assert clear_links(form) == expected
    assert form.one("span", id="clear-filters").get("hx-swap-oob") is None
    oob = fragment.one("span", id="clear-filters")
    assert oob in fragment.elements and oob.get("hx-swap-oob") == "true"
    assert clear_links(fragment) == expected
    if cleared:
        assert fragment.one("a", id="clear-filters-link").text == "Clear filters"


def test_a_bad_filter_with_htmx_answers_400_with_the_results_block(client, lead):
    response = client.get("/audit?date_from=nope", htmx=True)
    assert response.status_code == 400
    assert parts(response) == [("div", "live-status"), ("span", "clear-filters"), RESULTS]
    assert "From must be a date like 2026-01-31" in text(response)


def test_active_filtering_returns_the_results_block_and_varies_on_hx_request(
    client, lead, audit_event
):
    event = audit_event("sms.sent")
    full = client.get("/audit?action=sms.sent")
    fragment = client.get("/audit?action=sms.sent", htmx=True)
    assert "<html" in text(full) and '<form id="audit-filters"' in text(full)
    assert "<html" not in text(fragment)
    assert '<form id="audit-filters"' not in text(fragment)
    assert parts(fragment) == [("div", "live-status"), ("span", "clear-filters"), RESULTS]
    assert shown(fragment) == [event.id]
    assert 'hx-swap-oob="innerHTML">1 event found</div>' in text(fragment)
    for response in (full, fragment):
        assert "HX-Request" in response.headers["Vary"]


def test_a_boosted_or_history_restore_request_gets_the_whole_page(client, lead):
    for header in ("HX-Boosted", "HX-History-Restore-Request"):
        response = client.get("/audit", htmx=True, headers={header: "true"})
        assert "<html" in text(response), header


def test_the_page_has_no_inline_scripts_or_styles(client, lead, audit_event):
    audit_event("sms.sent", note="<style>x</style>")
    page = text(client.get("/audit"))
    assert "style=" not in page and "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
