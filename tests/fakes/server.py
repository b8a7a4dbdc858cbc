"""A threaded HTTP server on 127.0.0.1 for the gateway fakes: records requests, injects faults."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: Message  # case-insensitive: headers["authorization"]
    pairs: list[tuple[str, str]]  # the form, in order, repeats kept
    body: bytes
    # time.monotonic() when it arrived: rate-limit tests measure the gaps between sends.
    received_at: float = field(default_factory=time.monotonic)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.pairs)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or on top of) the normal answer; build one with the helpers below."""

    kind: Literal["reply", "timeout", "reset"]
    reply: Reply | None = None
    seconds: float = 0.0


def http_status(status: int, text: str = "", headers: Mapping[str, str] | None = None) -> Fault:
    """Answer with this HTTP status without processing the request (a proxy in the way)."""
    return Fault("reply", Reply(status, text, headers=dict(headers or {})))


def body(text: str) -> Fault:
    """Answer 200 with this body without processing the request, e.g. body("536 delayed")."""
    return Fault("reply", Reply(200, text))


def timeout(seconds: float = 3.0) -> Fault:
    """Process the request, then wait `seconds` before answering (beyond a short read timeout)."""
    return Fault("timeout", seconds=seconds)


def reset() -> Fault:
    """Read the request, then drop the connection with a TCP reset and no answer."""
    return Fault("reset")


class Loopback:
    """A server on 127.0.0.1 with start() and stop(); as a context manager, `with` does both."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class FakeServer(Loopback):
    """Base of the fakes: subclasses implement `respond`. Use as a context manager.

    `latency` delays every answer; `inject(...)` queues faults for the next requests, in order;
    `inject_when(predicate, fault)` applies a fault to every matching request; `stop()` makes
    later connections be refused.
    """

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._faults: deque[Fault] = deque()
        self._rules: list[tuple[Callable[[Recorded], bool], Fault]] = []
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    def respond(self, request: Recorded) -> Reply:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def inject_when(self, predicate: Callable[[Recorded], bool], fault: Fault) -> None:
        with self._lock:
            self._rules.append((predicate, fault))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._rules.clear()

    def start(self) -> Self:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; the port then refuses connections."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes handler threads blocked reading an idle keep-alive connection.
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()  # joins the handler threads
        assert self._thread is not None
        self._thread.join()
        self._httpd = None

    def _record(self, request: Recorded) -> Fault | None:
        with self._lock:
            self._requests.append(request)
            if self._faults:
                return self._faults.popleft()
            for predicate, fault in self._rules:
                if predicate(request):
                    return fault
        return None

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    fake: FakeServer
    request_queue_size = 128  # the default 5 drops SYNs under concurrent connects (1 s stalls)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would look up the host's FQDN, which can be slow.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that give up (timeouts, resets) are part of the tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    timeout = 10  # seconds an idle keep-alive connection is kept
    server: _Server
    _reset = False

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        form_encoded = "x-www-form-urlencoded" in (self.headers.get("Content-Type") or "")
        request = Recorded(
            method=self.command,
            path=url.path,
            query=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=self.headers,
            pairs=parse_qsl(raw.decode("utf-8"), keep_blank_values=True) if form_encoded else [],
            body=raw,
        )
        fault = fake._record(request)
        if fault is not None and fault.kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self._reset = True
            return
        if fault is not None and fault.kind == "reply":
            assert fault.reply is not None
            reply = fault.reply
        else:
            reply = fake.respond(request)
        delay = fake.latency + (fault.seconds if fault is not None else 0.0)
        if delay > 0 and fake._stopping.wait(delay):
            self.close_connection = True
            return
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        data = reply.body.encode()
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up first

    def finish(self) -> None:
        self.server.fake._track(self.connection, add=False)
        if self._reset:
            # Closing the last reference with SO_LINGER 0 sends RST instead of FIN.
            self.rfile.close()
            self.connection.close()
            return
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        pass


def refused_url() -> str:
    """A loopback URL nothing listens on: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def blackhole() -> Iterator[str]:
    """A loopback URL whose listen queue is full, so connecting times out (nothing is sent)."""
    listener = socket.socket()
    fillers: list[socket.socket] = []
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        # Linux drops SYNs once the accept queue (backlog + 1) is full and nobody accepts.
        for _ in range(3):
            filler = socket.socket()
            fillers.append(filler)
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        yield f"http://127.0.0.1:{port}"
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
