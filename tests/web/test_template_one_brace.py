"""A single literal brace before a word in a template ("{Email us}"): refused as an unfinished
merge field, with a hint that says how to write it, and saved when written as the hint says."""

from __future__ import annotations

import html

from tests.pages import rows, text
from webapp.models import SmsTemplate


def form_values(body: str) -> dict[str, str]:
    return {
        "name": "Salary note",
        "folder": "General",
        "body": body,
        "record_type": "both",
        "active": "y",
        "action": "save",
    }


def test_a_brace_before_a_word_is_refused_with_how_to_write_one(client, login, session):
    login("consultant")
    response = client.post("/templates/new", data=form_values("Salary {location dependent}"))
    assert response.status_code == 400
    said = html.unescape(text(response))
    assert "Unfinished merge field(s): {location ." in said
    assert "write \\{ for one literal brace, \\{{ for two." in said
    assert rows(session, SmsTemplate) == []


def test_an_escaped_brace_is_saved_as_typed_and_counted_as_one_brace(client, login, session):
    login("consultant")
    body = r"Salary \{location dependent}, {{first_name}}"
    page = text(client.post("/templates/new", data={**form_values(body), "action": "counter"}))
    # "Salary {location dependent}, {{first_name}}": 43 characters, the escape's backslash not
    # among them.
    assert 'data-characters="43"' in page
    assert client.post("/templates/new", data=form_values(body)).status_code == 303
    [saved] = rows(session, SmsTemplate)
    assert saved.body == body
