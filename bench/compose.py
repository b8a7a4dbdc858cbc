"""The SMS screen at scale: analysing 10,000 chosen people, the page for them, and Send."""

from __future__ import annotations

import time

import sqlalchemy as sa

from bench.report import Figure, median, show
from webapp import create_app
from webapp.config import testing_config
from webapp.models import AuditEvent, Batch, Candidate, Comment, ComposeDraft, Message, User
from webapp.sms import compose
from webapp.sms.compose import SendRequest
from webapp.sms.settings import blocked_regions

SIZE = 10_000


def run(kind: str, url: str) -> list[Figure]:
    from tests.conftest import Browser

    app = create_app(testing_config(url, LOG_LEVEL="WARNING"))
    app.test_client_class = Browser
    engine = app.extensions["database"].engine
    session = app.extensions["database"].sessionmaker()
    figures = []
    user = session.scalar(sa.select(User).where(User.username == "lead"))
    ids = list(session.scalars(sa.select(Candidate.id).order_by(Candidate.id).limit(SIZE)))
    blocked = blocked_regions(session, "sandbox")
    draft = compose.create_draft(session, user, "candidates", ids)

    samples = []
    for _ in range(5):
        started = time.perf_counter()
        state = compose.analyse_draft(session, draft, blocked, False)
        samples.append((time.perf_counter() - started) * 1000)
        session.rollback()
    figures.append(
        show(
            Figure(
                f"compose [{kind}] analysis of {SIZE:,} people (load + analyse)",
                median(samples),
                "ms",
                "≤ 100",
            )
        )
    )

    client = app.test_client()
    assert client.login("lead", "sms-desk-demo").status_code == 302
    page_samples, size = [], 0
    for _ in range(3):
        started = time.perf_counter()
        response = client.get(f"/sms/compose/{draft.token}")
        page_samples.append((time.perf_counter() - started) * 1000)
        size = len(response.data)
    figures.append(
        show(
            Figure(
                f"compose [{kind}] SMS screen for {SIZE:,} people: time", median(page_samples), "ms"
            )
        )
    )
    figures.append(
        show(
            Figure(f"compose [{kind}] SMS screen for {SIZE:,} people: HTML size", size / 1024, "KB")
        )
    )

    request = SendRequest(
        body="Hi {{first_name}}, a new {{job_title}} role in {{location}}. "
        "Reply YES for details. {{sender_first_name}}",
        comment=True,
        comment_type="SMS",
    )
    # The median of three Sends, each of a fresh draft of the same people: one Send alone varied
    # by half between runs (the commit's wait for the disk, the machine's other work).
    send_samples = []
    for _ in range(3):
        started = time.perf_counter()
        batch = compose.send(session, draft, user, request, provider="sandbox", blocked=blocked)
        send_samples.append((time.perf_counter() - started) * 1000)
        _remove(session, batch, draft)
        draft = compose.create_draft(session, user, "candidates", ids)
    figures.append(
        show(
            Figure(
                f"compose [{kind}] Send of {len(state.included):,} messages (+ comments), median",
                median(send_samples),
                "ms",
                "≤ 500",
            )
        )
    )
    batch = compose.send(session, draft, user, request, provider="sandbox", blocked=blocked)
    try:
        inserts = [_inserts_alone(session, batch) for _ in range(3)]
    finally:  # a failure (another bench holding SQLite's lock) leaves no batch behind either
        session.rollback()
        _remove(session, batch, draft)
    figures.append(
        show(Figure(f"compose [{kind}] the Send's INSERTs alone, floor", median(inserts), "ms"))
    )
    session.close()
    engine.dispose()
    return figures


def _inserts_alone(session, batch: Batch) -> float:
    """Milliseconds to write a sent batch's messages and comments again, the same rows straight
    through the driver, and commit: what Send cannot beat however little Python it runs.

    The driver's fastest way, as Send's: executemany on SQLite, COPY on PostgreSQL (psycopg's
    executemany, pipelined, took longer for these rows than the whole Send)."""
    connection = session.connection()
    mark = "?" if connection.dialect.name == "sqlite" else "%s"
    since = Comment.created_at.type.bind_processor(connection.dialect)(batch.created_at)
    rows = []
    for table, where, value in (
        (Message.__table__, "batch_id =", batch.id),
        (Comment.__table__, "created_at >=", since),  # as _remove finds them
    ):
        names = ", ".join(c.name for c in table.columns if c.name != "id")
        condition = f"WHERE {where} {mark}"
        found = connection.exec_driver_sql(
            f"SELECT {names} FROM {table.name} {condition}", (value,)
        ).all()
        connection.exec_driver_sql(f"DELETE FROM {table.name} {condition}", (value,))
        rows.append((table.name, names, [tuple(row) for row in found]))
    session.commit()
    cursor = session.connection().connection.driver_connection.cursor()
    started = time.perf_counter()
    for name, names, found in rows:
        if mark == "?":
            marks = ", ".join("?" * len(found[0]))
            cursor.executemany(f"INSERT INTO {name} ({names}) VALUES ({marks})", found)
            continue
        with cursor.copy(f"COPY {name} ({names}) FROM STDIN") as copy:
            for row in found:
                copy.write_row(row)
    session.commit()
    return (time.perf_counter() - started) * 1000


def _remove(session, batch: Batch, draft: ComposeDraft) -> None:
    """Leave the cached database as it was, so every run measures the same thing."""
    session.execute(sa.delete(Message).where(Message.batch_id == batch.id))
    session.execute(sa.delete(Comment).where(Comment.created_at >= batch.created_at))
    session.execute(sa.delete(AuditEvent).where(AuditEvent.created_at >= batch.created_at))
    session.execute(sa.delete(Batch).where(Batch.id == batch.id))
    session.execute(sa.delete(ComposeDraft).where(ComposeDraft.id == draft.id))
    session.commit()
