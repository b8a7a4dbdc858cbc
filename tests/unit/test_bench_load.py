"""The load bench's own parts: its clients keep the session cookie the server sets, as a browser
does (so a page that signs the cookie again only when it changes is measured as browsers would
make it), a page's CPU is shown over the bare page's, and a server process started under the load
is counted in full."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from bench import load


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
    server, port = load._gunicorn(
        "bench.floor:bare_app()", {}, "/login", workers=load._sync_workers()
    )
    try:
        wanted, deadline = load.SYNC_WORKERS, time.monotonic() + 20
        while True:  # gunicorn starts its workers a little apart; one answering is not all
            workers = subprocess.run(
                ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
            ).stdout.split()
            if len(workers) >= wanted or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        head = requests.get(f"http://127.0.0.1:{port}/login", timeout=10)
        cookie = head.cookies["session"]
        latencies: list[float] = []
        errors: list[str] = []
        stop_at = time.monotonic() + 0.5
        with ThreadPoolExecutor(1) as pool:
            pool.submit(
                asyncio.run,
                load._client(port, "/people?q={q}", cookie, 0, stop_at, latencies, errors),
            ).result()
    finally:
        server.terminate()
        server.wait(timeout=20)

    assert len(workers) == wanted
    assert head.headers["Connection"] == "close"
    assert errors == [] and len(latencies) >= 3
