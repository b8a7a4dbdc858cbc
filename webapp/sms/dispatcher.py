"""The worker loop: claim due messages, re-check them, send through the gateway, record outcomes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from webapp.database import begin_write, make_sessionmaker
from webapp.sms import consent, mailer, outbox
from webapp.sms.mailer import MailSettings
from webapp.sms.outbox import Claimed
from webapp.sms.providers import OutboundSms, Provider, SendResult, Unknown
from webapp.sms.settings import blocked_regions

log = logging.getLogger(__name__)
RECORD_GROUP = 16  # outcomes written in one transaction
RECORD_EVERY = 0.1  # seconds an outcome may wait to be written (a crash then leaves it `unknown`)


class TokenBucket:
    """At most `rate` sends a second on average, with bursts of up to `burst`; rate 0 = no limit."""

    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        # No burst by default: a limit of 10/s means 10 in any second, not 20 in the first.
        self.capacity = burst if burst is not None else 1.0
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self, stop: threading.Event | None = None) -> bool:
        """Wait for a token; False if `stop` was set while waiting."""
        if self.rate <= 0:
            return not (stop is not None and stop.is_set())
        while True:
            with self.lock:
                now = self.clock()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return True
                wait_for = (1 - self.tokens) / self.rate
            if stop is not None and stop.wait(wait_for):
                return False
            if stop is None:
                time.sleep(wait_for)


@dataclass
class DispatchSettings:
    provider_name: str
    concurrency: int = 8
    rate_per_second: float = 0.0
    lease: timedelta = timedelta(minutes=2)
    poll_seconds: float = 1.0
    public_base_url: str = ""
    sandbox_delivery_after: timedelta = timedelta(seconds=1)
    mail: MailSettings | None = None  # reply emails go out from the same loop


class Dispatcher:
    """Sends queued messages; run it in a process of its own (`sms worker`) or a web thread."""

    def __init__(self, engine: sa.Engine, provider: Provider, settings: DispatchSettings):
        self.engine = engine
        self.sessionmaker = make_sessionmaker(engine)
        self.provider = provider
        self.settings = settings
        self.bucket = TokenBucket(settings.rate_per_second)
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self.sent = 0
        self._last_housekeeping = 0.0

    def wake(self) -> None:
        """Look for work now rather than at the next poll (called after Send)."""
        self.wake_event.set()

    def stop(self) -> None:
        """Finish the calls in flight, record them, then return from run()."""
        self.stop_event.set()
        self.wake_event.set()

    def run(self, once: bool = False) -> int:
        """Send until stopped (or, with `once`, until nothing is due); returns messages handled.

        Claims and outcomes go to the database in groups, not one transaction per message: on
        PostgreSQL every commit waits for the disk, and that, not the gateway, was the limit.
        """
        concurrency = max(self.settings.concurrency, 1)
        handled = 0
        inflight: dict[Future, Claimed] = {}
        finished: list[tuple[Claimed, SendResult]] = []
        last_record = time.monotonic()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sms-send") as pool:
            while True:
                try:
                    self._housekeeping()
                except sa.exc.DBAPIError:
                    # The database restarting or unreachable: keep what is in flight, try again.
                    log.exception("Database unavailable; the worker will retry")
                    self.stop_event.wait(self.settings.poll_seconds)
                    continue
                # Refill once half the pipeline has drained, so each claim takes a useful group.
                if len(inflight) <= concurrency and not self.stop_event.is_set():
                    try:
                        claimed = self._claim(2 * concurrency - len(inflight))
                    except sa.exc.DBAPIError:
                        log.exception("Could not claim messages; will retry")
                        claimed = []
                    for message in claimed:
                        inflight[pool.submit(self._send, message)] = message
                if not inflight and not finished:
                    if once or self.stop_event.is_set():
                        break
                    self.wake_event.wait(self.settings.poll_seconds)
                    self.wake_event.clear()
                    continue
                if inflight:
                    done, _ = wait(inflight, timeout=RECORD_EVERY if finished else self.settings.poll_seconds,
                                   return_when=FIRST_COMPLETED)
                    finished += [(inflight.pop(future), future.result()) for future in done]
                due = time.monotonic() - last_record >= RECORD_EVERY
                if finished and (len(finished) >= max(RECORD_GROUP, concurrency // 2) or due or not inflight):
                    try:
                        self._record(finished)
                    except sa.exc.DBAPIError:
                        # Outcomes stay in memory and are written when the database is back; if
                        # this process dies first, their leases expire and they become `unknown`.
                        log.exception("Could not record %d outcome(s); will retry", len(finished))
                        self.stop_event.wait(self.settings.poll_seconds)
                        continue
                    handled += len(finished)
                    finished = []
                    last_record = time.monotonic()
        return handled

    def _claim(self, limit: int) -> list[Claimed]:
        lease = self.settings.lease
        if self.settings.rate_per_second > 0:
            # A claimed message may wait for its token; its lease must outlast the wait.
            waiting = timedelta(seconds=2 * limit / self.settings.rate_per_second)
            lease = max(lease, waiting + self.settings.lease)
        claimed = outbox.claim(self.engine, limit, lease)
        if not claimed:
            return []
        with self.sessionmaker() as session:
            refused = outbox.recheck(session, claimed,
                                     blocked_regions(session, self.settings.provider_name))
            outbox.reject(session, refused)
        return [message for message in claimed if message.id not in refused]

    def _send(self, message: Claimed) -> SendResult:
        if not self.bucket.acquire(self.stop_event):
            # Stopping before the call began: nothing left us, so it goes back to the queue as if
            # never claimed (the attempt is not counted).
            return outbox.NOT_SENT
        callback = None
        if self.settings.public_base_url:
            callback = f"{self.settings.public_base_url}/webhooks/twilio/status?m={message.uuid}"
        try:
            return self.provider.send(OutboundSms(message.reference, message.to_e164, message.body,
                                                  callback))
        except Exception as exc:  # a provider bug must not kill the loop or lose track of the message
            log.exception("Provider %s raised while sending %s", self.provider.name, message.uuid)
            return Unknown(f"Sending failed unexpectedly ({type(exc).__name__}); it may or may not have gone.")

    def _record(self, results: list[tuple[Claimed, SendResult]]) -> None:
        with self.sessionmaker() as session:
            opted_out = outbox.record(session, results)
            if opted_out:
                begin_write(session)
            for message, rejection in opted_out:
                # The gateway says this number unsubscribed (e.g. Twilio 21610): honour it here too.
                consent.set_for_number(session, message.to_e164, False, actor=None,
                                       cause={"source": "gateway", "code": rejection.code,
                                              "message_uuid": message.uuid})
            session.commit()
        self.sent += len(results)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_housekeeping < self.settings.poll_seconds:
            return
        self._last_housekeeping = now
        with self.sessionmaker() as session:
            expired = outbox.expire_leases(session)
            if expired:
                log.warning("%d message(s) were left mid-send by a stopped worker: now unknown", expired)
            if self.provider.name == "sandbox":
                outbox.deliver_sandbox(session, self.settings.sandbox_delivery_after)
            if self.settings.mail is not None:
                mailer.send_due(session, self.settings.mail)


def settings_from_config(config) -> DispatchSettings:
    return DispatchSettings(
        provider_name=config["SMS_PROVIDER"],
        concurrency=int(config.get("DISPATCH_CONCURRENCY") or 8),
        rate_per_second=float(config.get("DISPATCH_RATE_PER_SECOND") or 0.0),
        public_base_url=config.get("PUBLIC_BASE_URL", ""),
        mail=MailSettings.from_config(config),
    )
