"""A STOP typed on /sandbox to an earlier SMS keeps a later one, sent with Ignore and still
waiting, from going: the batch page says why."""

from __future__ import annotations

from datetime import timedelta

from tests import delivery
from tests.html_tree import html
from tests.replying import send_sms
from webapp.models import Candidate
from webapp.sms.providers.sandbox import Sandbox


def test_a_stop_on_the_sandbox_refuses_a_waiting_ignore_message_and_the_batch_page_says_why(
    app, client, session, login, make_candidate
):
    app.config["SANDBOX"] = True
    lead = login("team-leader")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    [first] = send_sms(app, session, lead, [ada])
    session.get(Candidate, ada.id).sms_consent = False  # unticked in Privacy
    session.commit()
    later = delivery.queue(
        session,
        lead,
        [ada],
        provider="sandbox",
        ignore=True,
        ignore_reason="She asked by phone for the shift details.",
    )

    response = client.post("/sandbox/reply", data={"message_id": str(first.id), "text": "STOP"})
    assert response.status_code == 303
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)

    [message] = delivery.messages(session, later)
    assert message.state == "rejected" and message.sent_at is None
    page = html(client.get(f"/sms/batches/{later.id}"))
    [row] = page.one("table", **{"class": "messages"}).one("tbody").all("tr")
    assert "rejected" in row.one("td", **{"class": "state-cell"}).text
    assert row.one("td", **{"class": "problem"}).text == (
        "The person opted out of SMS after the message was queued; not sent."
    )
