"""A load test of the search page: 50 concurrent clients against gunicorn on 127.0.0.1, and the
same load on a bare Flask page (its floor).

gunicorn runs one worker per core as the deployment guide has it (SMS Desk's gthread worker, which
shares the clients evenly among the workers, 4 threads) unless BENCH_GUNICORN says otherwise; the
search page is also measured under gunicorn's own gthread worker, which lets one worker take most of
the clients, and under sync workers, one a core and one more, which take requests in turn. Each
server's first page is timed on its own, and the clients come once, uncounted, before any figure
is taken: a worker's first page costs several times a warm one's, once in its life.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import requests
import sqlalchemy as sa

from bench.report import Figure, percentile, show

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 50
SECONDS = 15
WARM_UP_SECONDS = 2
SEARCH = "/candidates?q={q}"  # the page under load, each client's next query filled in
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


def _cpu_ticks(pids: list[str]) -> dict[str, int]:
    """{pid: user + system CPU clock ticks the process has used so far}, for those still running."""
    ticks = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return ticks


def _cpu_since(before: dict[str, int], pids: list[str]) -> float:
    """CPU seconds `pids` used since `before` (from _cpu_ticks; {} for all they have used), all of
    it for a process that started since: the workers open most of their database connections
    under the load, and each is a new server process."""
    now = _cpu_ticks(pids)
    return sum(ticks - before.get(pid, 0) for pid, ticks in now.items()) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds the machine's cores have spent busy so far (user, system and interrupts),
    from /proc/stat. Steal, the time a virtual machine's host gave to someone else, is left out:
    it is not ours to spend."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq = map(int, stat.readline().split()[1:8])
    busy = user + nice + system + irq + softirq
    return busy / os.sysconf("SC_CLK_TCK")


def _database_server_pids(url: str | None) -> list[str]:
    """The PostgreSQL server processes of the connections to `url`'s database (none for SQLite):
    what the web workers' queries cost the server. Other databases' connections on the same server
    (a test run's, say) and its background processes (autovacuum after an earlier section's
    writes) are not counted."""
    if not url or not url.startswith("postgresql"):
        return []
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            pids = connection.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
            return [str(pid) for pid in pids]
    finally:
        engine.dispose()


def _signed_in_session(base: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = session.post(
        f"{base}/login",
        data={"csrf_token": token, "username": "consultant", "password": "sms-desk-demo"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.status_code
    return session


async def _client(
    port: int,
    path: str,
    cookie: str,
    n: int,
    stop_at: float,
    latencies: list[float],
    errors: list[str],
    ports: list[int] | None = None,
) -> None:
    """One keep-alive connection asking for search pages one after another, keeping the session
    cookie the server sets, as a browser would. With `ports`, the connection's own port is noted
    beside each latency: it tells which worker answered (_held_by).

    Raw HTTP/1.1 on asyncio rather than requests in threads: the load generator shares the two
    cores with the server, and requests spends more CPU per request than the page does.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = n
    try:
        while time.monotonic() < stop_at:
            q = urllib.parse.quote(QUERIES[i % len(QUERIES)])
            i += 1
            started = time.perf_counter()
            writer.write(
                f"GET {path.format(q=q)} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Cookie: session={cookie}\r\nAccept-Encoding: gzip\r\n\r\n".encode()
            )
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            length = int(re.search(r"(?im)^content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if ports is not None:
                ports.append(writer.get_extra_info("sockname")[1])
            status = head.split(" ", 2)[1]
            if status != "200":
                errors.append(status)
            # As a browser does: the next request sends the cookie the server last set.
            renewed = re.search(r"(?im)^set-cookie:\s*session=([^;\r\n]*)", head)
            if renewed:
                cookie = renewed.group(1)
            if re.search(r"(?im)^connection:\s*close", head):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


class Run(NamedTuple):
    """What the clients saw: each answer's milliseconds and the client port it came on, how many
    failed, the seconds the run took, and which worker held each client's connection halfway
    through (client port → worker pid; empty unless asked)."""

    latencies: list[float]
    ports: list[int]
    errors: int
    elapsed: float
    held: dict[int, str]


async def _drive(
    port: int,
    path: str,
    cookies: list[str],
    seconds: float,
    holders: Callable[[], dict[int, str]] | None = None,
) -> Run:
    """The clients, one a cookie, for `seconds`; halfway through, `holders` (a _held_by) notes
    which worker holds each connection, once they have all been accepted."""
    latencies: list[float] = []
    ports: list[int] = []
    errors: list[str] = []
    held: dict[int, str] = {}
    started = time.monotonic()
    stop_at = started + seconds

    async def note_holders(holders: Callable[[], dict[int, str]]) -> None:
        await asyncio.sleep(seconds / 2)
        held.update(holders())

    outcomes = await asyncio.gather(
        *([note_holders(holders)] if holders is not None else []),
        *(
            _client(port, path, cookie, n, stop_at, latencies, errors, ports)
            for n, cookie in enumerate(cookies)
        ),
        return_exceptions=True,
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if errors or failures:
        print(f"  load errors: statuses {sorted(set(errors))}, connections lost {failures[:3]}")
    return Run(latencies, ports, len(errors) + len(failures), time.monotonic() - started, held)


ESTABLISHED = "01"  # a connection's state in /proc/net/tcp


def _held_by(port: int, pids: list[str]) -> dict[int, str]:
    """{client port: pid} for each open connection to 127.0.0.1:`port` whose server end one of
    `pids` holds: a gunicorn worker keeps every connection it accepted, so this is how the
    clients are shared among the workers. From /proc/net/tcp (a socket's ports and inode) and
    each process's file descriptors (which inodes it holds)."""
    owner = {}
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if target.startswith("socket:["):
                    owner[target[8:-1]] = pid
        except OSError:
            continue
    held = {}
    with open("/proc/net/tcp") as table:
        next(table)  # the heading
        for line in table:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if state == ESTABLISHED and int(local.split(":")[1], 16) == port and inode in owner:
                held[int(remote.split(":")[1], 16)] = owner[inode]
    return held


def _per_worker(run: Run) -> list[tuple[int, float]]:
    """(connections held, p99 of the answers on them) for each worker that held any, the one
    holding most first: how unevenly the workers shared the clients, and what that did to each
    share's slowest answers."""
    by_worker: dict[str, list[float]] = {}
    for client_port, latency in zip(run.ports, run.latencies, strict=True):
        worker = run.held.get(client_port)
        if worker is not None:
            by_worker.setdefault(worker, []).append(latency)
    held = Counter(run.held.values())
    shares = [(held[worker], percentile(samples, 99)) for worker, samples in by_worker.items()]
    return sorted(shares, key=lambda share: (-share[0], -share[1]))


# The deployment guide's workers: gthread, each taking new connections only while it has no more
# requests in hand than the average (webapp.gunicorn_worker).
BALANCED = "-k webapp.gunicorn_worker.BalancedThreadWorker --threads 4"
# gunicorn's own gthread worker, which takes every connection it is woken for.
GTHREAD = "-k gthread --threads 4"


def _workers(kind: str | None = None) -> tuple[str, ...]:
    """The bench's gunicorn workers: one a core, of `kind` (BENCH_GUNICORN's, or BALANCED)."""
    cores = str(os.cpu_count() or 2)
    return ("-w", cores, *(kind or os.environ.get("BENCH_GUNICORN", BALANCED)).split())


# Sync workers: one a core and one more.
SYNC_WORKERS = (os.cpu_count() or 2) + 1


def _sync_workers() -> tuple[str, ...]:
    """SYNC_WORKERS sync workers: each answers one request at a time, taking the next connection
    from the kernel's queue, first come first served. (`--threads 1`: with more, gunicorn would
    run gthread instead.)"""
    return ("-w", str(SYNC_WORKERS), "-k", "sync", "--threads", "1")


def workers_of(server: subprocess.Popen) -> list[str]:
    """The pids of gunicorn's workers: the processes `server` (its master) started."""
    return subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
    ).stdout.split()


def _serving(pid: str) -> bool:
    """Whether a gunicorn worker has entered its loop: each turn of it touches the worker's
    heartbeat file (an unlinked `wgunicorn-…` file), setting its time to the monotonic clock, far
    below the time the file was made with."""
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            path = f"/proc/{pid}/fd/{fd}"
            if "wgunicorn-" in os.readlink(path):
                return os.stat(path).st_mtime < 1_000_000_000
    except OSError:
        pass
    return False


def _all_serving(server: subprocess.Popen, wanted: int, deadline: float) -> None:
    """Wait until `wanted` workers are serving (or the deadline): gunicorn starts them a little
    apart and each loads the app first, so one answering is not all, and clients that came before
    the others were up would all be held by the first for good."""
    while time.monotonic() < deadline:
        pids = workers_of(server)
        if len(pids) >= wanted and all(_serving(pid) for pid in pids):
            return
        time.sleep(0.1)


def _gunicorn(
    app: str,
    env: dict[str, str],
    ready: str,
    workers: tuple[str, ...] | None = None,
) -> tuple[subprocess.Popen, int]:
    """gunicorn serving `app` on a free port with `workers` (the bench's, _workers(), unless
    given), once `ready` answers and all the workers are serving."""
    workers = workers or _workers()
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *workers,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}{ready}", timeout=1).status_code == 200:
                _all_serving(server, int(workers[workers.index("-w") + 1]), deadline)
                return server, port
        except requests.RequestException:
            if time.monotonic() > deadline:
                server.terminate()
                raise
            time.sleep(0.2)


def _measure(
    server: subprocess.Popen,
    port: int,
    path: str,
    cookies: list[str],
    baseline: bool = True,
    database_url: str | None = None,
) -> dict:
    """The first page a worker just started answers, the clients once to warm every worker, a
    one-client baseline, then CLIENTS clients for SECONDS, with the workers' CPU and memory
    (and the database server's, for the connections to `database_url`)."""
    workers_pids = workers_of(server)
    first_page = _first_answer(port, path, cookies[0])
    # Every worker's first pages cost it several times a warm one's (its templates compiled, its
    # statements' SQL cached, its database connections opened): once in its life, not under a
    # load that lasts, so the clients come once first to warm them all, and what they get is not
    # counted. The first page of all is timed above.
    asyncio.run(_drive(port, path, cookies, WARM_UP_SECONDS))
    # Baseline: one client at a time, so the server is never queued.
    alone, alone_elapsed = [], 1.0
    if baseline:
        first = asyncio.run(_drive(port, path, cookies[:1], seconds=5))
        alone, alone_elapsed = first.latencies, first.elapsed
    cpu_before = _cpu_ticks(workers_pids)
    database_before = _cpu_ticks(_database_server_pids(database_url))
    machine_before = _machine_busy_seconds()
    own_before = time.process_time()
    run = asyncio.run(
        _drive(port, path, cookies, SECONDS, holders=lambda: _held_by(port, workers_pids))
    )
    latencies, errors, elapsed = run.latencies, run.errors, run.elapsed
    own = time.process_time() - own_before
    machine = _machine_busy_seconds() - machine_before
    database = _cpu_since(database_before, _database_server_pids(database_url))
    cpu = _cpu_since(cpu_before, workers_pids)
    served = max(len(latencies), 1)
    return {
        "first": first_page,
        "alone": len(alone) / alone_elapsed,
        "alone_p50": percentile(alone, 50),
        "throughput": len(latencies) / elapsed,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "cpu": cpu * 1000 / served,
        "database_cpu": database * 1000 / served,
        "client_cpu": own * 1000 / served,
        "machine_cpu": machine * 1000 / served,
        "busy": machine / elapsed / (os.cpu_count() or 2),
        "errors": errors,
        "requests": len(latencies) + len(alone),
        "rss": max((_rss_mb(int(pid)) for pid in workers_pids), default=0.0),
        "per_worker": _per_worker(run),
    }


def _first_answer(port: int, path: str, cookie: str) -> float:
    """Milliseconds of one request on a new connection: on a server just started, what the first
    person to ask waits."""
    started = time.perf_counter()
    response = requests.get(
        f"http://127.0.0.1:{port}{path.format(q=QUERIES[0])}",
        cookies={"session": cookie},
        timeout=30,
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed


# The bare page's web CPU per request, once floor() has measured it in this run.
_floor: dict[str, float] = {}


def floor() -> list[Figure]:
    """The same load on a bare Flask page (bench.floor.bare_app) under the same gunicorn: what
    two cores give when the page costs the framework alone."""
    server, port = _gunicorn("bench.floor:bare_app()", {}, "/login")
    try:
        cookie = requests.get(f"http://127.0.0.1:{port}/login", timeout=10).cookies["session"]
        got = _measure(server, port, "/people?q={q}", [cookie] * CLIENTS)
    finally:
        server.terminate()
        server.wait(timeout=20)
    name = "load floor: bare Flask page, same gunicorn"
    _floor["cpu"] = got["cpu"]
    return [
        show(Figure(f"{name}, {CLIENTS} clients: throughput", got["throughput"], "req/s")),
        show(Figure(f"{name}, {CLIENTS} clients: p99", got["p99"], "ms")),
        show(Figure(f"{name}: web CPU per request", got["cpu"], "ms")),
    ]


def run(kind: str, url: str) -> list[Figure]:
    # Quiet like gunicorn's own --log-level: an access line per request would flood the console.
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "EMBEDDED_WORKER": "0",
        "LOG_LEVEL": "WARNING",
    }
    server, port = _gunicorn("wsgi:app", env, "/healthz")
    try:
        base = f"http://127.0.0.1:{port}"
        cookies = [_signed_in_session(base).cookies.get("session") for _ in range(CLIENTS)]
        got = _measure(server, port, SEARCH, cookies, database_url=url)
    finally:
        server.terminate()
        server.wait(timeout=20)
    # The same clients under gunicorn's own gthread worker: a worker keeps every connection it
    # accepted, takes every one it is woken for, and the clients of the one that took more wait
    # longer.
    unbalanced = _again(env, cookies, url, workers=_workers(GTHREAD))
    # And under sync workers, which take requests in the order they came: how much of the p99
    # comes from the way a gthread worker shares itself among its connections.
    in_turn = _again(env, cookies, url, workers=_sync_workers())
    name = f"load [{kind}] search page"
    own = f"{name}, {CLIENTS} clients, gunicorn's gthread"
    return [
        show(Figure(f"{name}, a worker just started: its first page", got["first"], "ms")),
        show(Figure(f"{name}, 1 client: throughput (baseline)", got["alone"], "req/s")),
        show(Figure(f"{name}, 1 client: p50", got["alone_p50"], "ms")),
        show(Figure(f"{name}, {CLIENTS} clients: throughput", got["throughput"], "req/s", "≥ 200")),
        show(
            Figure(f"{name}, {CLIENTS} clients ÷ 1 client", got["throughput"] / got["alone"], "×")
        ),
        show(Figure(f"{name}, {CLIENTS} clients: p50", got["p50"], "ms")),
        show(Figure(f"{name}, {CLIENTS} clients: p99", got["p99"], "ms", "≤ 300")),
        show(Figure(f"{name}, {CLIENTS} clients: p99 ÷ p50", _spread(got), "×")),
        *_shares(f"{name}, {CLIENTS} clients", got),
        show(Figure(f"{name}: web CPU per request", got["cpu"], "ms", "≤ 8")),
        *_against_the_floor(name, got["cpu"]),
        *_where_the_cpu_goes(kind, name, got),
        show(Figure(f"{own}: throughput", unbalanced["throughput"], "req/s")),
        show(Figure(f"{own}: p99", unbalanced["p99"], "ms")),
        *_shares(own, unbalanced),
        *_in_turn(name, in_turn),
        show(
            Figure(
                f"load [{kind}] errors",
                got["errors"] + unbalanced["errors"] + in_turn["errors"],
                "",
                "0",
            )
        ),
        show(
            Figure(
                f"load [{kind}] web worker memory after {got['requests']:,} requests",
                got["rss"],
                "MB",
                "≤ 120",
            )
        ),
    ]


def _again(
    env: dict[str, str],
    cookies: list[str],
    url: str,
    workers: tuple[str, ...],
) -> dict:
    """The 50 clients again (no one-client baseline) against a fresh gunicorn with other workers."""
    server, port = _gunicorn("wsgi:app", env, "/healthz", workers)
    try:
        return _measure(server, port, SEARCH, cookies, baseline=False, database_url=url)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _spread(got: dict) -> float:
    """The slowest answers over the typical one: 1 when every request waits alike."""
    return got["p99"] / max(got["p50"], 0.001)


def _shares(label: str, got: dict) -> list[Figure]:
    """For gthread workers, which keep the connections they accepted: how many of the clients
    each worker held and the p99 of the answers they got. Fifty clients that never pause wait,
    on a worker, about its clients over its pages a second, so the p99 above is the p99 of the
    worker that took the most of them."""
    shares = got["per_worker"]
    return [
        show(Figure(f"{label}: worker {n} of {len(shares)}, holding {held}: p99", p99, "ms"))
        for n, (held, p99) in enumerate(shares, 1)
    ]


def _in_turn(name: str, got: dict) -> list[Figure]:
    """The sync workers' figures: their p99 over their p50 is the spread of the waits when every
    request waits its turn."""
    label = f"{name}, {CLIENTS} clients, {SYNC_WORKERS} sync workers"
    return [
        show(Figure(f"{label}: throughput", got["throughput"], "req/s")),
        show(Figure(f"{label}: p99", got["p99"], "ms")),
        show(Figure(f"{label}: p99 ÷ p50", _spread(got), "×")),
        show(Figure(f"{label}: web CPU per request", got["cpu"], "ms")),
    ]


def _against_the_floor(name: str, cpu: float) -> list[Figure]:
    """The page's web CPU per request over the bare page's, when floor() has run: a ratio that
    holds better than milliseconds as a machine's speed drifts (one machine's bare page went from
    1.40 to 1.92 ms within the hour)."""
    if not _floor.get("cpu"):
        return []
    return [show(Figure(f"{name}: web CPU ÷ the bare page's", cpu / _floor["cpu"], "×"))]


def _where_the_cpu_goes(kind: str, name: str, got: dict) -> list[Figure]:
    """The rest of the machine's CPU per request beside the web workers', and the throughput two
    cores could reach at that cost if they were never idle: what bounds the 50-client figures."""
    cores = os.cpu_count() or 2
    figures = []
    if kind == "postgresql":
        figures.append(
            Figure(f"{name}: PostgreSQL server CPU per request", got["database_cpu"], "ms")
        )
    figures += [
        Figure(f"{name}: load generator CPU per request", got["client_cpu"], "ms"),
        Figure(f"{name}: CPU per request, whole machine", got["machine_cpu"], "ms"),
        Figure(f"{name}: machine busy, {CLIENTS} clients", got["busy"] * 100, "%"),
        Figure(
            f"{name}: {cores} cores ÷ CPU per request (ceiling)",
            cores * 1000 / max(got["machine_cpu"], 0.001),
            "req/s",
        ),
    ]
    return [show(figure) for figure in figures]
