"""A load test of the search page: 50 concurrent clients against gunicorn on 127.0.0.1."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.report import Figure, percentile, show

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 50
SECONDS = 15
QUERIES = ["smi", "olivia smith", "jon", "lee", "ng", "wil", "patel", "zoë", "mason", "ruby kel"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _signed_in_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(f"{base}/login", data={"csrf_token": token, "username": "consultant",
                                                  "password": "sms-desk-demo"},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.status_code
    return session


def run(kind: str, url: str) -> list[Figure]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    workers = str(os.cpu_count() or 2)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "EMBEDDED_WORKER": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", workers, "-k", "gthread", "--threads", "8",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        sessions = [_signed_in_session(base) for _ in range(CLIENTS)]
        latencies: list[float] = []
        errors = [0]
        lock = threading.Lock()
        stop_at = time.monotonic() + SECONDS

        def client(n: int) -> None:
            session = sessions[n]
            i = n
            while time.monotonic() < stop_at:
                q = QUERIES[i % len(QUERIES)]
                i += 1
                started = time.perf_counter()
                try:
                    ok = session.get(f"{base}/candidates", params={"q": q}, timeout=30).status_code == 200
                except requests.RequestException:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors[0] += not ok

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        rss = max((_rss_mb(int(pid)) for pid in children), default=0.0)
        return [
            show(Figure(f"load [{kind}] search page, {CLIENTS} clients: throughput",
                        len(latencies) / elapsed, "req/s", "≥ 200")),
            show(Figure(f"load [{kind}] search page, {CLIENTS} clients: p50", percentile(latencies, 50), "ms")),
            show(Figure(f"load [{kind}] search page, {CLIENTS} clients: p99", percentile(latencies, 99), "ms", "≤ 300")),
            show(Figure(f"load [{kind}] errors", errors[0], "")),
            show(Figure(f"load [{kind}] web worker memory after {len(latencies):,} requests", rss, "MB", "≤ 120")),
        ]
    finally:
        server.terminate()
        server.wait(timeout=20)
