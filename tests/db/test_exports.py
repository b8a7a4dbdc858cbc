"""The CSV exports read from the database: a batch's messages (names, numbers made safe, account,
state, error, times in the reader's zone) and the Sent log with exactly the rows the Sent page
lists across its pages; both streamed in pieces with flat memory, the heading before any query."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests.delivery import queue
from tests.statements import recorded
from webapp.models import AuditEvent, Batch, Message, SmsAccount, SmsTemplate
from webapp.sms import exports, sent_log
from webapp.sms.batches import RECEIPT_WAIT
from webapp.users.offices import Team

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
AUCKLAND = ZoneInfo("Pacific/Auckland")
PERTH = ZoneInfo("Australia/Perth")


def read(pieces) -> list[dict[str, str]]:
    """The CSV as bytes, read back as a spreadsheet importer would (the BOM taken off)."""
    data = "".join(pieces).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.fixture
def sessions(app):
    """What the exports open a session with, one for each chunk they read."""
    return app.extensions["database"].sessionmaker


def messages_of(session, batch) -> list[Message]:
    return list(
        session.scalars(sa.select(Message).where(Message.batch_id == batch.id).order_by(Message.id))
    )


@pytest.fixture
def mixed_batch(session, make_user, make_candidate, make_contact):
    """A batch to Zoë (a candidate, delivered through the Perth account), "=HYPERLINK" (a
    candidate whose name is a formula, failed) and Grace (a contact, sent with no receipt)."""
    sender = make_user(role="consultant")
    zoe = make_candidate("Zoë", "Ñúñez", "0412 345 678")
    formula = make_candidate('=HYPERLINK("https://evil.example","x")', "", "0412 345 679")
    batch = queue(session, sender, [zoe, formula], provider="sandbox")
    account = SmsAccount(name="Perth office", slug="perth-office", provider="smscentral")
    session.add(account)
    session.flush()
    first, second = messages_of(session, batch)
    first.account_id = account.id
    first.state = "delivered"
    first.created_at = datetime(2026, 3, 1, 22, 0, 0, tzinfo=UTC)
    first.sent_at = datetime(2026, 3, 1, 22, 0, 5, tzinfo=UTC)
    first.delivered_at = datetime(2026, 3, 1, 22, 0, 9, tzinfo=UTC)
    second.state = "failed"
    second.quiet_until = datetime(2026, 3, 1, 19, 0, tzinfo=UTC)  # 08:00 in Auckland
    second.error_code = "404"
    second.error_text = "-Number disconnected"
    grace = make_contact("Grace", "Hopper", "0413 222 333")
    session.add(
        Message(
            batch_id=batch.id,
            direction="out",
            contact_id=grace.id,
            sender_id=sender.id,
            to_e164="+61413222333",
            to_region="AU",
            body="Hi",
            provider="sandbox",
            state="sent",
            sent_at=NOW - RECEIPT_WAIT - timedelta(minutes=1),
        )
    )
    session.commit()
    return batch


def test_a_batchs_messages_with_names_numbers_account_state_error_and_times(
    session, sessions, mixed_batch
):
    rows = read(exports.csv_text(exports.batch_rows(sessions, mixed_batch.id, AUCKLAND, now=NOW)))

    assert list(rows[0]) == [
        "Person",
        "Number",
        "SMS account",
        "State",
        "Error",
        "Resent",
        "Queued (Pacific/Auckland)",
        "Quiet hours until (Pacific/Auckland)",
        "Sent (Pacific/Auckland)",
        "Delivered (Pacific/Auckland)",
    ]
    zoe, formula, grace = rows
    assert zoe == {
        "Person": "Zoë Ñúñez",
        "Number": "'+61412345678",  # the quote keeps the plus from being read as a formula
        "SMS account": "Perth office",
        "State": "delivered",
        "Error": "",
        "Resent": "",
        "Queued (Pacific/Auckland)": "2026-03-02 11:00:00+13:00",  # NZDT, UTC+13
        "Quiet hours until (Pacific/Auckland)": "",
        "Sent (Pacific/Auckland)": "2026-03-02 11:00:05+13:00",
        "Delivered (Pacific/Auckland)": "2026-03-02 11:00:09+13:00",
    }
    assert formula["Person"] == """'=HYPERLINK("https://evil.example","x")"""
    assert formula["SMS account"] == "Default"
    assert (formula["State"], formula["Error"]) == ("failed", "'-Number disconnected")
    assert formula["Sent (Pacific/Auckland)"] == ""
    assert formula["Quiet hours until (Pacific/Auckland)"] == "2026-03-02 08:00:00+13:00"
    assert (grace["Person"], grace["Number"]) == ("Grace Hopper", "'+61413222333")
    assert grace["State"] == "sent, no receipt"  # as the batch page shows it


def test_the_same_batch_read_in_perth_time(session, sessions, mixed_batch):
    zoe = read(exports.batch_csv(sessions, mixed_batch.id, PERTH))[0]

    assert zoe["Queued (Australia/Perth)"] == "2026-03-02 06:00:00+08:00"  # AWST, UTC+8
    assert zoe["Delivered (Australia/Perth)"] == "2026-03-02 06:00:09+08:00"


def test_a_resent_message_is_marked_and_its_copy_has_a_row(session, sessions, mixed_batch):
    failed = messages_of(session, mixed_batch)[1]
    failed.superseded = True
    session.add(
        Message(
            batch_id=mixed_batch.id,
            direction="out",
            candidate_id=failed.candidate_id,
            sender_id=mixed_batch.sender_id,
            to_e164=failed.to_e164,
            body=failed.body,
            provider="sandbox",
            resend_of_id=failed.id,
        )
    )
    session.commit()

    rows = read(exports.batch_csv(sessions, mixed_batch.id, PERTH))

    assert [(row["State"], row["Resent"]) for row in rows] == [
        ("delivered", ""),
        ("failed", "yes"),
        ("sent, no receipt", ""),
        ("queued", ""),
    ]
    assert exports.batch_row_count(session, mixed_batch.id) == 4


def sent_batch(session, sender, people, *, at, states=(), **fields) -> Batch:
    batch = queue(session, sender, people, provider="sandbox", **fields)
    for message, state in zip(messages_of(session, batch), states, strict=False):
        message.state = state
    batch.created_at = at
    session.commit()
    return batch


@pytest.fixture
def log(session, make_user, make_candidate):
    """Seven batches of Casey's a day apart (the newest first in the list), two with a failure,
    one from a template, one scheduled; and one of another consultant's."""
    casey = make_user("casey", role="consultant", full_name="Casey Jones")
    other = make_user(role="consultant", office="Perth")
    people = [make_candidate("Ada", "Lovelace", "0412 345 678"), make_candidate("Bo", "Li", None)]
    people = [people[0], make_candidate("Cy", "Young", "0412 349 999")]
    template = SmsTemplate(name="@Monday roles", body="Hi {{first_name}}", folder="General")
    session.add(template)
    session.commit()
    made = []
    for day in range(7):
        fields = {"template_id": template.id} if day == 3 else {}
        made.append(
            sent_batch(
                session,
                casey,
                people,
                at=datetime(2026, 3, 1 + day, 23, 30, tzinfo=UTC),
                states=("delivered", "failed" if day in (1, 5) else "delivered"),
                body=f"Day {day}: a nurse role in Wollongong starts Monday, {{{{first_name}}}}?",
                **fields,
            )
        )
    made[6].send_at = datetime(2026, 3, 9, 21, 0, tzinfo=UTC)
    session.commit()
    theirs = sent_batch(session, other, people, at=datetime(2026, 3, 4, 1, tzinfo=UTC))
    return casey, other, made, theirs


def listed(session, sender_id, filters, team=None) -> list[int]:
    """Every batch id the Sent page lists, page after page."""
    ids, page = [], 1
    while True:
        result = sent_log.search(session, sender_id, filters, page, team=team)
        ids += [row.batch.id for row in result.rows]
        if not result.has_next:
            return ids
        page += 1


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"state": "failed"},
        {"text": "day 3"},
        {"text": "monday roles"},  # the template's name
        {"date_from": "2026-03-03", "date_to": "2026-03-05"},  # days in Auckland
        {"who": "everyone"},
        {"who": "everyone", "state": "delivered", "date_to": "2026-03-05"},
    ],
)
def test_the_sent_log_has_exactly_the_rows_the_sent_page_lists_on_all_its_pages(
    session, sessions, log, monkeypatch, arguments
):
    casey = log[0]
    monkeypatch.setattr(sent_log, "PAGE_SIZE", 2)  # four pages of Casey's seven
    filters, _page, errors = sent_log.parse(arguments, AUCKLAND)
    assert errors == {}
    sender_id = None if filters.everyone else casey.id
    expected = listed(session, sender_id, filters)
    assert expected  # every case lists something

    rows = read(exports.sent_csv(sessions, sender_id, filters, AUCKLAND, chunk=3))

    assert [int(row["Batch"]) for row in rows] == expected
    assert exports.sent_row_count(session, sender_id, filters) == len(expected)


def test_a_sent_log_row_says_when_who_what_and_how_many_in_each_state(session, sessions, log):
    casey, _other, made, _theirs = log
    filters, _page, _errors = sent_log.parse({}, PERTH)

    rows = {
        int(row["Batch"]): row for row in read(exports.sent_csv(sessions, casey.id, filters, PERTH))
    }

    day5, day3, day6 = rows[made[5].id], rows[made[3].id], rows[made[6].id]
    assert day5["When (Australia/Perth)"] == "2026-03-07 07:30:00+08:00"  # 23:30 UTC, AWST +8
    assert day5["Sent by"] == "Casey Jones"
    assert day5["Template"] == ""
    assert day5["Message"].startswith("Day 5: a nurse role")
    assert day5["To"] == "Candidates"
    assert (day5["Messages"], day5["Delivered"], day5["Failed"], day5["Queued"]) == (
        "2",
        "1",
        "1",
        "0",
    )
    assert day3["Template"] == "'@Monday roles"  # a formula start, neutralised
    assert day3["Send at (Australia/Perth)"] == ""
    assert day6["Send at (Australia/Perth)"] == "2026-03-10 05:00:00+08:00"
    assert day6["Cancelled (Australia/Perth)"] == ""


def test_a_team_leader_limited_to_an_office_gets_only_its_batches(session, sessions, log):
    _casey, other, _made, theirs = log
    filters, _page, _errors = sent_log.parse({"who": "everyone"}, PERTH)
    team = Team(other.office_id)

    rows = read(exports.sent_csv(sessions, None, filters, PERTH, team=team))

    assert (
        [int(row["Batch"]) for row in rows] == [theirs.id] == listed(session, None, filters, team)
    )


def test_an_export_is_written_to_the_audit_log(session, mixed_batch):
    sender = mixed_batch.sender

    exports.record(session, sender, "batch messages", 3, mixed_batch)

    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "sms.exported"))
    assert (event.actor_id, event.subject_type, event.subject_id) == (
        sender.id,
        "batch",
        mixed_batch.id,
    )
    assert event.details == {"what": "batch messages", "rows": 3}


# --- streaming ------------------------------------------------------------------------------------


def big_batch(session, make_user, ada, count: int) -> Batch:
    """A batch of `count` messages to Ada (bulk-inserted: the Send path is not under test)."""
    batch = queue(session, make_user(role="consultant"), [ada], provider="sandbox")
    template = {
        "batch_id": batch.id,
        "direction": "out",
        "candidate_id": ada.id,
        "sender_id": batch.sender_id,
        "to_e164": "+61412345678",
        "to_region": "AU",
        "body": "Hi Ada",
        "provider": "sandbox",
        "state": "delivered",
        "sent_at": NOW,
        "delivered_at": NOW,
    }
    session.execute(
        sa.insert(Message),
        [
            template | {"uuid": f"{batch.id}-{i}", "reference": f"{batch.id}-{i}"}
            for i in range(count - 1)
        ],
    )
    session.commit()
    return batch


def test_the_heading_is_ready_before_any_query_and_rows_come_a_chunk_at_a_time(
    session, sessions, make_user, ada
):
    batch = big_batch(session, make_user, ada, 25)
    with recorded(session.get_bind()) as statements:
        pieces = exports.batch_csv(sessions, batch.id, PERTH, chunk=10)
        heading = next(pieces)
        assert statements == []
        rest = list(pieces)
    assert heading.startswith("\ufeffPerson,Number")
    assert [piece.count("\r\n") for piece in rest] == [10, 10, 5]


def exported(session, sessions, batch) -> tuple[int, int]:
    """(characters of CSV, peak bytes Python held) for the batch's export, read and dropped.

    The second of two runs: the first pays for compiled queries, caches and reloading the batch
    (about 0.5 MB, whatever the size)."""
    batch_id = batch.id
    for _run in range(2):
        session.rollback()
        tracemalloc.start()
        try:
            size = sum(
                len(piece) for piece in exports.batch_csv(sessions, batch_id, PERTH, chunk=200)
            )
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return size, peak


def test_memory_stays_flat_however_many_rows_are_exported(session, sessions, make_user, ada):
    small_size, small_peak = exported(session, sessions, big_batch(session, make_user, ada, 1_000))
    big_size, big_peak = exported(session, sessions, big_batch(session, make_user, ada, 15_000))

    assert big_size > 14 * small_size
    # Fifteen times the rows, about the same memory: pieces are dropped as they go. A list of the
    # rows (or the whole text) would grow with them, past the size of the CSV itself.
    assert big_peak < 1.5 * small_peak, (
        f"{small_peak:,} bytes for 1,000 rows, {big_peak:,} for 15,000"
    )
    assert big_peak < big_size / 2


def test_a_batch_read_in_whole_chunks_has_every_row_once(session, sessions, make_user, ada):
    batch = big_batch(session, make_user, ada, 20)

    pieces = list(exports.batch_csv(sessions, batch.id, PERTH, chunk=10))

    assert [piece.count("\r\n") for piece in pieces] == [1, 10, 10]  # no empty piece at the end
    assert len(read(pieces)) == 20


def test_sent_log_batches_made_at_the_same_moment_are_each_listed_once(
    session, sessions, make_user, ada
):
    me = make_user(role="consultant")
    at = datetime(2026, 3, 2, 1, tzinfo=UTC)
    made = [sent_batch(session, me, [ada], at=at) for _ in range(5)]
    older = sent_batch(session, me, [ada], at=at - timedelta(seconds=1))
    filters, _page, _errors = sent_log.parse({}, PERTH)

    # Chunks of two: a chunk ends between batches of the same time twice.
    rows = read(exports.sent_csv(sessions, me.id, filters, PERTH, chunk=2))

    assert [int(row["Batch"]) for row in rows] == [b.id for b in reversed(made)] + [older.id]


def idle_in_transaction(session) -> int:
    """How many connections to this PostgreSQL database other than `session`'s are idle in an
    open transaction (0 on SQLite, which has no server)."""
    if session.get_bind().dialect.name != "postgresql":
        return 0
    return session.scalar(
        sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        )
    )


def test_a_download_half_read_holds_no_connection_and_no_transaction(
    app, session, sessions, make_user, ada, log
):
    batch_id, casey_id = big_batch(session, make_user, ada, 25).id, log[0].id
    filters, _page, _errors = sent_log.parse({}, PERTH)
    session.close()
    pool = app.extensions["database"].engine.pool
    downloads = [
        exports.batch_csv(sessions, batch_id, PERTH, chunk=10),
        exports.sent_csv(sessions, casey_id, filters, PERTH, chunk=3),
    ]

    for pieces, first_chunk in zip(downloads, (10, 3), strict=True):
        assert next(pieces).startswith("\ufeff")  # the heading
        assert next(pieces).count("\r\n") == first_chunk
        # A client stalled here: between chunks the download keeps nothing open.
        assert pool.checkedout() == 0
    assert idle_in_transaction(session) == 0
    session.close()
    assert [len(list(pieces)) for pieces in downloads] == [2, 2]  # and reading on still works
