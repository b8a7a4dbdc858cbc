"""The outbox: queued messages written in bulk, claimed by workers, and moved through their states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.models import Batch, Message
from webapp.models.base import utcnow
from webapp.models.messaging import QUEUED, new_uuid
from webapp.sms.people import PersonRow

CHUNK = 2_000


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One rendered message for one recipient, ready to queue."""

    person: PersonRow
    body: str
    segments: int
    encoding: str
    override_opt_out: bool


def enqueue(session: so.Session, batch: Batch, items: Sequence[Outgoing]) -> int:
    """Add one queued Message per item to the session's transaction (bulk insert, no commit)."""
    now = utcnow()
    person_column = "candidate_id" if batch.kind == "candidates" else "contact_id"
    rows = [
        {
            "uuid": new_uuid(), "batch_id": batch.id, "direction": "out",
            person_column: item.person.id, "sender_id": batch.sender_id,
            "to_e164": item.person.mobile_e164, "body": item.body, "segments": item.segments,
            "encoding": item.encoding, "state": QUEUED, "override_opt_out": item.override_opt_out,
            "provider": batch.provider, "attempts": 0, "next_attempt_at": now,
            "created_at": now, "updated_at": now,
        }
        for item in items
    ]
    table = Message.__table__
    for start in range(0, len(rows), CHUNK):
        session.execute(sa.insert(table), rows[start:start + CHUNK])
    return len(rows)
