"""A busy gateway whose Retry-After is no number of seconds (`NaN`, `inf`), on SQLite and
PostgreSQL against the loopback fakes: the message is queued again after our own backoff, as with
no header at all, and sent once on the next try; it never sticks in `sending` nor turns `unknown`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import delivery
from tests.delivery import make_due, messages, queue, run_once
from tests.fakes import Fault, http_status
from tests.fakes.twilio import error_reply
from webapp.models import utcnow
from webapp.sms import outbox
from webapp.sms.outbox import BACKOFF_CAP


def smscentral_busy(value: str) -> Fault:
    return http_status(503, "busy", headers={"Retry-After": value})


def twilio_busy(value: str) -> Fault:
    return Fault("reply", error_reply(429, 20429, "Too Many Requests", {"Retry-After": value}))


@pytest.mark.parametrize("value", ["NaN", "inf"])
@pytest.mark.parametrize("gateway", ["smscentral", "twilio"])
def test_a_retry_after_that_is_no_number_is_read_as_none_and_the_message_retried(
    app, session, sender, ada, sms_central, fake_twilio, gateway, value
):
    if gateway == "smscentral":
        fake, busy, provider = sms_central, smscentral_busy, delivery.smscentral(sms_central)
    else:
        fake, busy, provider = fake_twilio, twilio_busy, delivery.twilio(fake_twilio)
    fake.inject(busy(value))
    batch = queue(session, sender, [ada], provider=gateway)
    start = utcnow()
    try:
        run_once(app, provider)

        [message] = messages(session, batch)
        assert (message.state, message.attempts) == ("queued", 1)
        assert start < message.next_attempt_at <= utcnow() + timedelta(seconds=BACKOFF_CAP)
        # Nothing left claimed: lease housekeeping, however late, has no `unknown` to make.
        outbox.expire_leases(session, now=utcnow() + timedelta(days=1))
        assert messages(session, batch)[0].state == "queued"

        make_due(session)
        run_once(app, provider)
    finally:
        provider.close()
    [message] = messages(session, batch)
    assert (message.state, message.attempts) == ("sent", 2)
    assert len(fake.requests) == 2
