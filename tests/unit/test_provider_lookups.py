"""Reading the gateways' answers to a lookup of an `unknown` message: SMS Central's status XML
(whose documented layout was not at hand, so it is read leniently but never taken as "found"
without a status) and the matching of Twilio's message list by number, text, time and sid."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes import FakeTwilio, refused_url, twilio_error
from webapp.sms.providers import Enquiry, Found, LookupFailed, OutboundSms
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.providers.smscentral import SmsCentral, parse_status
from webapp.sms.providers.twilio import LOOKUP_PAGE_SIZE, Twilio, _match, _same_text

QUEUED_AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def enquiry(uuid="u-1", to="+61412345678", body="Hi Ada, new roles this week.", since=QUEUED_AT):
    return Enquiry(uuid, uuid, to, body, since)


# --- SMS Central's status answer -----------------------------------------------------------------


def test_each_message_element_with_a_reference_and_a_status_is_found_with_its_state():
    answer = """<?xml version="1.0" encoding="UTF-8"?>
    <messages>
      <message><ID>1001</ID><REFERENCE>a</REFERENCE><STATUS>DELIVRD</STATUS></message>
      <message><ID>1002</ID><REFERENCE>b</REFERENCE><STATUS>BUFFRED</STATUS></message>
      <message><ID>1003</ID><REFERENCE>c</REFERENCE><STATUS>FAILED</STATUS>
        <RESULT>7</RESULT><STATUSDESCRIPTION>Absent subscriber</STATUSDESCRIPTION></message>
    </messages>"""

    found = parse_status(answer)

    assert found == {
        "a": Found("delivered", "1001"),
        "b": Found("sent", "1002"),
        "c": Found("undelivered", "1003", error_code="7", error_text="Absent subscriber"),
    }


def test_attributes_lower_case_names_and_namespaces_are_read_too():
    answer = (
        '<r:Response xmlns:r="urn:x"><r:Message reference="a" status="delivrd" id="9"/>'
        "<r:Message><r:Reference>b</r:Reference><r:Status>Sent</r:Status></r:Message>"
        "</r:Response>"
    )

    assert parse_status(answer) == {"a": Found("delivered", "9"), "b": Found("sent", None)}


def test_an_element_with_a_reference_but_no_status_is_not_taken_as_found():
    """An echo of the request must not settle a message the gateway may never have taken: it is
    safer to send it again with its reference (refused with 513 if it was taken)."""
    answer = "<response><REFERENCE>a</REFERENCE><messages/></response>"

    assert parse_status(answer) == {}


@pytest.mark.parametrize("status", ["", "NOT FOUND", "Unknown"])
def test_an_empty_or_not_found_status_is_not_found(status):
    answer = f"<m><message><REFERENCE>a</REFERENCE><STATUS>{status}</STATUS></message></m>"
    assert parse_status(answer) == {}


@pytest.mark.parametrize(
    "answer, says",
    [
        ("511 Invalid username or password", "511"),
        ("not xml <", "not XML"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DOCTYPE"),
    ],
)
def test_an_error_answer_or_anything_but_xml_is_a_value_error(answer, says):
    with pytest.raises(ValueError, match=says):
        parse_status(answer)


def test_a_lookup_against_a_closed_port_fails_without_raising():
    provider = SmsCentral(refused_url(), "u", "p", "SMSDesk")
    try:
        results = provider.lookup([enquiry("a"), enquiry("b")])
    finally:
        provider.close()

    assert set(results) == {"a", "b"}
    assert all(isinstance(result, LookupFailed) for result in results.values())


# --- Twilio's message list -----------------------------------------------------------------------


def listed(
    sid="SM1", to="+61412345678", body="Hi Ada, new roles this week.", created=QUEUED_AT, **extra
):
    return {
        "sid": sid,
        "to": to,
        "body": body,
        "direction": "outbound-api",
        "date_created": email.utils.format_datetime(created),
        "status": "queued",
        **extra,
    }


def test_the_earliest_unclaimed_message_with_our_number_and_text_since_we_queued_it_matches():
    messages = [
        listed("SM3", created=QUEUED_AT + timedelta(minutes=2)),
        listed("SM2", created=QUEUED_AT + timedelta(minutes=1)),
        listed("SM1", created=QUEUED_AT - timedelta(hours=1)),
    ]  # an older, same text

    assert _match(messages, enquiry(), set())["sid"] == "SM2"
    assert _match(messages, enquiry(), {"SM2"})["sid"] == "SM3"
    assert _match(messages, enquiry(), {"SM2", "SM3"}) is None


@pytest.mark.parametrize(
    "message",
    [
        listed(to="+61412345679"),
        listed(body="Your parcel is on its way."),
        listed(direction="inbound"),
        listed(created=QUEUED_AT - timedelta(minutes=30)),
    ],
)
def test_another_number_text_direction_or_an_older_message_does_not_match(message):
    assert _match([message], enquiry(), set()) is None


def test_a_status_callback_with_our_uuid_decides_when_the_resource_shows_one():
    ours = listed("SM1", body="changed by the carrier", status_callback="https://d/w?m=u-1")
    theirs = listed("SM2", status_callback="https://d/w?m=u-2")

    assert _match([theirs, ours], enquiry("u-1"), set())["sid"] == "SM1"


def test_smart_encoding_of_quotes_and_dashes_still_matches_but_other_words_do_not():
    assert _same_text('Hi Ada - it\'s "on"...', "Hi Ada – it’s “on”…")
    assert not _same_text("Hi Ada, see you at 9", "Hi Ada, see you at 10")
    assert not _same_text("", "…")


# --- the sandbox ---------------------------------------------------------------------------------


def test_the_sandbox_finds_every_message_it_was_asked_about():
    assert Sandbox().lookup([enquiry("a")]) == {"a": Found("sent", "sandbox-a")}


def test_once_twilios_list_cannot_be_read_the_other_numbers_wait_for_the_next_lookup():
    with FakeTwilio() as fake:
        fake.inject(twilio_error(500, 20500, "Internal error"))
        provider = Twilio(
            fake.api_base, fake.account_sid, fake.auth_token, from_number="+61400000001"
        )
        try:
            results = provider.lookup(
                [enquiry("a", to="+61412345678"), enquiry("b", to="+61412345679")]
            )
        finally:
            provider.close()

    assert all(isinstance(result, LookupFailed) for result in results.values())
    assert len(fake.lists) == 1  # a gateway in trouble is not asked once per number


def test_twilios_list_is_read_page_by_page_until_it_reaches_messages_older_than_ours():
    with FakeTwilio() as fake:
        provider = Twilio(
            fake.api_base, fake.account_sid, fake.auth_token, from_number="+61400000001"
        )
        try:
            # Ours first, then more than a page of newer messages to the same number.
            provider.send(OutboundSms("u-1", "+61412345678", "Hi Ada, new roles this week."))
            for n in range(LOOKUP_PAGE_SIZE + 5):
                provider.send(OutboundSms(f"x{n}", "+61412345678", f"Other news {n}"))
            since = datetime.now(UTC) - timedelta(minutes=1)
            [result] = provider.lookup([enquiry("u-1", since=since)]).values()
        finally:
            provider.close()

    assert result == Found("sent", fake.messages[0]["sid"])
    assert len(fake.lists) == 2
