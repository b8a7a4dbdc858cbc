"""Helpers for the delivery tests (dispatcher, worker processes, webhooks, batch page): queue
messages through the real Send path, build dispatchers and providers against the loopback fakes,
run a dispatcher in a thread and workers in processes, and read small pieces of HTML."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import requests
import sqlalchemy as sa

from tests.fakes import FakeSmsCentral, FakeTwilio, timeout
from webapp.models import Batch, Candidate, Message, User, utcnow
from webapp.models.people import person_values
from webapp.phones import normalise
from webapp.sms import batches, compose, settings
from webapp.sms.compose import SendRequest
from webapp.sms.dispatcher import Dispatcher, DispatchSettings
from webapp.sms.providers.smscentral import SmsCentral
from webapp.sms.providers.twilio import Twilio
from webapp.sms.reconcile import ReconcileSettings

ROOT = Path(__file__).resolve().parent.parent
ORIGINATOR = "SMSDesk"
PUBLIC_BASE_URL = "https://desk.example.com"
TWILIO_FROM = "+61400000001"


# --- queueing messages through the real Send path ------------------------------------------------


def send_request(body: str = "Hi {{first_name}}, new roles this week.", **fields) -> SendRequest:
    return SendRequest(body=body, **fields)


def queue(
    session,
    sender: User,
    people: Sequence,
    *,
    provider: str,
    kind: str = "candidates",
    body: str = "Hi {{first_name}}, new roles this week.",
    **fields,
) -> Batch:
    """Draft and Send, as the SMS screen does: one Batch with one queued Message per recipient."""
    ids = [p if isinstance(p, int) else p.id for p in people]
    draft = compose.create_draft(session, sender, kind, ids)
    return compose.send(
        session,
        draft,
        sender,
        send_request(body, **fields),
        provider=provider,
        blocked=settings.blocked_regions(session, provider),
    )


def insert_candidates(session, count: int, *, first: int = 0) -> list[int]:
    """Bulk-insert `count` consenting candidates with distinct valid AU mobiles; their ids."""
    values = [
        person_values(
            first_name=f"Cand{first + i}",
            last_name="Bulk",
            email=None,
            mobile=normalise(f"04100{first + i:05d}", "AU"),
            sms_consent=True,
        )
        for i in range(count)
    ]
    session.execute(sa.insert(Candidate), values)
    session.commit()
    return list(
        session.scalars(
            sa.select(Candidate.id).where(Candidate.last_name == "Bulk").order_by(Candidate.id)
        )
    )[-count:]


def queue_under_ignore(
    session, sender: User, make_candidate, *, olive_mobile: str, provider: str
) -> tuple[Batch, Candidate, Candidate]:
    """Ada, who consents, and Olive, opted out and let through by Ignore, queued in one batch:
    the batch, Ada and Olive."""
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    olive = make_candidate("Olive", "Out", olive_mobile, sms_consent=False)
    batch = queue(
        session,
        sender,
        [ada, olive],
        provider=provider,
        ignore=True,
        ignore_reason="Site closed today",
    )
    return batch, ada, olive


def unknown_batch(session, sender: User, people: Sequence, provider: str, ago: timedelta) -> Batch:
    """A batch queued to `people` whose messages went `unknown` on their first attempt `ago`."""
    batch = queue(session, sender, people, provider=provider)
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == batch.id)
        .values(state="unknown", attempts=1, updated_at=utcnow() - ago)
    )
    session.commit()
    return batch


def no_longer_checked(session, batch: Batch) -> None:
    """Make the batch's unknown messages older than the batch page's checking window."""
    long_ago = utcnow() - batches.checking_window(ReconcileSettings()) - timedelta(minutes=1)
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == batch.id, Message.state == "unknown")
        .values(updated_at=long_ago)
    )
    session.commit()


def queue_to_new_candidates(session, sender: User, count: int, *, provider: str) -> Batch:
    """One batch queued to `count` new candidates (see insert_candidates)."""
    return queue(session, sender, insert_candidates(session, count), provider=provider)


def messages(session, batch: Batch | int | None = None) -> list[Message]:
    """The batch's (or all) messages as committed now, in id order."""
    session.rollback()  # end any read transaction, so we see what other connections committed
    session.expire_all()  # and forget what this session loaded before
    query = sa.select(Message).order_by(Message.id)
    if batch is not None:
        query = query.where(Message.batch_id == (batch if isinstance(batch, int) else batch.id))
    return list(session.scalars(query))


def states(session, batch: Batch | int | None = None) -> Counter:
    """Messages per state, counted by the database (cheap enough to poll)."""
    session.rollback()
    query = sa.select(Message.state, sa.func.count()).group_by(Message.state)
    if batch is not None:
        query = query.where(Message.batch_id == (batch if isinstance(batch, int) else batch.id))
    counts = Counter(dict(session.execute(query).all()))
    session.rollback()  # hold no read snapshot (SQLite) between polls
    return counts


def make_due(session) -> None:
    """Bring every queued message's next attempt forward to now (instead of waiting the backoff)."""
    session.execute(
        sa.update(Message)
        .where(Message.state == "queued")
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    session.commit()


# --- providers and dispatchers -------------------------------------------------------------------


def smscentral(fake: FakeSmsCentral, *, read_timeout: float = 10.0) -> SmsCentral:
    return SmsCentral(
        fake.api_url, fake.username, fake.password, ORIGINATOR, timeout=(2.0, read_timeout)
    )


def twilio(fake: FakeTwilio, *, read_timeout: float = 10.0) -> Twilio:
    return Twilio(
        fake.api_base,
        fake.account_sid,
        fake.auth_token,
        from_number=TWILIO_FROM,
        timeout=(2.0, read_timeout),
    )


def dispatcher(app, provider, **overrides) -> Dispatcher:
    values = dict(
        provider_name=provider.name,
        concurrency=4,
        poll_seconds=0.05,
        public_base_url=PUBLIC_BASE_URL,
    )
    values.update(overrides)
    return Dispatcher(app.extensions["database"].engine, provider, DispatchSettings(**values))


def run_once(app, provider, **overrides) -> int:
    """One pass of a dispatcher: the number of messages it handled."""
    return dispatcher(app, provider, **overrides).run(once=True)


class Running:
    """A dispatcher's run() in a thread, stopped and joined on exit; `handled` is what it returned,
    `error` what it raised."""

    def __init__(self, dispatcher: Dispatcher):
        self.dispatcher = dispatcher
        self.handled: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.handled = self.dispatcher.run()
        except BaseException as error:  # reported by the test, not lost in a thread
            self.error = error

    def alive(self) -> bool:
        return self.thread.is_alive()

    def ended_cleanly(self) -> bool:
        return self.error is None and not self.alive()

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.dispatcher.stop()
        self.thread.join(10)


def unknown_after_a_late_answer(
    app, session, sender: User, person, fake: FakeSmsCentral | FakeTwilio
) -> tuple[Batch, Message]:
    """Send one message whose gateway takes it but answers after our read timeout: `unknown`."""
    if isinstance(fake, FakeSmsCentral):
        provider_name, make_provider = "smscentral", smscentral
    else:
        provider_name, make_provider = "twilio", twilio
    fake.inject(timeout(3.0))
    batch = queue(session, sender, [person], provider=provider_name)
    impatient = make_provider(fake, read_timeout=0.3)
    try:
        dispatcher(app, impatient).run(once=True)
    finally:
        impatient.close()
    [message] = messages(session, batch)
    assert message.state == "unknown"
    return batch, message


def references(fake: FakeSmsCentral) -> Counter:
    """How many send requests the fake SMS Central received per REFERENCE (not status checks)."""
    return Counter(r.form.get("REFERENCE") for r in fake.sends)


def answers(url: str) -> bool:
    """Whether a server started in a process of its own answers `url` with 200 yet."""
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, every: float = 0.02
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


# --- worker processes ----------------------------------------------------------------------------


def worker_env(database_url: str, fake: FakeSmsCentral, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "SMS", "DISPATCH_", "TWILIO_", "DATABASE_URL", "EMBEDDED_"))
    }
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="x",
        SMS_PROVIDER="smscentral",
        SMSCENTRAL_API_URL=fake.api_url,
        SMSCENTRAL_USERNAME=fake.username,
        SMSCENTRAL_PASSWORD=fake.password,
        SMSCENTRAL_ORIGINATOR=ORIGINATOR,
        DISPATCH_CONCURRENCY="8",
        PYTHONUNBUFFERED="1",
        # The web processes some tests start sign the demo's team leader in with a password alone.
        TWO_FACTOR_ROLES="none",
    )
    env.update(extra)
    return env


class Process:
    """A child process whose output goes to a file; always ended and reaped (see `close`)."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path):
        self.log = log
        self._out = open(log, "wb")
        self.popen = subprocess.Popen(
            list(args), cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"Process {self.pid} did not end within {timeout:g} s; its output:\n{self.output()}"
            ) from None

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        try:
            self.popen.wait(10)
        finally:
            self._out.close()


def flask_worker(env: dict[str, str], log: Path, *args: str) -> Process:
    return Process(
        [sys.executable, "-m", "flask", "--app", "wsgi", "sms", "worker", *args], env, log
    )


def script_worker(
    env: dict[str, str], log: Path, *, lease_seconds: float, concurrency: int = 4
) -> Process:
    """tests/worker_child.py: the app's dispatcher with a short lease, in a process of its own."""
    return Process(
        [
            sys.executable,
            "-m",
            "tests.worker_child",
            "--lease",
            str(lease_seconds),
            "--concurrency",
            str(concurrency),
        ],
        env,
        log,
    )


def close_all(processes: Iterable[Process]) -> None:
    for process in processes:
        process.close()


SIGKILL = signal.SIGKILL
SIGTERM = signal.SIGTERM


# --- HTML ----------------------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str, tag: str | None = None, **attrs: str) -> list[dict[str, str | None]]:
    """Attributes of each element with this tag and these attribute values (`role_`→`role`...)."""
    parser = _Elements()
    parser.feed(html)
    wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
    return [
        found
        for name, found in parser.found
        if (tag is None or name == tag) and all(found.get(k) == v for k, v in wanted.items())
    ]


def element(html: str, tag: str | None = None, **attrs: str) -> dict[str, str | None]:
    matches = elements(html, tag, **attrs)
    assert len(matches) == 1, f"expected one <{tag or '*'} {attrs}>, found {len(matches)}"
    return matches[0]
