"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the email tests."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Self

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Received:
    """One message as the server took it: the SMTP envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None, self.message.as_string()
        return part.get_content()


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server._keep(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class _LoopbackController(Controller):
    def _trigger_server(self):
        # aiosmtpd 1.4 connects to self.port to finish starting; with port 0 that is the port
        # the operating system chose, which only the listening socket knows.
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def free_port() -> int:
    """A port nothing listens on right now (for "the SMTP server is down")."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1; `messages` in the order received; `refuse` answers 550 to RCPT TO.

    Use as a context manager, or call start() and stop().
    """

    def __init__(self, port: int = 0, refuse: set[str] | None = None):
        self.requested_port = port
        self.refuse = set(refuse or ())
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._controller: _LoopbackController | None = None

    @property
    def port(self) -> int:
        assert self._controller is not None, "the SMTP server is not running"
        return self._controller.port

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    def _keep(self, received: Received) -> None:
        with self._lock:
            self._messages.append(received)

    def start(self) -> Self:
        self._controller = _LoopbackController(_Handler(self), hostname="127.0.0.1",
                                               port=self.requested_port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
