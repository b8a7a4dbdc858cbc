"""A Privacy save posted while a Quick reply was sending (htmx, which posts the Quick reply beside
the Privacy boxes): the Quick reply it draws again is the one after the send, never the sent text
under its used token."""

from __future__ import annotations

import sqlalchemy as sa

from tests.html_tree import html
from tests.web.test_records import privacy_data
from webapp import form_tokens
from webapp.models import Batch

TEXT = "Interview at 10"


def test_a_privacy_save_carrying_a_sent_replys_token_draws_the_quick_reply_afresh(
    client, login, make_candidate, session
):
    """Send reply, then Save Privacy before the send's answer came: the save's answer drew the
    sent text back under the used token, and Send reply again repeated the batch unsaid."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    login("team-leader")
    token = form_tokens.new()
    typed = {"message": TEXT, "reply_token": token, "ignore_reason": ""}
    sent = client.post(f"/candidates/{ada.id}/reply", data=typed, htmx=True)
    assert sent.status_code == 200

    saved = client.post(
        f"/candidates/{ada.id}/privacy",
        data=privacy_data(email_consent=False) | typed,  # the box as the send took it
        htmx=True,
    )

    assert saved.status_code == 200
    doc = html(saved)
    form = doc.one("form", id="quick-reply")
    assert form.get("hx-swap-oob") == "true"
    assert form.one("textarea", id="quick-reply-message").text == ""
    fresh = form.one("input", name="reply_token").get("value")
    assert form_tokens.ours(fresh) and fresh != token
    assert form.one("p", role="status").text == (
        "Reply to Ada Lovelace queued: it shows in the conversation as it goes."
    )
    # The focus stays with the save (Save Privacy), not in the box.
    assert [node.get("id") for node in form.iter() if "autofocus" in node.attrs] == []
    save = doc.one("section", id="privacy").one("button", type="submit")
    assert "autofocus" in save.attrs
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Batch)) == 1


def test_a_privacy_save_carrying_an_unsent_reply_keeps_it_as_typed(client, login, make_candidate):
    """A token that sent nothing yet (or another user's) is the typed reply's own: kept."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    login("consultant")
    theirs = form_tokens.new()
    client.post(
        f"/candidates/{ada.id}/reply",
        data={"message": TEXT, "reply_token": theirs, "ignore_reason": ""},
        htmx=True,
    )
    client.post("/logout")
    login("team-leader")
    for token in (form_tokens.new(), theirs):
        typed = {"message": TEXT, "reply_token": token, "ignore_reason": ""}
        saved = client.post(
            f"/candidates/{ada.id}/privacy",
            data=privacy_data(mail_consent=False) | typed,
            htmx=True,
        )
        form = html(saved).one("form", id="quick-reply")
        assert form.one("textarea", id="quick-reply-message").text == TEXT
        assert form.one("input", name="reply_token").get("value") == token
        assert form.all("p", role="status") == []
