"""Invisible characters (a zero-width space, a soft hyphen, a no-break space) in what the admin
pages save: office names and users' full names are stored without them, so an SMS merged from them
stays GSM-7; SMS account names and Comment types that read alike are refused as the same one."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.conftest import office_named
from tests.pages import assert_refused, audits, changed, details_of, fresh, opened, rows, text
from tests.web.test_admin_settings import settings_form, sms_screen, stored
from tests.web.test_compose import bubble, counter, open_sms
from tests.web.test_offices import office_form
from tests.web.test_sms_accounts import app_settings, central_form  # noqa: F401 - a fixture
from webapp.models import Office, SmsAccount, User

NOTICE = (
    "Our {{sender_office}} office is closed Monday. {{sender_first_name}} ({{sender_full_name}})"
)


@pytest.fixture
def admin(login):
    return login("administrator")


def preview(client, token: str) -> str:
    return text(client.post(f"/sms/compose/{token}/preview", data={"message": NOTICE}, htmx=True))


# --- office names and full names -----------------------------------------------------------------


def test_an_office_and_a_full_name_typed_with_invisible_characters_merge_as_gsm7(
    app, client, admin, session, make_user, make_candidate
):
    ada = make_candidate()
    response = client.post("/admin/offices", data=office_form(name=" Bris\u200bbane "))
    assert response.status_code == 302, text(response)
    office = session.scalar(sa.select(Office).where(Office.name == "Brisbane"))
    assert office is not None
    lee = make_user("lee", full_name="Lee Smith")
    response = client.post(
        f"/admin/users/{lee.id}/edit",
        data=details_of(lee, full_name="Lee\u00adTeamleader  Smith\u200b", office=str(office.id)),
    )
    assert response.status_code == 302, text(response)
    assert fresh(session, User, lee.id).full_name == "LeeTeamleader Smith"

    sender = app.test_client()
    assert sender.login("lee").status_code == 302
    _, token = open_sms(sender, [ada])
    page = preview(sender, token)
    assert bubble(page) == (
        "Our Brisbane office is closed Monday. LeeTeamleader (LeeTeamleader Smith)"
    )
    assert counter(page)["encoding"] == "GSM-7"
    assert "Unicode because of" not in page


def test_renaming_an_office_drops_its_invisible_characters(client, admin, session):
    perth = office_named(session, "Perth")
    response = client.post(
        f"/admin/offices/{perth.id}", data=office_form(name="Perth\u2060\u00a0 CBD\ufeff")
    )
    assert response.status_code == 302, text(response)
    assert fresh(session, Office, perth.id).name == "Perth CBD"
    assert audits(session, "office.changed")[-1].details["changes"]["name"] == [
        "Perth",
        "Perth CBD",
    ]


def test_a_name_stored_with_invisible_characters_still_merges_as_gsm7(
    client, login, session, make_candidate
):
    """Saved before names were cleaned: the merge leaves the characters out."""
    office_named(session, "Bris\u200bbane")
    login("consultant", full_name="Lee\u00adTeamleader Smith", office="Bris\u200bbane")
    _, token = open_sms(client, [make_candidate()])
    page = preview(client, token)
    assert bubble(page) == (
        "Our Brisbane office is closed Monday. LeeTeamleader (LeeTeamleader Smith)"
    )
    assert counter(page)["encoding"] == "GSM-7"


@pytest.mark.parametrize(
    "full_name, message",
    [
        ("\u200b\u00ad", "Enter the full name."),
        ("Lee\tSmith", "Full name must be one line of plain text: remove the tab."),
    ],
    ids=["invisible-only", "tab"],
)
def test_a_full_name_of_invisible_characters_or_with_a_tab_is_refused(
    client, admin, session, make_user, full_name, message
):
    lee = make_user("lee", full_name="Lee Smith")
    response = client.post(f"/admin/users/{lee.id}/edit", data=details_of(lee, full_name=full_name))
    assert_refused(response, "full_name", message)
    assert fresh(session, User, lee.id).full_name == "Lee Smith"


# --- SMS account names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["Perth  SMS", "Perth SMS\u200b", "Perth\u00a0SMS", "perth sms"],
    ids=["two-spaces", "zero-width", "no-break-space", "case"],
)
def test_an_account_cannot_be_renamed_to_a_name_that_reads_as_anothers(
    client, admin, session, name
):
    assert client.post("/admin/sms-accounts/new", data=central_form()).status_code == 302
    sydney_form = central_form(name="Sydney SMS", username="sydney-agency")
    assert client.post("/admin/sms-accounts/new", data=sydney_form).status_code == 302
    perth, sydney = rows(session, SmsAccount)
    url = f"/admin/sms-accounts/{sydney.id}/edit"

    response = client.post(url, data=changed(opened(client, url), name=name))

    assert response.status_code == 409
    assert "There is already an account called “Perth SMS”." in text(response)
    assert [a.name for a in rows(session, SmsAccount)] == ["Perth SMS", "Sydney SMS"]
    listed = text(client.get("/admin/sms-accounts"))
    links = re.findall(r'<a href="/admin/sms-accounts/\d+/edit">([^<]*)</a>', listed)
    assert links == ["Perth SMS", "Sydney SMS"]


def test_an_account_can_still_be_renamed_to_its_own_name_respaced(client, admin, session):
    assert client.post("/admin/sms-accounts/new", data=central_form()).status_code == 302
    [account] = rows(session, SmsAccount)
    url = f"/admin/sms-accounts/{account.id}/edit"
    response = client.post(url, data=changed(opened(client, url), name="PERTH SMS"))
    assert response.status_code == 302, text(response)
    assert fresh(session, SmsAccount, account.id).name == "PERTH SMS"


# --- Comment types -------------------------------------------------------------------------------


def test_comment_types_that_read_alike_are_refused(client, admin, session):
    response = client.post(
        "/admin/settings", data=settings_form(comment_types="SMS\nSMS\u200b\n\u200b\nCall")
    )
    assert_refused(response, "comment_types", "“SMS\u200b” is listed more than once.")
    assert stored(session) == {}


def test_an_invisible_only_comment_type_line_is_left_out(client, admin, session, make_candidate):
    ada = make_candidate()
    response = client.post(
        "/admin/settings", data=settings_form(comment_types="SMS\n\u200b\n\ufeff \nCall")
    )
    assert response.status_code == 302, text(response)
    assert stored(session)["comment_types"] == ["SMS", "Call"]
    select = re.search(
        r'<select id="comment_type".*?</select>', sms_screen(client, ada), re.S
    ).group(0)
    assert re.findall(r"<option[^>]*>(.*?)</option>", select) == ["SMS", "Call"]
