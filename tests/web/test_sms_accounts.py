"""/admin/sms-accounts and `flask sms-account`: the settings.manage gate, adding and changing an
account from the page (secrets never written back into the HTML), refusals shown on the form with
a 4xx, the default account listed read-only, webhook addresses, and the command line."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from tests import html_tree
from tests.pages import (
    Tags,
    assert_invalid,
    audits,
    changed,
    control,
    fresh,
    nav,
    opened,
    rows,
    text,
)
from tests.web.test_cli_users import Runner
from webapp.config import from_environment
from webapp.models import Office, SmsAccount
from webapp.sms import account_secrets, accounts

PASSWORD = "pw-Zq81-unguessable-api"
HOOK_PASSWORD = "pw-hook-77Kx-unguessable"
TOKEN = "0123456789abcdef0123456789abcdef"


def central_form(**overrides) -> dict[str, str]:
    form = {
        "name": "Perth SMS",
        "provider": "smscentral",
        "api_url": "",
        "username": "perth-agency",
        "password": PASSWORD,
        "originator": "PerthJobs",
        "webhook_username": "perth-hook",
        "webhook_password": HOOK_PASSWORD,
        "rate_per_second": "5",
        "active": "y",
        "countries": "",
        "blocked": "",
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


@pytest.fixture
def app_settings():
    return {
        "SMS_PROVIDER": "smscentral",
        "SMSCENTRAL_ORIGINATOR": "AgencyHQ",
        "SMSCENTRAL_API_URL": "https://central.example.com/api/v3.2",
        "PUBLIC_BASE_URL": "https://desk.example.com",
        "ACCOUNTS_KEY": "accounts-key-for-tests",
    }


@pytest.fixture
def admin(login):
    return login("administrator")


@pytest.mark.parametrize("role", ("viewer", "consultant", "team-leader"))
def test_only_settings_managers_see_or_use_the_page(client, login, role):
    login(role)

    page = text(client.get("/candidates"))
    assert "SMS accounts" not in nav(page) and 'href="/admin/sms-accounts"' not in page
    assert client.get("/admin/sms-accounts").status_code == 403
    assert client.get("/admin/sms-accounts/new").status_code == 403
    assert client.post("/admin/sms-accounts/new", data=central_form()).status_code == 403


def test_the_list_shows_the_default_account_from_the_environment(client, admin):
    page = text(client.get("/candidates"))
    assert "SMS accounts" in nav(page)

    page = text(client.get("/admin/sms-accounts"))

    assert "Default account (from the environment)" in page
    assert "AgencyHQ" in page
    assert "https://desk.example.com/webhooks/smscentral/inbound" in page
    # Read-only: the list has no form of its own, and only the accounts added here are links.
    assert 'action="/admin/sms-accounts' not in page
    assert [a["href"] for a in Tags(page).find("a") if "/admin/sms-accounts/" in a["href"]] == [
        "/admin/sms-accounts/new"
    ]


def test_adding_an_account_saves_it_seals_its_secrets_and_never_echoes_them(
    client, admin, session, app
):
    session.add(Office(name="Perth"))
    session.commit()
    perth = session.scalar(sa.select(Office.id).where(Office.name == "Perth"))

    response = client.post(
        "/admin/sms-accounts/new", data={**central_form(countries="au"), "offices": str(perth)}
    )

    assert response.status_code == 302, text(response)[:2000]
    [account] = rows(session, SmsAccount)
    assert (account.slug, account.api_url, account.rate_per_second) == (
        "perth-sms",
        "https://central.example.com/api/v3.2",
        5.0,
    )
    assert [office.name for office in account.offices] == ["Perth"]
    assert [row.region for row in account.countries] == ["AU"]
    material = account_secrets.key_material(app.config)
    assert accounts.credentials(account, material)["password"] == PASSWORD
    # Sealed under ACCOUNTS_KEY, not SECRET_KEY.
    with pytest.raises(account_secrets.SecretsUnreadable):
        accounts.credentials(account, app.config["SECRET_KEY"])
    [event] = audits(session, "sms_account.added")
    assert PASSWORD not in str(event.details)

    page = text(client.get(response.headers["Location"]))
    assert PASSWORD not in page and HOOK_PASSWORD not in page
    assert "Saved — leave empty to keep" in page
    assert "https://desk.example.com/webhooks/smscentral/perth-sms/inbound" in page
    assert "https://desk.example.com/webhooks/smscentral/perth-sms/receipt" in page
    listed = text(client.get("/admin/sms-accounts"))
    assert "Perth SMS" in listed and "PerthJobs" in listed


def test_editing_with_secrets_left_empty_keeps_them_and_a_refusal_never_echoes_one(
    client, admin, session, app
):
    client.post("/admin/sms-accounts/new", data=central_form())
    [account] = rows(session, SmsAccount)
    url = f"/admin/sms-accounts/{account.id}/edit"
    # As the page fills it: the copy of SMS Central's list the account started with.
    blocked = ", ".join(row.region for row in account.blocked)
    assert f'value="{blocked}"' in text(client.get(url))

    refused = client.post(
        url,
        data=central_form(
            password="pw-new-Rt55-api", webhook_password="", rate_per_second="-1", blocked=blocked
        ),
    )
    assert refused.status_code == 400
    assert_invalid(text(refused), "rate_per_second", "from 0.01 to 1,000")
    assert "pw-new-Rt55-api" not in text(refused) and PASSWORD not in text(refused)

    saved = client.post(
        url, data=central_form(password="", webhook_password="", name="Perth", blocked=blocked)
    )
    assert saved.status_code == 302
    account = fresh(session, SmsAccount, account.id)
    assert (account.name, account.slug) == ("Perth", "perth-sms")
    material = account_secrets.key_material(app.config)
    assert accounts.credentials(account, material)["password"] == PASSWORD
    [event] = audits(session, "sms_account.changed")
    assert event.details["changes"] == {"name": ["Perth SMS", "Perth"]}
    log = client.get("/audit")
    assert log.status_code == 200
    assert "SMS account “Perth”" in text(log) and "SMS account “Perth SMS”" in text(log)


def test_a_country_served_by_another_account_is_refused_with_409_naming_it(client, admin):
    client.post("/admin/sms-accounts/new", data=central_form(name="NZ SMS", countries="NZ"))

    response = client.post(
        "/admin/sms-accounts/new", data=central_form(name="Kiwi", countries="au, nz")
    )

    assert response.status_code == 409
    assert_invalid(text(response), "countries", "NZ is already served by “NZ SMS”")
    assert PASSWORD not in text(response)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Enter a name"),
        ({"password": ""}, "password", "API password"),
        ({"username": ""}, "username", "username"),
        ({"provider": "twilio", "account_sid": "AC1"}, "account_sid", "Account SID"),
    ],
)
def test_a_wrong_value_is_shown_beside_its_field_with_400(
    client, admin, session, overrides, field, message
):
    response = client.post("/admin/sms-accounts/new", data=central_form(**overrides))

    assert response.status_code == 400
    assert_invalid(text(response), field, message)
    assert rows(session, SmsAccount) == []


@pytest.mark.parametrize(
    "overrides, status",
    [({"name": ""}, 400), ({"name": "Kiwi", "countries": "NZ"}, 409)],
)
def test_a_refused_account_form_puts_the_focus_on_its_summary(client, admin, overrides, status):
    """The form is long: a refusal unheard at its top would leave a screen reader at the page's
    start, as on the other refused admin forms."""
    client.post("/admin/sms-accounts/new", data=central_form(name="NZ SMS", countries="NZ"))
    response = client.post("/admin/sms-accounts/new", data=central_form(**overrides))

    assert response.status_code == status
    summary = html_tree.parse(text(response)).one("p", role="alert")
    assert (summary.attrs.get("tabindex"), "autofocus" in summary.attrs) == ("-1", True)


def test_an_edit_page_of_no_account_is_404(client, admin):
    assert client.get("/admin/sms-accounts/999/edit").status_code == 404


def test_accounts_key_is_read_from_the_environment(tmp_path):
    env = {"SECRET_KEY": "secret", "ACCOUNTS_KEY": "  accounts-key  "}
    assert from_environment(env, tmp_path)["ACCOUNTS_KEY"] == "accounts-key"
    assert from_environment({"SECRET_KEY": "secret"}, tmp_path)["ACCOUNTS_KEY"] == ""


# --- the command line ----------------------------------------------------------------------------


@pytest.fixture
def runner(app):
    return Runner(app)


def test_cli_adds_an_account_with_secrets_from_standard_input(runner, session, app):
    session.add(Office(name="Auckland"))
    session.commit()

    result = runner.invoke(
        args=[
            "sms-account",
            "add",
            "NZ SMS",
            "--provider",
            "twilio",
            "--account-sid",
            "AC" + "a" * 32,
            "--from",
            "+64211234567",
            "--office",
            "Auckland",
            "--countries",
            "NZ,FJ",
        ],
        input=f"{TOKEN}\n",
    )

    assert result.exit_code == 0, result.output
    assert "/webhooks/twilio/nz-sms/status" in result.output
    assert TOKEN not in result.output
    [account] = rows(session, SmsAccount)
    assert [row.region for row in account.countries] == ["FJ", "NZ"]
    assert [office.name for office in account.offices] == ["Auckland"]
    material = account_secrets.key_material(app.config)
    assert accounts.credentials(account, material)["auth_token"] == TOKEN
    assert len(audits(session, "sms_account.added")) == 1

    listed = runner.invoke(args=["sms-account", "list"])
    assert listed.exit_code == 0
    assert "nz-sms" in listed.output and "+64211234567" in listed.output
    assert "Default account (from the environment)" in listed.output
    assert TOKEN not in listed.output


def test_cli_reads_the_sms_central_password_then_the_webhook_password(runner, session, app):
    result = runner.invoke(
        args=[
            "sms-account",
            "add",
            "Perth SMS",
            "--provider",
            "smscentral",
            "--username",
            "perth-agency",
            "--originator",
            "PerthJobs",
            "--webhook-username",
            "perth-hook",
        ],
        input=f"{PASSWORD}\n{HOOK_PASSWORD}\n",
    )

    assert result.exit_code == 0, result.output
    [account] = rows(session, SmsAccount)
    assert account.api_url == "https://central.example.com/api/v3.2"
    credentials = accounts.credentials(account, account_secrets.key_material(app.config))
    assert (credentials["password"], credentials["webhook_password"]) == (PASSWORD, HOOK_PASSWORD)


def test_cli_refuses_a_wrong_value_with_a_non_zero_exit_and_the_message(runner, session):
    result = runner.invoke(
        args=["sms-account", "add", "Perth SMS", "--provider", "smscentral"],
        input=f"{PASSWORD}\n",
    )

    assert result.exit_code != 0
    assert "Enter the SMS Central username" in result.output
    assert rows(session, SmsAccount) == []


def test_an_account_sealed_under_another_key_says_its_secrets_must_be_typed_again(
    client, admin, session
):
    account = SmsAccount(
        name="Old SMS",
        slug="old-sms",
        provider="twilio",
        account_sid="AC" + "c" * 32,
        from_number="+61412345678",
        secrets=account_secrets.seal("the-key-before", {"auth_token": TOKEN}),
    )
    session.add(account)
    session.commit()

    page = text(client.get(f"/admin/sms-accounts/{account.id}/edit"))

    assert "cannot be read" in page and "Enter them again" in page
    assert "Saved — leave empty to keep" not in page


@pytest.mark.parametrize("office", ["²", "٣", "0", "99999999999"])
def test_an_office_that_is_no_id_is_refused_on_the_form(client, admin, session, office):
    response = client.post("/admin/sms-accounts/new", data={**central_form(), "offices": office})

    assert response.status_code == 400
    assert "There is no such office" in text(response)
    assert rows(session, SmsAccount) == []


def test_an_account_form_left_open_keeps_the_other_tabs_save(client, admin, session, app):
    client.post("/admin/sms-accounts/new", data=central_form())
    [account] = rows(session, SmsAccount)
    url = f"/admin/sms-accounts/{account.id}/edit"
    first, second = opened(client, url), opened(client, url)
    assert "password" not in first or first["password"] == ""  # never sent back
    assert client.post(url, data=changed(second, rate_per_second="2")).status_code == 302

    # This tab, opened before, changes the sender and a secret: the rate stays as saved.
    saved = client.post(url, data=changed(first, originator="PerthDesk", password="pw-Qz81-new"))
    assert saved.status_code == 302
    account = fresh(session, SmsAccount, account.id)
    assert (account.originator, account.rate_per_second) == ("PerthDesk", 2)
    material = account_secrets.key_material(app.config)
    assert accounts.credentials(account, material)["password"] == "pw-Qz81-new"

    refused = client.post(url, data=changed(first, rate_per_second="9"))
    assert refused.status_code == 409
    assert "is now “2”" in text(refused)
    assert fresh(session, SmsAccount, account.id).rate_per_second == 2


def test_the_edit_page_saves_as_it_posts_without_a_gateway_field(client, admin, session):
    """The Gateway cannot change, so the edit page has no field for it: its posts carry none."""
    client.post("/admin/sms-accounts/new", data=central_form())
    [account] = rows(session, SmsAccount)
    url = f"/admin/sms-accounts/{account.id}/edit"
    form = opened(client, url)
    assert "provider" not in form

    assert client.post(url, data=changed(form, name="Perth")).status_code == 302
    assert fresh(session, SmsAccount, account.id).name == "Perth"


@pytest.mark.parametrize("rate", ["0.123456789", "0.01666667", "5", "1000"])
def test_a_rate_is_shown_as_saved_and_a_save_of_other_fields_leaves_it(
    client, admin, session, rate
):
    client.post("/admin/sms-accounts/new", data=central_form(rate_per_second=rate))
    [account] = rows(session, SmsAccount)
    url = f"/admin/sms-accounts/{account.id}/edit"
    form = opened(client, url)
    assert form["rate_per_second"] == rate  # every figure (":g" showed six, and saved them)

    assert client.post(url, data=changed(form, name="Perth")).status_code == 302

    assert fresh(session, SmsAccount, account.id).rate_per_second == float(rate)
    [edit] = audits(session, "sms_account.changed")
    assert "rate_per_second" not in edit.details["changes"]


def twilio_account(client, session) -> SmsAccount:
    response = client.post(
        "/admin/sms-accounts/new",
        data={
            "name": "NZ SMS",
            "provider": "twilio",
            "account_sid": "AC" + "a" * 32,
            "auth_token": TOKEN,
            "from_number": "+64211234567",
            "rate_per_second": "5",
            "active": "y",
        },
    )
    assert response.status_code == 302, text(response)[:2000]
    [account] = rows(session, SmsAccount)
    return account


def hint(page: str, name: str) -> str:
    return html.unescape(
        re.search(rf'<span class="muted" id="{name}-hint">(.*?)</span>', page).group(1)
    )


def test_a_secret_typed_on_a_refused_save_is_asked_for_again_not_dropped_unsaid(
    client, admin, session, app
):
    account = twilio_account(client, session)
    url = f"/admin/sms-accounts/{account.id}/edit"
    form = opened(client, url)

    refused = client.post(
        url, data=changed(form, auth_token="new-token-Kx81", rate_per_second="five")
    )

    assert refused.status_code == 400
    page = text(refused)
    assert_invalid(page, "rate_per_second", "messages per second")
    assert_invalid(page, "auth_token", "Type the auth token again: it is not kept when the form")
    assert "new-token-Kx81" not in page and TOKEN not in page
    assert "leave empty to keep" not in hint(page, "auth_token")
    assert "not saved" in hint(page, "auth_token")
    material = account_secrets.key_material(app.config)
    assert (
        accounts.credentials(fresh(session, SmsAccount, account.id), material)["auth_token"]
        == TOKEN
    )


def test_secrets_typed_on_a_save_refused_as_saved_from_another_tab_are_asked_for_again(
    client, admin, session
):
    client.post("/admin/sms-accounts/new", data=central_form())
    [account] = rows(session, SmsAccount)
    url = f"/admin/sms-accounts/{account.id}/edit"
    first, second = opened(client, url), opened(client, url)
    assert client.post(url, data=changed(second, rate_per_second="2")).status_code == 302

    refused = client.post(
        url,
        data=changed(
            first, rate_per_second="9", password="pw-new-Rt55", webhook_password="pw-hook-new-Rt55"
        ),
    )

    assert refused.status_code == 409
    page = text(refused)
    assert "Your changes are still below" in page
    assert_invalid(page, "password", "Type the API password again")
    assert_invalid(page, "webhook_password", "Type the webhook password again")
    assert "pw-new-Rt55" not in page and "pw-hook-new-Rt55" not in page


def test_secrets_typed_on_a_refused_new_account_are_asked_for_again(client, admin, session):
    response = client.post(
        "/admin/sms-accounts/new", data=central_form(rate_per_second="five", countries="")
    )

    assert response.status_code == 400
    page = text(response)
    assert_invalid(page, "password", "Type the API password again")
    assert_invalid(page, "webhook_password", "Type the webhook password again")
    assert PASSWORD not in page and HOOK_PASSWORD not in page
    # The Twilio part was left empty: nothing to type again there.
    assert 'aria-invalid="true"' not in control(page, "auth_token")
    assert rows(session, SmsAccount) == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0412345678", "like +61412345678"),
        ("61412345678", "enter +61412345678"),
        ("04123456789", "like +61412345678"),
    ],
)
def test_a_from_number_without_its_plus_is_refused_beside_the_field(
    client, admin, session, typed, message
):
    account = twilio_account(client, session)
    url = f"/admin/sms-accounts/{account.id}/edit"

    refused = client.post(url, data=changed(opened(client, url), from_number=typed))

    assert refused.status_code == 400
    assert_invalid(text(refused), "from_number", message)
    assert fresh(session, SmsAccount, account.id).from_number == "+64211234567"


def test_cli_refuses_a_from_number_without_its_plus(runner, session):
    result = runner.invoke(
        args=[
            "sms-account",
            "add",
            "NZ SMS",
            "--provider",
            "twilio",
            "--account-sid",
            "AC" + "a" * 32,
            "--from",
            "64211234567",
        ],
        input=f"{TOKEN}\n",
    )

    assert result.exit_code != 0
    assert "from_number" in result.output and "enter +64211234567" in result.output
    assert rows(session, SmsAccount) == []
