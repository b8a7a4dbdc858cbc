"""What the SMS screen's counter and preview (and the template editor's preview) say of a message
agrees with what Send says of it: a message too long for one recipient is said to be too long, for
them, though another's takes more parts; a merge field of the sender's that is empty is empty on
their Profile, not for the person previewed."""

from __future__ import annotations

import re

from tests.pages import text
from tests.web.test_compose import counter, open_sms
from tests.web.test_compose_send import error_beside

# Harrison Young's message is GSM-7, 1,601 characters in 11 parts; Seán Williams's is UCS-2 (á),
# 1,600 characters in 24 parts: the most parts are Seán's, the most characters Harrison's.
LONG = "x" * 1_587 + "{{full_name}}"


def long_and_costly(client, login, make_candidate) -> str:
    login("consultant")
    people = [
        make_candidate("Harrison", "Young", "0412 345 678"),
        make_candidate("Seán", "Williams", "0412 345 679"),
    ]
    return open_sms(client, people)[1]


def test_the_counter_says_too_long_for_the_longest_message_though_another_has_more_parts(
    client, login, make_candidate
):
    token = long_and_costly(client, login, make_candidate)

    body = text(client.post(f"/sms/compose/{token}/counter", data={"message": LONG}, htmx=True))

    # The count is still the costliest message's; the warning is Send's, naming whose.
    assert counter(body) == {"characters": "1600", "segments": "24", "encoding": "UCS-2"}
    assert "too long for <bdi>Harrison Young</bdi>, 1,601 characters (at most 1,600)" in re.sub(
        r"\s+", " ", body
    )
    refused = client.post(f"/sms/compose/{token}/send", data={"message": LONG})
    assert refused.status_code == 400
    assert error_beside(refused, "message") == (
        "The message for Harrison Young is 1,601 characters; the gateway takes at most 1,600."
    )


def test_the_preview_writes_its_character_figures_as_numbers(client, login, make_candidate):
    token = long_and_costly(client, login, make_candidate)

    body = text(client.post(f"/sms/compose/{token}/preview", data={"message": LONG}, htmx=True))

    assert "1,601 characters · 11 SMS · GSM-7" in body  # Harrison, the first previewed
    assert "Worst case across all recipients: 24 SMS, 1,600 characters, UCS-2." in body
    assert "too long for <bdi>Harrison Young</bdi>" in body


def test_a_message_of_1600_characters_for_everyone_is_not_too_long(client, login, make_candidate):
    token = long_and_costly(client, login, make_candidate)
    message = "x" * 1_586 + "{{full_name}}"  # Harrison: 1,600 characters

    body = text(client.post(f"/sms/compose/{token}/counter", data={"message": message}, htmx=True))

    assert "too long" not in body


def test_the_sms_preview_says_an_empty_sender_field_is_empty_on_your_profile(
    client, login, make_candidate, session
):
    consultant = login("consultant")
    consultant.mobile = None
    session.commit()
    token = open_sms(client, [make_candidate("Tane", "Smith")])[1]
    message = "Hi {{first_name}}, call me on {{sender_mobile}}"

    body = text(client.post(f"/sms/compose/{token}/preview", data={"message": message}, htmx=True))

    assert "Empty on your Profile, for everyone: <code>{{sender_mobile}}</code>" in body
    assert "Empty for this person" not in body
    assert "have an empty merge field" not in body


def test_the_sms_preview_counts_only_recipients_with_a_field_of_theirs_empty(
    client, login, make_candidate, session
):
    consultant = login("consultant")
    consultant.mobile = None
    session.commit()
    people = [
        make_candidate("Tane", "Smith", "0412 345 678", job_title="Welder"),
        make_candidate("Mere", "Brown", "0412 345 679"),
    ]
    token = open_sms(client, people)[1]
    message = "Hi {{first_name}} ({{job_title}}), call me on {{sender_mobile}}"
    url = f"/sms/compose/{token}/preview"

    tane = text(client.post(url, data={"message": message}, htmx=True))
    mere = text(client.post(url, data={"message": message, "preview_index": "1"}, htmx=True))

    # Mere has no job title; everyone's {{sender_mobile}} is empty, on the sender's Profile.
    assert "1 of 2 recipients have an empty merge field." in tane
    assert "Empty on your Profile, for everyone: <code>{{sender_mobile}}</code>" in tane
    assert "Empty for this person" not in tane
    assert "Empty for this person: <code>{{job_title}}</code> </p>" in mere
    assert "Empty on your Profile, for everyone: <code>{{sender_mobile}}</code>" in mere


def test_the_template_preview_says_an_empty_sender_field_is_empty_on_your_profile(
    client, login, make_candidate, session
):
    consultant = login("consultant")
    consultant.mobile = None
    session.commit()
    tane = make_candidate("Tane", "Smith")
    data = {
        "name": "Call me",
        "folder": "General",
        "body": "Hi {{first_name}} ({{job_title}}), call me on {{sender_mobile}}",
        "record_type": "both",
        "active": "y",
        "action": "preview",
        "preview_kind": "candidate",
        "preview_id": str(tane.id),
    }

    body = text(client.post("/templates/new", data=data, htmx=True))

    assert "Empty for Tane Smith: <code>{{job_title}}</code> </p>" in body
    assert "Empty on your Profile, for everyone: <code>{{sender_mobile}}</code>" in body
