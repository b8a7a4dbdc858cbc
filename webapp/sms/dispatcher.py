"""The worker loop: claim due messages, re-check them, send through the gateway, record outcomes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.database import begin_write, make_sessionmaker
from webapp.models import Message
from webapp.models.base import utcnow
from webapp.sms import mailer, metrics, outbox, quiet_hours, reconcile, schedule, status
from webapp.sms.account_providers import (
    AccountGateways,
    Gateway,
    deliver_sandboxed,
    reserve_slot,
)
from webapp.sms.account_secrets import key_material
from webapp.sms.alerts import AlertSettings
from webapp.sms.limits import LimitSettings
from webapp.sms.mailer import MailSettings
from webapp.sms.outbox import Claimed
from webapp.sms.providers import (
    Accepted,
    OutboundSms,
    Provider,
    Rejected,
    SendResult,
    Transient,
    Unknown,
)
from webapp.sms.quiet_hours import QuietSettings
from webapp.sms.reconcile import ReconcileSettings
from webapp.sms.settings import blocked_regions, sender_id

log = logging.getLogger(__name__)
RECORD_GROUP = 16  # outcomes written in one transaction
RECORD_EVERY = 0.1  # seconds an outcome may wait to be written (a crash then leaves it `unknown`)


Outcome = tuple[Claimed, SendResult]


def _database_away(exc: Exception) -> bool:
    """The database cannot be reached (so try again later), as opposed to refusing this data."""
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError)) or bool(
        getattr(exc, "connection_invalidated", False)
    )


def _unexpected(exc: Exception) -> Unknown:
    return Unknown(
        f"Sending failed unexpectedly ({type(exc).__name__}); it may or may not have gone."
    )


class TokenBucket:
    """At most `rate` sends a second on average, with bursts of up to `burst`; rate 0 = no limit."""

    def __init__(
        self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic
    ):
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
    max_backoff: float = 60.0  # seconds: a failing step waits poll_seconds, doubling up to this
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)  # `unknown` messages
    accounts_key: str = ""  # what SMS accounts' secrets are sealed under (account_secrets)
    # Scheduled batches are released under the daily limits and quiet hours (webapp.sms.schedule).
    limits: LimitSettings = field(default_factory=LimitSettings)
    quiet: QuietSettings = field(default_factory=QuietSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)  # volume alerts at release


@dataclass
class Step:
    """One guarded part of the loop, run every `every` seconds; after a failure it waits longer."""

    name: str
    run: Callable[..., object]
    every: float = 0.0
    failures: int = 0
    next_at: float = 0.0  # time.monotonic() before which the step is skipped


@dataclass
class Pipeline:
    """What one round of the loop hands the next: sends in flight, outcomes not yet written."""

    width: int  # sends at a time (settings.concurrency)
    inflight: dict[Future, Claimed] = field(default_factory=dict)
    finished: list[Outcome] = field(default_factory=list)  # kept here while the database is away
    handled: int = 0  # outcomes written
    recorded_at: float = field(default_factory=time.monotonic)  # the last write

    def empty(self) -> bool:
        return not self.inflight and not self.finished

    def room(self) -> int:
        """How many to claim: none until half the pipeline has drained, so each claim takes a
        useful group."""
        return 2 * self.width - len(self.inflight) if len(self.inflight) <= self.width else 0

    def record_due(self) -> bool:
        """Outcomes are written in groups: a full one, or what waited RECORD_EVERY since the last
        write, or the last ones in flight."""
        return bool(self.finished) and (
            len(self.finished) >= max(RECORD_GROUP, self.width // 2)
            or time.monotonic() - self.recorded_at >= RECORD_EVERY
            or not self.inflight
        )


class Dispatcher:
    """Sends queued messages; run it in a process of its own (`sms worker`) or a web thread."""

    def __init__(self, engine: sa.Engine, provider: Provider, settings: DispatchSettings):
        self.engine = engine
        self.sessionmaker = make_sessionmaker(engine)
        self.provider = provider
        self.settings = settings
        self.bucket = TokenBucket(settings.rate_per_second)
        # Each message goes through its SMS account's gateway (None: `provider`, the default).
        self.accounts = AccountGateways(
            provider, settings.accounts_key, pool_size=max(settings.concurrency, 1)
        )
        self.routes: dict[int, Gateway] = {}  # claimed message id → its gateway, until sent
        self.stop_event = threading.Event()
        self.wake_event = threading.Event()
        self.sent = 0
        # The names of the guarded steps that failed during the last run(): a one-off run
        # (`sms worker --once`) reports them and exits 1, as they are otherwise only logged.
        self.failed_steps: list[str] = []
        poll = settings.poll_seconds
        # Housekeeping jobs, run every poll and each guarded on its own: adding one is one line.
        self.housekeeping: list[Step] = [Step("expiring leases", self._expire_leases, poll)]
        # Before the claim in the same round: a batch due now goes in this round (Send later).
        self.housekeeping.append(Step("releasing scheduled sends", self._release_scheduled, poll))
        self.release_retries = schedule.Retries()  # scheduled batches whose release failed
        if provider.name == "sandbox":
            self.housekeeping.append(Step("sandbox deliveries", self._deliver_sandbox, poll))
        if settings.mail is not None:
            self.housekeeping.append(Step("sending reply emails", self._send_emails, poll))
        self.housekeeping.append(
            Step("reconciling unknown messages", self._reconcile, settings.reconcile.every)
        )
        self.reconciler: ThreadPoolExecutor | None = None  # its own thread while run() runs
        self.reconciling: Future | None = None
        # A sign of life for /readyz: written by the loop itself, so a stuck loop stops beating.
        self.name, self.started_at = status.worker_name(), utcnow()
        self.housekeeping.append(Step("writing the heartbeat", self._beat, status.HEARTBEAT_EVERY))
        self.claiming = Step(
            "claiming messages", lambda limit: outbox.claim(engine, limit, self._lease(limit))
        )
        # The default gateway's sender ID as built, used while the settings page has none:
        # SMSCENTRAL_ORIGINATOR, or without it the setting at start (which the page then may not
        # clear). None: a gateway whose sender is not a setting (Twilio's From).
        self.built_sender: str | None = getattr(provider, "originator", None)

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
        PostgreSQL every commit waits for the disk, and that, not the gateway, sets the pace.
        Every step is guarded: whatever one message, one email or one housekeeping job raises is
        logged, that step backs off, and the rest carry on, so one bad email never stops the SMS.
        """
        # A one-off run reconciles in its loop, so what it queues again goes out in it; it signs
        # off as well, or Status warned of a silent worker for a day after each `--once`.
        self.failed_steps = []
        if not once:
            self.reconciler = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sms-reconcile")
        try:
            return self._loop(once)
        finally:
            if self.reconciler is not None:
                # A run in progress is waited for: its lookup's answers are written before we
                # return.
                self.reconciler.shutdown(wait=True)
            self.reconciler, self.reconciling = None, None
            self.accounts.close()
            self._sign_off()

    def _sign_off(self) -> None:
        """A worker stopping as told leaves the heartbeat table: Status would otherwise list it as
        silent, and warn of it, for a day after every restart."""
        try:
            with self.sessionmaker() as session:
                status.forget(session, self.name, self.started_at)
        except Exception:  # the database gone too: the row then goes after a day
            log.warning("Could not remove this worker's heartbeat on stopping", exc_info=True)

    def _loop(self, once: bool) -> int:
        """Round after round: housekeeping, refill the pipeline, wait for sends, record outcomes."""
        pipeline = Pipeline(width=max(self.settings.concurrency, 1))
        with ThreadPoolExecutor(max_workers=pipeline.width, thread_name_prefix="sms-send") as pool:
            while True:
                self._housekeeping()
                self._refill(pipeline, pool)
                if pipeline.empty():
                    if once or self.stop_event.is_set():
                        return pipeline.handled
                    self._wait_for_work()
                    continue
                self._collect_sends(pipeline)
                self._record_finished(pipeline)

    # --- the steps of one round -------------------------------------------------------------------

    def _refill(self, pipeline: Pipeline, pool: ThreadPoolExecutor) -> None:
        """Claim due messages into the room the pipeline has, and start sending them."""
        room = pipeline.room()
        if room and not self.stop_event.is_set():
            for message in self._claim(room, pipeline.finished):
                gateway = self.routes.pop(message.id, None)
                pipeline.inflight[pool.submit(self._send, message, gateway)] = message

    def _wait_for_work(self) -> None:
        """Nothing in flight or to write: sleep until the next poll, or until Send wakes us."""
        self.wake_event.wait(self.settings.poll_seconds)
        self.wake_event.clear()

    def _collect_sends(self, pipeline: Pipeline) -> None:
        """Wait for sends to end: briefly while outcomes wait to be written, else up to a poll."""
        if not pipeline.inflight:
            return
        timeout = RECORD_EVERY if pipeline.finished else self.settings.poll_seconds
        done, _ = wait(pipeline.inflight, timeout=timeout, return_when=FIRST_COMPLETED)
        for future in done:
            message = pipeline.inflight.pop(future)
            pipeline.finished.append((message, self._outcome(future, message)))

    def _record_finished(self, pipeline: Pipeline) -> None:
        """Write the finished outcomes once a group is due."""
        if not pipeline.record_due():
            return
        written = len(pipeline.finished)
        pipeline.finished = self._record_outcomes(pipeline.finished)
        pipeline.handled += written - len(pipeline.finished)
        if pipeline.finished:
            # The database is away: the outcomes stay in memory and are written when it is back;
            # if this process dies first, their leases expire (`unknown`). While stopping, wait()
            # returns at once: sleep, so the retries keep their pace instead of spinning.
            if self.stop_event.is_set():
                time.sleep(self.settings.poll_seconds)
            else:
                self.stop_event.wait(self.settings.poll_seconds)
            return
        pipeline.recorded_at = time.monotonic()

    # --- the guarded steps ------------------------------------------------------------------------

    def _attempt(self, step: Step, *args):
        """Run one step unless it is backing off; on any exception log it, back off, return None."""
        now = time.monotonic()
        if now < step.next_at:
            return None
        try:
            result = step.run(*args)
        except Exception:
            if step.name not in self.failed_steps:
                self.failed_steps.append(step.name)
            delay = self._failed(step, now)
            log.exception("%s failed; next try in %.1f s", step.name.capitalize(), delay)
            return None
        step.failures, step.next_at = 0, now + step.every
        return result

    def _failed(self, step: Step, now: float) -> float:
        step.failures += 1
        # Never sooner than the step would run anyway;
        # never longer than the cap (or its own interval).
        base = max(step.every, self.settings.poll_seconds)
        delay = min(base * 2 ** (step.failures - 1), max(self.settings.max_backoff, step.every))
        step.next_at = now + delay
        return delay

    def _housekeeping(self) -> None:
        for step in self.housekeeping:
            self._attempt(step)

    def _expire_leases(self) -> None:
        with self.sessionmaker() as session:
            expired = outbox.expire_leases(session)
        if expired:
            log.warning(
                "%d message(s) were left mid-send by a stopped worker: now unknown", expired
            )

    def _release_scheduled(self) -> None:
        with self.sessionmaker() as session:
            released = schedule.release_due(
                session,
                limit_settings=self.settings.limits,
                quiet_settings=self.settings.quiet,
                alert_settings=self.settings.alerts,
                retries=self.release_retries,
            )
        if released:
            log.info("Released %d scheduled batch(es): %s", len(released), released)
            self.wake_event.set()

    def _deliver_sandbox(self) -> None:
        with self.sessionmaker() as session:
            outbox.deliver_sandbox(session, self.settings.sandbox_delivery_after)
            # SMS accounts' messages send through the sandbox too, under their own gateway's name.
            deliver_sandboxed(session, self.settings.sandbox_delivery_after)

    def _send_emails(self) -> None:
        assert self.settings.mail is not None
        with self.sessionmaker() as session:
            mailer.send_due(session, self.settings.mail)

    def _beat(self) -> None:
        with self.sessionmaker() as session:
            status.beat(session, self.name, self.started_at)

    def _reconcile(self) -> None:
        """Start a reconciliation run off the loop, unless the last one is still going.

        A lookup may take several pages of HTTP, each with its network timeout; in the loop that
        would stop claiming and recording, and let the leases of messages in flight run out."""
        if self.reconciler is None:  # outside run() (a test calling a step): in this thread
            self._reconcile_all()
            return
        last = self.reconciling
        if last is not None:
            if not last.done():
                return
            self.reconciling = None
            last.result()  # what the last run raised is logged here, and this step backs off
        self.reconciling = self.reconciler.submit(self._reconcile_all)

    def _reconcile_all(self) -> None:
        """Look up the default gateway's `unknown` messages, then each SMS account's at its own."""
        reconcile.reconcile(self.engine, self.provider, self.settings.reconcile)
        with self.sessionmaker() as session:
            gateways = self.accounts.with_unknown_messages(session)
        for gateway in gateways.values():
            if gateway.provider is not None:  # one that cannot send cannot look up either
                reconcile.reconcile(
                    self.engine,
                    gateway.provider,
                    self.settings.reconcile,
                    account_id=gateway.account_id,
                )

    def _claim(self, limit: int, finished: list[Outcome]) -> list[Claimed]:
        """Claim due messages and re-check them; what cannot be re-checked goes back to the
        queue."""
        started = time.perf_counter()
        claimed = self._attempt(self.claiming, limit) or []
        if not claimed:
            return []  # an idle worker logs nothing: one line a poll would drown the rest
        try:
            with self.sessionmaker() as session:
                self._follow_sender(session)
                routes = self._route(session, claimed)
                refused: dict[int, str] = {}
                for gateway, group in _by_gateway(claimed, routes, self.accounts.default):
                    if gateway.provider is None:
                        continue  # failed below, with the reason its account cannot send
                    blocked = gateway.blocked
                    if blocked is None:
                        blocked = blocked_regions(session, self.settings.provider_name)
                    refused.update(outbox.recheck(session, group, blocked))
                outbox.reject(session, refused)
                quiet = self._quiet(session, [m for m in claimed if m.id not in refused])
        except Exception:
            # Not sent unchecked, and not left leased to turn `unknown`: back to the queue, written
            # with the other outcomes (so a database outage keeps them until it is back).
            delay = self._failed(self.claiming, time.monotonic())
            log.exception(
                "Re-checking messages %s failed; back to the queue, next claim in %.1f s",
                ", ".join(message.uuid for message in claimed),
                delay,
            )
            finished += [(message, outbox.NOT_SENT) for message in claimed]
            return []
        unsendable = {mid for mid, gateway in routes.items() if gateway.provider is None}
        # Failed, loudly, rather than sent through another account under another sender ID.
        finished += [
            (message, Rejected("account", routes[message.id].problem, "failed"))
            for message in claimed
            if message.id in unsendable
        ]
        log.info(
            "Claimed %d message(s); %d refused by the send-time re-check, %d back in the queue "
            "for their recipients' quiet hours; took %.0f ms",
            len(claimed),
            len(refused) + len(unsendable),
            len(quiet),
            (time.perf_counter() - started) * 1000,
        )
        going = [
            m
            for m in claimed
            if m.id not in refused and m.id not in unsendable and m.id not in quiet
        ]
        self.routes.update({m.id: routes[m.id] for m in going if m.id in routes})
        return going

    def _follow_sender(self, session) -> None:
        """Send the claimed messages under the sender ID saved on the settings page now, so a
        change there applies from the next claim without a restart. Read with each claim that
        found work, not each message: the settings table, a few rows, which the claim's other
        settings (quiet hours) then read without a query of their own."""
        if self.built_sender is None:
            return
        wanted = sender_id(session, self.built_sender)
        # Never none at all: a setting removed behind the page's back keeps the last one.
        if wanted and wanted != self.provider.originator:  # type: ignore[attr-defined]
            log.info("Sending under the sender ID %s from now on", wanted)
            self.provider.originator = wanted  # type: ignore[attr-defined]

    def _quiet(self, session, claimed: list[Claimed]) -> dict[int, datetime]:
        """Those of `claimed` now inside their recipient's quiet hours, put back in the queue
        until those end: a batch still sending when they start, a worker back after an outage in
        the night, a retry whose back-off lands in it. Quiet hours off: one read of the setting.
        """
        planners = quiet_hours.planners(
            session, {m.sender_id for m in claimed}, self.settings.quiet
        )
        if planners is None or not claimed:
            return {}
        now = utcnow()
        waits = outbox.quiet_claimed(claimed, planners, now)
        outbox.hold_for_quiet(session, claimed, waits, now)
        return waits

    def _route(self, session, claimed: list[Claimed]) -> dict[int, Gateway]:
        """Each claimed message's SMS account's gateway, for those queued for an account."""
        account_of = dict(
            session.execute(
                sa.select(Message.id, Message.account_id).where(
                    Message.id.in_([message.id for message in claimed]),
                    Message.account_id.is_not(None),
                )
            ).all()
        )
        if not account_of:
            return {}
        gateways = self.accounts.resolve(session, account_of.values())
        return {message_id: gateways[account_id] for message_id, account_id in account_of.items()}

    def _lease(self, limit: int) -> timedelta:
        lease = self.settings.lease
        rates = [self.settings.rate_per_second]
        with self.sessionmaker() as session:
            rates.append(self.accounts.slowest_rate(session) or 0.0)
        rate = min((r for r in rates if r > 0), default=0.0)
        if rate > 0:
            # A claimed message may wait for its token (or its account's slot, which other
            # workers share too); its lease must outlast the wait.
            waiting = timedelta(seconds=2 * limit / rate)
            lease = max(lease, waiting + self.settings.lease)
        return lease

    def _send(self, message: Claimed, gateway: Gateway | None = None) -> SendResult:
        """Send one message through its gateway (its SMS account's; None: the default)."""
        provider = gateway.provider if gateway is not None and gateway.provider else self.provider
        try:
            if not self.bucket.acquire(self.stop_event):
                # Stopping before the call began: nothing left us, so it goes back to the queue as
                # if never claimed (the attempt is not counted).
                return outbox.NOT_SENT
            if gateway is not None and gateway.account_id and gateway.rate_per_second:
                # The account's rate holds across all workers: wait for a slot they all share.
                slot = reserve_slot(self.engine, gateway.account_id, gateway.rate_per_second)
                pause = (slot - utcnow()).total_seconds()
                if pause > 0 and self.stop_event.wait(pause):
                    return outbox.NOT_SENT
            if message.lease_until is not None and utcnow() >= message.lease_until:
                # It waited past its lease (a stalled process): it may be `unknown` by now
                # and queued again by reconciliation, so calling could send it twice.
                # Not sent, not counted.
                return outbox.NOT_SENT
            callback = None
            if self.settings.public_base_url:
                # An account's status callbacks come to its own URL, checked with its own token.
                account = f"{gateway.slug}/" if gateway is not None and gateway.slug else ""
                callback = (
                    f"{self.settings.public_base_url}/webhooks/twilio/{account}status"
                    f"?m={message.uuid}"
                )
            outbound = OutboundSms(message.reference, message.to_e164, message.body, callback)
        except Exception as exc:  # before the gateway call, so surely not sent: try again later
            log.exception("Preparing message %s failed; it will be tried again", message.uuid)
            return Transient("worker", f"Not sent: preparing it failed ({type(exc).__name__}).")
        started = time.perf_counter()
        try:
            result = provider.send(outbound)
        except (
            Exception
        ) as exc:  # a provider bug must not kill the loop or lose track of the message
            log.exception("Provider %s raised while sending %s", provider.name, message.uuid)
            result = _unexpected(exc)
        metrics.observe_send(provider.name, result, time.perf_counter() - started)
        if isinstance(result, (Rejected, Transient, Unknown)):
            # Ids and codes only: the number and the text are personal data and stay in the
            # database.
            log.warning(
                "Gateway error for message %s: provider %s, %s, code %s",
                message.uuid,
                provider.name,
                type(result).__name__.lower(),
                getattr(result, "code", None) or "none",
            )
        return result

    def _outcome(self, future: Future, message: Claimed) -> SendResult:
        try:
            return future.result()
        except Exception as exc:  # _send catches the gateway call; this is for anything around it
            log.exception("Sending %s raised", message.uuid)
            return _unexpected(exc)

    def _record_outcomes(self, finished: list[Outcome]) -> list[Outcome]:
        """Write outcomes; returns those to try again (the database was unavailable)."""
        try:
            self._record(finished)
            return []
        except Exception as exc:
            if _database_away(exc):
                log.exception("Could not record %d outcome(s); will retry", len(finished))
                return finished
            # One outcome the database refuses (an IntegrityError is a DBAPIError too) must not
            # hold the others back, or the whole group is retried, and refused, forever.
            log.exception(
                "Could not record %d outcome(s) together; recording them one by one", len(finished)
            )
        kept = []
        for message, result in finished:
            try:
                self._record([(message, result)])
            except Exception as exc:
                if _database_away(exc):
                    kept.append((message, result))
                elif not self._record_without_id(message, result):
                    # Left under lease, so it turns `unknown`: true, as we cannot say what happened.
                    log.exception(
                        "Could not record the outcome of message %s (%s)",
                        message.uuid,
                        type(result).__name__,
                    )
        return kept

    def _record_without_id(self, message: Claimed, result: SendResult) -> bool:
        """An acceptance whose gateway id the database refuses (another message holds it): it went,
        so `sent` without the id rather than `unknown`, which a Resend could send twice."""
        if not isinstance(result, Accepted) or result.provider_message_id is None:
            return False
        try:
            self._record([(message, Accepted(None))])
        except Exception:
            log.exception(
                "Could not record message %s as sent without its gateway id", message.uuid
            )
            return False
        log.warning(
            "Message %s was accepted by the gateway; its id could not be stored, so it is "
            "recorded as sent without one",
            message.uuid,
        )
        return True

    def _record(self, results: list[Outcome]) -> None:
        with self.sessionmaker() as session:
            opted_out = outbox.record(session, results)
            for message, rejection in opted_out:
                # The gateway says this number unsubscribed (e.g. Twilio 21610): honour it here too.
                # The outcomes are committed already; one number that cannot be updated is logged.
                try:
                    begin_write(session)
                    outbox.withdraw_consent(session, message, rejection.code)
                    session.commit()
                except Exception as exc:
                    if _database_away(exc):
                        raise
                    session.rollback()
                    log.exception(
                        "Could not withdraw SMS consent for message %s's number", message.uuid
                    )
        self.sent += len(results)


def supervise(dispatcher: Dispatcher, once: bool = False) -> int:
    """Run the dispatcher until it is stopped; returns messages handled.

    Should run() ever raise, or return while nobody stopped it, that is logged and it starts again
    after a pause (poll_seconds, doubling up to max_backoff): sending never ends silently. With
    `once` an error is raised instead, so a one-off run reports it.
    """
    handled, failures = 0, 0
    settings = dispatcher.settings
    while True:
        started = time.monotonic()
        try:
            handled += dispatcher.run(once=once)
        except Exception:
            if once:
                raise
            log.exception("The SMS dispatcher stopped with an error")
        else:
            if once or dispatcher.stop_event.is_set():
                return handled
            log.error("The SMS dispatcher returned without being stopped")
        if dispatcher.stop_event.is_set():
            return handled
        if time.monotonic() - started > settings.max_backoff:
            failures = 0  # it had been running fine: this is a new problem, not the same one again
        failures += 1
        delay = min(settings.poll_seconds * 2 ** (failures - 1), settings.max_backoff)
        log.error("Restarting the SMS dispatcher in %.1f s (restart %d)", delay, failures)
        dispatcher.stop_event.wait(delay)


def settings_from_config(config) -> DispatchSettings:
    try:
        accounts_key = key_material(config)
    except ValueError:  # no key: an account with secrets then fails with the reason
        accounts_key = ""
    return DispatchSettings(
        provider_name=config["SMS_PROVIDER"],
        concurrency=int(config.get("DISPATCH_CONCURRENCY") or 8),
        rate_per_second=float(config.get("DISPATCH_RATE_PER_SECOND") or 0.0),
        public_base_url=config.get("PUBLIC_BASE_URL", ""),
        mail=MailSettings.from_config(config),
        accounts_key=accounts_key,
        limits=LimitSettings.from_config(config),
        quiet=QuietSettings.from_config(config),
        alerts=AlertSettings.from_config(config),
    )


def _by_gateway(
    claimed: list[Claimed], routes: dict[int, Gateway], default: Gateway
) -> list[tuple[Gateway, list[Claimed]]]:
    """The claimed messages grouped by gateway, for the re-check."""
    groups: dict[int | None, tuple[Gateway, list[Claimed]]] = {}
    for message in claimed:
        gateway = routes.get(message.id, default)
        groups.setdefault(gateway.account_id, (gateway, []))[1].append(message)
    return list(groups.values())
