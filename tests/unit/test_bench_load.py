"""The load bench's own parts: its clients keep the session cookie the server sets, as a browser
does (so a page that signs the cookie again only when it changes is measured as browsers would
make it), a page's CPU is shown over the bare page's, a server process started under the load
is counted in full, each worker's share of the clients is read from the connections it holds, and
the first page a server just started answers is timed only when it was served."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from bench import load
from tests.bare_gunicorn import PAGE, bare_gunicorn, drive, signed_in_cookie


def test_a_client_sends_the_cookie_the_server_last_set():
    seen: list[str] = []
    served = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            except asyncio.IncompleteReadError:
                break
            seen.append(re.search(r"(?im)^cookie:\s*session=(\S*)", head).group(1))
            # A new cookie on the second answer only: the third request must carry it.
            renewed = "Set-Cookie: session=renewed; HttpOnly; Path=/\r\n" if len(seen) == 2 else ""
            writer.write(f"HTTP/1.1 200 OK\r\n{renewed}Content-Length: 2\r\n\r\nok".encode())
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        served.set()

    async def run() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        latencies: list[float] = []
        errors: list[str] = []
        stop_at = time.monotonic() + 0.3
        await load._client(port, "/?q={q}", "signed-in", 0, stop_at, latencies, errors)
        await served.wait()  # the client hung up and the server closed its end
        server.close()
        await server.wait_closed()
        assert errors == [] and len(latencies) == len(seen) >= 3

    # In a thread of its own: in a test process that has run a browser test, Playwright's event
    # loop is running in the main thread, and asyncio.run() refuses to start there.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()

    assert seen[:2] == ["signed-in", "signed-in"]
    assert set(seen[2:]) == {"renewed"}


def test_the_page_cpu_is_shown_over_the_bare_pages_once_the_floor_ran(monkeypatch):
    monkeypatch.setattr(load, "_floor", {})
    assert load._against_the_floor("load [sqlite] search page", 9.0) == []

    monkeypatch.setitem(load._floor, "cpu", 1.5)
    [figure] = load._against_the_floor("load [sqlite] search page", 9.0)

    assert (figure.value, figure.unit) == (6.0, "×")
    assert figure.name == "load [sqlite] search page: web CPU ÷ the bare page's"


def test_a_process_started_under_the_load_is_counted_in_full():
    """As a database connection the web workers open under the load is: its server process did
    not exist when the load began."""
    before = load._cpu_ticks([])
    busy = "import sys, time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    child = subprocess.Popen(
        [sys.executable, "-c", busy + "sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while load._cpu_since({}, [str(child.pid)]) < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert load._cpu_since(before, [str(child.pid)]) >= 0.3
        # A process already running is counted from where it was.
        assert load._cpu_since(load._cpu_ticks([str(child.pid)]), [str(child.pid)]) < 0.1
    finally:
        child.communicate(b"")


def test_no_database_server_processes_are_counted_for_sqlite(tmp_path):
    assert load._database_server_pids(f"sqlite:///{tmp_path / 'x.sqlite3'}") == []
    assert load._database_server_pids(None) == []


def test_the_sync_workers_answer_one_request_a_connection_and_the_clients_come_back():
    """With more than one thread gunicorn would quietly run gthread workers instead of sync ones;
    sync workers close each connection, and a client opens a new one and goes on."""
    with bare_gunicorn(load._sync_workers()) as (port, workers):
        head = requests.get(f"http://127.0.0.1:{port}/login", timeout=10)
        cookie = head.cookies["session"]
        latencies: list[float] = []
        errors: list[str] = []
        stop_at = time.monotonic() + 0.5
        with ThreadPoolExecutor(1) as pool:
            pool.submit(
                asyncio.run, load._client(port, PAGE, cookie, 0, stop_at, latencies, errors)
            ).result()

    assert len(workers) == load.SYNC_WORKERS
    assert head.headers["Connection"] == "close"
    assert errors == [] and len(latencies) >= 3


def test_each_connection_is_put_to_the_process_holding_its_server_end():
    """The server ends a child process accepted are its; this process's client ends of the same
    connections, whose own port is not the server's, are nobody's."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys\n"
            "listener = socket.create_server(('127.0.0.1', 0))\n"
            "print(listener.getsockname()[1], flush=True)\n"
            "held = [listener.accept()[0] for _ in range(3)]\n"
            "print('accepted', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    clients = []
    try:
        port = int(child.stdout.readline())
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        assert child.stdout.readline().strip() == "accepted"

        held = load._held_by(port, [str(child.pid), str(os.getpid())])

        assert held == {client.getsockname()[1]: str(child.pid) for client in clients}
        assert load._held_by(port, [str(os.getpid())]) == {}
    finally:
        for client in clients:
            client.close()
        child.communicate("")


def test_each_workers_share_is_its_connections_and_the_p99_of_the_answers_on_them():
    run = load.Run(
        latencies=[10.0, 20.0, 30.0, 400.0, 500.0, 600.0, 999.0],
        ports=[1, 2, 1, 3, 4, 5, 6],  # port 6 closed before the workers were counted
        errors=0,
        elapsed=1.0,
        held={1: "101", 2: "101", 3: "202", 4: "202", 5: "202"},
    )

    shares = load._per_worker(run)

    assert shares == [(3, 600.0), (2, 30.0)]
    figures = load._shares("load [sqlite] search page, 50 clients", {"per_worker": shares})
    assert [(figure.name, figure.value) for figure in figures] == [
        ("load [sqlite] search page, 50 clients: worker 1 of 2, holding 3: p99", 600.0),
        ("load [sqlite] search page, 50 clients: worker 2 of 2, holding 2: p99", 30.0),
    ]


def test_every_client_of_a_gthread_server_is_put_to_one_of_its_workers():
    with bare_gunicorn() as (port, workers):
        # Started as every load run's server is: with each worker in its loop before a client
        # comes (its heartbeat touched), which this process, no gunicorn worker, is not.
        assert len(workers) == (os.cpu_count() or 2) and all(map(load._serving, workers))
        assert not load._serving(str(os.getpid()))
        run = drive(port, workers, 6, 1.0)

    assert run.errors == 0 and len(run.latencies) == len(run.ports) > 6
    assert len(run.held) == 6 and set(run.held.values()) <= set(workers)
    assert set(run.ports) == set(run.held)  # kept alive: each client on one connection throughout
    assert sum(held for held, _p99 in load._per_worker(run)) == 6


def test_the_first_answer_is_timed_on_a_signed_in_page_and_a_refused_one_stops_the_run():
    with bare_gunicorn() as (port, _workers):
        first = load._first_answer(port, PAGE, signed_in_cookie(port))
        # The bare page refuses a request that is not signed in: a run that measured refusals
        # would report a page it never served.
        with pytest.raises(AssertionError, match="403"):
            load._first_answer(port, PAGE, "not-a-session")

    assert 0 < first < 10_000
