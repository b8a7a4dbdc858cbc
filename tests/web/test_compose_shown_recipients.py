"""Send goes only to the people and numbers the SMS screen showed as getting it: someone opting in,
or a mobile edited, in another tab since the screen was drawn is refused (409), never sent to."""

from __future__ import annotations

import pytest

from tests.html_tree import html as tree
from tests.web.test_compose_send import (
    NOTHING,
    open_sms,
    recipients,
    rows,
    screen_form,
    send,
    text,
    written,
)
from webapp.models import Message

REFUSAL = "Who gets this SMS has changed since this screen was shown"


@pytest.fixture
def consultant(login):
    return login("consultant")


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_someone_opting_in_after_the_screen_was_shown_is_not_sent_to_unshown(
    client, consultant, make_candidate, session, htmx
):
    """Three ticked, Olive opted out: "SMS to 2 people". Another tab ticks her SMS box. Send went
    to all three; now it is refused, nothing queued, the screen redrawn for 3 with the text kept,
    and the Send from that screen goes to the three it shows."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    bob = make_candidate("Bob", "Brown", "0412 000 222")
    token = open_sms(client, [ada, olive, bob])
    shown = screen_form(client.get(f"/sms/compose/{token}"))
    assert "SMS to 2 people" in text(client.get(f"/sms/compose/{token}"))
    olive.sms_consent = True
    session.commit()

    refused = send(client, token, htmx=htmx, **(shown | {"message": "Shift moved to 9am"}))

    assert refused.status_code == 409
    assert written(session) == NOTHING
    page = tree(refused)
    assert page.one("p", class_="error", role="alert").text.startswith(REFUSAL)
    assert "SMS to 3 people" in text(refused)
    assert page.one("textarea", id="message").text == "Shift moved to 9am"
    again = send(client, token, htmx=htmx, **screen_form(refused))
    assert again.status_code == (204 if htmx else 303)
    assert sorted(m.candidate_id for m in rows(session, Message)) == sorted(
        [ada.id, olive.id, bob.id]
    )


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_a_mobile_edited_after_the_screen_was_shown_is_not_sent_to_unshown(
    client, consultant, make_candidate, session, htmx
):
    """The screen shows Ada <0428 281 965>; another tab changes her mobile to 0491 898 537. The
    Send is refused and shows the number as it now is; nothing went to a number never shown."""
    ada = make_candidate("Ada", "Lovelace", "0428 281 965")
    bob = make_candidate("Bob", "Brown", "0412 000 222")
    token = open_sms(client, [ada, bob])
    shown = screen_form(client.get(f"/sms/compose/{token}"))
    ada.set_mobile("0491 898 537", "AU")
    session.commit()

    refused = send(client, token, htmx=htmx, **shown)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    assert tree(refused).one("p", class_="error", role="alert").text.startswith(REFUSAL)
    assert recipients(text(refused)) == [
        ("Ada Lovelace", "+61491898537"),
        ("Bob Brown", "+61412000222"),
    ]
    assert send(client, token, htmx=htmx, **screen_form(refused)).status_code in (204, 303)
    sent = {m.candidate_id: m.to_e164 for m in rows(session, Message)}
    assert sent == {ada.id: "+61491898537", bob.id: "+61412000222"}


def test_ticking_ignore_on_the_screen_is_not_a_change_made_elsewhere(
    client, login, make_candidate, session
):
    """Without JavaScript, Ignore ticked (with its reason) then Send, no redraw between: the
    screen said the opted-out person could be let through, so this is no "who gets it changed"."""
    login("team-leader")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    token = open_sms(client, [ada, olive])
    shown = screen_form(client.get(f"/sms/compose/{token}"))

    sent = send(client, token, ignore="1", ignore_reason="Site closed", **shown)

    assert sent.status_code == 303, text(sent)
    assert sorted(m.candidate_id for m in rows(session, Message)) == sorted([ada.id, olive.id])


def test_nothing_changed_sends_as_shown(client, consultant, make_candidate, session):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "Out", "0412 000 111", sms_consent=False)
    token = open_sms(client, [ada, olive])

    assert (
        send(client, token, **screen_form(client.get(f"/sms/compose/{token}"))).status_code == 303
    )
    assert [m.candidate_id for m in rows(session, Message)] == [ada.id]
