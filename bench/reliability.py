"""Reliability under faults: a flaky, slow gateway, workers killed with SIGKILL, PostgreSQL
restarted.

Two worker processes (tests/worker_child.py, short lease) send a queue through a fake SMS Central
that answers ~5 % of requests with a transient failure (200 "500 Internal error" or HTTP 502,
which never reach the API) and ~2 % with an answer slower than the worker's 20 s read timeout
(the gateway accepted those; the worker cannot know, so they go `unknown`). One worker is
killed at random moments and replaced; PostgreSQL may be restarted once under them. The workers
reconcile what went `unknown` (webapp/sms/reconcile.py) a second after: they ask SMS Central for
its status by REFERENCE (those checks meet the same 5xx faults, not the late answers) and send
again, with the same reference, only what it never got.

What must hold: no message is lost (each ends outside queued/sending, in a state that agrees with
the gateway), none stays `unknown`, and no REFERENCE reaches the gateway twice (a message is sent
again only when the gateway says it does not hold it). tests/db/test_reliability.py is the small
version.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.dispatch import _fresh_database, queue
from bench.report import Figure, median, show
from tests.delivery import SIGKILL, SIGTERM, Process, worker_env
from tests.fakes import FakeSmsCentral, body, http_status, timeout
from tests.fakes.server import Recorded, Reply
from webapp.database import make_sessionmaker
from webapp.models import Message, utcnow
from webapp.sms import outbox

UNSETTLED = ("queued", "sending")
RECONCILE_AFTER = 1.0  # seconds a message is `unknown` before the workers look it up
READ_TIMEOUT = 20.0  # the app's SMS Central read timeout (providers.DEFAULT_TIMEOUT); no setting
TIMEOUT_DELAY = READ_TIMEOUT + 2.0  # the fake answers after the worker gave up


class FaultPlan:
    """Which requests fail, by a hash of (REFERENCE, how many times that REFERENCE was seen):
    deterministic, and a retried message gets a fresh draw, so none is doomed forever."""

    def __init__(
        self,
        transient_pct: int = 5,
        timeout_pct: int = 2,
        *,
        seed: str = "reliability",
        timeout_seconds: float = TIMEOUT_DELAY,
    ):
        self.transient_pct = transient_pct
        self.timeout_pct = timeout_pct
        self.seed = seed
        self.timeout_seconds = timeout_seconds
        self.seen: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._verdicts: dict[int, tuple[Recorded, str | None]] = {}
        self._lock = threading.Lock()

    def verdict(self, request: Recorded) -> str | None:
        """Drawn once per request (the fake asks once per rule, so it is remembered)."""
        with self._lock:
            known = self._verdicts.get(id(request))
            if known is not None and known[0] is request:
                return known[1]
            reference = request.form.get("REFERENCE", "")
            self.seen[reference] += 1
            digest = hashlib.sha256(
                f"{self.seed}:{reference}:{self.seen[reference]}".encode()
            ).digest()
            draw = int.from_bytes(digest[:8], "big") % 100
            status_check = "ACTION" not in request.form
            if draw < self.transient_pct:
                kind = "body_500" if draw % 2 == 0 else "http_502"
            elif draw < self.transient_pct + self.timeout_pct and not status_check:
                kind = "timeout"
            else:
                kind = None
            if kind and status_check:
                kind = f"status_{kind}"
            self._verdicts[id(request)] = (
                request,
                kind,
            )  # the request kept, so its id stays unique
            if kind:
                self.injected[kind] += 1
            return kind

    def install(self, fake: FakeSmsCentral) -> None:
        fake.inject_when(
            lambda r: self.verdict(r) in ("body_500", "status_body_500"), body("500 Internal error")
        )
        fake.inject_when(
            lambda r: self.verdict(r) in ("http_502", "status_http_502"),
            http_status(502, "Bad gateway"),
        )
        # `timeout` processes the request (the gateway accepts it), then answers too late.
        fake.inject_when(lambda r: self.verdict(r) == "timeout", timeout(self.timeout_seconds))


class CountingSmsCentral(FakeSmsCentral):
    """The fake SMS Central, counting per REFERENCE the send requests its API processed
    (`reached`: the injected 500/502 answers never reach it) and those it accepted (answer `0`);
    status checks are counted apart."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.reached: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.duplicates = 0  # 513 answers: a REFERENCE the gateway already held
        self.status_checks_answered = 0
        self._count_lock = threading.Lock()

    def respond(self, request: Recorded) -> Reply:
        reply = super().respond(request)
        reference = request.form.get("REFERENCE", "")
        if "ACTION" not in request.form:
            with self._count_lock:
                self.status_checks_answered += 1
            return reply
        with self._count_lock:
            self.reached[reference] += 1
            if reply.status == 200 and reply.body == "0":
                self.accepted[reference] += 1
            elif reply.body.startswith("513"):
                self.duplicates += 1
        return reply


@dataclass
class Outcome:
    messages: int
    states: Counter = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)  # uuids not settled at the end
    contradictions: list[str] = field(default_factory=list)  # state disagrees with the gateway
    accepted_twice: list[str] = field(default_factory=list)
    reached_twice: list[str] = field(default_factory=list)
    still_sending_after_stop: int = 0
    expired_at_end: int = 0
    kills: int = 0  # each at a moment messages were `sending`
    unexpected_exits: list[str] = field(default_factory=list)
    postgres_restarts: int = 0
    workers_alive_after_restart: int | None = None
    database_retries_logged: int = 0  # worker log lines: database unavailable, will retry
    progress_after_restart: bool | None = None
    injected: Counter = field(default_factory=Counter)
    requests: int = 0
    status_checks: int = 0  # requests, faults included
    looked_up: int = 0  # messages asked about in a status check (each went `unknown`)
    seen_unknown: int = 0  # messages seen `unknown` by polling every 0.1 s
    unknown_for: list[float] = field(default_factory=list)  # seconds each stayed so, sorted
    unknown_when_sending_ended: int | None = None  # when nothing was queued or sending any more
    reconciliation_seconds: float = 0.0  # from then until nothing was `unknown`
    elapsed: float = 0.0
    timed_out: bool = False


def postgres_restart_command() -> list[str] | None:
    """The command that restarts the local PostgreSQL cluster, if this machine has one."""
    if shutil.which("pg_ctlcluster") is None or not os.path.isdir("/etc/postgresql"):
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions:
        return None
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"]


class _Workers:
    """Worker processes (tests.worker_child); each is killed and reaped in `close`."""

    def __init__(self, env: dict[str, str], logs: Path, lease: float, concurrency: int):
        self.env, self.logs, self.lease, self.concurrency = env, logs, lease, concurrency
        self.live: list[Process] = []
        self.all: list[Process] = []

    def start(self) -> Process:
        process = Process(
            [
                sys.executable,
                "-m",
                "tests.worker_child",
                "--lease",
                str(self.lease),
                "--concurrency",
                str(self.concurrency),
                "--reconcile-after",
                str(RECONCILE_AFTER),
            ],
            self.env,
            self.logs / f"worker-{len(self.all) + 1}.log",
        )
        self.live.append(process)
        self.all.append(process)
        return process

    def wait_ready(self, process: Process, seconds: float = 30.0) -> None:
        """Until the worker has built its app (read the settings) and entered its loop."""
        deadline = time.monotonic() + seconds
        while "worker_child: lease" not in process.output():
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {process.pid} did not start:\n{process.output()}")
            time.sleep(0.05)

    def reap_unexpected(self) -> list[str]:
        """Workers that ended on their own (not killed by us): their output, and replace them."""
        dead = [p for p in self.live if p.popen.poll() is not None]
        for process in dead:
            self.live.remove(process)
            self.wait_ready(self.start())
        return [f"worker {p.pid} exited {p.popen.returncode}:\n{p.output()[-3000:]}" for p in dead]

    def kill_one(self, rng: random.Random) -> None:
        victim = rng.choice(self.live)
        victim.signal(SIGKILL)
        victim.popen.wait(10)
        self.live.remove(victim)

    def stop_all(self, seconds: float) -> None:
        for process in self.live:
            process.signal(SIGTERM)
        deadline = time.monotonic() + seconds
        for process in self.live:
            try:
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        for process in self.all:
            process.close()


def _counts(engine: sa.Engine) -> Counter | None:
    """Messages per state; None while the database is unreachable (restarting)."""
    try:
        with engine.connect() as connection:
            return Counter(
                dict(
                    connection.execute(
                        sa.select(Message.state, sa.func.count()).group_by(Message.state)
                    ).all()
                )
            )
    except sa.exc.DBAPIError:
        return None


class _UnknownWatch:
    """When each message went `unknown` and how long it stayed so, as seen by polling."""

    def __init__(self) -> None:
        self.since: dict[str, float] = {}
        self.durations: list[float] = []

    def poll(self, engine: sa.Engine) -> None:
        try:
            with engine.connect() as connection:
                now = time.monotonic()
                uuids = set(
                    connection.execute(
                        sa.select(Message.uuid).where(Message.state == "unknown")
                    ).scalars()
                )
        except sa.exc.DBAPIError:
            return
        for uuid in uuids - self.since.keys():
            self.since[uuid] = now
        for uuid in [u for u in self.since if u not in uuids]:
            self.durations.append(now - self.since.pop(uuid))


def exercise(
    url: str,
    *,
    messages: int,
    kills: int,
    restart_postgres: bool,
    latency: float,
    lease: float,
    concurrency: int,
    workdir: Path,
    deadline_seconds: float,
    seed: int = 20261127,
    plan: FaultPlan | None = None,
) -> Outcome:
    """Run the whole scenario on a fresh database at `url`; the outcome, never an exception for
    a broken guarantee (the caller asserts or reports)."""
    rng = random.Random(seed)
    engine = _fresh_database(url)
    queue(engine, messages)
    outcome = Outcome(messages)
    plan = plan or FaultPlan()
    restart = postgres_restart_command() if restart_postgres else None
    # Kill at random points of progress (share of messages settled), each a moment of its own.
    kill_at = sorted(rng.uniform(0.05, 0.85) for _ in range(kills))
    restart_at = rng.uniform(0.3, 0.6) if restart else None
    started = time.monotonic()
    sending_ended: float | None = None
    watch = _UnknownWatch()
    with CountingSmsCentral(latency=latency) as fake:
        plan.install(fake)
        workers = _Workers(
            worker_env(url, fake, DISPATCH_CONCURRENCY=str(concurrency)),
            workdir,
            lease,
            concurrency,
        )
        try:
            for _ in range(2):
                workers.start()
            for process in workers.live:
                workers.wait_ready(process)
            while True:
                if time.monotonic() - started > deadline_seconds:
                    outcome.timed_out = True
                    break
                outcome.unexpected_exits += workers.reap_unexpected()
                counts = _counts(engine)
                if counts is None:
                    time.sleep(0.2)
                    continue
                watch.poll(engine)
                settled = messages - sum(counts[s] for s in UNSETTLED)
                if settled >= messages and sending_ended is None:
                    sending_ended = time.monotonic()
                    outcome.unknown_when_sending_ended = counts["unknown"]
                if settled >= messages and counts["unknown"] == 0:
                    outcome.reconciliation_seconds = time.monotonic() - sending_ended
                    break
                share = settled / messages
                if kill_at and share >= kill_at[0] and counts["sending"] > 0:
                    kill_at.pop(0)
                    time.sleep(rng.uniform(0.0, 0.3))  # not always right after a poll
                    workers.kill_one(rng)
                    outcome.kills += 1
                    workers.wait_ready(workers.start())
                    continue
                if restart_at is not None and share >= restart_at:
                    restart_at = None
                    subprocess.run(restart, check=True, capture_output=True, timeout=120)
                    outcome.postgres_restarts += 1
                    time.sleep(5)  # the workers meet the dropped connections and retry
                    outcome.workers_alive_after_restart = sum(
                        p.popen.poll() is None for p in workers.live
                    )
                    after = _counts(engine)
                    before_settled = settled
                    wait_progress = time.monotonic() + 30
                    while (
                        after is None
                        or messages - sum(after[s] for s in UNSETTLED) <= before_settled
                    ):
                        if time.monotonic() > wait_progress:
                            break
                        time.sleep(0.5)
                        after = _counts(engine)
                    outcome.progress_after_restart = (
                        after is not None
                        and messages - sum(after[s] for s in UNSETTLED) > before_settled
                    )
                    continue
                time.sleep(0.1)
            # Nothing left to claim or reconcile: stop the workers; calls in flight end within the
            # read timeout.
            workers.stop_all(READ_TIMEOUT + 10)
            outcome.unexpected_exits += [
                f"worker {p.pid} did not exit 0 on SIGTERM ({p.popen.returncode}):\n"
                f"{p.output()[-3000:]}"
                for p in workers.live
                if p.popen.returncode != 0
            ]
        finally:
            workers.close()
            outcome.database_retries_logged = sum(
                p.output().count("will retry") for p in workers.all
            )
        outcome.requests = len(fake.requests)
        outcome.status_checks = len(fake.status_checks)
        outcome.unknown_for = sorted(watch.durations)
        outcome.seen_unknown = len(watch.durations) + len(watch.since)
        outcome.looked_up = len(
            {
                reference
                for check in fake.status_checks
                for reference in check.form.get("REFERENCE", "").split(",")
                if reference
            }
        )
        outcome.injected = Counter(plan.injected)
        accepted = set(fake.accepted)
        outcome.accepted_twice = sorted(r for r, n in fake.accepted.items() if n > 1)
        outcome.reached_twice = sorted(r for r, n in fake.reached.items() if n > 1)
    outcome.elapsed = time.monotonic() - started
    sessionmaker = make_sessionmaker(engine)
    with sessionmaker() as session:
        outcome.still_sending_after_stop = session.scalar(
            sa.select(sa.func.count()).where(Message.state == "sending")
        )
        # Anything still `sending` now can only be a leftover lease: it becomes `unknown`.
        outcome.expired_at_end = outbox.expire_leases(session, now=utcnow() + timedelta(days=1))
        rows = session.execute(sa.select(Message.uuid, Message.reference, Message.state)).all()
    engine.dispose()
    outcome.states = Counter(state for _uuid, _ref, state in rows)
    for uuid, reference, state in rows:
        if state in UNSETTLED:
            outcome.lost.append(uuid)
        elif state in ("sent", "delivered") and reference not in accepted:
            outcome.contradictions.append(f"{uuid} is {state} but the gateway never accepted it")
        elif state in ("failed", "rejected") and reference in accepted:
            outcome.contradictions.append(f"{uuid} is {state} but the gateway accepted it")
    if len(rows) != messages:
        outcome.lost.append(f"{messages - len(rows)} row(s) missing")
    return outcome


def run(
    postgres_url: str, messages: int = 10_000, kills: int = 5, restart_postgres: bool = True
) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="smsdesk-reliability-") as workdir:
        outcome = exercise(
            postgres_url,
            messages=messages,
            kills=kills,
            restart_postgres=restart_postgres,
            latency=0.02,
            lease=3.0,
            concurrency=16,
            workdir=Path(workdir),
            deadline_seconds=1800,
        )
    print(
        f"reliability: {messages:,} messages, {outcome.kills} SIGKILLs, "
        f"{outcome.postgres_restarts} PostgreSQL restart(s)"
    )
    figures = [
        show(Figure("reliability: messages lost", len(outcome.lost), "msgs", "0")),
        show(
            Figure(
                "reliability: state contradicts the gateway",
                len(outcome.contradictions),
                "msgs",
                "0",
            )
        ),
        show(
            Figure(
                "reliability: references accepted twice", len(outcome.accepted_twice), "refs", "0"
            )
        ),
        show(
            Figure(
                "reliability: references reaching the gateway twice (513)",
                len(outcome.reached_twice),
                "refs",
                "0",
            )
        ),
        show(
            Figure("reliability: messages looked up after going unknown", outcome.looked_up, "msgs")
        ),
        show(
            Figure(
                "reliability: unknown when sending ended",
                outcome.unknown_when_sending_ended or 0,
                "msgs",
            )
        ),
        show(
            Figure(
                "reliability: unknown after reconciliation", outcome.states["unknown"], "msgs", "0"
            )
        ),
        show(
            Figure(
                "reliability: messages seen `unknown` (polled every 0.1 s)",
                outcome.seen_unknown,
                "msgs",
            )
        ),
        show(
            Figure(
                "reliability: time `unknown` until reconciled, median",
                median(outcome.unknown_for) if outcome.unknown_for else 0.0,
                "s",
            )
        ),
        show(
            Figure(
                "reliability: time `unknown` until reconciled, longest",
                max(outcome.unknown_for, default=0.0),
                "s",
            )
        ),
        show(
            Figure(
                "reliability: reconciliation after sending ended",
                outcome.reconciliation_seconds,
                "s",
            )
        ),
        show(
            Figure(
                "reliability: status checks (by REFERENCE, ≤ 100 each)",
                outcome.status_checks,
                "reqs",
            )
        ),
    ]
    for state in sorted(outcome.states):
        figures.append(
            show(Figure(f"reliability: final state {state}", outcome.states[state], "msgs"))
        )
    for kind in ("body_500", "http_502", "timeout", "status_body_500", "status_http_502"):
        figures.append(
            show(Figure(f"reliability: faults injected, {kind}", outcome.injected[kind], "reqs"))
        )
    figures += [
        show(Figure("reliability: gateway requests", outcome.requests, "reqs")),
        show(Figure("reliability: worker SIGKILLs (calls in flight)", outcome.kills, "kills")),
        show(
            Figure(
                "reliability: workers dying on their own",
                len(outcome.unexpected_exits),
                "workers",
                "0",
            )
        ),
    ]
    if outcome.postgres_restarts:
        figures.append(
            show(
                Figure(
                    "reliability: workers alive 5 s after PostgreSQL restart",
                    outcome.workers_alive_after_restart or 0,
                    "workers",
                    "2",
                )
            )
        )
        figures.append(
            show(
                Figure(
                    "reliability: worker log lines 'database … will retry'",
                    outcome.database_retries_logged,
                    "lines",
                )
            )
        )
        figures.append(
            show(
                Figure(
                    "reliability: progress after PostgreSQL restart",
                    1.0 if outcome.progress_after_restart else 0.0,
                    "yes=1",
                    "1",
                )
            )
        )
    figures += [
        show(
            Figure(
                "reliability: still `sending` after workers stopped",
                outcome.still_sending_after_stop,
                "msgs",
                "0",
            )
        ),
        show(Figure("reliability: elapsed", outcome.elapsed, "s")),
    ]
    if outcome.timed_out:
        print("reliability: gave up waiting (30 min); figures are for an unfinished run")
    for text in outcome.unexpected_exits[:3]:
        print(f"reliability: {text}")
    for text in (outcome.lost + outcome.contradictions)[:10]:
        print(f"reliability: {text}")
    return figures
