"""The Sent page, the Replies inbox, a record's conversation and the unread count over a million
messages and 100,000 replies, added once to the benchmark databases (bench/data.py) and kept there.

The messages are a year of sending by 33 users (the demo's consultant sends a tenth of it): mostly
single texts, some dozens, a few thousands; the replies answer delivered messages, 3 % unread.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench import floor
from bench.report import Figure, percentile, show
from webapp import create_app
from webapp.bulk import insert_rows
from webapp.config import testing_config
from webapp.database import make_engine, make_sessionmaker
from webapp.models import Batch, Candidate, Message, Role, SmsTemplate, User
from webapp.models.messaging import new_uuids
from webapp.sms import inbox, limits

# Smaller with BENCH_MESSAGES / BENCH_REPLIES, to try the benchmark itself quickly.
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "1000000"))
REPLIES = int(os.environ.get("BENCH_REPLIES", "100000"))
SENDERS = 30  # besides the demo's admin, lead and consultant
RUNS = floor.RUNS
CHUNK = 50_000
END = datetime(2026, 11, 30, tzinfo=UTC)
BODIES = (
    "Hi {first}, a nurse role in Wollongong starts Monday. Are you free to talk today?",
    "Hi {first}, night shift this Friday at the Sydney site, $48/h. Reply YES to take it.",
    "Hi {first}, your timesheet for last week is still missing. Please send it by noon.",
    "Hi {first}, thanks for your interview today; we will be in touch by Thursday.",
    "Hi {first}, a forklift driver role in Parramatta came up, day shift. Interested?",
)
REPLY_BODIES = ("YES", "Yes please, call me after 5", "Can't this week", "Who is this?", "STOP")
# A batch's final states, as a sandbox year would leave them (nothing queued: no worker runs).
STATES = (("delivered", 0.88), ("sent", 0.06), ("failed", 0.03), ("undelivered", 0.015))
STATES += (("rejected", 0.01), ("unknown", 0.005))


def _size(rng: random.Random) -> int:
    pick = rng.random()
    if pick < 0.60:
        return 1
    if pick < 0.90:
        return rng.randint(2, 50)
    if pick < 0.99:
        return rng.randint(51, 500)
    return rng.randint(1_000, 20_000)


def _present(session) -> bool:
    bench_rows = session.scalar(
        sa.select(sa.func.count()).select_from(Message).where(Message.provider == "bench")
    )
    return bench_rows == MESSAGES + REPLIES


def build(url: str) -> float | None:
    """Add the messages and replies unless they are there; seconds it took (None: there)."""
    engine = make_engine(url)
    session = make_sessionmaker(engine)()
    try:
        if _present(session):
            return None
        print(f"  adding {MESSAGES:,} messages and {REPLIES:,} replies …", flush=True)
        started = time.perf_counter()
        _fill(session)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            postgres = engine.dialect.name == "postgresql"
            connection.exec_driver_sql("VACUUM ANALYZE" if postgres else "ANALYZE")
        return time.perf_counter() - started
    finally:
        session.close()
        engine.dispose()


def _fill(session) -> None:
    rng = random.Random(1818)
    session.execute(sa.delete(Message).where(Message.provider == "bench"))
    session.execute(sa.delete(Batch).where(Batch.provider == "bench"))
    senders = _senders(session)
    consultant = session.scalar(sa.select(User.id).where(User.username == "consultant"))
    others = [s for s in senders if s != consultant]
    templates = list(session.execute(sa.select(SmsTemplate.id, SmsTemplate.name)))
    low, high = session.execute(
        sa.select(sa.func.min(Candidate.id), sa.func.max(Candidate.id))
    ).one()
    next_batch = (session.scalar(sa.select(sa.func.max(Batch.id))) or 0) + 1
    next_message = (session.scalar(sa.select(sa.func.max(Message.id))) or 0) + 1
    start = END - timedelta(days=365)
    span = (END - start).total_seconds()

    # The batches, each with its sender and time; ids rise with time, as they would.
    batches, total = [], 0
    while total < MESSAGES:
        size = min(_size(rng), MESSAGES - total)
        template_id, template_name = (
            rng.choice(templates) if templates and rng.random() < 0.4 else (None, None)
        )
        batches.append(
            {
                "sender_id": consultant if rng.random() < 0.1 else rng.choice(others),
                "kind": "candidates",
                "template_id": template_id,
                "template_name": template_name,  # as a Send keeps it
                "body": rng.choice(BODIES).replace("{first}", "{{first_name}}"),
                "provider": "bench",
                "message_count": size,
                "outcome_counts": {},
                "created_at": start + timedelta(seconds=rng.random() * span),
            }
        )
        total += size
    batches.sort(key=lambda b: b["created_at"])
    for n, batch in enumerate(batches):
        batch["id"] = next_batch + n
    session.execute(sa.insert(Batch), batches)  # a few thousand (COPY would not take the JSON)

    table = Message.__table__
    for index in table.indexes:  # built once at the end: several times faster than row by row
        index.drop(session.connection())
    answered: list[tuple[int, int, int, datetime, str]] = []
    rows = []
    states, weights = zip(*STATES, strict=True)
    for batch in batches:
        at = batch["created_at"]
        uuids = iter(new_uuids(batch["message_count"], at, rng.randbytes))
        for state in rng.choices(states, weights, k=batch["message_count"]):
            candidate = rng.randint(low, high)
            number = f"+6141{candidate % 10_000_000:07d}"
            message_uuid = next(uuids)
            body = batch["body"].replace("{{first_name}}", "there")
            rows.append(_message(next_message, message_uuid, batch, candidate, number, state, at))
            rows[-1]["body"] = body
            if state == "delivered":
                answered.append((next_message, candidate, batch["sender_id"], at, number))
            next_message += 1
            if len(rows) == CHUNK:
                insert_rows(session, table, rows)
                rows = []
    for answered_id, candidate, sender, at, number in rng.sample(answered, REPLIES):
        received = at + timedelta(minutes=rng.randint(1, 600))
        rows.append(
            {
                **_message(
                    next_message,
                    new_uuids(1, received, rng.randbytes)[0],
                    {"id": None, "sender_id": sender},
                    candidate,
                    "+61400000000",
                    "received",
                    received,
                ),
                "direction": "in",
                "from_e164": number,
                "reference": None,
                "in_reply_to_id": answered_id,
                "provider_message_id": f"bench-in-{next_message}",
                "body": rng.choice(REPLY_BODIES),
                "read_at": None if rng.random() < 0.03 else received + timedelta(minutes=5),
            }
        )
        next_message += 1
        if len(rows) == CHUNK:
            insert_rows(session, table, rows)
            rows = []
    insert_rows(session, table, rows)
    for index in table.indexes:
        index.create(session.connection())
    if session.get_bind().dialect.name == "postgresql":
        for name in ("batches", "messages"):
            session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
                )
            )
    session.commit()


def _message(
    message_id: int,
    message_uuid: str,
    batch: dict,
    candidate: int,
    number: str,
    state: str,
    at: datetime,
) -> dict:
    return {
        "id": message_id,
        "uuid": message_uuid,
        "reference": message_uuid,
        "batch_id": batch["id"],
        "direction": "out",
        "candidate_id": candidate,
        "sender_id": batch["sender_id"],
        "in_reply_to_id": None,
        "to_e164": number,
        "to_region": "AU",
        "from_e164": None,
        "body": "",
        "state": state,
        "provider": "bench",
        "provider_message_id": None,
        "error_text": "Handset unreachable" if state in {"failed", "undelivered"} else None,
        "created_at": at,
        # Every outbound message has one from its Send on (only a held, scheduled one has none).
        "next_attempt_at": at,
        "sent_at": at + timedelta(seconds=1),
        "delivered_at": at + timedelta(seconds=5) if state == "delivered" else None,
        "read_at": None,
        "updated_at": at + timedelta(seconds=5),
    }


def _senders(session) -> list[int]:
    """The demo's admin, lead and consultant, and SENDERS consultants made for the bench."""
    role = session.scalar(sa.select(Role).where(Role.name == "consultant"))
    existing = set(session.scalars(sa.select(User.username).where(User.username.like("bench-%"))))
    for n in range(SENDERS):
        name = f"bench-sender-{n:02d}"
        if name not in existing:
            # Never signed in: a password hash that matches nothing.
            session.add(
                User(
                    username=name,
                    full_name=f"Bench Sender {n:02d}",
                    email=f"{name}@example.com",
                    password_hash="!",
                    roles=[role],
                )
            )
    session.commit()
    return list(
        session.scalars(
            sa.select(User.id).where(
                sa.or_(
                    User.username.in_(("admin", "lead", "consultant")),
                    User.username.like("bench-%"),
                )
            )
        )
    )


def _fetcher(client, url: str) -> Callable[[], None]:
    def fetch() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return fetch


def _timed(client, url: str) -> list[float]:
    return floor.timed(_fetcher(client, url), RUNS)


PAGES = (
    ("consultant", "Sent: my batches", "/sms/sent"),
    ("consultant", "Sent: my batches, text", "/sms/sent?text=night+shift"),
    (
        "consultant",
        "Sent: my batches, a month",
        "/sms/sent?date_from=2026-06-01&date_to=2026-06-30",
    ),
    ("lead", "Sent: everyone's", "/sms/sent?who=everyone"),
    ("lead", "Sent: everyone's, state unknown", "/sms/sent?who=everyone&state=unknown"),
    ("lead", "Sent: everyone's, page 40", "/sms/sent?who=everyone&page=40"),
    ("consultant", "Replies: mine", "/sms/replies"),
    ("consultant", "Replies: mine, page 20", "/sms/replies?page=20"),
    ("lead", "Replies: everyone's", "/sms/replies?who=everyone"),
)


def signed_in_clients(app) -> dict:
    """A test client signed in as each of the demo's consultant and team leader, by username
    (the app's test_client_class is the tests' Browser)."""
    clients = {}
    for username in ("consultant", "lead"):
        clients[username] = app.test_client()
        assert clients[username].login(username, "sms-desk-demo").status_code == 302
    return clients


def _busiest_record(app) -> str:
    """The record page of the candidate with the most messages: the longest conversation."""
    session = app.extensions["database"].sessionmaker()
    try:
        busiest = session.scalar(
            sa.select(Message.candidate_id)
            .where(Message.provider == "bench", Message.candidate_id.is_not(None))
            .group_by(Message.candidate_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        )
    finally:
        session.close()
    return f"/candidates/{busiest}"


def run(kind: str, url: str) -> list[Figure]:
    from tests.conftest import Browser

    seconds = build(url)
    figures = []
    if seconds is not None:
        figures.append(show(Figure(f"conversations [{kind}] adding the messages", seconds, "s")))
    app = create_app(testing_config(url, LOG_LEVEL="WARNING"))
    app.test_client_class = Browser
    clients = signed_in_clients(app)
    engine = app.extensions["database"].engine
    worst, worst_ratio = 0.0, 0.0
    for username, label, page in (*PAGES, ("consultant", "Conversation", _busiest_record(app))):
        fetch = _fetcher(clients[username], page)
        samples = floor.timed(fetch, RUNS)
        page_floor = floor.page_floor(engine, fetch, RUNS)
        shown, ratio = floor.page_figures(
            f"conversations [{kind}] {label}", samples, page_floor, "≤ 50"
        )
        figures += shown
        worst, worst_ratio = max(worst, percentile(samples, 95)), max(worst_ratio, ratio)
    figures.append(show(Figure(f"conversations [{kind}] worst page p95", worst, "ms", "≤ 50")))
    name = f"conversations [{kind}] worst page ÷ floor p50"
    figures.append(show(Figure(name, worst_ratio, "×", floor.RATIO_GOAL)))

    session = app.extensions["database"].sessionmaker()
    consultant = session.scalar(sa.select(User.id).where(User.username == "consultant"))
    samples = []
    for n in range(RUNS * 10 + 3):
        started = time.perf_counter()
        unread = inbox.unread_count(session, consultant)
        if n >= 3:
            samples.append((time.perf_counter() - started) * 1000)
        session.rollback()
    figures.append(
        show(
            Figure(
                f"conversations [{kind}] unread count ({unread:,}): p95",
                percentile(samples, 95),
                "ms",
                "≤ 5",
            )
        )
    )
    figures.append(limit_counts(session, kind, consultant))
    session.close()
    app.extensions["database"].engine.dispose()
    return figures


def limit_counts(session, kind: str, user_id: int) -> Figure:
    """What the sending-limit check reads on each Send: the sender's and everyone's outbound
    messages in the last 24 hours (the partial indexes ix_messages_out_sender / _out_created), on
    the last day of the year of messages."""
    since = END - limits.WINDOW
    samples = []
    for n in range(RUNS * 10 + 3):
        started = time.perf_counter()
        mine = limits.sent_by(session, user_id, since)
        everyone = limits.sent_by_everyone(session, since)
        if n >= 3:
            samples.append((time.perf_counter() - started) * 1000)
        session.rollback()
    return show(
        Figure(
            f"limits [{kind}] 24-hour counts ({mine:,} of {everyone:,}): p95",
            percentile(samples, 95),
            "ms",
            "≤ 5",
        )
    )
