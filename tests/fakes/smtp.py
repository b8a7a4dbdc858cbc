"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for the email tests."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Self

from aiosmtpd.controller import Controller

from .server import Loopback


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
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return "550 5.1.1 No such user here"
        if address in self.server.drop:
            self.server.dropped.append(address)
            server.transport.abort()  # no answer: the connection is simply gone
            return "250 OK"
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
    """A port nothing listens on right now (for "the SMTP server is down", or a server a test
    starts in a process of its own)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer(Loopback):
    """aiosmtpd on 127.0.0.1; `messages` in the order received; `refuse` answers 550 to RCPT TO;
    `drop` closes the connection, unanswered, on RCPT TO one of these addresses (`dropped` lists
    each time it did); `smtputf8=False` makes it a server that takes ASCII addresses only (as many
    still are);
    `ssl_context` makes it an SMTPS server (TLS from the first byte, as on port 465).

    Use as a context manager, or call start() and stop().
    """

    def __init__(
        self,
        port: int = 0,
        refuse: set[str] | None = None,
        smtputf8: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        drop: set[str] | None = None,
    ):
        self.requested_port = port
        self.drop = set(drop or ())
        self.dropped: list[str] = []
        self.ssl_context = ssl_context
        self.refuse = set(refuse or ())
        self.smtputf8 = smtputf8
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
        self._controller = _LoopbackController(
            _Handler(self),
            hostname="127.0.0.1",
            port=self.requested_port,
            enable_SMTPUTF8=self.smtputf8,
            ssl_context=self.ssl_context,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A certificate for `host` (and localhost) and its key, made now: (cert.pem, key.pem).

    The certificate is its own CA: name it in SSL_CERT_FILE and a verifying client trusts it."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _with_cryptography(cert, key, host)
    except ImportError:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                str(key),
                "-out",
                str(cert),
                "-subj",
                f"/CN={host}",
                "-addext",
                f"subjectAltName=IP:{host},DNS:localhost",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
            ],
            check=True,
            capture_output=True,
        )
    return cert, key


def _with_cryptography(cert_path: Path, key_path: Path, host: str) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
