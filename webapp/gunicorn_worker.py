"""A gunicorn gthread worker that takes a new connection only while it has no more requests in
hand than the workers' average, so that the workers share the clients evenly.

gunicorn's own gthread worker accepts every connection it is woken for, busy or not, and keeps it
for as long as the client keeps it alive: when many browsers connect at once the worker that
happens to be running takes most of them (46 of 50 in `make bench`), and its clients wait several
times as long as the other's (gunicorn issue 3433). Use it with `-k
webapp.gunicorn_worker.BalancedThreadWorker --threads 4`; it needs gunicorn 24 or later, whose
gthread worker queues and finishes every request on its main thread.
"""

from __future__ import annotations

import multiprocessing
import os

from gunicorn.workers.gthread import ThreadWorker

# How often a worker holding back looks again whether it has fallen to the average: others'
# requests finishing do not wake it.
RECHECK_SECONDS = 0.01
# Workers one server can balance; any beyond them take connections as gunicorn's own would.
SLOTS = 64


class BalancedThreadWorker(ThreadWorker):
    """Counts its requests in hand (queued or being answered) where every worker of the server can
    read them, and stops listening for new connections while its own count is above the average
    over the workers running. The one with the fewest always listens, so a connection always finds
    a worker."""

    # Made in the master before its first fork and inherited by every worker: one slot a worker,
    # which that worker alone writes while it runs (no lock, which a worker killed while holding
    # it would keep for good), and how many slots have been given out. The registry of the
    # workers and their slots is the master's, to clear the slot of a worker that was killed.
    _in_hand = None
    _running = None
    _slots_used = None
    _registry: dict[int, BalancedThreadWorker] = {}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cls = BalancedThreadWorker
        if cls._in_hand is None:
            cls._in_hand = multiprocessing.RawArray("l", SLOTS)
            cls._running = multiprocessing.RawArray("b", SLOTS)
            cls._slots_used = multiprocessing.RawValue("l", 0)
        cls._sweep_dead()
        self._slot = next((n for n in range(SLOTS) if n not in cls._registry), None)
        if self._slot is not None:
            cls._registry[self._slot] = self
            cls._slots_used.value = max(cls._slots_used.value, self._slot + 1)
        self._holding_back = False

    @classmethod
    def _sweep_dead(cls) -> None:
        """In the master, before a worker is made: a worker killed mid-request (a timeout, the
        kernel) never counted itself and its requests out, which would skew the average for
        good."""
        for slot, worker in list(cls._registry.items()):
            # A worker's pid is the master's to set once it has forked.
            if isinstance(worker.pid, int) and not _alive(worker.pid):
                cls._in_hand[slot] = 0
                cls._running[slot] = 0
                del cls._registry[slot]

    def may_accept(self) -> bool:
        """Whether this worker's requests in hand are at most the average over the workers
        running (alone, it always may: while the others start, say)."""
        if self._slot is None:
            return True
        used = BalancedThreadWorker._slots_used.value
        running = sum(BalancedThreadWorker._running[:used])
        total = sum(BalancedThreadWorker._in_hand[:used])
        return running <= 1 or BalancedThreadWorker._in_hand[self._slot] * running <= total

    def _count(self, n: int) -> None:
        if self._slot is not None:
            BalancedThreadWorker._in_hand[self._slot] += n

    def _mark_running(self, running: bool) -> None:
        if self._slot is not None:
            BalancedThreadWorker._running[self._slot] = running
            if not running:
                # Requests cut off at the end (the thread pool is shut down without waiting)
                # are never finished.
                BalancedThreadWorker._in_hand[self._slot] = 0

    def set_accept_enabled(self, enabled: bool) -> None:
        # gunicorn asks again on every turn of its loop while the answer differs from what it
        # asked for, so a worker holding back looks again each turn.
        self._holding_back = enabled and not self.may_accept()
        super().set_accept_enabled(enabled and not self._holding_back)

    def enqueue_req(self, conn) -> None:
        super().enqueue_req(conn)
        self._count(1)
        if self._accepting:  # the request just taken may put it above the average
            self.set_accept_enabled(True)

    def finish_request(self, conn, fs) -> None:
        self._count(-1)
        super().finish_request(conn, fs)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._holding_back:
            timeout = min(timeout, RECHECK_SECONDS)
        super().wait_for_and_dispatch_events(timeout)

    def run(self) -> None:
        self._mark_running(True)
        try:
            super().run()
        finally:
            self._mark_running(False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
