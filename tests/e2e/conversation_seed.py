"""What the Sent and Replies browser tests start from, written into the live server's database by
the domain (in a process of its own, with the server's environment): a consultant, two candidates,
a batch to them, and replies. Prints what it made as JSON.

    python -m tests.e2e.conversation_seed setup VARIANT N [BODY]   (js or nojs, a number of its own)
    python -m tests.e2e.conversation_seed reply MESSAGE_ID TEXT
    python -m tests.e2e.conversation_seed read REPLY_ID
    python -m tests.e2e.conversation_seed hold MESSAGE_ID   (queued again, its next try a day off)
"""

from __future__ import annotations

import json
import sys

import sqlalchemy as sa

PASSWORD = "sms-desk-demo"


def setup(variant: str, n: int, body: str | None = None) -> dict:
    from tests.delivery import queue
    from webapp.database import begin_write
    from webapp.extensions import db
    from webapp.models import Candidate, Message, Role, User

    suffix = f"{variant}{n}"
    session = db.session
    begin_write(session)  # the server's worker writes too: take the lock before reading
    role = session.scalar(sa.select(Role).where(Role.name == "consultant"))
    user = User(
        username=f"sender-{suffix}",
        full_name=f"Sam Sender{suffix.title()}",
        email=f"sender-{suffix}@example.com",
        roles=[role],
    )
    user.set_password(PASSWORD)
    session.add(user)
    people = []
    for k, (first, last) in enumerate((("Nina", "Nurse"), ("Omar", "Orderly"))):
        person = Candidate(first_name=first, last_name=f"{last}{suffix.title()}", sms_consent=True)
        # Numbers of their own: apart from tests/e2e/people.csv's, each variant's and each call's.
        person.set_mobile(f"0412{346000 + (500 if variant == 'js' else 0) + 10 * n + k:06d}", "AU")
        session.add(person)
        people.append(person)
    session.commit()
    batch = queue(
        session,
        user,
        people,
        provider="sandbox",
        body=body or f"Hi {{{{first_name}}}}, night shift this Friday ({suffix})? Reply YES",
    )
    messages = session.scalars(
        sa.select(Message).where(Message.batch_id == batch.id).order_by(Message.id)
    ).all()
    return {
        "username": user.username,
        "full_name": user.full_name,
        "batch": batch.id,
        "people": [
            {"id": p.id, "name": f"{p.first_name} {p.last_name}", "message": m.id}
            for p, m in zip(people, messages, strict=True)
        ],
    }


def reply(message_id: int, text: str) -> dict:
    from flask import current_app

    from webapp.database import begin_write
    from webapp.extensions import db
    from webapp.models import Message
    from webapp.sms import replies
    from webapp.sms.settings import reply_settings

    session = db.session
    begin_write(session)
    answered = session.get(Message, message_id)
    inbound = replies.InboundSms(
        provider="sandbox",
        provider_message_id=f"e2e-{message_id}-{text}",
        from_number=answered.to_e164,
        to_number=None,
        body=text,
        reference=answered.uuid,
    )
    stored = replies.receive(session, inbound, reply_settings(session, current_app.config))
    return {"reply": stored.id}


def read(reply_id: int) -> dict:
    from webapp.extensions import db
    from webapp.models import Message

    read_at = db.session.get(Message, reply_id).read_at
    return {"read_at": read_at.isoformat() if read_at else None}


def hold(message_id: int) -> dict:
    """The message queued, its next try a day away (as after a gateway's back-off): the record
    page's thread refreshes itself while it shows, and no worker sends it meanwhile."""
    from datetime import timedelta

    from webapp.database import begin_write
    from webapp.extensions import db
    from webapp.models import Message
    from webapp.models.base import utcnow

    session = db.session
    begin_write(session)
    message = session.get(Message, message_id)
    message.state = "queued"
    message.next_attempt_at = utcnow() + timedelta(days=1)
    session.commit()
    return {"held": message.id}


def main(argv: list[str]) -> None:
    from webapp import create_app

    app = create_app()
    with app.app_context():
        command, *args = argv
        if command == "setup":
            result = setup(args[0], int(args[1]), *args[2:3])
        elif command == "reply":
            result = reply(int(args[0]), args[1])
        elif command == "hold":
            result = hold(int(args[0]))
        else:
            result = read(int(args[0]))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
