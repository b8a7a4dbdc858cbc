"""waitress as documented behind a proxy: the X-Forwarded-* headers reach SMS Desk, whose
TRUSTED_PROXIES alone decides what they are worth (waitress 3 otherwise removed them, so every
client looked like the proxy on loopback, and /metrics was open through it)."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
import requests

from tests.delivery import Process, answers, wait_until
from tests.fakes.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
FLAG = "--no-clear-untrusted-proxy-headers"
# A client address from the documentation range, as nginx would pass it on.
CLIENT = "203.0.113.7"


def documented_commands(*names: str) -> list[str]:
    """Every waitress command the documentation and the Makefile give (a Makefile line continued
    with a backslash read as one)."""
    found = []
    for name in names or ("README.md", "docs/deployment.md", "Makefile"):
        text = (ROOT / name).read_text().replace("\\\n", " ")
        found += [line for line in text.splitlines() if "waitress-serve" in line and "--" in line]
    return found


def test_every_documented_waitress_command_leaves_the_proxy_headers_to_the_app():
    commands = documented_commands()

    assert len(commands) >= 4, commands  # README, Linux and Windows in deployment.md, make run
    assert all(FLAG in command for command in commands), commands


def serve_as_documented(database_url: str, tmp_path: Path, trusted_proxies: str) -> tuple:
    """deployment.md's Linux waitress command (its options, on a free port) in a process of its
    own."""
    [command] = [
        c for c in documented_commands("docs/deployment.md") if c.startswith("/opt/sms-desk/")
    ]
    options = [
        o for o in shlex.split(command, comments=True)[1:] if not re.match(r"--(host|port)\b", o)
    ]
    options = [o for o in options if o not in ("127.0.0.1", "8000")]
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "x",
        "SMS_PROVIDER": "sandbox",
        "EMBEDDED_WORKER": "0",
        "TRUSTED_PROXIES": trusted_proxies,
    }
    server = Process(
        [sys.executable, "-m", "waitress", "--host=127.0.0.1", f"--port={port}", *options],
        env,
        tmp_path / f"waitress-{trusted_proxies}.log",
    )
    return server, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("trusted_proxies", ["1", "0"])
def test_metrics_through_a_proxy_needs_the_token(database_url, tmp_path, trusted_proxies):
    """From nginx on the same host: with TRUSTED_PROXIES=1 the client is 203.0.113.7, not
    loopback; with 0 the request counts as proxied through a proxy not trusted. Either way no
    token, no metrics. A Prometheus agent on the host itself still scrapes without one."""
    server, base = serve_as_documented(database_url, tmp_path, trusted_proxies)
    try:
        wait_until(lambda: answers(f"{base}/healthz"), 60, "waitress to answer", every=0.2)

        proxied = requests.get(
            f"{base}/metrics",
            headers={"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"},
            timeout=10,
        )
        direct = requests.get(f"{base}/metrics", timeout=10)
    finally:
        server.close()

    assert proxied.status_code == 404, server.output()
    assert direct.status_code == 200, server.output()
