"""The batch page after reconciliation: a message that went `unknown` and was then settled at the
gateway is shown in its real state, no longer as unknown, and Resend is offered only for what is
still unknown."""

from __future__ import annotations

import re
from datetime import timedelta

from tests import delivery
from tests.delivery import queue
from webapp.models import utcnow
from webapp.sms import reconcile
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.reconcile import ReconcileSettings

STATE_COUNT = re.compile(r'<span class="pill state state-(\w+)">\1</span> ([\d,]+)</a>')


def state_counts(html: str) -> dict[str, int]:
    return {state: int(n.replace(",", "")) for state, n in STATE_COUNT.findall(html)}


def page(client, batch) -> str:
    response = client.get(f"/sms/batches/{batch.id}")
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def test_a_reconciled_message_is_shown_in_its_real_state_and_no_longer_offered_for_resend(
    app, client, login, session, make_candidate
):
    user = login("consultant")
    people = [
        make_candidate("Ada", "Lovelace", "0412 345 678"),
        make_candidate("Cy", "Young", "0412 349 999"),
    ]  # …9999: the sandbox times out
    batch = queue(session, user, people, provider="sandbox")
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)
    html = page(client, batch)
    assert state_counts(html) == {"sent": 1, "unknown": 1}
    assert "Resend failed or unknown (1)" in html
    assert "numbers ending 9999 time out" in html  # why it is unknown

    reconcile.reconcile(
        app.extensions["database"].engine,
        Sandbox(),
        ReconcileSettings(),
        now=utcnow() + timedelta(minutes=2),
    )

    html = page(client, batch)
    assert state_counts(html) == {"sent": 2}
    assert "Resend failed or unknown" not in html
    assert "numbers ending 9999 time out" not in html  # the explanation went with the state
