"""SMS accounts on every database (webapp.sms.accounts): secrets sealed so the row reveals nothing
and another key reads nothing, the slug and its stability, one account per destination country,
SMS Central's blocked list copied at creation, and audits that name secrets but never hold them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from webapp.errors import FieldError
from webapp.models import AuditEvent, BlockedRegion, Office, SmsAccount
from webapp.sms import account_secrets, accounts
from webapp.sms.settings import check_originator

PASSWORD = "pw-Zq81-unguessable-api"
HOOK_PASSWORD = "pw-hook-77Kx-unguessable"
TOKEN = "0123456789abcdef0123456789abcdef"
SID = "AC" + "1" * 32


@pytest.fixture
def material(app) -> str:
    return account_secrets.key_material(app.config)


def central(name: str = "Perth SMS", **fields) -> accounts.AccountDetails:
    values = {
        "name": name,
        "provider": "smscentral",
        "username": "perth-agency",
        "originator": "PerthJobs",
        "webhook_username": "perth-hook",
        "secrets": {"password": PASSWORD, "webhook_password": HOOK_PASSWORD},
    }
    values.update(fields)
    return accounts.AccountDetails(**values)


def twilio(name: str = "NZ SMS", **fields) -> accounts.AccountDetails:
    values = {
        "name": name,
        "provider": "twilio",
        "account_sid": SID,
        "from_number": "+64211234567",
        "secrets": {"auth_token": TOKEN},
    }
    values.update(fields)
    return accounts.AccountDetails(**values)


def add(session, material, details, actor=None) -> SmsAccount:
    return accounts.add_account(
        session, actor, details, material, default_api_url="https://api.example.com/v3.2"
    )


def test_secrets_are_unreadable_in_the_database_and_under_another_key(session, material):
    account = add(session, material, central())

    row = session.execute(
        sa.text("SELECT * FROM sms_accounts WHERE id = :id"), {"id": account.id}
    ).one()
    stored = " ".join(str(value) for value in row)
    assert PASSWORD not in stored
    assert HOOK_PASSWORD not in stored
    assert row._mapping["secrets"]  # sealed, not absent
    # Another ACCOUNTS_KEY reads nothing; the right one reads what was typed.
    with pytest.raises(account_secrets.SecretsUnreadable):
        accounts.credentials(account, "another-accounts-key")
    assert accounts.credentials(account, material) == {
        "api_url": "https://api.example.com/v3.2",
        "username": "perth-agency",
        "originator": "PerthJobs",
        "webhook_username": "perth-hook",
        "password": PASSWORD,
        "webhook_password": HOOK_PASSWORD,
    }


def test_the_audit_names_the_secrets_set_or_changed_but_never_holds_them(
    session, material, make_user
):
    admin = make_user(role="administrator")
    account = add(session, material, central(), actor=admin)
    accounts.edit_account(
        session, admin, account, central(secrets={"password": "pw-new-Rt55-api"}), material
    )

    events = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [event.action for event in events] == ["sms_account.added", "sms_account.changed"]
    assert events[0].details["secrets_set"] == ["password", "webhook_password"]
    assert events[1].details == {"name": account.name, "secrets_changed": ["password"]}
    everything = str([event.details for event in events])
    for secret in (PASSWORD, HOOK_PASSWORD, "pw-new-Rt55-api"):
        assert secret not in everything
    assert accounts.credentials(account, material)["password"] == "pw-new-Rt55-api"
    assert accounts.credentials(account, material)["webhook_password"] == HOOK_PASSWORD


def test_an_empty_secret_keeps_the_saved_one(session, material):
    account = add(session, material, central())

    changes = accounts.edit_account(
        session, None, account, central(originator="PerthHQ", secrets={}), material
    )

    assert changes == {"originator": ["PerthJobs", "PerthHQ"]}
    assert accounts.credentials(account, material)["password"] == PASSWORD


def test_secrets_sealed_under_an_old_key_must_be_typed_again(session, material):
    account = add(session, material, central())

    with pytest.raises(FieldError) as refused:
        accounts.edit_account(session, None, account, central(secrets={}), "a-new-key")
    assert refused.value.field == "password"
    assert "again" in refused.value.message

    accounts.edit_account(
        session,
        None,
        account,
        central(secrets={"password": PASSWORD, "webhook_password": HOOK_PASSWORD}),
        "a-new-key",
    )
    assert accounts.credentials(account, "a-new-key")["password"] == PASSWORD


def test_the_slug_is_the_name_in_lower_case_ascii_with_hyphens_and_stays_on_rename(
    session, material
):
    account = add(session, material, central("Zürich Office (SMS)"))
    assert account.slug == "zurich-office-sms"

    accounts.edit_account(session, None, account, central("Zurich"), material)

    session.refresh(account)
    assert (account.name, account.slug) == ("Zurich", "zurich-office-sms")
    assert accounts.webhook_urls(account, "https://desk.example.com") == [
        ("inbound", "https://desk.example.com/webhooks/smscentral/zurich-office-sms/inbound"),
        ("receipt", "https://desk.example.com/webhooks/smscentral/zurich-office-sms/receipt"),
    ]


def test_a_name_whose_slug_is_taken_is_refused_with_409(session, material):
    add(session, material, central("Perth SMS"))

    with pytest.raises(FieldError) as refused:
        add(session, material, central("perth  sms!"))

    assert (refused.value.field, refused.value.status) == ("name", 409)
    assert "Perth SMS" in refused.value.message
    assert session.scalar(sa.select(sa.func.count()).select_from(SmsAccount)) == 1


def test_a_country_is_served_by_one_account_at_most(session, material):
    add(session, material, twilio("NZ SMS", countries="nz, FJ"))
    perth = add(session, material, central())

    with pytest.raises(FieldError) as refused:
        accounts.edit_account(session, None, perth, central(countries="AU NZ"), material)

    assert (refused.value.field, refused.value.status) == ("countries", 409)
    assert "NZ" in refused.value.message and "NZ SMS" in refused.value.message
    session.refresh(perth)
    assert perth.countries == []


def test_an_sms_central_account_starts_with_a_copy_of_sms_centrals_blocked_list(session, material):
    central_list = set(
        session.scalars(
            sa.select(BlockedRegion.region).where(BlockedRegion.provider == "smscentral")
        )
    )
    assert {"AX", "KZ", "RE"} <= central_list

    perth = add(session, material, central())
    nz = add(session, material, twilio())
    own = add(session, material, central("Sydney SMS", blocked="IR, kp"))

    assert {row.region for row in perth.blocked} == central_list
    assert nz.blocked == []
    assert [row.region for row in own.blocked] == ["IR", "KP"]
    # A copy: the account's list changes apart from SMS Central's.
    accounts.edit_account(session, None, perth, central(blocked="IR"), material)
    assert [row.region for row in perth.blocked] == ["IR"]
    assert session.scalar(
        sa.select(sa.func.count())
        .select_from(BlockedRegion)
        .where(BlockedRegion.provider == "smscentral")
    ) == len(central_list)


def test_offices_are_chosen_by_name(session, material):
    session.add_all([Office(name="Perth"), Office(name="Auckland")])
    session.commit()

    account = add(session, material, central(offices=("perth", "Auckland")))
    assert [office.name for office in account.offices] == ["Auckland", "Perth"]

    with pytest.raises(FieldError) as refused:
        add(session, material, twilio(offices=("Hobart",)))
    assert refused.value.field == "offices"


@pytest.mark.parametrize(
    ("details", "field"),
    [
        (central(name=" "), "name"),
        (central(username=""), "username"),
        (central(secrets={}), "password"),
        (central(secrets={"password": PASSWORD}), "webhook_password"),
        (central(api_url="ftp://example.com"), "api_url"),
        (central(originator="Far too long a sender"), "originator"),
        (central(originator=""), "originator"),
        (central(rate_per_second="0"), "rate_per_second"),
        (central(rate_per_second="fast"), "rate_per_second"),
        # So slow the dispatcher's lease for it would overflow the date and stop every send.
        (central(rate_per_second="1e-10"), "rate_per_second"),
        (central(rate_per_second="0.009"), "rate_per_second"),
        (central(rate_per_second="1,5"), "rate_per_second"),  # 1.5, or 15? Not guessed.
        (central(rate_per_second="1,001"), "rate_per_second"),
        (central(countries="NZ, XX"), "countries"),
        # urlsplit raises ValueError for these: a traceback on the CLI, a 500 on the page.
        (central(api_url="http://[::1"), "api_url"),
        (central(api_url="https://sms.example.com:port/api"), "api_url"),
        (twilio(account_sid="AC123"), "account_sid"),
        (twilio(from_number=""), "from_number"),
        # Digits only: no E.164 number (Twilio wants the +) and no sender ID (it needs a letter).
        (twilio(from_number="0412345678"), "from_number"),
        (twilio(from_number="61412345678"), "from_number"),
        (twilio(from_number="12345"), "from_number"),
        (twilio(messaging_service_sid="MG" + "2" * 32), "from_number"),
        (twilio(secrets={}), "auth_token"),
        (accounts.AccountDetails(name="X", provider="nexmo"), "provider"),
    ],
)
def test_each_wrong_value_is_refused_naming_its_field(session, material, details, field):
    with pytest.raises(FieldError) as refused:
        add(session, material, details)

    assert refused.value.field == field
    assert session.scalar(sa.select(sa.func.count()).select_from(SmsAccount)) == 0


@pytest.mark.parametrize("typed, rate", [("1,000", 1000.0), ("1 000", 1000.0), ("2.5", 2.5)])
def test_a_rate_is_read_as_the_refusal_writes_it(session, material, typed, rate):
    # The refusal says "from 0.01 to 1,000": "1,000" was then refused itself.
    assert add(session, material, central(rate_per_second=typed)).rate_per_second == rate


def test_a_sender_id_refused_on_an_account_is_not_told_to_be_left_empty(session, material):
    with pytest.raises(FieldError) as refused:
        add(session, material, central(originator="Perth Jobs!"))

    assert str(refused.value) == (
        "Use up to 11 letters and digits (like SMSDesk), or a phone number like +61412345678."
    )
    # On the Settings page, where it may be left empty, it still says so.
    with pytest.raises(FieldError) as refused:
        check_originator("Perth Jobs!")
    assert str(refused.value).endswith("+61412345678; leave it empty for the server's setting.")


def test_a_twilio_account_may_send_through_a_messaging_service(session, material):
    account = add(session, material, twilio(from_number="", messaging_service_sid="MG" + "3" * 32))

    assert accounts.sender(account) == "MG" + "3" * 32
    assert accounts.credentials(account, material)["auth_token"] == TOKEN


@pytest.mark.parametrize("sender", ["PerthJobs", "Perth1", "1Perth", "+61412345678"])
def test_a_twilio_from_is_a_number_with_its_plus_or_a_sender_id_with_a_letter(
    session, material, sender
):
    assert add(session, material, twilio(from_number=sender)).from_number == sender


def test_an_sms_central_originator_may_still_be_a_plain_number(session, material):
    # SMS Central takes a number as ORIGINATOR as it is: only Twilio's From needs the +.
    assert add(session, material, central(originator="0412345678")).originator == "0412345678"
