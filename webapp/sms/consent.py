"""Change SMS consent for the people a STOP or START reply names, or for everyone with a number (a
gateway's opt-out), audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import Candidate, ClientContact, Message, User, audit
from webapp.models.messaging import QUEUED
from webapp.people.kinds import KINDS


def holders(session: so.Session, e164: str) -> list[Candidate | ClientContact]:
    """Every record whose mobile is this number now."""
    people: list[Candidate | ClientContact] = []
    for model in (Candidate, ClientContact):
        people += session.scalars(sa.select(model).where(model.mobile_e164 == e164))
    return people


def targets(
    session: so.Session,
    e164: str | None,
    consent: bool,
    answered: Candidate | ClientContact | None = None,
) -> list[Candidate | ClientContact]:
    """Whose SMS box a STOP (`consent` False) or START from this number moves: every record with
    the number, and for a STOP also `answered`, the person whose message it replies to, though
    their record may hold another number by now (they changed it after that message went). A
    START ticks only records with the number: a record's new number never asked for anything."""
    people = holders(session, e164) if e164 else []
    if not consent and answered is not None and answered not in people:
        people.append(answered)
    return people


def set_for(
    session: so.Session,
    people: list[Candidate | ClientContact],
    consent: bool,
    *,
    number: str | None,
    actor: User | None,
    cause: dict[str, Any],
) -> list[Candidate | ClientContact]:
    """Tick or untick the SMS box of each of `people` not so already, audited; returns those
    changed. The caller commits, so the change and its audit entries land together.

    A withdrawal (every one here is the person's own: a STOP, a gateway's opt-out) is audited on
    a box unticked already by someone else too ({"sms_consent": [False, False]}): it is then the
    latest word on their box, so ticking it again needs the authority to override it
    (records.self_withdrawal), not just anyone's tick over an earlier untick by hand. Over their
    own withdrawal (a second STOP) nothing is written.

    A withdrawal also ends the Ignore of the person's messages still waiting to go (end_ignore),
    counted in its audit entry as `ignore_withdrawn`."""
    # Here, not at the top: records imports this module.
    from webapp.people.records import self_withdrawal

    changed = []
    for person in people:
        ended = 0 if consent else end_ignore(session, person)
        already = person.sms_consent == consent
        if already and (consent or self_withdrawal(session, person) is not None):
            continue
        person.sms_consent = consent
        audit(
            session,
            actor,
            "consent.sms_given" if consent else "consent.sms_withdrawn",
            person,
            changes={"sms_consent": [consent if already else not consent, consent]},
            number=number,
            **cause,
            **({"ignore_withdrawn": ended} if ended else {}),
        )
        if not already:
            changed.append(person)
    return changed


def end_ignore(
    session: so.Session,
    person: Candidate | ClientContact,
    *,
    queued_before: datetime | None = None,
) -> int:
    """The person's own opt-out (a STOP, a gateway's) outranks a consultant's Ignore given before
    it: their messages not yet gone (queued, scheduled, held for quiet hours) lose the Ignore, so
    the check at sending (outbox.recheck) refuses them as it does any opted-out person's ("opted
    out of SMS after the message was queued"). `queued_before`: only messages queued before then
    (when a STOP filed by hand came). In the caller's transaction; returns how many."""
    if person.id is None:
        return 0  # a record not written yet has no messages
    column = getattr(Message, KINDS.of(person).person_column)
    result = session.execute(
        sa.update(Message)
        .where(
            column == person.id,
            Message.direction == "out",
            Message.state == QUEUED,
            Message.override_opt_out.is_(True),
            Message.created_at <= queued_before if queued_before is not None else sa.true(),
        )
        .values(override_opt_out=False)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def set_for_number(
    session: so.Session, e164: str, consent: bool, *, actor: User | None, cause: dict[str, Any]
) -> list[Candidate | ClientContact]:
    """Tick or untick the SMS box on every record with this mobile (a gateway's opt-out); returns
    those changed."""
    people = targets(session, e164, consent)
    return set_for(session, people, consent, number=e164, actor=actor, cause=cause)
