"""Helpers for the reply tests: outbound messages sent through the real Send path and the sandbox
dispatcher, inbound replies pushed through the domain, and what the database holds afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tests import delivery
from tests.pages import audits as audits  # the reply tests import it from here
from tests.pages import rows
from webapp.models import AuditEvent, Email, InboundPart, Message, User
from webapp.sms import replies
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.settings import reply_settings

SAMPLE = "Hi {{first_name}}, new roles this week."


def send_sms(
    app,
    session,
    sender: User,
    people: Sequence,
    *,
    kind: str = "candidates",
    body: str = SAMPLE,
    dispatch: bool = True,
) -> list[Message]:
    """Send one SMS to each of `people` as the SMS screen does (draft + Send), then, unless
    `dispatch` is False, let the sandbox gateway take them (state `sent`). Their messages."""
    batch = delivery.queue(session, sender, people, provider="sandbox", kind=kind, body=body)
    if dispatch:
        # Long enough that a slow run cannot see the sandbox's own "delivered" step as well.
        delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(
            once=True
        )
    sent = delivery.messages(session, batch)
    if dispatch:
        assert {m.state for m in sent} == {"sent"}, [(m.state, m.error_text) for m in sent]
    return sent


def receive(
    app,
    session,
    body: str,
    *,
    from_number: str = "61412345678",
    reference: str | None = None,
    message_id: str | None = None,
    provider: str = "smscentral",
) -> Message:
    """A reply as SMS Central pushes it (international digits, no "+"), through replies.receive."""
    receive.counter += 1
    inbound = replies.InboundSms(
        provider=provider,
        provider_message_id=message_id or f"in-{receive.counter}",
        from_number=from_number,
        to_number="61400000001",
        body=body,
        reference=reference,
    )
    reply = replies.receive(session, inbound, reply_settings(session, app.config))
    session.expire_all()
    return reply


receive.counter = 0


def twilio_inbound_form(**fields: str) -> dict[str, str]:
    """A reply as Twilio posts it to our inbound webhook, with `fields` changed."""
    form = {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "0" * 32,
        "From": "+61412345678",
        "To": "+61400000001",
        "Body": "Yes, Tuesday suits",
        "NumSegments": "1",
        "NumMedia": "0",
    }
    return form | fields


def inbound(session) -> list[Message]:
    return rows(session, Message, Message.direction == "in")


def consent_audits(session) -> list[AuditEvent]:
    return rows(session, AuditEvent, AuditEvent.action.like("consent.%"))


def stored(session) -> dict[str, int]:
    """Counts of everything a push can write."""
    return {
        "inbound": len(inbound(session)),
        "emails": len(rows(session, Email)),
        "audit": len(rows(session, AuditEvent)),
        "parts": len(rows(session, InboundPart)),
    }
