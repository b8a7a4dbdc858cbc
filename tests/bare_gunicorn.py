"""A bare Flask page (bench.floor) under a real gunicorn on 127.0.0.1, for the tests of the load
bench and of SMS Desk's gunicorn worker: the server once all its workers have started, and clients
driven at it as the load test drives them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests

from bench import load

PAGE = "/people?q={q}"


@contextmanager
def bare_gunicorn(workers: tuple[str, ...] | None = None) -> Iterator[tuple]:
    """(port, the workers' pids) of gunicorn serving the bare page with `workers` (the bench's
    unless given), all of them serving; stopped afterwards."""
    server, port = load._gunicorn("bench.floor:bare_app()", {}, "/login", workers=workers)
    try:
        yield port, load.workers_of(server)
    finally:
        server.terminate()
        server.wait(timeout=20)


def signed_in_cookie(port: int) -> str:
    return requests.get(f"http://127.0.0.1:{port}/login", timeout=10).cookies["session"]


def drive(port: int, pids: list[str], clients: int, seconds: float) -> load.Run:
    """`clients` kept-alive clients asking for the bare page for `seconds`, noting halfway which
    worker holds each connection. In a thread of its own: in a test process that has run a
    browser test, Playwright's event loop is running in the main thread, and asyncio.run()
    refuses to start there."""
    cookies = [signed_in_cookie(port)] * clients
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(
            asyncio.run,
            load._drive(port, PAGE, cookies, seconds, holders=lambda: load._held_by(port, pids)),
        ).result()
