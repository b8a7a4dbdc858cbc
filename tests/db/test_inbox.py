"""Reply read state and the Sent and Replies queries on SQLite and PostgreSQL: replies received
before revision 0012 start read; new ones are unread until their consultant opens them; the unread
count, the inbox and the Sent page read the indexes made for them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.delivery import queue
from tests.replying import receive, send_sms
from webapp import migrate
from webapp.database import make_engine
from webapp.models import Batch, Message
from webapp.sms import inbox, sent_log


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_replies_received_before_0012_start_read_and_new_ones_unread(engine):
    migrate.downgrade(engine, "0011")
    received = datetime(2026, 1, 5, 9, 0)
    with engine.begin() as connection:
        insert = sa.text(
            "INSERT INTO messages (uuid, direction, to_e164, body, segments, encoding, state, "
            "override_opt_out, superseded, provider, attempts, created_at, updated_at) VALUES "
            "(:uuid, :direction, '+61400000000', 'Hi', 1, 'GSM-7', :state, false, false, "
            "'sandbox', 0, :at, :at)"
        )
        connection.execute(
            insert, {"uuid": "a", "direction": "in", "state": "received", "at": received}
        )
        connection.execute(
            insert, {"uuid": "b", "direction": "out", "state": "sent", "at": received}
        )

    migrate.upgrade(engine)

    with engine.connect() as connection:
        stored = sa.text("SELECT uuid, read_at FROM messages").columns(read_at=sa.DateTime)
        rows = dict(connection.execute(stored).all())
    assert rows == {"a": received, "b": None}


def test_a_reply_is_unread_until_its_consultant_opens_it(app, session, casey, make_user, ada):
    lead = make_user(role="team-leader")
    [sent] = send_sms(app, session, casey, [ada])
    reply = receive(app, session, "Yes please", reference=sent.uuid)
    assert reply.read_at is None and reply.sender_id == casey.id
    assert inbox.unread_count(session, casey.id) == 1
    assert inbox.unread_count(session, lead.id) == 0

    inbox.opened(session, reply, lead)  # looking through everyone's replies
    assert inbox.unread_count(session, casey.id) == 1

    opened_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    inbox.opened(session, reply, casey, now=opened_at)
    assert inbox.unread_count(session, casey.id) == 0
    inbox.opened(session, reply, casey, now=opened_at + timedelta(hours=1))
    session.expire_all()
    assert session.get(Message, reply.id).read_at == opened_at  # first read is kept

    inbox.mark(session, reply, read=False)
    assert inbox.unread_count(session, casey.id) == 1


def test_the_inbox_lists_mine_or_everyones_newest_first(
    app, session, casey, make_user, ada, make_candidate
):
    other = make_user(role="consultant")
    bob = make_candidate("Bob", "Brown", "0400 111 222")
    [to_ada] = send_sms(app, session, casey, [ada])
    [to_bob] = send_sms(app, session, other, [bob])
    first = receive(app, session, "Ada here", reference=to_ada.uuid)
    second = receive(app, session, "Bob here", reference=to_bob.uuid)
    receive(app, session, "Nobody's", from_number="61499888777")

    mine = inbox.search(session, casey.id)
    everyone = inbox.search(session, None)

    assert [row.reply.id for row in mine.rows] == [first.id]
    assert [row.reply.id for row in everyone.rows] == [second.id, first.id]
    row = everyone.rows[1]
    assert (row.person_name, row.kind.segment, row.person_id) == (
        "Ada Lovelace",
        "candidates",
        ada.id,
    )
    assert row.answered == to_ada.body and row.addressee == "Casey Jones" and row.unread


def test_the_sent_log_pages_and_counts_by_state(session, casey, make_candidate):
    people = [make_candidate(f"P{n}", "Person", f"0400 000 {n:03d}") for n in range(3)]
    batches = [
        queue(session, casey, people, provider="sandbox") for _ in range(sent_log.PAGE_SIZE + 1)
    ]
    session.execute(
        sa.update(Message).where(Message.batch_id == batches[-1].id).values(state="delivered")
    )
    session.commit()

    page = sent_log.search(session, casey.id, sent_log.Filters())

    assert page.has_next and len(page.rows) == sent_log.PAGE_SIZE
    assert page.rows[0].batch.id == batches[-1].id
    assert page.rows[0].counts == dict.fromkeys(sent_log.BAR_STATES, 0) | {"delivered": 3}
    assert page.rows[1].counts["queued"] == 3
    later = sent_log.search(session, casey.id, sent_log.Filters(), page=2)
    assert [row.batch.id for row in later.rows] == [batches[0].id] and not later.has_next
    failed = sent_log.search(session, None, sent_log.Filters(state="delivered"))
    assert [row.batch.id for row in failed.rows] == [batches[-1].id]


def plan(session, query) -> str:
    """The database's plan for `query`, as one line of text (sequential scans discouraged on
    PostgreSQL, as a table of a million rows would)."""
    bind = session.get_bind()
    compiled = query.compile(bind, compile_kwargs={"literal_binds": True})
    if bind.dialect.name == "postgresql":
        session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        rows = session.execute(sa.text(f"EXPLAIN {compiled}")).all()
    else:
        rows = session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    session.rollback()
    return " ".join(str(row) for row in rows)


def test_the_unread_count_and_the_inbox_read_their_partial_indexes(session, casey, make_user):
    # Enough rows, of several senders, for PostgreSQL's statistics to tell the indexes apart.
    senders = [casey.id] + [make_user(role="consultant").id for _ in range(39)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    session.execute(
        sa.insert(Message),
        [
            {
                "direction": "in" if n % 4 else "out",
                "sender_id": senders[n % len(senders)],
                "to_e164": "+61400000000",
                "body": "Hi",
                "state": "received" if n % 4 else "sent",
                "provider": "sandbox",
                "created_at": start + timedelta(minutes=n),
                "read_at": start if n % 3 else None,
            }
            for n in range(2000)
        ],
    )
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("ANALYZE messages"))
        session.commit()
    count = (
        sa.select(sa.func.count())
        .select_from(Message)
        .where(Message.sender_id == casey.id, inbox.UNREAD)
    )
    assert "ix_messages_unread" in plan(session, count)
    mine = (
        sa.select(Message.id)
        .where(inbox.REPLY, Message.sender_id == casey.id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(51)
    )
    assert "ix_messages_replies_to" in plan(session, mine)
    everyone = (
        sa.select(Message.id)
        .where(inbox.REPLY)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(51)
    )
    assert "ix_messages_replies" in plan(session, everyone)
    batches = sent_log.conditions(sent_log.Filters(), casey.id)
    sent = sa.select(Batch.id).where(*batches).order_by(*sent_log.NEWEST_FIRST).limit(26)
    assert "ix_batches_sender_went" in plan(session, sent)
    everyone = sa.select(Batch.id).order_by(*sent_log.NEWEST_FIRST).limit(26)
    assert "ix_batches_went" in plan(session, everyone)
    # A month of them, mine or everyone's: by when the batches went (0027), read in the order of
    # one of its indexes, never sorted (which of the two is the planner's pick on so few rows).
    days = sent_log.Filters(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))
    for who in (casey.id, None):
        dated = plan(
            session,
            sa.select(Batch.id)
            .where(*sent_log.conditions(days, who))
            .order_by(*sent_log.NEWEST_FIRST)
            .limit(26),
        )
        assert "ix_batches_went" in dated or "ix_batches_sender_went" in dated
        assert "Sort" not in dated and "TEMP B-TREE" not in dated
