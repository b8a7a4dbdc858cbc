"""Record pages (/candidates/<id>, /contacts/<id>): details, Privacy, Comments, Communications
History, and the add/edit forms, with their permission gates and audit events."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from tests.conftest import office_named
from tests.html_tree import Node, html
from tests.pages import assert_refused, audits, candidate_form, changed, fresh, opened
from tests.replying import receive
from webapp.models import Candidate, Client, ClientContact, Comment, Message


def details(doc: Node) -> dict[str, str]:
    """The Details section as {label: value}."""
    section = doc.one("section", aria_labelledby="details-heading")
    dl = section.one("dl")
    terms = dl.all("dt")
    values = dl.all("dd")
    return {dt.text: dd.text for dt, dd in zip(terms, values, strict=True)}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def count(session, model) -> int:
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def ada(make_candidate):
    return make_candidate(
        "Ada",
        "Lovelace",
        "0412 345 678",
        email="ada@example.com",
        status="Available",
        job_title="Analyst",
        skills="Python, SQL",
        location="Sydney",
        created_at=utc(2025, 1, 15, 10),
    )


@pytest.fixture
def grace(make_contact):
    return make_contact(
        "Grace",
        "Hopper",
        "0413 222 333",
        client="Harbour Mining Pty Ltd",
        position="Site Manager",
        email="grace@harbour.example",
    )


# --- signed out ----------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_sign_in_from_a_record(client, ada):
    response = client.get(f"/candidates/{ada.id}")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == [
        f"/candidates/{ada.id}"
    ]


def test_signed_out_htmx_privacy_post_gets_401_with_hx_redirect(client, ada, session):
    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data={},
        htmx=True,
        headers={"HX-Current-URL": f"http://localhost/candidates/{ada.id}"},
    )
    assert response.status_code == 401
    assert urlsplit(response.headers["HX-Redirect"]).path == "/login"
    assert fresh(session, Candidate, ada.id).sms_consent is True


# --- the record page -----------------------------------------------------------------------------


def test_candidate_record_shows_the_details(client, login, ada):
    login("consultant")
    response = client.get(f"/candidates/{ada.id}")
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    doc = html(response)
    assert doc.one("h1").text == "Ada Lovelace"
    shown = details(doc)
    assert shown["Mobile"] == "SMS 0412 345 678"  # "SMS " visually hidden
    assert doc.one("span", title="+61412345678").text == "0412 345 678"
    assert (
        shown["Email"],
        shown["Status"],
        shown["Job title"],
        shown["Skills"],
        shown["Location"],
    ) == ("ada@example.com", "Available", "Analyst", "Python, SQL", "Sydney")
    assert shown["Created"] == "15 Jan 2025"


def test_skills_show_with_their_line_breaks(client, login, make_candidate):
    """Kept as typed, one a line, but shown run together on one line."""
    person = make_candidate("Ada", "Lovelace", "0412 345 678", skills="Triage\nICU")
    login("consultant")
    doc = html(client.get(f"/candidates/{person.id}"))
    [skills] = [dd for dd in doc.all("dd") if dd.children == ["Triage\nICU"]]
    assert "lines" in skills.get("class").split()  # white-space: pre-line (app.css)


def test_contact_record_shows_position_and_client(client, login, grace):
    login("consultant")
    response = client.get(f"/contacts/{grace.id}")
    assert response.status_code == 200
    shown = details(html(response))
    assert (shown["Position"], shown["Client"], shown["Email"]) == (
        "Site Manager",
        "Harbour Mining Pty Ltd",
        "grace@harbour.example",
    )


def test_record_mobile_links_to_the_sms_screen(client, login, ada, grace):
    login("consultant")
    doc = html(client.get(f"/candidates/{ada.id}"))
    assert doc.one("a", href=f"/sms/compose?candidate={ada.id}").text == "SMS 0412 345 678"
    doc = html(client.get(f"/contacts/{grace.id}"))
    assert doc.one("a", href=f"/sms/compose?contact={grace.id}").text == "SMS 0413 222 333"


def test_viewer_sees_the_record_without_sms_or_edit_links(client, login, ada):
    login("viewer")
    response = client.get(f"/candidates/{ada.id}")
    assert response.status_code == 200
    doc = html(response)
    assert details(doc)["Mobile"] == "0412 345 678"
    assert not [a for a in doc.all("a") if (a.get("href") or "").startswith("/sms/compose")]
    assert not doc.all("a", href=f"/candidates/{ada.id}/edit")


def test_consultant_sees_the_edit_link(client, login, ada):
    login("consultant")
    assert (
        html(client.get(f"/candidates/{ada.id}")).one("a", href=f"/candidates/{ada.id}/edit").text
        == "Edit"
    )


def test_invalid_and_missing_mobiles_are_marked(client, login, make_candidate):
    bad = make_candidate("Inva", "Lid", "12345")
    none = make_candidate("Nomo", "Bile", None)
    login("consultant")
    assert details(html(client.get(f"/candidates/{bad.id}")))["Mobile"] == "12345 invalid number"
    assert details(html(client.get(f"/candidates/{none.id}")))["Mobile"] == "No mobile"


def test_comments_are_listed_newest_first_with_author(client, login, ada, session, make_user):
    author = make_user("casey", role="consultant", full_name="Casey Consultant")
    session.add_all(
        [
            Comment(
                candidate_id=ada.id,
                author_id=author.id,
                type="SMS",
                text="Asked about Monday shift",
                created_at=utc(2025, 2, 1, 9),
            ),
            Comment(
                candidate_id=ada.id,
                author_id=None,
                type="Note",
                text="Prefers mornings",
                created_at=utc(2025, 2, 2, 9),
            ),
        ]
    )
    session.commit()
    login("consultant")
    doc = html(client.get(f"/candidates/{ada.id}"))
    section = doc.one("section", aria_labelledby="comments-heading")
    items = [li.text for li in section.all("li")]
    assert len(items) == 2
    assert items[0].startswith("Note Prefers mornings — system")
    assert items[1] == "SMS Asked about Monday shift — Casey Consultant, 1 Feb 2025, 8:00 pm AEDT"


def test_a_comment_keeps_its_line_breaks(client, login, session, ada):
    session.add(Comment(candidate_id=ada.id, type="Note", text="Called.\nLeft voicemail."))
    session.commit()
    login("consultant")

    section = html(client.get(f"/candidates/{ada.id}")).one(
        "section", aria_labelledby="comments-heading"
    )

    assert section.one("span", class_="lines").children == ["Called.\nLeft voicemail."]


def test_a_record_without_comments_says_so(client, login, ada):
    login("consultant")
    section = html(client.get(f"/candidates/{ada.id}")).one(
        "section", aria_labelledby="comments-heading"
    )
    assert "No comments yet." in section.text


def test_comments_of_other_people_are_not_shown(client, login, ada, make_candidate, session):
    other = make_candidate("Other", "Person", "0413 000 001")
    session.add(Comment(candidate_id=other.id, text="Not for Ada"))
    session.commit()
    login("consultant")
    assert "Not for Ada" not in client.get(f"/candidates/{ada.id}").get_data(as_text=True)


def test_communications_history_has_all_sent_and_received_tabs(client, login, ada):
    login("consultant")
    doc = html(client.get(f"/candidates/{ada.id}"))
    history = doc.one("section", id="history")
    assert history.one("h2").text == "Communications History"
    tabs = {a.text: a for a in history.one("nav").all("a")}
    assert set(tabs) == {"All", "Sent", "Received"}
    assert tabs["All"].get("aria-current") == "page"
    assert "aria-current" not in tabs["Received"].attrs
    assert tabs["Received"].get("hx-get") == f"/candidates/{ada.id}?tab=received&part=thread"
    assert tabs["Received"].get("href") == f"/candidates/{ada.id}?tab=received#history"


def test_history_tab_over_htmx_returns_only_the_history_section(client, login, ada):
    login("consultant")
    response = client.get(f"/candidates/{ada.id}?tab=received", htmx=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    body = response.get_data(as_text=True)
    assert "<html" not in body
    doc = html(response)
    top = [child for child in doc.children if not isinstance(child, str)]
    assert [(node.tag, node.get("id")) for node in top] == [("section", "history")]
    tabs = {a.text: a for a in doc.one("nav").all("a")}
    assert tabs["Received"].get("aria-current") == "page"


def test_history_tab_without_javascript_is_the_whole_page(client, login, ada):
    login("consultant")
    response = client.get(f"/candidates/{ada.id}?tab=received")
    assert response.status_code == 200
    assert "<html" in response.get_data(as_text=True)
    assert "No replies received" in html(response).one("section", id="history").text


def test_an_unknown_tab_falls_back_to_all(client, login, ada):
    login("consultant")
    response = client.get(f"/candidates/{ada.id}?tab=bogus")
    assert response.status_code == 200
    tabs = {a.text: a for a in html(response).one("section", id="history").one("nav").all("a")}
    assert tabs["All"].get("aria-current") == "page"


@pytest.fixture
def conversation(session, ada, make_user):
    sender = make_user("casey", role="consultant", full_name="Casey Consultant")
    session.add_all(
        [
            Message(
                direction="out",
                candidate_id=ada.id,
                sender_id=sender.id,
                to_e164="+61412345678",
                body="Hi Ada, are you free for a shift on Monday?",
                provider="sandbox",
                state="delivered",
                created_at=utc(2025, 3, 1, 9),
            ),
            Message(
                direction="in",
                candidate_id=ada.id,
                to_e164="+61400000000",
                from_e164="+61412345678",
                body="Yes, Monday works for me",
                provider="sandbox",
                state="received",
                created_at=utc(2025, 3, 1, 10),
            ),
        ]
    )
    session.commit()


def test_sent_tab_lists_the_sms_sent_to_the_person(client, login, ada, conversation):
    login("consultant")
    history = html(client.get(f"/candidates/{ada.id}?tab=sent")).one("section", id="history")
    assert "Hi Ada, are you free for a shift on Monday?" in history.text
    assert "Yes, Monday works for me" not in history.text


def test_received_tab_lists_the_replies_from_the_person(client, login, ada, conversation):
    login("consultant")
    history = html(client.get(f"/candidates/{ada.id}?tab=received", htmx=True)).one(
        "section", id="history"
    )
    assert "Yes, Monday works for me" in history.text
    assert "Hi Ada, are you free" not in history.text


@pytest.mark.parametrize(
    "path",
    [
        "/candidates/999999",
        "/contacts/999999",
        "/candidates/abc",
        "/contacts/abc",
        "/candidates/-1",
        "/candidates/999999/edit",
        "/contacts/999999/edit",
    ],
)
def test_unknown_record_is_404(client, login, ada, path):
    login("consultant")
    response = client.get(path)
    assert response.status_code == 404


def test_a_contact_id_does_not_open_a_candidate(client, login, grace, session):
    login("consultant")
    assert count(session, Candidate) == 0
    assert client.get(f"/contacts/{grace.id}").status_code == 200
    assert client.get(f"/candidates/{grace.id}").status_code == 404
    assert client.get(f"/candidates/{grace.id}/edit").status_code == 404


def test_unknown_record_privacy_post_is_404_and_writes_nothing(client, login, session):
    login("consultant")
    response = client.post("/candidates/999999/privacy", data={"sms_consent": "y"})
    assert response.status_code == 404
    assert audits(session, "privacy.changed") == []


# --- Privacy -------------------------------------------------------------------------------------

NEW_PRIVACY = {
    "sms_consent": True,
    "email_consent": True,
    "mail_consent": True,
    "privacy_statement_read": False,
}


def privacy_data(
    loaded: dict[str, bool] | None = None, reason: str | None = None, **ticked: bool
) -> dict[str, str]:
    """The Privacy form as a browser posts it: only ticked boxes are sent, with the values the form
    was loaded with (a new record's unless `loaded` says otherwise) and the reason when given."""
    was = {**NEW_PRIVACY, **(loaded or {})}
    data = {name: "y" for name, on in {**was, **ticked}.items() if on}
    data.update({f"was_{name}": "1" if on else "0" for name, on in was.items()})
    if reason is not None:
        data["sms_consent_reason"] = reason
    return data


def test_consultant_sees_the_privacy_form(client, login, ada):
    login("consultant")
    section = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    form = section.one("form")
    assert (form.get("method"), form.get("action")) == ("post", f"/candidates/{ada.id}/privacy")
    assert form.get("hx-post") == form.get("action")
    boxes = {box.get("name"): "checked" in box.attrs for box in form.all("input", type="checkbox")}
    assert boxes == {
        "sms_consent": True,
        "email_consent": True,
        "mail_consent": True,
        "privacy_statement_read": False,
    }
    labels = [label.text for label in form.all("label")]
    assert labels == ["SMS", "Email", "Mail", "Privacy statement read"]
    assert form.one("button", type="submit").text == "Save Privacy"


def test_privacy_post_without_javascript_saves_and_redirects_to_the_record(
    client, login, ada, session
):
    login("consultant")
    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_data(sms_consent=False, privacy_statement_read=True),
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/candidates/{ada.id}"
    person = fresh(session, Candidate, ada.id)
    assert (
        person.sms_consent,
        person.email_consent,
        person.mail_consent,
        person.privacy_statement_read,
    ) == (False, True, True, True)
    page = client.get(response.headers["Location"])
    text = html(page).one("main").text
    assert "Privacy saved: SMS unticked, Privacy statement read ticked." in text
    assert "SMS is not ticked" in html(page).one("section", id="privacy").text


def test_privacy_post_over_htmx_returns_the_privacy_fragment(client, login, ada, session):
    login("consultant")
    response = client.post(
        f"/candidates/{ada.id}/privacy", data=privacy_data(sms_consent=False), htmx=True
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    body = response.get_data(as_text=True)
    assert 'id="privacy"' in body and "<html" not in body
    doc = html(response)
    section = doc.one("section", id="privacy")
    assert section.one("p", role="status").text == "Privacy saved: SMS unticked."
    boxes = {
        box.get("name"): "checked" in box.attrs for box in section.all("input", type="checkbox")
    }
    assert boxes["sms_consent"] is False and boxes["email_consent"] is True
    assert fresh(session, Candidate, ada.id).sms_consent is False


def test_a_privacy_save_over_htmx_redraws_the_quick_reply_as_typed(client, login, ada, session):
    """The Quick reply said the person had opted out after SMS was ticked again beside it (and
    offered its box after SMS was unticked) until a reload: it comes back with the Privacy, out of
    band, keeping what was typed in it (posted with the Privacy form)."""
    login("consultant")
    typed = {"message": "See you at ten", "reply_token": "t-1", "ignore_reason": ""}
    response = client.post(
        f"/candidates/{ada.id}/privacy", data=privacy_data(sms_consent=False) | typed, htmx=True
    )
    doc = html(response)
    form = doc.one("form", id="quick-reply")
    assert form.get("hx-swap-oob") == "true"
    assert "opted out" in form.one(id="quick-reply-notice").text
    assert form.one("textarea", id="quick-reply-message").text == "See you at ten"  # kept
    assert form.one("input", name="reply_token").get("value") == "t-1"  # a resend stays one

    ticked_again = privacy_data(
        loaded={"sms_consent": False}, reason="Asked by phone", sms_consent=True
    )
    response = client.post(f"/candidates/{ada.id}/privacy", data=ticked_again | typed, htmx=True)
    form = html(response).one("form", id="quick-reply")
    assert form.all(id="quick-reply-notice") == []  # reachable again: no opt-out notice
    assert form.one("textarea", id="quick-reply-message").text == "See you at ten"
    assert fresh(session, Candidate, ada.id).sms_consent is True


def test_privacy_change_is_audited_with_the_changed_fields_only(client, login, ada, session):
    user = login("consultant")
    client.post(
        f"/candidates/{ada.id}/privacy", data=privacy_data(sms_consent=False, mail_consent=False)
    )
    [event] = audits(session, "privacy.changed")
    assert (event.actor_id, event.subject_type, event.subject_id) == (user.id, "candidate", ada.id)
    assert event.details["changes"] == {"sms_consent": [True, False], "mail_consent": [True, False]}


def test_saving_unchanged_privacy_writes_no_audit_event(client, login, ada, session):
    login("consultant")
    response = client.post(f"/candidates/{ada.id}/privacy", data=privacy_data(), htmx=True)
    assert response.status_code == 200
    assert "Privacy unchanged." in response.get_data(as_text=True)
    assert audits(session, "privacy.changed") == []


def test_ticking_sms_again_is_audited(client, login, make_candidate, session):
    person = make_candidate("Opt", "Out", "0413 000 001", sms_consent=False)
    login("consultant")
    client.post(
        f"/candidates/{person.id}/privacy",
        data=privacy_data(loaded={"sms_consent": False}, sms_consent=True),
    )
    assert fresh(session, Candidate, person.id).sms_consent is True
    [event] = audits(session, "privacy.changed")
    assert event.details["changes"] == {"sms_consent": [False, True]}


def test_contact_privacy_can_be_changed(client, login, grace, session):
    login("consultant")
    response = client.post(f"/contacts/{grace.id}/privacy", data=privacy_data(email_consent=False))
    assert response.status_code == 302
    assert fresh(session, ClientContact, grace.id).email_consent is False
    [event] = audits(session, "privacy.changed")
    assert (event.subject_type, event.subject_id) == ("contact", grace.id)


def test_viewer_sees_privacy_as_text_without_a_form(client, login, make_candidate):
    person = make_candidate("Opt", "Out", "0413 000 001", sms_consent=False)
    login("viewer")
    section = html(client.get(f"/candidates/{person.id}")).one("section", id="privacy")
    assert not section.all("form") and not section.all("input") and not section.all("button")
    shown = {dt.text: dd.text for dt, dd in zip(section.all("dt"), section.all("dd"), strict=True)}
    assert shown == {"SMS": "No", "Email": "Yes", "Mail": "Yes", "Privacy statement read": "No"}


@pytest.mark.parametrize(
    "role, how, status",
    [("viewer", {}, 403), ("viewer", {"htmx": True}, 403), ("consultant", {"csrf": False}, 400)],
    ids=["viewer", "viewer-htmx", "without-csrf-token"],
)
def test_a_privacy_post_from_a_viewer_or_without_csrf_token_is_refused_and_changes_nothing(
    client, login, ada, session, role, how, status
):
    login(role)
    response = client.post(
        f"/candidates/{ada.id}/privacy", data=privacy_data(sms_consent=False), **how
    )
    assert response.status_code == status
    assert fresh(session, Candidate, ada.id).sms_consent is True
    assert audits(session, "privacy.changed") == []


def test_privacy_get_is_not_allowed(client, login, ada):
    login("consultant")
    assert client.get(f"/candidates/{ada.id}/privacy").status_code == 405


# --- Privacy: a stale form, and ticking SMS again after the person's own STOP ------------------


def stop_from(app, session, text: str = "STOP") -> None:
    """Ada's phone (0412 345 678) replies, through the real reply pipeline."""
    receive(app, session, text, from_number="61412345678")


def boxes_in(section: Node) -> dict[str, bool]:
    return {
        box.get("name"): "checked" in box.attrs for box in section.all("input", type="checkbox")
    }


def loaded_in(section: Node) -> dict[str, str]:
    return {
        node.get("name"): node.get("value")
        for node in section.all("input", type="hidden")
        if node.get("name", "").startswith("was_")
    }


def test_the_privacy_form_carries_the_values_it_was_loaded_with(client, login, make_candidate):
    person = make_candidate(
        "Opt", "Out", "0413 000 001", sms_consent=False, privacy_statement_read=True
    )
    login("consultant")
    section = html(client.get(f"/candidates/{person.id}")).one("section", id="privacy")
    assert loaded_in(section) == {
        "was_sms_consent": "0",
        "was_email_consent": "1",
        "was_mail_consent": "1",
        "was_privacy_statement_read": "1",
    }


def test_back_onto_a_record_draws_its_privacy_boxes_afresh(client, login, ada):
    """Back onto a record page gets it again, and a browser ticked the boxes as they were left
    beside the page's fresh was_ values: a colleague's untick of SMS since was taken for this
    user's change, and a save of another box ticked SMS again. autocomplete="off" stops it, on the
    page and on the Privacy a save draws again."""
    login("consultant")
    page = html(client.get(f"/candidates/{ada.id}"))
    saved = html(
        client.post(
            f"/candidates/{ada.id}/privacy", data=privacy_data(mail_consent=False), htmx=True
        )
    )
    for drawn in (page, saved):
        assert drawn.one("section", id="privacy").one("form").get("autocomplete") == "off"


def test_back_after_a_history_tab_fetches_the_record_again(client, login, ada):
    """A tab pushes its address (hx-push-url): htmx kept a copy of the page in the browser's
    storage, and Back showed it, Privacy as it was before a save since (and the person's details
    stored in the browser). hx-history="false" around the page's content keeps it out, so Back
    asks the server for the page."""
    login("consultant")
    page = html(client.get(f"/candidates/{ada.id}"))
    [kept_out] = [node for node in page.iter() if node.get("hx-history") == "false"]
    for section in ("privacy", "history"):
        assert kept_out.one("section", id=section)
    # The page htmx fetches on Back (historyRestoreAsHxRequest off) is the whole page again.
    restored = client.get(
        f"/candidates/{ada.id}?tab=sent", headers={"HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx"])
def test_a_tab_opened_before_a_stop_saves_its_email_change_and_leaves_sms_unticked(
    app, client, login, ada, session, htmx
):
    login("consultant")
    tab_a = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert boxes_in(tab_a)["sms_consent"] is True
    stop_from(app, session)  # Ada replies STOP while tab A is open
    assert fresh(session, Candidate, ada.id).sms_consent is False

    # Tab A still shows SMS ticked; the user unticks Email only and saves.
    response = client.post(
        f"/candidates/{ada.id}/privacy", data=privacy_data(email_consent=False), htmx=htmx
    )

    assert response.status_code == (200 if htmx else 302)
    person = fresh(session, Candidate, ada.id)
    assert (person.sms_consent, person.email_consent) == (False, False)
    [event] = audits(session, "privacy.changed")
    assert event.details["changes"] == {"email_consent": [True, False]}


def privacy_as_shown(section: Node, **ticked: bool) -> dict[str, str]:
    """The Privacy form of `section` (a page as loaded) posted with `ticked` changed."""
    boxes = {**boxes_in(section), **ticked}
    return {name: "y" for name, on in boxes.items() if on} | loaded_in(section)


def saved_message(response, htmx: bool, client) -> str:
    """The message a Privacy save answered with: in the section (htmx), else flashed on the
    record it redirected to."""
    if not htmx:
        assert response.status_code == 302
        response = client.get(response.headers["Location"])
    assert response.status_code == 200
    page = html(response)
    return (page.one("main") if not htmx else page.one("section", id="privacy")).text


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx"])
def test_the_same_privacy_change_from_a_second_tab_is_saved_not_refused(
    app, client, login, ada, session, htmx
):
    user = login("consultant")
    other = app.test_client()  # a second browser, signed in as the same user
    other.login(user.username)
    tab_a = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    tab_b = html(other.get(f"/candidates/{ada.id}")).one("section", id="privacy")

    first = client.post(
        f"/candidates/{ada.id}/privacy", data=privacy_as_shown(tab_a, email_consent=False)
    )
    assert first.status_code == 302
    # Tab B, loaded before A saved, makes the same change: Email is already what it asks.
    second = other.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_as_shown(tab_b, email_consent=False),
        htmx=htmx,
    )

    assert second.status_code == (200 if htmx else 302)
    text = saved_message(second, htmx, other)
    assert "Privacy saved: Email already unticked." in text
    assert "Not saved" not in text
    assert fresh(session, Candidate, ada.id).email_consent is False
    [event] = audits(session, "privacy.changed")  # written once, by the first tab
    assert event.details["changes"] == {"email_consent": [True, False]}


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx"])
def test_a_box_a_stop_already_unticked_is_no_clash_and_the_rest_is_saved(
    app, client, login, ada, session, htmx
):
    login("consultant")
    tab = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    stop_from(app, session)  # after the form was loaded with SMS ticked

    # The stale tab unticks SMS (already done by the STOP) and Email.
    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_as_shown(tab, sms_consent=False, email_consent=False),
        htmx=htmx,
    )

    text = saved_message(response, htmx, client)
    assert "Privacy saved: SMS already unticked, Email unticked." in text
    person = fresh(session, Candidate, ada.id)
    assert (person.sms_consent, person.email_consent) == (False, False)
    [event] = audits(session, "privacy.changed")
    assert event.details["changes"] == {"email_consent": [True, False]}


def test_a_privacy_post_without_the_loaded_values_is_refused(client, login, ada, session):
    login("consultant")
    data = {
        key: value
        for key, value in privacy_data(sms_consent=False).items()
        if key != "was_mail_consent"
    }
    response = client.post(f"/candidates/{ada.id}/privacy", data=data)
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    bad = privacy_data(sms_consent=False) | {"was_sms_consent": "yes"}
    assert client.post(f"/candidates/{ada.id}/privacy", data=bad).status_code == 400
    assert fresh(session, Candidate, ada.id).sms_consent is True
    assert audits(session, "privacy.changed") == []


def test_the_edit_form_cannot_re_tick_sms_after_a_stop(app, client, login, ada, session):
    login("consultant")
    stop_from(app, session)
    # A hand-made (or old, cached) edit form that still sends the SMS box.
    response = client.post(
        f"/candidates/{ada.id}/edit", data=edit_form(ada, job_title="Chef", sms_consent="y")
    )
    assert response.status_code == 302
    person = fresh(session, Candidate, ada.id)
    assert (person.job_title, person.sms_consent) == ("Chef", False)


def test_after_a_stop_the_record_says_so_and_asks_for_a_reason(app, client, login, ada, session):
    login("team-leader")
    stop_from(app, session)
    section = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert "They opted out themselves (replied STOP," in section.text
    reason = section.one("input", name="sms_consent_reason")
    assert section.one("label", for_=reason.get("id")).text == "Reason for ticking SMS again"
    assert reason.get("maxlength") == "500"
    assert "sms_consent_reason-hint" in reason.get("aria-describedby")


@pytest.mark.parametrize("reason", [None, "", "   "])
@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx"])
def test_ticking_sms_again_after_a_stop_needs_a_reason(
    app, client, login, ada, session, htmx, reason
):
    login("team-leader")
    stop_from(app, session)
    before = len(audits(session))

    response = client.post(
        f"/candidates/{ada.id}/privacy",
        htmx=htmx,
        data=privacy_data(
            loaded={"sms_consent": False}, sms_consent=True, mail_consent=False, reason=reason
        ),
    )

    assert response.status_code == 400
    section = html(response).one("section", id="privacy")
    field = section.one("input", name="sms_consent_reason")
    assert field.get("aria-invalid") == "true"
    assert "sms_consent_reason-error" in field.get("aria-describedby").split()
    assert section.one("span", id="sms_consent_reason-error").text.startswith(
        "This person replied STOP: say why SMS may be ticked again"
    )
    # What the user ticked is kept for them to add the reason and save again.
    assert boxes_in(section)["sms_consent"] is True and boxes_in(section)["mail_consent"] is False
    assert loaded_in(section)["was_sms_consent"] == "0"
    person = fresh(session, Candidate, ada.id)
    assert (person.sms_consent, person.mail_consent) == (False, True)
    assert len(audits(session)) == before


def test_ticking_sms_again_after_a_stop_with_a_reason_is_audited_as_overriding_it(
    app, client, login, ada, session
):
    user = login("team-leader")
    stop_from(app, session)

    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_data(
            loaded={"sms_consent": False},
            sms_consent=True,
            reason="  Phoned 2 Dec: wants SMS again ",
        ),
    )

    assert response.status_code == 302
    assert fresh(session, Candidate, ada.id).sms_consent is True
    [event] = audits(session, "privacy.changed")
    assert event.actor_id == user.id
    assert event.details == {
        "changes": {"sms_consent": [False, True]},
        "reason": "Phoned 2 Dec: wants SMS again",
        "overrides": "stop",
    }
    section = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert not section.all("input", name="sms_consent_reason")

    # Once a user has unticked it themselves, the STOP is no longer why it is unticked.
    client.post(f"/candidates/{ada.id}/privacy", data=privacy_data(sms_consent=False))
    section = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert not section.all("input", name="sms_consent_reason")
    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_data(loaded={"sms_consent": False}, sms_consent=True),
    )
    assert response.status_code == 302
    assert fresh(session, Candidate, ada.id).sms_consent is True


def test_ticking_sms_again_after_the_gateways_opt_out_needs_a_reason(client, login, ada, session):
    from webapp.sms import consent

    login("team-leader")
    consent.set_for_number(
        session,
        ada.mobile_e164,
        False,
        actor=None,
        cause={"source": "gateway", "code": "21610", "message_uuid": "x"},
    )
    session.commit()
    section = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert "the gateway reported the number unsubscribed, code 21610" in section.text

    data = privacy_data(loaded={"sms_consent": False}, sms_consent=True)
    response = client.post(f"/candidates/{ada.id}/privacy", data=data)
    assert response.status_code == 400
    assert (
        html(response)
        .one("span", id="sms_consent_reason-error")
        .text.startswith("This person unsubscribed at the gateway")
    )
    assert fresh(session, Candidate, ada.id).sms_consent is False

    data["sms_consent_reason"] = "Asked by email on 2 Dec"
    assert client.post(f"/candidates/{ada.id}/privacy", data=data).status_code == 302
    [event] = audits(session, "privacy.changed")
    assert (event.details["overrides"], event.details["reason"]) == (
        "gateway opt-out",
        "Asked by email on 2 Dec",
    )


@pytest.mark.parametrize(
    "reason, message",
    [
        ("x" * 501, "Keep the reason to 500 characters or fewer."),
        ("Phoned\r\nBcc: everyone", "must be one line of plain text"),
    ],
)
def test_a_bad_reason_is_refused_beside_the_field(
    app, client, login, ada, session, reason, message
):
    login("team-leader")
    stop_from(app, session)
    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_data(loaded={"sms_consent": False}, sms_consent=True, reason=reason),
    )
    assert response.status_code == 400
    assert message in html(response).one("span", id="sms_consent_reason-error").text
    assert fresh(session, Candidate, ada.id).sms_consent is False


def test_a_user_who_may_not_ignore_opt_outs_is_told_who_can_tick_sms_again(
    app, client, login, ada, session
):
    login("consultant")
    stop_from(app, session)
    section = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert not section.all("input", name="sms_consent_reason")
    hint = section.one("p", id="sms_consent-hint")
    assert hint.text.startswith("Only a user allowed to ignore opt-outs can tick SMS again")
    box = section.one("input", name="sms_consent")
    assert box.get("aria-describedby") == "sms_consent-hint"


@pytest.mark.parametrize("htmx", [False, True], ids=["full-page", "htmx"])
@pytest.mark.parametrize("source", ["reply", "gateway"])
def test_a_user_who_may_not_ignore_opt_outs_cannot_undo_the_persons_own_opt_out(
    app, client, login, ada, session, htmx, source
):
    """A consultant ticked SMS over a STOP with a reason of "x", and a plain Quick reply then went
    to the person: undoing their own opt-out needs the authority Ignore needs."""
    from webapp.sms import consent

    login("consultant")
    if source == "reply":
        stop_from(app, session)
    else:
        consent.set_for_number(
            session, ada.mobile_e164, False, actor=None, cause={"source": "gateway", "code": "1"}
        )
        session.commit()
    before = len(audits(session))

    response = client.post(
        f"/candidates/{ada.id}/privacy",
        htmx=htmx,
        data=privacy_data(
            loaded={"sms_consent": False}, sms_consent=True, mail_consent=False, reason="x"
        ),
    )

    assert response.status_code == 403
    section = html(response).one("section", id="privacy")
    box = section.one("input", name="sms_consent")
    assert (box.get("aria-invalid"), "autofocus" in box.attrs) == ("true", True)
    assert box.get("aria-describedby").split() == ["sms_consent-hint", "sms_consent-error"]
    how = "replied STOP" if source == "reply" else "unsubscribed at the gateway"
    assert section.one("p", id="sms_consent-error").text == (
        f"Not saved: this person {how}, so only a user allowed to ignore opt-outs can tick SMS "
        "again. Untick SMS to save your other changes."
    )
    # Every box as the user left it, to untick SMS and save the rest.
    assert boxes_in(section)["sms_consent"] is True and boxes_in(section)["mail_consent"] is False
    person = fresh(session, Candidate, ada.id)
    assert (person.sms_consent, person.mail_consent) == (False, True)
    assert len(audits(session)) == before

    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_data(loaded={"sms_consent": False}, mail_consent=False),
    )
    assert response.status_code == 302
    person = fresh(session, Candidate, ada.id)
    assert (person.sms_consent, person.mail_consent) == (False, False)


def test_a_user_who_may_not_ignore_opt_outs_still_ticks_sms_a_user_unticked(
    client, login, ada, session
):
    login("consultant")
    unticked = client.post(f"/candidates/{ada.id}/privacy", data=privacy_data(sms_consent=False))
    assert unticked.status_code == 302
    section = html(client.get(f"/candidates/{ada.id}")).one("section", id="privacy")
    assert not section.all("p", id="sms_consent-hint")
    response = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_data(loaded={"sms_consent": False}, sms_consent=True),
    )
    assert response.status_code == 302
    assert fresh(session, Candidate, ada.id).sms_consent is True


# --- add -----------------------------------------------------------------------------------------


def test_consultant_gets_the_add_candidate_form(client, login):
    login("consultant")
    response = client.get("/candidates/new")
    assert response.status_code == 200
    form = html(response).one("main").one("form", method="post")
    assert form.get("action") == "/candidates/new"
    names = {node.get("name") for node in form.all() if node.tag in {"input", "select", "textarea"}}
    assert names >= {
        "first_name",
        "last_name",
        "mobile",
        "email",
        "status",
        "job_title",
        "skills",
        "location",
        "csrf_token",
    }
    # Consent is changed only in the record's Privacy section, where a stale form cannot undo a
    # STOP.
    assert not names & {"sms_consent", "email_consent", "mail_consent", "privacy_statement_read"}


def test_add_contact_form_asks_for_client_and_position(client, login):
    login("consultant")
    form = html(client.get("/contacts/new")).one("main").one("form", method="post")
    names = {node.get("name") for node in form.all("input")}
    assert {"client", "position"} <= names
    assert "job_title" not in names


def test_adding_a_candidate_saves_the_mobile_normalised_and_audits_it(client, login, session):
    user = login("consultant")
    response = client.post("/candidates/new", data=candidate_form(mobile="(04) 1234 5678"))
    assert response.status_code == 302
    session.rollback()
    person = session.scalars(sa.select(Candidate)).one()
    assert urlsplit(response.headers["Location"]).path == f"/candidates/{person.id}"
    assert (person.first_name, person.last_name, person.status, person.location) == (
        "Zoë",
        "Müller",
        "Available",
        "Sydney",
    )
    assert (person.mobile_raw, person.mobile_e164, person.mobile_region, person.mobile_valid) == (
        "(04) 1234 5678",
        "+61412345678",
        "AU",
        True,
    )
    assert person.email is None
    [event] = audits(session, "person.created")
    assert (event.actor_id, event.subject_type, event.subject_id) == (
        user.id,
        "candidate",
        person.id,
    )
    assert event.details["changes"]["first_name"] == [None, "Zoë"]
    assert event.details["changes"]["mobile"] == [None, "(04) 1234 5678"]
    assert "Zoë Müller added." in html(client.get(response.headers["Location"])).one("main").text


def test_an_added_candidate_can_be_found_by_name_and_mobile(client, login):
    login("consultant")
    client.post("/candidates/new", data=candidate_form())
    for q in ("müller", "ZOË", "+61412345678"):
        body = client.get(f"/candidates?q={q}").get_data(as_text=True)
        assert "Zoë Müller" in body, q


def added_candidate(client, session, **fields) -> Candidate:
    """The new-candidate form sent with `fields`, accepted: the one candidate it stored."""
    response = client.post("/candidates/new", data=candidate_form(**fields))
    assert response.status_code == 302
    session.rollback()
    return session.scalars(sa.select(Candidate)).one()


def test_adding_a_candidate_with_a_foreign_mobile_stores_its_region(client, login, session):
    login("consultant")
    person = added_candidate(client, session, mobile="+64 21 123 4567")
    assert (person.mobile_e164, person.mobile_region) == ("+64211234567", "NZ")


def test_adding_a_candidate_with_an_email_saves_it(client, login, session):
    login("consultant")
    assert added_candidate(client, session, email="zoe@example.de").email == "zoe@example.de"


def test_adding_a_candidate_without_a_mobile_is_allowed(client, login, session):
    login("consultant")
    person = added_candidate(client, session, mobile="")
    assert (person.mobile_raw, person.mobile_e164, person.mobile_valid) == (None, None, False)


def test_a_new_record_starts_with_the_default_consents_and_audits_them(client, login, session):
    login("consultant")
    # Boxes posted by hand (the form has none) are ignored: consent is set in Privacy only.
    client.post("/candidates/new", data=candidate_form(privacy_statement_read="y"))
    session.rollback()
    person = session.scalars(sa.select(Candidate)).one()
    assert (
        person.sms_consent,
        person.email_consent,
        person.mail_consent,
        person.privacy_statement_read,
    ) == (True, True, True, False)
    [event] = audits(session, "person.created")
    assert {field: event.details["changes"][field] for field in NEW_PRIVACY} == {
        "sms_consent": [None, True],
        "email_consent": [None, True],
        "mail_consent": [None, True],
        "privacy_statement_read": [None, False],
    }


def test_adding_a_contact_creates_its_client_once(client, login, session, grace):
    login("consultant")
    data = {
        "first_name": "Alan",
        "last_name": "Turing",
        "mobile": "0413 000 002",
        "status": "Active",
        "client": "harbour mining pty ltd",
        "position": "Payroll Officer",
    }
    response = client.post("/contacts/new", data=data)
    assert response.status_code == 302
    data.update(
        first_name="Kath", last_name="Johnson", mobile="0413 000 003", client="Östlund Logistics"
    )
    assert client.post("/contacts/new", data=data).status_code == 302
    session.rollback()
    clients = {c.name for c in session.scalars(sa.select(Client))}
    assert clients == {"Harbour Mining Pty Ltd", "Östlund Logistics"}
    alan = session.scalars(
        sa.select(ClientContact).where(ClientContact.last_name == "Turing")
    ).one()
    assert (alan.client.name, alan.position, alan.mobile_e164) == (
        "Harbour Mining Pty Ltd",
        "Payroll Officer",
        "+61413000002",
    )
    assert len(audits(session, "person.created")) == 2


def refused_new_candidate(client, **fields) -> Node:
    """The new-candidate form sent with `fields`, answered 400: the page with the errors."""
    response = client.post("/candidates/new", data=candidate_form(**fields))
    assert response.status_code == 400
    return html(response)


def assert_nothing_created(session) -> None:
    assert count(session, Candidate) == 0
    assert audits(session, "person.created") == []


@pytest.mark.parametrize("missing", ["first_name", "last_name"])
# A zero-width space (or a byte-order mark) alone survives strip() and shows nothing.
@pytest.mark.parametrize("value", ["", "   ", "\u200b", " \u200b\ufeff "])
def test_a_name_is_required(client, login, session, missing, value):
    login("consultant")
    doc = refused_new_candidate(client, **{missing: value})
    field = doc.one("input", name=missing)
    assert field.get("aria-invalid") == "true"
    message = doc.one("span", id=f"{missing}-error").text
    assert message == ("Enter a first name." if missing == "first_name" else "Enter a last name.")
    assert field.get("aria-describedby") == f"{missing}-error"
    assert_nothing_created(session)


# Letters ("not a number") have their own refusal (below).
@pytest.mark.parametrize("mobile", ["12345", "0412 345", "0412 345 678 999", "+999 123"])
def test_an_unparseable_mobile_is_an_error_on_the_form_and_nothing_is_written(
    client, login, session, mobile
):
    login("consultant")
    doc = refused_new_candidate(client, mobile=mobile)
    field = doc.one("input", name="mobile")
    assert field.get("aria-invalid") == "true"
    assert field.get("value") == mobile
    assert "mobile-error" in field.get("aria-describedby").split()
    assert "is not a valid mobile number" in doc.one("span", id="mobile-error").text
    assert doc.one("p", role="alert").text == "Please correct the fields marked below."
    # The other values are kept for the user to correct the one mistake.
    assert doc.one("input", name="first_name").get("value") == "Zoë"
    assert_nothing_created(session)


@pytest.mark.parametrize(
    ("mobile", "why"),
    [
        ("02 9374 4000", "is a landline, not a mobile"),
        ("1800 123 456", "is a freecall service number, not a mobile"),
        ("1300 655 506", "is a local-rate service number, not a mobile"),
        ("13 13 13", "is a local-rate service number, not a mobile"),
        ("0412 FLOWER", "has letters in it"),
    ],
)
def test_a_landline_a_service_number_or_letters_are_refused_as_a_mobile(
    client, login, session, mobile, why
):
    login("consultant")
    doc = refused_new_candidate(client, mobile=mobile)
    assert doc.one("input", name="mobile").get("aria-invalid") == "true"
    assert f"“{mobile}” {why}" in doc.one("span", id="mobile-error").text
    assert_nothing_created(session)


@pytest.mark.parametrize("email", ["zoe-at-example.de", "zoe@", "@example.de", "zoe@@example.de"])
def test_a_malformed_email_is_an_error_on_the_form(client, login, session, email):
    login("consultant")
    doc = refused_new_candidate(client, email=email)
    assert doc.one("input", name="email").get("aria-invalid") == "true"
    assert "Enter an email address like name@example.com." in doc.one("span", id="email-error").text
    assert count(session, Candidate) == 0


def test_an_unknown_status_is_refused(client, login, session):
    login("consultant")
    response = client.post("/candidates/new", data=candidate_form(status="Retired"))
    assert response.status_code == 400
    assert count(session, Candidate) == 0


def test_add_without_csrf_token_is_refused(client, login, session):
    login("consultant")
    response = client.post("/candidates/new", data=candidate_form(), csrf=False)
    assert response.status_code == 400
    assert count(session, Candidate) == 0


@pytest.mark.parametrize("kind", ["candidates", "contacts"])
def test_viewer_cannot_open_the_add_form(client, login, kind):
    login("viewer")
    assert client.get(f"/{kind}/new").status_code == 403


def test_viewer_add_post_is_403_and_writes_nothing(client, login, session):
    login("viewer")
    response = client.post("/candidates/new", data=candidate_form())
    assert response.status_code == 403
    assert_nothing_created(session)


def test_anonymous_add_is_sent_to_sign_in(client):
    response = client.get("/candidates/new")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


# --- edit ----------------------------------------------------------------------------------------


def test_edit_form_is_filled_with_the_record(client, login, ada):
    login("consultant")
    response = client.get(f"/candidates/{ada.id}/edit")
    assert response.status_code == 200
    form = html(response).one("main").one("form", method="post")
    assert form.get("action") == f"/candidates/{ada.id}/edit"
    values = {
        node.get("name"): node.get("value")
        for node in form.all("input")
        if node.get("type") not in {"checkbox", "hidden"}
    }
    assert values == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "mobile": "0412 345 678",
        "email": "ada@example.com",
        "job_title": "Analyst",
        "location": "Sydney",
    }
    assert form.one("textarea", name="skills").text == "Python, SQL"
    status = form.one("select", name="status")
    assert [o.text for o in status.all("option") if "selected" in o.attrs] == ["Available"]


def test_contact_edit_form_shows_the_client_name(client, login, grace):
    login("consultant")
    form = html(client.get(f"/contacts/{grace.id}/edit")).one("main").one("form", method="post")
    assert form.one("input", name="client").get("value") == "Harbour Mining Pty Ltd"


@pytest.mark.parametrize("typed", ["Muller AG", "Müller AG", "MULLER AG"])
def test_a_contact_stays_at_its_client_when_another_has_the_same_key(
    client, login, make_contact, session, typed
):
    """ "Müller AG" and "Muller AG" share a search key: an edit keeps a contact at the client typed
    as spelled, else at its own, never at whichever the database returns first."""
    older = make_contact("Hans", "Muller", "0413 222 340", client="Müller AG").client
    grace = make_contact(client="Muller AG")
    assert older.id < grace.client_id
    login("consultant")
    response = client.post(
        f"/contacts/{grace.id}/edit",
        data={
            "first_name": grace.first_name,
            "last_name": grace.last_name,
            "mobile": grace.mobile_raw,
            "email": "",
            "status": grace.status,
            "position": "CFO",
            "client": typed,
        },
    )
    assert response.status_code == 302
    saved = fresh(session, ClientContact, grace.id)
    expected = older.id if typed == "Müller AG" else grace.client_id
    assert saved.client_id == expected


def edit_form(person, **overrides) -> dict[str, str]:
    data = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "mobile": person.mobile_raw or "",
        "email": person.email or "",
        "status": person.status,
        "job_title": person.job_title or "",
        "skills": person.skills or "",
        "location": person.location or "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.parametrize("stored", ["0412 345 678", "n/a"], ids=["au-national", "invalid"])
def test_an_edit_from_another_countrys_office_keeps_an_untouched_mobile_as_it_was(
    client, login, make_candidate, session, stored
):
    """In an Auckland office, a record whose mobile was typed in Australian national form (or kept
    invalid by an import) could not be saved at all: the untouched number was read again as a New
    Zealand one and refused, with an Australian example."""
    person = make_candidate("Ada", "Lovelace", stored, job_title="Analyst")
    before = (person.mobile_raw, person.mobile_e164, person.mobile_region, person.mobile_valid)
    login("consultant", office=office_named(session, "Auckland", region="NZ"))

    response = client.post(
        f"/candidates/{person.id}/edit", data=edit_form(person, job_title="Data Scientist")
    )

    assert response.status_code == 302
    saved = fresh(session, Candidate, person.id)
    assert saved.job_title == "Data Scientist"
    assert (saved.mobile_raw, saved.mobile_e164, saved.mobile_region, saved.mobile_valid) == before
    # A number typed anew is read in the office's country, and refused with its example.
    refused = client.post(
        f"/candidates/{person.id}/edit", data=edit_form(person, mobile="0412 345 67")
    )
    assert refused.status_code == 400
    assert "national number for NZ (like 021 123 4567)" in refused.get_data(as_text=True)


def test_an_untouched_mobile_that_another_tab_changed_meanwhile_does_not_block_the_save(
    client, login, make_candidate, session
):
    """Opened with an Australian national number, which a colleague then changed: the posted (old)
    number is as the form was opened, so it is not read as a New Zealand one; the merge keeps
    the colleague's."""
    person = make_candidate("Ada", "Lovelace", "0412 345 678", job_title="Analyst")
    login("consultant", office=office_named(session, "Auckland", region="NZ"))
    page = html(client.get(f"/candidates/{person.id}/edit"))
    opened = page.one("input", name="loaded").get("value")
    theirs = fresh(session, Candidate, person.id)
    theirs.set_mobile("+61 400 111 222", "AU")
    session.commit()

    response = client.post(
        f"/candidates/{person.id}/edit",
        data=edit_form(person, job_title="Data Scientist", mobile="0412 345 678")
        | {"loaded": opened},
    )

    assert response.status_code == 302
    saved = fresh(session, Candidate, person.id)
    assert (saved.job_title, saved.mobile_e164) == ("Data Scientist", "+61400111222")


def test_editing_saves_the_changes_and_audits_them(client, login, make_candidate, session):
    person = make_candidate(
        "Ada",
        "Lovelace",
        "0412 345 678",
        status="Available",
        job_title="Analyst",
        location="Sydney",
    )
    user = login("consultant")
    response = client.post(
        f"/candidates/{person.id}/edit",
        data=edit_form(person, job_title="Data Scientist", mobile="+64 21 123 4567"),
    )
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == f"/candidates/{person.id}"
    saved = fresh(session, Candidate, person.id)
    assert (saved.job_title, saved.mobile_e164, saved.mobile_region) == (
        "Data Scientist",
        "+64211234567",
        "NZ",
    )
    [event] = audits(session, "person.edited")
    assert (event.actor_id, event.subject_type, event.subject_id) == (
        user.id,
        "candidate",
        person.id,
    )
    assert event.details["changes"] == {
        "job_title": ["Analyst", "Data Scientist"],
        "mobile": ["0412 345 678", "+64 21 123 4567"],
    }


def test_editing_a_name_changes_what_search_finds(client, login, make_candidate):
    person = make_candidate("Ada", "Lovelace", "0412 345 678")
    login("consultant")
    client.post(f"/candidates/{person.id}/edit", data=edit_form(person, last_name="Byron"))
    assert "Ada Byron" in client.get("/candidates?q=byron").get_data(as_text=True)
    assert "Nobody matches" in client.get("/candidates?q=lovelace").get_data(as_text=True)


@pytest.mark.parametrize("kind", ["candidates", "contacts"])
def test_saving_an_edit_with_no_changes_writes_nothing(
    client, login, make_candidate, make_contact, session, kind
):
    """Save with nothing changed, or pressed twice, wrote "Record edited" with no details (and
    touched the record): nothing is written now, and the user lands on the record as a save does."""
    person = (make_candidate if kind == "candidates" else make_contact)(status="Active")
    model = type(person)
    updated_at = fresh(session, model, person.id).updated_at
    login("consultant")
    url = f"/{kind}/{person.id}/edit"
    form = opened(client, url)

    for _ in range(2):
        response = client.post(url, data=form)
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == f"/{kind}/{person.id}"

    assert audits(session, "person.edited") == []
    assert fresh(session, model, person.id).updated_at == updated_at


def test_an_edit_sent_twice_is_audited_once(client, login, make_candidate, session):
    person = make_candidate("Ada", "Lovelace", "0412 345 678")
    login("consultant")
    url = f"/candidates/{person.id}/edit"
    form = changed(opened(client, url), job_title="Chef")

    assert [client.post(url, data=form).status_code for _ in range(2)] == [302, 302]

    [event] = audits(session, "person.edited")
    assert event.details["changes"] == {"job_title": [None, "Chef"]}
    assert fresh(session, Candidate, person.id).job_title == "Chef"


def test_an_edit_with_a_bad_mobile_changes_nothing(client, login, ada, session):
    login("consultant")
    response = client.post(
        f"/candidates/{ada.id}/edit", data=edit_form(ada, mobile="12345", job_title="Chef")
    )
    assert response.status_code == 400
    assert "is not a valid mobile number" in html(response).one("span", id="mobile-error").text
    saved = fresh(session, Candidate, ada.id)
    assert (saved.mobile_raw, saved.job_title) == ("0412 345 678", "Analyst")
    assert audits(session, "person.edited") == []


def test_moving_a_contact_to_another_client(client, login, grace, session):
    login("consultant")
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "mobile": "0413 222 333",
        "status": "Active",
        "client": "Bay Foods",
        "position": "Site Manager",
    }
    assert client.post(f"/contacts/{grace.id}/edit", data=data).status_code == 302
    saved = fresh(session, ClientContact, grace.id)
    assert saved.client.name == "Bay Foods"
    [event] = audits(session, "person.edited")
    assert event.details["changes"]["client"] == ["Harbour Mining Pty Ltd", "Bay Foods"]


def test_viewer_cannot_edit(client, login, ada, session):
    login("viewer")
    assert client.get(f"/candidates/{ada.id}/edit").status_code == 403
    response = client.post(f"/candidates/{ada.id}/edit", data=edit_form(ada, last_name="Byron"))
    assert response.status_code == 403
    assert fresh(session, Candidate, ada.id).last_name == "Lovelace"
    assert audits(session, "person.edited") == []


def test_a_name_or_email_too_long_once_written_out_for_searching_is_refused(client, login, session):
    # Each fits its field as typed; its search key ("ß" as "ss") would not fit its column.
    login("consultant")
    for name, value in (("first_name", "ß" * 60), ("email", "ß" * 200 + "@example.com")):
        response = client.post("/candidates/new", data=candidate_form(**{name: value}))
        assert_refused(response, name, "written out for searching")
    session.rollback()
    assert session.scalars(sa.select(Candidate)).all() == []
