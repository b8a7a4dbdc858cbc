"""The Resend confirmation and its answer for a failed message whose person has no valid mobile
on their record now: said before the press, skipped and said after it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import delivery
from tests.delivery import element, messages, queue
from webapp.sms.providers.sandbox import Sandbox


@pytest.fixture
def failed_then_mobile_removed(app, login, session, three_people):
    """The signed-in consultant's batch to Ada, Bob and Cy: Bob's (…0000) failed, and his record's
    mobile was cleared since."""
    user = login("consultant")
    batch = queue(session, user, three_people, provider="sandbox")
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)
    bob = three_people[1]
    bob.set_mobile(None, "AU")
    session.commit()
    return batch


def test_the_resend_page_says_who_has_no_mobile_now_and_resend_skips_them(
    client, session, failed_then_mobile_removed
):
    batch = failed_then_mobile_removed
    url = f"/sms/batches/{batch.id}/resend"

    html = client.get(url).get_data(as_text=True)
    note = element(html, "p", id="no-mobile-note")
    assert note is not None
    assert "1 of these has no valid mobile number on its record now (1 failed)" in " ".join(
        html.split()
    )

    before = len(messages(session, batch))
    response = client.post(url, data={"states": "failed"})
    assert response.status_code == 303
    assert len(messages(session, batch)) == before  # no copy made
    shown = " ".join(client.get(response.headers["Location"]).get_data(as_text=True).split())
    assert "Nothing was resent." in shown
    assert "1 was skipped: the record has no valid mobile number now." in shown
