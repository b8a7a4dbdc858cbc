"""The embedded worker in a real waitress process: SIGTERM (a restart) or Ctrl+C stops it
cleanly, so its calls in flight are recorded and its heartbeat row goes with it."""

from __future__ import annotations

import signal
import sys
from collections import Counter

import pytest
import sqlalchemy as sa

from tests.delivery import (
    Process,
    answers,
    insert_candidates,
    messages,
    queue,
    references,
    wait_until,
    worker_env,
)
from tests.fakes import FakeSmsCentral
from tests.fakes.smtp import free_port
from webapp.models import WorkerHeartbeat


def heartbeats(session) -> list[str]:
    session.expire_all()
    names = list(session.scalars(sa.select(WorkerHeartbeat.name)))
    session.rollback()
    return names


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C"])
def test_a_waitress_told_to_stop_stops_its_embedded_worker_records_its_calls_and_signs_off(
    signum, database_url, session, make_user, tmp_path
):
    batch = queue(session, make_user(), insert_candidates(session, 40), provider="smscentral")
    port = free_port()
    web = None
    with FakeSmsCentral(latency=0.5) as fake:
        env = worker_env(database_url, fake, EMBEDDED_WORKER="1", DISPATCH_CONCURRENCY="4")
        try:
            web = Process(
                [
                    sys.executable,
                    "-m",
                    "waitress",
                    "--host=127.0.0.1",
                    f"--port={port}",
                    "wsgi:app",
                ],
                env,
                tmp_path / "web.log",
            )
            # The first request starts the embedded worker.
            wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz"), 60, "waitress")
            wait_until(lambda: len(fake.requests) >= 4, 30, "calls to be in flight")
            wait_until(lambda: heartbeats(session), 30, "the embedded worker's heartbeat")
            web.signal(signum)
            exit_code = web.wait(45)
        finally:
            if web is not None:
                web.close()

    assert exit_code == 0, web.output()
    # Its row went with it: Status does not warn of a silent worker after every restart.
    assert heartbeats(session) == [], web.output()
    final = messages(session, batch)
    counts = Counter(m.state for m in final)
    # The calls in flight were finished and recorded, not left `sending` to turn `unknown`.
    assert set(counts) <= {"sent", "queued"}, counts
    seen = references(fake)
    assert {m.uuid for m in final if m.state == "sent"} == set(seen)
    assert all(n == 1 for n in seen.values())
    assert all(m.lease_until is None for m in final)
