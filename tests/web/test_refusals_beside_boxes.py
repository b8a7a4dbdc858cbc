"""A refusal about a group of tick boxes is tied to each box (aria-invalid, aria-describedby its
message), as on the user form; and the roles page's refusal takes the focus, as other refused
admin forms' summaries do."""

from __future__ import annotations

import pytest

from tests.conftest import office_named
from tests.html_tree import Node, html
from tests.web.test_sms_accounts import central_form


def assert_boxes_refused(form: Node, name: str, error_id: str, message: str) -> None:
    boxes = form.all("input", type="checkbox", name=name)
    assert boxes
    for box in boxes:
        assert box.get("aria-invalid") == "true", box.attrs
        assert error_id in (box.get("aria-describedby") or "").split(), box.attrs
    assert message in form.one(id=error_id).text


@pytest.mark.parametrize(
    "app_settings", [{"SMS_PROVIDER": "smscentral", "ACCOUNTS_KEY": "accounts-key-for-tests"}]
)
def test_an_sms_accounts_office_refused_is_tied_to_each_office_box(client, login, session):
    office_named(session, "Perth")
    office_named(session, "Auckland")
    login("administrator")

    response = client.post("/admin/sms-accounts/new", data={**central_form(), "offices": "0"})

    assert response.status_code == 400
    [form] = [f for f in html(response).all("form") if f.get("action") == "/admin/sms-accounts/new"]
    assert_boxes_refused(form, "offices", "offices-error", "There is no such office")


def test_the_two_factor_roles_refused_are_tied_to_each_role_box(client, login):
    login("administrator")

    response = client.post("/admin/settings/two-factor", data={"roles": ["nobody"]})

    assert response.status_code == 400
    [form] = [
        f for f in html(response).all("form") if f.get("action") == "/admin/settings/two-factor"
    ]
    assert_boxes_refused(form, "roles", "roles-error", "There is no role called “nobody”.")


def test_the_roles_pages_refusal_takes_the_focus(client, login):
    login("administrator")
    page = html(client.get("/admin/roles"))
    ticked = [
        box.get("value")
        for box in page.all("input", type="checkbox", name="grant")
        if "checked" in box.attrs and box.get("value") != "administrator:users.manage"
    ]

    response = client.post("/admin/roles", data={"grant": ticked})

    assert response.status_code == 400
    alert = html(response).one("p", role="alert")
    assert "You cannot take" in alert.text and "Nothing was changed." in alert.text
    assert (alert.get("tabindex"), "autofocus" in alert.attrs) == ("-1", True)
    # The only control focused on arrival.
    assert [node.tag for node in html(response).iter() if "autofocus" in node.attrs] == ["p"]
