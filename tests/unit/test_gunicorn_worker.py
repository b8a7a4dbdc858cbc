"""The gthread worker that shares the clients: many connections opened at once end up evenly
spread over a real gunicorn's workers, a worker above the average stops taking new ones, and a
worker killed mid-request is counted out of the total when the master makes the next one."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from tests.bare_gunicorn import bare_gunicorn, drive
from webapp.gunicorn_worker import BalancedThreadWorker

CLASS = "webapp.gunicorn_worker.BalancedThreadWorker"


def test_forty_clients_connecting_at_once_are_shared_evenly_by_two_workers():
    """gunicorn's own gthread workers, run the same way, held 36 and 4, 39 and 1, 28 and 12."""
    with bare_gunicorn(("-w", "2", "-k", CLASS, "--threads", "4")) as (port, workers):
        run = drive(port, workers, 40, 1.0)

    assert run.errors == 0 and len(run.held) == 40
    held = Counter(run.held.values())
    assert len(held) == 2 and min(held.values()) >= 16, held


@pytest.fixture
def fresh(monkeypatch):
    """Worker objects as the master makes them before forking, with shared slots of their own;
    `running=True` marks one running as its loop does when it starts."""
    for name in ("_in_hand", "_running", "_slots_used"):
        monkeypatch.setattr(BalancedThreadWorker, name, None)
    monkeypatch.setattr(BalancedThreadWorker, "_registry", {})
    cfg = Config()
    cfg.set("threads", 4)
    log = Logger(cfg)
    made = []

    def make(pid: int | None = None, running: bool = True) -> BalancedThreadWorker:
        worker = BalancedThreadWorker(1, 0, [], None, 30, cfg, log)
        made.append(worker)
        if pid is not None:
            worker.pid = pid
        if running:
            worker._mark_running(True)
        return worker

    yield make
    for worker in made:
        worker.tmp.close()  # the file a worker touches to tell the master it is alive


def in_hand() -> int:
    return sum(BalancedThreadWorker._in_hand)


def test_a_worker_above_the_average_holds_back_and_one_at_or_below_it_takes_connections(fresh):
    busy, idle = fresh(), fresh()
    busy._count(3)
    idle._count(1)

    assert not busy.may_accept()
    assert idle.may_accept()
    idle._count(2)
    assert busy.may_accept() and idle.may_accept()  # level: both take the next
    busy._count(-3)
    idle._count(-3)
    assert in_hand() == 0


def test_a_worker_running_alone_always_takes_connections(fresh):
    """As when the first worker has started and the others are still loading the app: gunicorn
    was asked for two, but an average over two would hold it back while it has anything in hand."""
    first = fresh()
    fresh(running=False)
    first._count(5)

    assert first.may_accept()


def test_a_worker_that_ends_counts_itself_and_its_requests_out(fresh):
    ending, other = fresh(), fresh()
    ending._count(4)  # cut off: never finished
    other._count(1)
    assert other.may_accept() and not ending.may_accept()

    ending._mark_running(False)

    assert in_hand() == 1 and sum(BalancedThreadWorker._running) == 1


def test_a_worker_killed_with_requests_in_hand_is_counted_out_when_the_next_is_made(fresh):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        living = fresh(pid=os.getpid())  # this process: alive
        killed = fresh(pid=child.pid)
        living._count(2)
        killed._count(3)
        assert in_hand() == 5
        assert living.may_accept() and not killed.may_accept()  # the average is 2.5
    finally:
        child.kill()
        child.wait()

    successor = fresh(running=False)

    assert in_hand() == 2 and sum(BalancedThreadWorker._running) == 1
    assert successor._slot == killed._slot  # its slot, cleared, is the next worker's
    assert BalancedThreadWorker._registry == {living._slot: living, successor._slot: successor}
