"""Dispatch throughput against a fake SMS Central with 50 ms latency, rate-limit accuracy,
memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.report import Figure, show
from webapp import migrate
from webapp.database import make_engine
from webapp.models import Batch, Candidate, Message, User
from webapp.models.base import utcnow
from webapp.models.messaging import QUEUED, new_uuid
from webapp.models.people import person_values
from webapp.phones import normalise
from webapp.sms.dispatcher import Dispatcher, DispatchSettings
from webapp.sms.providers.smscentral import SmsCentral

ROOT = Path(__file__).resolve().parent.parent
LATENCY = 0.05
CONCURRENCY = 64
# The one person every message is to, at their number: the send-time re-check refuses a message
# to a number their record no longer has.
PERSON_MOBILE = "0412 345 678"


def _fresh_database(url: str) -> sa.Engine:
    database = sa.engine.make_url(url).database
    if url.startswith("sqlite") and database and database != ":memory:":
        # A scratch file: started afresh, as downgrading SQLite tables that hold rows can fail
        # on their foreign keys (0015 dropping `users`).
        Path(database).unlink(missing_ok=True)
    engine = make_engine(url)
    if migrate.current_revision(engine):
        migrate.downgrade(engine, "base")
    migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(User.__table__),
            [
                {
                    "username": "bench",
                    "full_name": "Bench",
                    "email": "b@example.com",
                    "active": True,
                    "password_hash": "x",
                    "must_change_password": False,
                    "created_at": utcnow(),
                }
            ],
        )
        # One consenting person for every message: the send-time re-check reads their consent.
        connection.execute(
            sa.insert(Candidate.__table__),
            [
                person_values(
                    first_name="Bench",
                    last_name="Mark",
                    email=None,
                    mobile=normalise(PERSON_MOBILE, "AU"),
                    sms_consent=True,
                    status="Active",
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            ],
        )
    return engine


def queue(engine: sa.Engine, count: int) -> None:
    """Queue `count` messages for the worker (as Send would, without the people)."""
    now = utcnow()
    with engine.begin() as connection:
        batch_id = connection.execute(
            sa.insert(Batch.__table__).values(
                sender_id=1,
                kind="candidates",
                body="bench",
                provider="smscentral",
                message_count=count,
                outcome_counts={},
                ignore_opt_out=False,
                created_at=now,
            )
        ).inserted_primary_key[0]
        to = normalise(PERSON_MOBILE, "AU").e164
        rows = [
            {
                "uuid": (uuid := new_uuid()),
                "reference": uuid,
                "batch_id": batch_id,
                "direction": "out",
                "sender_id": 1,
                "candidate_id": 1,
                "to_e164": to,
                "to_region": "AU",
                "body": "Benchmark message",
                "segments": 1,
                "encoding": "GSM-7",
                "state": QUEUED,
                "override_opt_out": True,
                "superseded": False,
                "provider": "smscentral",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for _ in range(count)
        ]
        for start in range(0, count, 5000):
            connection.execute(sa.insert(Message.__table__), rows[start : start + 5000])


def _dispatcher(engine: sa.Engine, fake, concurrency: int, rate: float = 0.0) -> Dispatcher:
    provider = SmsCentral(fake.api_url, "bench", "secret", "SMSDesk", pool_size=concurrency)
    return Dispatcher(
        engine,
        provider,
        DispatchSettings(
            provider_name="smscentral",
            concurrency=concurrency,
            rate_per_second=rate,
            lease=timedelta(minutes=5),
            poll_seconds=0.2,
        ),
    )


def _run_once(engine, fake, concurrency: int, rate: float = 0.0) -> tuple[int, float]:
    dispatcher = _dispatcher(engine, fake, concurrency, rate)
    started = time.perf_counter()
    handled = dispatcher.run(once=True)
    elapsed = time.perf_counter() - started
    dispatcher.provider.close()
    return handled, elapsed


def run(sqlite_url: str, postgres_url: str | None) -> list[Figure]:
    from tests.fakes import FakeSmsCentral

    figures = []
    with FakeSmsCentral(username="bench", password="secret", latency=LATENCY) as fake:
        for kind, url in (("sqlite", sqlite_url), ("postgresql", postgres_url)):
            if url is None:
                continue
            engine = _fresh_database(url)
            queue(engine, 100)
            handled, seconds = _run_once(engine, fake, 1)
            figures.append(
                show(
                    Figure(
                        f"dispatch [{kind}] baseline, one at a time (50 ms gateway)",
                        handled / seconds,
                        "msg/s",
                    )
                )
            )
            # Workers run as processes of their own, as in production: in this process they
            # would share one interpreter lock with the fake gateway's server threads.
            one, _busy, cpu, _gateway_cpu = _workers(url, fake, 6000, processes=1)
            figures.append(
                show(
                    Figure(
                        f"dispatch [{kind}] one worker, {CONCURRENCY} in flight",
                        one,
                        "msg/s",
                        "≥ 600",
                    )
                )
            )
            figures.append(
                show(Figure(f"dispatch [{kind}] one worker: CPU per message", cpu, "ms"))
            )
            if kind == "postgresql":
                two, busy, cpu, gateway_cpu = _workers(url, fake, 12000, processes=2)
                figures.append(
                    show(Figure(f"dispatch [{kind}] two worker processes", two, "msg/s"))
                )
                figures.append(
                    show(Figure(f"dispatch [{kind}] two workers: CPU per message", cpu, "ms"))
                )
                figures.append(
                    show(
                        Figure(
                            f"dispatch [{kind}] fake gateway: CPU per message", gateway_cpu, "ms"
                        )
                    )
                )
                figures.append(
                    show(Figure(f"dispatch [{kind}] two workers ÷ one", two / one, "×", "≥ 1.8"))
                )
                # Both workers, PostgreSQL and the fake gateway share this machine's cores: when
                # they are all busy, a second worker has no core of its own to gain from.
                figures.append(
                    show(Figure(f"dispatch [{kind}] two workers: machine CPU busy", busy, "%"))
                )
            queue(engine, 60)
            handled, seconds = _run_once(engine, fake, 8, rate=10.0)
            figures.append(
                show(
                    Figure(
                        f"dispatch [{kind}] rate limit 10/s: measured",
                        handled / seconds,
                        "msg/s",
                        "10 ± 5 %",
                    )
                )
            )
            engine.dispose()
    return figures


def _workers(url: str, fake, count: int, processes: int) -> tuple[float, float, float, float]:
    """Messages a second for `processes` worker processes sending `count` together, how busy
    the machine's CPUs were meanwhile (%), and the CPU (user + system) per message (ms) of the
    workers and of the fake gateway: on a loaded machine the rate varies with the neighbours,
    the CPU per message much less."""
    engine = make_engine(url)
    queue(engine, count)
    engine.dispose()
    env = _worker_env(url, fake, CONCURRENCY)
    start_at = time.time() + 4  # both start together once imported
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.worker_child", str(start_at)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    time.sleep(max(0.0, start_at - time.time()))
    before, gateway_cpu = _cpu_ticks(), time.process_time()
    results = [
        json.loads(child.communicate(timeout=600)[0].strip().splitlines()[-1]) for child in children
    ]
    # This process only serves the fake gateway meanwhile: its CPU is the gateway's.
    gateway_cpu = time.process_time() - gateway_cpu
    busy, total = (after - first for after, first in zip(_cpu_ticks(), before, strict=True))
    handled = sum(r["handled"] for r in results)
    elapsed = max(r["end"] for r in results) - min(r["start"] for r in results)
    cpu = sum(r["cpu"] for r in results)
    per_message = 1000 / max(handled, 1)
    return (
        handled / elapsed,
        100 * busy / max(total, 1),
        cpu * per_message,
        gateway_cpu * per_message,
    )


def _worker_env(url: str, fake, concurrency: int) -> dict[str, str]:
    """The environment of a worker child (bench.worker_child) sending through `fake` from `url`."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "SMS_PROVIDER": "smscentral",
        "SMSCENTRAL_API_URL": fake.api_url,
        "SMSCENTRAL_USERNAME": "bench",
        "SMSCENTRAL_PASSWORD": "secret",
        "SMSCENTRAL_ORIGINATOR": "SMSDesk",
        "DISPATCH_CONCURRENCY": str(concurrency),
        "EMBEDDED_WORKER": "0",
        # A line per claim (~15 a second) would bury the figures; it costs the worker nothing
        # that shows at this rate.
        "LOG_LEVEL": "WARNING",
    }


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle and iowait
    return sum(values) - idle, sum(values)


def memory(url: str, count: int = 100_000) -> list[Figure]:
    """Worker memory while sending `count` messages (gateway answering at once)."""
    from tests.fakes import FakeSmsCentral

    engine = _fresh_database(url)
    queue(engine, count)
    engine.dispose()
    with FakeSmsCentral(username="bench", password="secret") as fake:
        child = subprocess.run(
            [sys.executable, "-m", "bench.worker_child", "0", "--memory"],
            cwd=ROOT,
            env=_worker_env(url, fake, 16),
            capture_output=True,
            text=True,
            timeout=1800,
        )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    samples = result["rss"]
    early = next((mb for sent, mb in samples if sent >= count // 10), samples[0][1])
    final = samples[-1][1]
    peak = max(mb for _sent, mb in samples)
    return [
        show(Figure(f"worker memory after {count // 10:,} messages", early, "MB")),
        show(Figure(f"worker memory after {result['handled']:,} messages", final, "MB", "≤ 120")),
        show(
            Figure(
                "worker memory growth from 10 % to 100 % of the run",
                final - early,
                "MB",
                "flat (≈ 0)",
            )
        ),
        show(Figure("worker memory peak", peak, "MB", "≤ 120")),
        show(
            Figure(
                f"worker throughput, gateway answering at once ({count:,} messages)",
                result["handled"] / (result["end"] - result["start"]),
                "msg/s",
            )
        ),
    ]
