"""Change SMS consent for everyone with a number (a STOP reply, a gateway opt-out), audited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import Candidate, ClientContact, User, audit


def set_for_number(
    session: so.Session, e164: str, consent: bool, *, actor: User | None, cause: dict[str, Any]
) -> list[Candidate | ClientContact]:
    """Tick or untick the SMS box on every record with this mobile; returns those changed.

    The caller commits, so the change and its audit entries land together.
    """
    changed = []
    for model in (Candidate, ClientContact):
        people = session.scalars(
            sa.select(model).where(model.mobile_e164 == e164, model.sms_consent.is_(not consent))
        )
        for person in people:
            person.sms_consent = consent
            audit(
                session,
                actor,
                "consent.sms_given" if consent else "consent.sms_withdrawn",
                person,
                changes={"sms_consent": [not consent, consent]},
                number=e164,
                **cause,
            )
            changed.append(person)
    return changed
