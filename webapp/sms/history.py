"""A person's Communications History: what we sent them (with their replies) and what they sent."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import Candidate, ClientContact, Message
from webapp.people.kinds import KINDS

SHOWN = 100


@dataclass
class History:
    sent: list[tuple[Message, list[Message]]]  # each outbound message with the replies to it
    received: list[tuple[Message, Message | None]]  # each reply with the message it answers


def for_person(session: so.Session, person: Candidate | ClientContact) -> History:
    column = getattr(Message, KINDS.of(person).person_column)
    rows = list(
        session.scalars(
            sa.select(Message)
            .where(column == person.id, Message.superseded.is_(False))
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(2 * SHOWN)
        )
    )
    outbound = [m for m in rows if m.direction == "out"][:SHOWN]
    inbound = [m for m in rows if m.direction == "in"][:SHOWN]
    by_id = {m.id: m for m in outbound}
    missing = {
        m.in_reply_to_id for m in inbound if m.in_reply_to_id and m.in_reply_to_id not in by_id
    }
    if missing:
        by_id.update(
            {m.id: m for m in session.scalars(sa.select(Message).where(Message.id.in_(missing)))}
        )
    replies: dict[int, list[Message]] = defaultdict(list)
    for reply in inbound:
        if reply.in_reply_to_id:
            replies[reply.in_reply_to_id].append(reply)
    return History(
        sent=[(m, sorted(replies[m.id], key=lambda r: r.id)) for m in outbound],
        received=[(r, by_id.get(r.in_reply_to_id)) for r in inbound],
    )
