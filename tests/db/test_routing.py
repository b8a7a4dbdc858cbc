"""Routing at queue time (webapp.sms.routing) on every database: a destination's country account
beats the sender's office's account, which beats the default; each message is checked against its
own account's blocked list, keeps its account when queued and resent, and an install without
accounts queues exactly as before."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.delivery import send_request
from webapp import form_tokens
from webapp.errors import FieldError
from webapp.models import (
    Message,
    Office,
    SmsAccount,
    SmsAccountBlocked,
    SmsAccountCountry,
)
from webapp.sms import batches, compose, quick_reply, recipients, routing, settings
from webapp.sms.account_secrets import key_material, seal

AU, NZ, IRAN, UK = "0412 345 678", "+64 21 123 4567", "+98 912 345 6789", "+44 7400 123456"


def add_office(session, name: str) -> Office:
    row = Office(name=name)
    session.add(row)
    session.commit()
    return row


def add_account(
    app,
    session,
    name: str,
    *,
    provider: str = "smscentral",
    originator: str | None = None,
    from_number: str | None = None,
    offices: tuple[Office, ...] = (),
    countries: tuple[str, ...] = (),
    blocked: tuple[str, ...] = (),
    active: bool = True,
) -> SmsAccount:
    """An SMS account row as the admin pages would leave it (secrets sealed)."""
    secret = {"auth_token": "t0ken"} if provider == "twilio" else {"password": "pw"}
    row = SmsAccount(
        name=name,
        slug=name.lower().replace(" ", "-"),
        provider=provider,
        originator=originator,
        from_number=from_number,
        secrets=seal(key_material(app.config), secret),
        active=active,
        offices=list(offices),
        countries=[SmsAccountCountry(region=code) for code in countries],
        blocked=[SmsAccountBlocked(region=code) for code in blocked],
    )
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def office(session):
    return lambda name: add_office(session, name)


@pytest.fixture
def account(app, session):
    return lambda name, **fields: add_account(app, session, name, **fields)


def book(app, session) -> routing.AccountBook:
    return routing.load(session, app.config)


def send(app, session, sender, people, body: str = "Hi {{first_name}}"):
    """Draft and Send as the SMS screen does, routed for the sender's office."""
    draft = compose.create_draft(session, sender, "candidates", [p.id for p in people])
    return compose.send(
        session,
        draft,
        sender,
        send_request(body),
        provider="sandbox",
        blocked=book(app, session).routes(sender.office_id),
    )


def queued(session, batch) -> dict[str, tuple[int | None, str]]:
    """Each queued message's (account id, provider) by number."""
    session.expire_all()
    return {
        m.to_e164: (m.account_id, m.provider)
        for m in session.scalars(sa.select(Message).where(Message.batch_id == batch.id))
    }


def outcomes(app, session, sender, people) -> list[str]:
    routes = book(app, session).routes(sender.office_id)
    return [o.outcome for o in recipients.analyse(people, routes).outcomes]


# --- choosing the account ------------------------------------------------------------------------


def test_country_beats_office_beats_default(app, session, office, account, make_user):
    perth, sydney = office("Perth"), office("Sydney")
    perth_sms = account("Perth SMS", originator="PerthAgency", offices=(perth,))
    nz_sms = account("NZ SMS", originator="KiwiAgency", offices=(perth,), countries=("NZ",))
    accounts = book(app, session)

    assert accounts.choose("NZ", perth.id).id == nz_sms.id  # the country's account, over the office
    assert accounts.choose("NZ", None).id == nz_sms.id
    assert accounts.choose("AU", sydney.id).default  # Sydney has no account of its own
    assert accounts.choose("AU", None).default
    # Perth is served by both: the first by name ("NZ SMS" < "Perth SMS").
    assert accounts.choose("AU", perth.id).id == nz_sms.id
    nz_sms.offices = []
    session.commit()
    assert book(app, session).choose("AU", perth.id).id == perth_sms.id


def test_the_first_by_name_ignores_case_as_the_accounts_list_does(app, session, office, account):
    # By the name's bytes (SQLite's order), "Zeta SMS" came before "perth backup", which the
    # list of accounts shows first.
    perth = office("Perth")
    account("Zeta SMS", originator="ZetaSMS", offices=(perth,))
    backup = account("perth backup", originator="PerthBack", offices=(perth,))

    assert book(app, session).choose("AU", perth.id).id == backup.id


def test_an_inactive_account_serves_nobody(app, session, office, account):
    perth = office("Perth")
    account("NZ SMS", countries=("NZ",), offices=(perth,), active=False)
    accounts = book(app, session)

    assert not accounts.has_accounts
    assert accounts.choose("NZ", perth.id).default


def test_the_default_account_is_the_environments_gateway_with_its_sender(app, session, account):
    account("NZ SMS", originator="KiwiAgency", countries=("NZ",))
    accounts = book(app, session)

    assert accounts.default.provider == app.config["SMS_PROVIDER"]
    assert accounts.default.blocked == settings.blocked_regions(session, app.config["SMS_PROVIDER"])
    assert accounts.choose("NZ", None).label == "NZ SMS (KiwiAgency)"
    assert accounts.default.label.startswith("Default account")


# --- each message checked against its own account's blocked list ---------------------------------


def test_a_country_the_default_blocks_is_allowed_through_an_account_that_serves_it(
    app, session, account, make_user, make_candidate
):
    sender = make_user()
    iran = make_candidate("Ira", "Nia", IRAN)
    assert outcomes(app, session, sender, [iran]) == [recipients.BLOCKED_COUNTRY]

    global_sms = account("Global SMS", originator="Global", countries=("IR",))

    assert outcomes(app, session, sender, [iran]) == [recipients.OK]
    assert queued(session, send(app, session, sender, [iran])) == {
        "+989123456789": (global_sms.id, "smscentral")
    }


def test_a_country_an_office_account_blocks_is_refused_with_the_accounts_name(
    app, session, office, account, make_user, make_candidate
):
    perth = office("Perth")
    account("Perth SMS", originator="PerthAgency", offices=(perth,), blocked=("GB",))
    in_perth, elsewhere = make_user(office_id=perth.id), make_user()
    brit = make_candidate("Brit", "Ish", UK)

    assert outcomes(app, session, elsewhere, [brit]) == [recipients.OK]
    assert outcomes(app, session, in_perth, [brit]) == [recipients.BLOCKED_COUNTRY]
    routes = book(app, session).routes(perth.id)
    assert "GB" in routes
    assert (
        routes.refusal("GB") == "Sent through Perth SMS, which does not deliver to United Kingdom"
    )
    assert routes.refusal("AU") is None
    with pytest.raises(FieldError):
        send(app, session, in_perth, [brit])


# --- the account stored on each message -----------------------------------------------------------


def test_each_message_is_queued_for_its_own_account(
    app, session, office, account, make_user, make_candidate
):
    perth = office("Perth")
    perth_sms = account("Perth SMS", originator="PerthAgency", offices=(perth,))
    nz_sms = account("NZ SMS", provider="twilio", from_number="+6421000000", countries=("NZ",))
    sender = make_user(office_id=perth.id)
    people = [make_candidate("Ada", "Au", AU), make_candidate("Kiri", "Nz", NZ)]

    batch = send(app, session, sender, people)

    assert queued(session, batch) == {
        "+61412345678": (perth_sms.id, "smscentral"),
        "+64211234567": (nz_sms.id, "twilio"),
    }
    routes = book(app, session).routes(perth.id)
    assert [(a.label, n) for a, n in routes.usage(["AU", "AU", "NZ"])] == [
        ("Perth SMS (PerthAgency)", 2),
        ("NZ SMS (+6421000000)", 1),
    ]


def test_resend_keeps_the_original_account_and_provider(
    app, session, account, make_user, make_candidate
):
    nz_sms = account("NZ SMS", provider="twilio", from_number="+6421000000", countries=("NZ",))
    sender = make_user(role="team-leader")
    batch = send(app, session, sender, [make_candidate("Kiri", "Nz", NZ)])
    session.execute(sa.update(Message).where(Message.batch_id == batch.id).values(state="failed"))
    session.commit()

    resent = batches.resend(session, batch, sender, ("failed",))

    assert resent.queued == 1
    session.expire_all()
    copy = session.scalar(sa.select(Message).where(Message.resend_of_id.is_not(None)))
    assert (copy.account_id, copy.provider, copy.state) == (nz_sms.id, "twilio", "queued")


def test_a_quick_reply_is_routed_like_a_send(
    app, session, office, account, make_user, make_candidate
):
    perth = office("Perth")
    perth_sms = account("Perth SMS", originator="PerthAgency", offices=(perth,))
    sender = make_user(office_id=perth.id)
    ada = make_candidate("Ada", "Au", AU)

    sent = quick_reply.send(
        session,
        sender,
        "candidates",
        ada.id,
        quick_reply.ReplyRequest(token=form_tokens.new(), body="Hi", ignore_reason=""),
        provider="sandbox",
        blocked=book(app, session).routes(sender.office_id),
    )

    assert queued(session, sent.batch) == {"+61412345678": (perth_sms.id, "smscentral")}


def test_a_quick_reply_refused_by_an_account_says_which(
    app, session, office, account, make_user, make_candidate
):
    perth = office("Perth")
    account("Perth SMS", offices=(perth,), blocked=("GB",))
    sender = make_user(office_id=perth.id)
    brit = make_candidate("Brit", "Ish", UK)

    with pytest.raises(FieldError) as refused:
        quick_reply.send(
            session,
            sender,
            "candidates",
            brit.id,
            quick_reply.ReplyRequest(token=form_tokens.new(), body="Hi", ignore_reason=""),
            provider="sandbox",
            blocked=book(app, session).routes(sender.office_id),
        )
    assert refused.value.message == (
        "Brit Ish cannot be sent an SMS: sent through Perth SMS, which does not deliver to "
        "United Kingdom."
    )


# --- no accounts: as before ----------------------------------------------------------------------


def test_without_accounts_everything_goes_through_the_default_as_before(
    app, session, make_user, make_candidate
):
    sender = make_user()
    people = [make_candidate("Ada", "Au", AU), make_candidate("Ira", "Nia", IRAN)]
    accounts = book(app, session)
    plain = settings.blocked_regions(session, "sandbox")

    assert not accounts.has_accounts
    assert outcomes(app, session, sender, people) == [
        o.outcome for o in recipients.analyse(people, plain).outcomes
    ]
    assert outcomes(app, session, sender, people) == [recipients.OK, recipients.BLOCKED_COUNTRY]
    assert queued(session, send(app, session, sender, people)) == {
        "+61412345678": (None, "sandbox")
    }
