"""A template name that looks blank (a combining mark alone, an unassigned default-ignorable code
point) is refused beside Name, as a zero-width space is: saved, it was a 0-px link in the list, an
empty option in the SMS screen's picker and an unclickable batch link on Sent."""

from __future__ import annotations

import pytest

from tests.pages import Tags, rows, text
from webapp.models import SmsTemplate

NAMES = {"\u0301": "combining-acute", "\u2065": "u2065", "\U000e0002": "ue0002"}


@pytest.mark.parametrize("name", NAMES, ids=NAMES.values())
def test_a_name_that_looks_blank_is_refused_beside_name(client, login, session, name):
    login("consultant")
    data = {
        "name": name,
        "folder": "General",
        "body": "Hi {{first_name}}",
        "record_type": "both",
        "active": "y",
        "action": "save",
    }
    response = client.post("/templates/new", data=data)
    assert response.status_code == 400
    [box] = Tags(text(response)).find("input", id="name")
    assert box["aria-invalid"] == "true"
    assert '<span class="error" id="name-error">Enter a name for the template.</span>' in text(
        response
    )
    assert rows(session, SmsTemplate) == []
