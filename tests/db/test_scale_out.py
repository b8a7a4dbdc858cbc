"""Scale-out: two web processes and two SMS workers on one PostgreSQL database, nothing else shared,
send one batch through them; every message goes exactly once."""

from __future__ import annotations

import re
import socket
import sys
import time
from collections import Counter

import pytest
import requests
import sqlalchemy as sa

from tests.delivery import Process, close_all, flask_worker, worker_env
from tests.fakes import FakeSmsCentral

PASSWORD = "sms-desk-demo"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, deadline: float) -> None:
    while True:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not come up")
        time.sleep(0.2)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


@pytest.fixture
def postgres_url(postgres_databases):
    """A database of its own on the PostgreSQL server (this test needs real processes on it)."""
    name = postgres_databases.create()
    yield postgres_databases.url_for(name)
    postgres_databases.drop(name)


def test_two_web_processes_and_two_workers_send_a_batch_exactly_once(postgres_url, tmp_path):
    processes: list[Process] = []
    with FakeSmsCentral(username="scale", password="out", latency=0.01) as fake:
        env = worker_env(postgres_url, fake, EMBEDDED_WORKER="0")
        try:
            seed = Process(
                [
                    sys.executable,
                    "-m",
                    "flask",
                    "--app",
                    "wsgi",
                    "seed-demo",
                    "--candidates",
                    "150",
                    "--contacts",
                    "10",
                    "--clients",
                    "3",
                ],
                env,
                tmp_path / "seed.log",
            )
            processes.append(seed)
            assert seed.wait(120) == 0, seed.output()
            ports = [_free_port(), _free_port()]
            for n, port in enumerate(ports):
                processes.append(
                    Process(
                        [
                            sys.executable,
                            "-m",
                            "waitress",
                            "--host",
                            "127.0.0.1",
                            f"--port={port}",
                            "wsgi:app",
                        ],
                        env,
                        tmp_path / f"web{n}.log",
                    )
                )
            for n in range(2):
                processes.append(flask_worker(env, tmp_path / f"worker{n}.log"))
            deadline = time.monotonic() + 60
            web = [f"http://127.0.0.1:{port}" for port in ports]
            for base in web:
                _wait_for(f"{base}/healthz", deadline)

            browser = requests.Session()
            login = browser.get(f"{web[0]}/login", timeout=10).text
            assert (
                browser.post(
                    f"{web[0]}/login",
                    data={"csrf_token": _csrf(login), "username": "lead", "password": PASSWORD},
                    allow_redirects=False,
                    timeout=10,
                ).status_code
                == 302
            )
            # Search on one web process, compose and send on the other: the session is a signed
            # cookie and the draft lives in the database, so either process can serve any step.
            search = browser.get(
                f"{web[1]}/candidates", params={"status": "Active"}, timeout=10
            ).text
            screen = browser.post(
                f"{web[1]}/sms/compose",
                data={
                    "csrf_token": _csrf(search),
                    "kind": "candidates",
                    "select_matching": "1",
                    "criteria-status": "Active",
                },
                timeout=30,
            )
            assert screen.status_code == 200
            token = re.search(r"/sms/compose/([^/\"]+)/update", screen.text).group(1)
            sent = browser.post(
                f"{web[0]}/sms/compose/{token}/send",
                data={
                    "csrf_token": _csrf(screen.text),
                    "message": "Hi {{first_name}}, scale-out test.",
                },
                allow_redirects=False,
                timeout=30,
            )
            assert sent.status_code == 303, sent.text[:500]
            batch_id = int(sent.headers["Location"].rsplit("/", 1)[1])

            engine = sa.create_engine(postgres_url)
            try:

                def states() -> Counter:
                    with engine.connect() as connection:
                        return Counter(
                            dict(
                                connection.execute(
                                    sa.text(
                                        "SELECT state, count(*) FROM messages "
                                        "WHERE batch_id = :b GROUP BY state"
                                    ),
                                    {"b": batch_id},
                                ).all()
                            )
                        )

                deadline = time.monotonic() + 120
                while (
                    states().get("queued", 0) + states().get("sending", 0)
                    and time.monotonic() < deadline
                ):
                    time.sleep(0.2)
                final = states()
                with engine.connect() as connection:
                    references = list(
                        connection.execute(
                            sa.text("SELECT reference FROM messages WHERE batch_id = :b"),
                            {"b": batch_id},
                        ).scalars()
                    )
            finally:
                engine.dispose()
        finally:
            close_all(reversed(processes))

        assert final == Counter({"sent": len(references)}), final
        assert len(references) > 10
        sent_references = Counter(request.form["REFERENCE"] for request in fake.requests)
        assert set(sent_references) == set(references)  # none missing
        assert max(sent_references.values()) == 1  # none twice
        # Both workers were up and polling the same queue (SKIP LOCKED shares it between them).
        banners = [p.output() for p in processes if p.log.name.startswith("worker")]
        assert len(banners) == 2 and all(
            "SMS worker: smscentral gateway" in text for text in banners
        )
