"""Sending per SMS account (SQLite and PostgreSQL, loopback gateways): each message goes through
its own account's gateway with that account's credentials and sender, the default account's
through the environment's; an account that cannot send fails its messages with the reason;
Resend and reconciliation keep to the account; the account's rate limit holds across workers."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.delivery import (
    SIGTERM,
    close_all,
    flask_worker,
    insert_candidates,
    make_due,
    messages,
    queue,
    references,
    wait_until,
    worker_env,
)
from tests.fakes import FakeSmsCentral, FakeTwilio
from webapp.models import Message, SmsAccount, SmsAccountBlocked, utcnow
from webapp.sms import batches
from webapp.sms.account_secrets import key_material, seal
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.reconcile import ReconcileSettings

PERTH_FROM = "PerthAgency"
KIWI_FROM = "+6421000111"


@pytest.fixture
def perth_gateway():
    """The Perth account's own SMS Central login."""
    with FakeSmsCentral(username="perth", password="perth-api-pw") as fake:
        yield fake


@pytest.fixture
def kiwi_gateway():
    """The New Zealand account's own Twilio project."""
    with FakeTwilio(account_sid="AC" + "7" * 32, auth_token="kiwi-token") as fake:
        yield fake


def add_account(session, material: str, name: str, provider: str, secrets: dict, **fields):
    account = SmsAccount(
        name=name,
        slug=name.lower().replace(" ", "-"),
        provider=provider,
        secrets=seal(material, secrets),
        **fields,
    )
    session.add(account)
    session.commit()
    return account


@pytest.fixture
def material(app) -> str:
    return key_material(app.config)


@pytest.fixture
def perth(session, material, perth_gateway) -> SmsAccount:
    return add_account(
        session,
        material,
        "Perth SMS",
        "smscentral",
        {"password": perth_gateway.password, "webhook_password": "perth-hook"},
        api_url=perth_gateway.api_url,
        username=perth_gateway.username,
        originator=PERTH_FROM,
    )


@pytest.fixture
def kiwi(session, material, kiwi_gateway) -> SmsAccount:
    return add_account(
        session,
        material,
        "NZ SMS",
        "twilio",
        {"auth_token": kiwi_gateway.auth_token},
        api_url=kiwi_gateway.api_base,
        account_sid=kiwi_gateway.account_sid,
        from_number=KIWI_FROM,
    )


def route(session, message: Message, account: SmsAccount | None) -> None:
    """Queue `message` for `account`, as routing at queue time does (None: the default)."""
    values = {"account_id": account.id if account else None}
    if account is not None:
        values["provider"] = account.provider
    session.execute(sa.update(Message).where(Message.id == message.id).values(**values))
    session.commit()


def dispatch(app, material, provider, **overrides) -> int:
    """One pass of a dispatcher whose default gateway is `provider`, able to read accounts."""
    return delivery.run_once(app, provider, accounts_key=material, **overrides)


def test_each_message_goes_through_its_accounts_gateway_with_its_credentials_and_sender(
    app,
    session,
    sender,
    make_candidate,
    material,
    sms_central,
    sms_central_provider,
    perth,
    perth_gateway,
    kiwi,
    kiwi_gateway,
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    bob = make_candidate("Bob", "Brown", "+64 21 555 0101")
    cy = make_candidate("Cy", "Young", "0412 777 888")
    batch = queue(session, sender, [ada, bob, cy], provider="smscentral")
    to_ada, to_bob, to_cy = messages(session, batch)
    route(session, to_ada, perth)
    route(session, to_bob, kiwi)

    assert dispatch(app, material, sms_central_provider) == 3

    assert [m.state for m in messages(session, batch)] == ["sent", "sent", "sent"]
    [perth_send] = perth_gateway.sends
    assert perth_send.form["REFERENCE"] == to_ada.uuid
    assert perth_send.form["USERNAME"] == "perth"
    assert perth_send.form["PASSWORD"] == "perth-api-pw"
    assert perth_send.form["ORIGINATOR"] == PERTH_FROM
    [kiwi_send] = kiwi_gateway.creates
    assert kiwi_send.form["To"] == "+64215550101"
    assert kiwi_send.form["From"] == KIWI_FROM
    assert kiwi_gateway.account_sid in kiwi_send.path
    # Its status callbacks come to the account's own URL, checked with the account's token.
    assert kiwi_send.form["StatusCallback"] == (
        f"{delivery.PUBLIC_BASE_URL}/webhooks/twilio/nz-sms/status?m={to_bob.uuid}"
    )
    [default_send] = sms_central.sends
    assert default_send.form["REFERENCE"] == to_cy.uuid
    assert default_send.form["USERNAME"] == sms_central.username
    assert default_send.form["ORIGINATOR"] == delivery.ORIGINATOR


def test_an_account_whose_secrets_cannot_be_read_fails_its_messages_with_the_reason(
    app, session, sender, make_candidate, material, sms_central, sms_central_provider, perth
):
    # Sealed under another ACCOUNTS_KEY: what a changed SECRET_KEY leaves behind.
    perth.secrets = seal("an-older-key", {"password": "perth-api-pw"})
    session.commit()
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    cy = make_candidate("Cy", "Young", "0412 777 888")
    batch = queue(session, sender, [ada, cy], provider="smscentral")
    to_ada, to_cy = messages(session, batch)
    route(session, to_ada, perth)

    assert dispatch(app, material, sms_central_provider) == 2

    to_ada, to_cy = messages(session, batch)
    assert to_ada.state == "failed"
    assert "Perth SMS" in to_ada.error_text
    assert "cannot be read" in to_ada.error_text
    assert to_cy.state == "sent"
    # Never sent through another account under another sender ID instead.
    assert [r.form["REFERENCE"] for r in sms_central.sends] == [to_cy.uuid]


def test_a_switched_off_account_fails_its_messages_rather_than_sending_them_elsewhere(
    app, session, sender, ada, material, sms_central, sms_central_provider, perth, perth_gateway
):
    batch = queue(session, sender, [ada], provider="smscentral")
    [message] = messages(session, batch)
    route(session, message, perth)
    perth.active = False
    session.commit()

    dispatch(app, material, sms_central_provider)

    [message] = messages(session, batch)
    assert message.state == "failed"
    assert message.error_text == "Not sent: the SMS account Perth SMS is switched off."
    assert not sms_central.sends and not perth_gateway.sends


def test_a_resent_message_goes_through_the_same_account(
    app, session, sender, ada, material, sms_central, sms_central_provider, perth, perth_gateway
):
    perth_gateway.blacklist.add("61412345678")
    batch = queue(session, sender, [ada], provider="smscentral")
    [message] = messages(session, batch)
    route(session, message, perth)
    dispatch(app, material, sms_central_provider)
    assert messages(session, batch)[0].state == "failed"
    perth_gateway.blacklist.clear()

    batches.resend(session, session.get(type(batch), batch.id), sender, ("failed",))
    dispatch(app, material, sms_central_provider)

    original, copy = messages(session, batch)
    assert (copy.resend_of_id, copy.account_id, copy.state) == (original.id, perth.id, "sent")
    assert [r.form["REFERENCE"] for r in perth_gateway.sends] == [original.uuid, copy.uuid]
    assert not sms_central.sends


def test_the_send_time_recheck_uses_the_accounts_own_blocked_countries(
    app, session, sender, make_candidate, material, sms_central, sms_central_provider, perth
):
    perth.blocked.append(SmsAccountBlocked(region="NZ"))
    session.commit()
    bob = make_candidate("Bob", "Brown", "+64 21 555 0101")
    ann = make_candidate("Ann", "Other", "+64 21 555 0202")
    batch = queue(session, sender, [bob, ann], provider="smscentral")
    to_bob, to_ann = messages(session, batch)
    route(session, to_bob, perth)

    dispatch(app, material, sms_central_provider)

    to_bob, to_ann = messages(session, batch)
    assert (to_bob.state, to_ann.state) == ("rejected", "sent")
    assert "(NZ)" in to_bob.error_text


def test_a_changed_account_is_sent_through_as_it_is_now(
    app, session, sender, make_candidate, material, sms_central_provider, perth, perth_gateway
):
    dispatcher = delivery.dispatcher(app, sms_central_provider, accounts_key=material)
    first = queue(session, sender, [make_candidate("Ada", "A", "0412 345 678")], provider="x")
    route(session, messages(session, first)[0], perth)
    dispatcher.run(once=True)
    perth.originator = "PerthNew"
    session.commit()
    second = queue(session, sender, [make_candidate("Bo", "B", "0412 345 679")], provider="x")
    route(session, messages(session, second)[0], perth)

    dispatcher.run(once=True)

    assert [r.form["ORIGINATOR"] for r in perth_gateway.sends] == [PERTH_FROM, "PerthNew"]


def test_with_the_sandbox_gateway_every_account_sends_through_the_sandbox(
    app, session, sender, ada, material, perth, perth_gateway
):
    batch = queue(session, sender, [ada], provider="sandbox")
    [message] = messages(session, batch)
    route(session, message, perth)

    dispatcher = delivery.dispatcher(
        app, Sandbox(), accounts_key=material, sandbox_delivery_after=timedelta(0)
    )
    dispatcher.run(once=True)

    dispatcher._deliver_sandbox()  # the sandbox "delivers" it, as it does the default's

    [message] = messages(session, batch)
    assert message.provider_message_id == f"sandbox-{message.uuid}"
    assert message.state == "delivered"
    assert not perth_gateway.requests


def test_an_accounts_unknown_message_is_looked_up_at_that_accounts_gateway(
    app, session, sender, ada, material, sms_central, sms_central_provider, perth, perth_gateway
):
    batch = queue(session, sender, [ada], provider="smscentral")
    [message] = messages(session, batch)
    route(session, message, perth)
    session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(state="unknown", attempts=1, updated_at=utcnow() - timedelta(minutes=5))
    )
    session.commit()

    dispatch(app, material, sms_central_provider, reconcile=ReconcileSettings(every=0.0))

    # Perth's gateway never had it: asked there (not at the default's), queued again, sent there.
    assert [r.form["REFERENCE"] for r in perth_gateway.status_checks] == [message.uuid]
    assert [r.form["REFERENCE"] for r in perth_gateway.sends] == [message.uuid]
    assert not sms_central.requests
    assert messages(session, batch)[0].state == "sent"


def test_an_accounts_rate_limit_spaces_its_sends(
    app, session, sender, material, sms_central_provider, perth, perth_gateway
):
    perth.rate_per_second = 5.0
    session.commit()
    batch = queue(session, sender, insert_candidates(session, 8), provider="smscentral")
    session.execute(
        sa.update(Message).where(Message.batch_id == batch.id).values(account_id=perth.id)
    )
    session.commit()

    started = time.monotonic()
    dispatch(app, material, sms_central_provider, concurrency=8)

    assert [m.state for m in messages(session, batch)] == ["sent"] * 8
    # 8 sends at 5 a second: the k-th send's slot is 0.2 × k s after the first's, which is no
    # earlier than the dispatch began, and each send waits for its slot; eight unlimited sends
    # take ~0.05 s in all. The times are when the fake gateway got each request: on a busy machine
    # a send can arrive late (once nearly a slot late, 4 ms before the next), never early.
    times = sorted(r.received_at - started for r in perth_gateway.sends)
    assert all(at >= 0.2 * k - 0.01 for k, at in enumerate(times)), times
    session.refresh(perth)
    assert perth.next_send_at is not None


@pytest.fixture
def postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("two worker processes share an account's sending slot on PostgreSQL")
    return database_url


def test_two_worker_processes_keep_to_an_accounts_rate_together(
    postgres_only, session, sender, tmp_path
):
    rate, count, key = 5.0, 20, "rate-test-accounts-key"
    with FakeSmsCentral() as default, FakeSmsCentral(username="perth", password="pw") as gateway:
        perth = add_account(
            session,
            key,
            "Perth SMS",
            "smscentral",
            {"password": "pw"},
            api_url=gateway.api_url,
            username="perth",
            originator=PERTH_FROM,
            rate_per_second=rate,
        )
        batch = queue(session, sender, insert_candidates(session, count), provider="smscentral")
        # Held back until both workers are up, so both claim a share.
        later = utcnow() + timedelta(hours=1)
        session.execute(
            sa.update(Message)
            .where(Message.batch_id == batch.id)
            .values(account_id=perth.id, next_attempt_at=later)
        )
        session.commit()
        session.close()
        env = worker_env(postgres_only, default, DISPATCH_CONCURRENCY="4", ACCOUNTS_KEY=key)
        processes = []
        try:
            processes = [flask_worker(env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
            wait_until(
                lambda: all("SMS worker:" in p.output() for p in processes), 30, "the workers"
            )
            make_due(session)
            session.close()

            def finished() -> bool:
                for process in processes:
                    assert process.popen.poll() is None, f"a worker died:\n{process.output()}"
                return len(gateway.sends) == count

            wait_until(finished, 60, f"all {count} messages to reach the account's gateway")
            for process in processes:
                process.signal(SIGTERM)
            assert [process.wait(30) for process in processes] == [0, 0]
            outputs = [process.output() for process in processes]
        finally:
            close_all(processes)

    assert all(n == 1 for n in references(gateway).values())
    assert not default.sends
    times = sorted(r.received_at for r in gateway.sends)
    window = int(rate) + 1  # the rate, plus one burst slot at the start of a window
    crowded = [
        round(times[i + window] - times[i], 3)
        for i in range(len(times) - window)
        if times[i + window] - times[i] < 1.0 - 0.05
    ]
    assert not crowded, f"more than {window} sends within a second: {crowded}"
    assert all("handling 0 message" not in output for output in outputs), outputs
