"""An `unknown` SMS Central message resent after the person's mobile was corrected (SQLite and
PostgreSQL, against the loopback gateway): the copy goes to the new number under a reference of its
own, so SMS Central takes it rather than refusing it as a duplicate (513) of the first, and the old
number's receipt is not taken for it."""

from __future__ import annotations

import pytest

from tests import delivery
from tests.delivery import messages, run_once, unknown_after_a_late_answer

HOOK_USER = "receipts"
HOOK_PASSWORD = "hook-pass-123"
RECEIPT = "/webhooks/smscentral/receipt"
OLD, NEW = "61412345678", "61412999888"


@pytest.fixture
def app_settings():
    return {
        "SMSCENTRAL_WEBHOOK_USERNAME": HOOK_USER,
        "SMSCENTRAL_WEBHOOK_PASSWORD": HOOK_PASSWORD,
        "PUBLIC_BASE_URL": delivery.PUBLIC_BASE_URL,
    }


def push_receipt(client, fake, reference: str) -> None:
    params = fake.receipt(reference, "DELIVRD", user_name=HOOK_USER, password=HOOK_PASSWORD)
    response = client.get(RECEIPT, query_string=params)
    assert response.status_code == 200 and response.get_data(as_text=True) == "0"


def test_an_unknown_message_resent_to_the_corrected_mobile_is_really_sent_there(
    app, client, session, login, ada, sms_central, sms_central_provider
):
    user = login("consultant")
    # SMS Central took it for the old number but answered too late.
    batch, original = unknown_after_a_late_answer(app, session, user, ada, sms_central)
    ada.set_mobile("0412 999 888", "AU")  # the number is corrected on her record
    session.commit()

    response = client.post(f"/sms/batches/{batch.id}/resend", data={"states": "unknown"})
    assert response.status_code == 303
    run_once(app, sms_central_provider)

    [copy] = [m for m in messages(session, batch) if m.resend_of_id == original.id]
    assert copy.to_e164 == "+" + NEW
    assert copy.reference not in (None, original.reference)
    held = [(m["RECIPIENT"], m["REFERENCE"]) for m in sms_central.messages]
    assert held == [(OLD, original.reference), (NEW, copy.reference)], (
        "the copy to the new number went with the original's REFERENCE: SMS Central refused it "
        "(513) and it was never sent"
    )
    assert copy.state == "sent"

    # The old number's receipt (its REFERENCE the original's) says nothing about the copy...
    push_receipt(client, sms_central, original.reference)
    assert [m.state for m in messages(session, batch) if m.id == copy.id] == ["sent"]
    # ...its own does.
    push_receipt(client, sms_central, copy.reference)
    assert [m.state for m in messages(session, batch) if m.id == copy.id] == ["delivered"]
