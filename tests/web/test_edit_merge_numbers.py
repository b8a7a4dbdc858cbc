"""A number saved in one tab and typed with its thousands grouped in another ("1000", "1,000") is
the same number: no clash between tabs (webapp.web.edit_merge compares numbers by their value),
while two different numbers still are one."""

from __future__ import annotations

import pytest

from tests.html_tree import html
from tests.pages import changed, fresh, held, opened, text
from tests.web.test_sms_accounts import central_form
from webapp.models import SmsAccount, User
from webapp.sms import limits
from webapp.sms.accounts import parse_rate
from webapp.web.edit_merge import three_way


@pytest.mark.parametrize("grouped", ["1,000", "1 000"])
def test_a_users_limit_typed_grouped_is_no_clash_with_the_same_limit_saved(
    client, login, make_user, session, grouped
):
    login("administrator")
    jo = make_user("jo", role="viewer")
    url = f"/admin/users/{jo.id}/edit"
    first, second = opened(client, url), opened(client, url)
    assert client.post(url, data=changed(first, daily_limit="1000")).status_code == 302

    response = client.post(url, data=changed(second, daily_limit=grouped))

    assert response.status_code == 302, text(response)
    assert fresh(session, User, jo.id).daily_limit == 1000


def test_a_users_limit_typed_grouped_still_clashes_with_another_number(
    client, login, make_user, session
):
    login("administrator")
    jo = make_user("jo", role="viewer")
    url = f"/admin/users/{jo.id}/edit"
    first, second = opened(client, url), opened(client, url)
    assert client.post(url, data=changed(first, daily_limit="1000")).status_code == 302

    refused = client.post(url, data=changed(second, daily_limit="1,500"))

    assert refused.status_code == 409
    assert "Daily SMS limit is now “1000”" in html(refused).one("p", role="alert").text
    assert fresh(session, User, jo.id).daily_limit == 1000


@pytest.mark.parametrize(
    ("url", "name", "saved", "typed"),
    [
        ("/admin/settings/limits", "org_daily_limit", "7000", "7,000"),
        ("/admin/settings/limits", "role-consultant", "1300", "1,300"),
        ("/admin/settings/confirmation", "confirm_over", "2000", "2 000"),
    ],
    ids=["organisation-limit", "role-limit", "confirm-over"],
)
def test_a_setting_typed_grouped_is_no_clash_with_the_same_number_saved(
    client, login, url, name, saved, typed
):
    login("administrator")
    first = held(html(client.get("/admin/settings")), url)
    second = held(html(client.get("/admin/settings")), url)
    assert client.post(url, data=changed(first, **{name: saved})).status_code == 302

    response = client.post(url, data=changed(second, **{name: typed}))

    assert response.status_code == 302, text(response)
    assert held(html(client.get("/admin/settings")), url)[name] == saved


@pytest.mark.parametrize(
    "app_settings",
    [{"SMS_PROVIDER": "smscentral", "ACCOUNTS_KEY": "accounts-key-for-tests"}],
)
def test_an_accounts_rate_written_another_way_is_no_clash(client, login, session):
    login("administrator")
    form = central_form()
    assert client.post("/admin/sms-accounts/new", data=form).status_code == 302
    [account] = session.query(SmsAccount).all()
    url = f"/admin/sms-accounts/{account.id}/edit"
    first, second = opened(client, url), opened(client, url)
    assert client.post(url, data=changed(first, rate_per_second="2.5")).status_code == 302

    response = client.post(url, data=changed(second, rate_per_second="2.50"))

    assert response.status_code == 302, text(response)
    assert fresh(session, SmsAccount, account.id).rate_per_second == 2.5


# --- three_way itself --------------------------------------------------------------------------

PARSERS = {"limit": limits.parse_limit, "rate": parse_rate}


@pytest.mark.parametrize(
    ("loaded", "typed", "now", "expected"),
    [
        # Both changed it to the same number, written differently: no clash, the typed one kept.
        ("500", "1,000", "1000", ([], [])),
        # Only written differently here, changed there: theirs is taken.
        ("1000", "1 000", "2000", (["limit"], [])),
        # Both changed it to different numbers: a clash.
        ("500", "1,500", "1000", ([], ["limit"])),
        # Text the parser refuses is compared as typed.
        ("500", "lots", "1000", ([], ["limit"])),
        ("lots", "lots", "1000", (["limit"], [])),
        # Missing from the loaded values (a page without the field) is not an empty limit.
        (None, "", "5", ([], ["limit"])),
    ],
)
def test_three_way_compares_a_parsed_field_by_its_value(loaded, typed, now, expected):
    was = {} if loaded is None else {"limit": loaded}
    assert three_way(was, {"limit": typed}, {"limit": now}, PARSERS) == expected


def test_three_way_compares_fields_without_a_parser_as_text():
    """A name, say: "1,000" and "1000" are two texts."""
    assert three_way({"name": "500"}, {"name": "1,000"}, {"name": "1000"}, PARSERS) == (
        [],
        ["name"],
    )
    assert three_way({"limit": "500"}, {"limit": "1,000"}, {"limit": "1000"}) == ([], ["limit"])
    # A decimal rate written another way is the same rate.
    assert three_way({"rate": "5"}, {"rate": "5.0"}, {"rate": "6"}, PARSERS) == (["rate"], [])
