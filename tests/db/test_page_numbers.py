"""A page number typed into an address far past any list answers a page that says so, on SQLite
and on PostgreSQL, whose OFFSET is a 32-bit integer (an offset past it was a 500)."""

from __future__ import annotations

import pytest

from tests.delivery import queue
from tests.replying import receive, send_sms

HUGE = 2**31 - 1


@pytest.fixture
def lists(app, session, login, make_candidate) -> dict[str, str]:
    """A team leader with a batch of their own and a reply to it; the lists' addresses."""
    lead = login("team-leader")
    person = make_candidate("Ada", "Lovelace", "0412 345 678")
    [message] = send_sms(app, session, lead, [person])
    receive(app, session, "Yes please", from_number="61412345678", reference=message.uuid)
    batch = queue(session, lead, [person], provider="sandbox")
    return {
        "replies": "/sms/replies",
        "everyone's replies": "/sms/replies?who=everyone",
        "batch": f"/sms/batches/{batch.id}",
        "batch, failed": f"/sms/batches/{batch.id}?state=failed",
        "sent": "/sms/sent",
        "audit": "/audit",
        "candidates": "/candidates",
        "unmatched": "/replies/unmatched",
    }


@pytest.mark.parametrize("page", [HUGE, HUGE + 1, 10**30])
def test_a_page_far_past_the_end_is_answered_not_a_500(client, lists, page):
    for name, url in lists.items():
        joiner = "&" if "?" in url else "?"
        response = client.get(f"{url}{joiner}page={page}")
        assert response.status_code in (200, 400), (name, response.status_code)


def test_the_replies_say_there_is_no_such_page(client, lists):
    text = client.get("/sms/replies?page=10000").get_data(as_text=True)
    assert "There is no page 10,000" in text or "There is no page 10000" in text
    # Past the furthest page read, refused as on Sent (its offset is never asked for).
    response = client.get(f"/sms/replies?page={HUGE}")
    assert response.status_code == 400
    assert "Page must be a number from 1 to 10,000." in response.get_data(as_text=True)


def test_the_batch_page_shows_its_last_page(client, lists):
    text = client.get(f"{lists['batch']}?page={HUGE}").get_data(as_text=True)
    assert "Ada Lovelace" in text
