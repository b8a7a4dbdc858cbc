"""Routing on the pages: the SMS screen and its confirmation say which accounts a batch goes
through ("Sent through Perth SMS (PerthAgency): 2; …") once an account exists, and a recipient
refused by their account's blocked list is listed with that account's name."""

from __future__ import annotations

import pytest

from tests.db.test_routing import AU, NZ, UK, add_account, add_office
from tests.html_tree import html, parse
from tests.pages import open_sms_screen, text

SENDER = "DeskSender"


@pytest.fixture
def app_settings():
    """The default account's sender, and a confirmation for more than 3 recipients."""
    return {"SMSCENTRAL_ORIGINATOR": SENDER, "SMS_CONFIRM_OVER": 3}


@pytest.fixture
def perth(app, session):
    """Perth, served by Perth SMS; New Zealand numbers served by NZ SMS."""
    perth = add_office(session, "Perth")
    add_account(
        app, session, "Perth SMS", originator="PerthAgency", offices=(perth,), blocked=("GB",)
    )
    add_account(app, session, "NZ SMS", originator="KiwiAgency", countries=("NZ",))
    return perth


def open_sms(client, people) -> tuple[str, str]:
    """Bulk SMS with these people ticked: the screen's page and its token."""
    token, page = open_sms_screen(client, people)
    return page, token


def sent_through(page: str) -> str | None:
    found = parse(page).all(id="sent-through")
    return found[0].text if found else None


def test_the_sms_screen_says_which_account_sends_how_many(client, login, perth, make_candidate):
    login(office_id=perth.id)
    people = [
        make_candidate("Ada", "One", AU),
        make_candidate("Bea", "Two", "0412 000 222"),
        make_candidate("Kiri", "Nz", NZ),
    ]

    page, _ = open_sms(client, people)

    assert sent_through(page) == "Sent through Perth SMS (PerthAgency): 2; NZ SMS (KiwiAgency): 1"


def test_a_sender_without_an_office_account_goes_through_the_default_account(
    client, login, perth, make_candidate
):
    login()  # no office
    page, _ = open_sms(client, [make_candidate("Ada", "One", AU), make_candidate("Kiri", "Nz", NZ)])

    assert sent_through(page) == (
        f"Sent through Default account ({SENDER}): 1; NZ SMS (KiwiAgency): 1"
    )


def test_without_accounts_the_screen_is_unchanged(client, login, make_candidate):
    login()
    page, _ = open_sms(client, [make_candidate("Ada", "One", AU)])

    assert sent_through(page) is None
    assert "Sent through" not in page


def test_the_confirmation_says_which_accounts_too(client, login, perth, make_candidate):
    login(office_id=perth.id)
    people = [make_candidate(f"P{i}", "Au", f"0412 000 {100 + i}") for i in range(3)]
    people.append(make_candidate("Kiri", "Nz", NZ))
    _, token = open_sms(client, people)

    response = client.post(
        f"/sms/compose/{token}/send", data={"message": "Hi {{first_name}}"}, htmx=True
    )

    assert response.status_code == 200, text(response)
    assert html(response).one(id="confirm-through").text == (
        "Perth SMS (PerthAgency): 3; NZ SMS (KiwiAgency): 1"
    )


def test_a_recipient_blocked_by_their_account_is_listed_with_its_name(
    client, login, perth, make_candidate
):
    login(office_id=perth.id)
    brit = make_candidate("Brit", "Ish", UK)
    page, token = open_sms(client, [make_candidate("Ada", "One", AU), brit])

    listed = client.get(f"/sms/compose/{token}/list/blocked_country")

    assert listed.status_code == 200
    [row] = html(listed).one("tbody").all("tr")
    assert row.text == (
        "Brit Ish +44 7400 123456 Sent through Perth SMS, which does not deliver to United Kingdom"
    )


def test_the_quick_reply_says_which_account_refuses_the_country(
    client, login, perth, make_candidate
):
    login(office_id=perth.id)
    brit = make_candidate("Brit", "Ish", UK)

    page = text(client.get(f"/candidates/{brit.id}"))

    assert (
        "Brit Ish cannot be sent an SMS: sent through Perth SMS, which does not deliver to "
        "United Kingdom." in page
    )
