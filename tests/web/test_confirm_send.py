"""Confirmation before big sends: Send for more than SMS_CONFIRM_OVER recipients shows the messages,
their SMS parts and the estimated cost first, queues nothing until "Send N messages", sends exactly
what was confirmed, and Cancel keeps the draft; "N messages · M SMS parts" beside Send; and the
administrator's settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.delivery import insert_candidates
from tests.html_tree import html as tree
from tests.pages import assert_refused, audits, text
from webapp.config import ConfigError, from_environment
from webapp.models import AuditEvent, Batch, Comment, Message, Setting
from webapp.sms import confirmation

TOKEN = re.compile(r'/sms/compose/([^/"?]+)/update')
DIGEST = re.compile(r'<input type="hidden" name="confirmed" value="([0-9a-f]+)">')
THRESHOLD = 3
# 147 characters for a two-letter first name: one part; 162 for "Bartholomew-James": two.
LONG_MESSAGE = "Hi {{first_name}}, " + "x" * 140


@pytest.fixture
def app_settings():
    """A low threshold keeps the sends small: more than 3 recipients are confirmed first."""
    return {"SMS_CONFIRM_OVER": THRESHOLD}


# --- helpers -------------------------------------------------------------------------------------


def open_sms(client, people=(), ids=()) -> str:
    response = client.post(
        "/sms/compose",
        data={"kind": "candidates", "ids": [str(i) for i in ids] or [str(p.id) for p in people]},
        follow_redirects=True,
    )
    assert response.status_code == 200, text(response)
    return TOKEN.search(text(response)).group(1)


def send(client, token: str, *, htmx: bool = False, **form):
    form.setdefault("message", "Hi {{first_name}}, new roles this week.")
    return client.post(f"/sms/compose/{token}/send", data=form, htmx=htmx)


def send_confirmed(client, token: str, digest: str, *, htmx: bool = False):
    """ "Send N messages" pressed: the confirmation's form posts its digest (and the token)."""
    return client.post(f"/sms/compose/{token}/send", data={"confirmed": digest}, htmx=htmx)


def confirmation_page(client, token: str, **form):
    """Send pressed without JavaScript: the 303 to the confirmation, then that page."""
    response = send(client, token, **form)
    assert response.status_code == 303, text(response)
    assert response.headers["Location"] == f"/sms/compose/{token}?confirm=1"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return page


def digest_of(response) -> str:
    return DIGEST.search(text(response)).group(1)


def shown(response, ident: str) -> str:
    return tree(response).one(id=ident).text


def rows(session, model, *where) -> list:
    session.rollback()  # see what the requests committed
    return list(session.scalars(sa.select(model).where(*where).order_by(model.id)))


def written(session) -> dict[str, int]:
    return {
        "batches": len(rows(session, Batch)),
        "messages": len(rows(session, Message)),
        "comments": len(rows(session, Comment)),
        "sent audits": len(rows(session, AuditEvent, AuditEvent.action == "sms.sent")),
    }


NOTHING = {"batches": 0, "messages": 0, "comments": 0, "sent audits": 0}


def batch_id(response) -> int:
    match = re.fullmatch(r"/sms/batches/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def set_setting(session, key: str, value) -> None:
    session.merge(Setting(key=key, value=value))
    session.commit()


@pytest.fixture
def consultant(login):
    return login("consultant")


@pytest.fixture
def four(make_candidate):
    """Four consenting candidates on Australian mobiles: one more than the threshold."""
    return [
        make_candidate("Al", "One", "0412 000 001"),
        make_candidate("Bo", "Two", "0412 000 002"),
        make_candidate("Cy", "Three", "0412 000 003"),
        make_candidate("Di", "Four", "0412 000 004"),
    ]


# --- when the confirmation is asked for ----------------------------------------------------------


def test_send_to_more_than_the_threshold_shows_the_confirmation_and_queues_nothing(
    client, consultant, four, session
):
    token = open_sms(client, four)

    page = confirmation_page(client, token)

    assert written(session) == NOTHING
    confirm = tree(page).one(id="confirm-send")
    assert confirm.one(id="confirm-heading").text == "Send 4 messages?"
    assert confirm.one(id="confirm-messages").text == "4"
    assert confirm.one(id="confirm-parts").text.split()[0] == "4"
    assert confirm.one("button").text == "Send 4 messages"
    # The screen's form is not there to press Send on again: only the confirmation's.
    assert 'id="compose-form"' not in text(page)


def test_send_to_exactly_the_threshold_is_sent_without_asking(client, consultant, four, session):
    token = open_sms(client, four[:THRESHOLD])

    response = send(client, token)

    assert response.status_code == 303
    batch_id(response)
    assert written(session)["messages"] == THRESHOLD


@pytest.mark.parametrize("app_settings", [{}])
def test_the_threshold_is_100_unless_set(client, consultant, session):
    ids = insert_candidates(session, 101)
    over = open_sms(client, ids=ids)
    assert send(client, over).headers["Location"] == f"/sms/compose/{over}?confirm=1"
    at = open_sms(client, ids=ids[:100])
    batch_id(send(client, at))
    assert written(session)["messages"] == 100


def test_the_button_gives_the_number_with_thousands_separators(client, consultant, session):
    token = open_sms(client, ids=insert_candidates(session, 1_234))

    page = confirmation_page(client, token, message="New roles this week.")

    assert tree(page).one(id="confirm-send-button").text == "Send 1,234 messages"
    assert shown(page, "confirm-messages") == "1,234"


# --- the totals: each recipient's own parts ------------------------------------------------------


@pytest.fixture
def names_of_two_lengths(make_candidate):
    """Three short first names (one part each with LONG_MESSAGE) and a long one (two parts)."""
    return [
        make_candidate("Al", "One", "0412 000 001"),
        make_candidate("Bo", "Two", "0412 000 002"),
        make_candidate("Cy", "Three", "0412 000 003"),
        make_candidate("Bartholomew-James", "Four", "0412 000 004"),
    ]


def test_the_parts_are_the_sum_of_each_recipients_own(client, consultant, names_of_two_lengths):
    token = open_sms(client, names_of_two_lengths)

    page = confirmation_page(client, token, message=LONG_MESSAGE)

    # 1 + 1 + 1 + 2, not 4 x the longest (8).
    assert shown(page, "confirm-parts").split()[0] == "5"


def test_without_merge_fields_the_parts_are_messages_times_parts(client, consultant, four):
    token = open_sms(client, four)

    page = confirmation_page(client, token, message="y" * 200)  # two parts for everyone

    assert shown(page, "confirm-parts").split()[0] == "8"


def test_the_screen_shows_messages_and_parts_beside_send(client, consultant, names_of_two_lengths):
    token = open_sms(client, names_of_two_lengths)
    send(client, token, message=LONG_MESSAGE)  # kept on the draft; the confirmation is left
    screen = tree(client.get(f"/sms/compose/{token}"))

    assert screen.one(id="send-totals").text == "4 messages · 5 SMS parts"
    assert screen.one(id="send-button").get("aria-describedby") == "send-totals"


def test_one_recipient_reads_one_message_and_one_part(client, consultant, four):
    token = open_sms(client, four[:1])
    screen = tree(client.get(f"/sms/compose/{token}"))

    assert screen.one(id="send-totals").text == "1 message · 0 SMS parts"  # nothing typed yet
    client.post(f"/sms/compose/{token}/save", data={"message": "Hello"})
    screen = tree(client.get(f"/sms/compose/{token}"))
    assert screen.one(id="send-totals").text == "1 message · 1 SMS part"


def test_the_counter_brings_the_totals_out_of_band_as_the_user_types(
    client, consultant, names_of_two_lengths
):
    token = open_sms(client, names_of_two_lengths)

    short = client.post(f"/sms/compose/{token}/counter", data={"message": "Hi"}, htmx=True)
    long = client.post(f"/sms/compose/{token}/counter", data={"message": LONG_MESSAGE}, htmx=True)

    for response, expected in (
        (short, "4 messages · 4 SMS parts"),
        (long, "4 messages · 5 SMS parts"),
    ):
        totals = tree(response).one(id="send-totals")
        assert totals.get("hx-swap-oob") == "true"
        assert totals.text == expected


def test_the_preview_brings_the_totals_out_of_band(client, consultant, names_of_two_lengths):
    token = open_sms(client, names_of_two_lengths)

    response = client.post(
        f"/sms/compose/{token}/preview", data={"message": LONG_MESSAGE}, htmx=True
    )

    totals = tree(response).one(id="send-totals")
    assert (totals.get("hx-swap-oob"), totals.text) == ("true", "4 messages · 5 SMS parts")


def test_the_whole_screen_does_not_mark_the_totals_out_of_band(client, consultant, four):
    token = open_sms(client, four)
    response = client.post(f"/sms/compose/{token}/update", data={"message": "Hi"}, htmx=True)

    assert tree(response).one(id="send-totals").get("hx-swap-oob") is None


# --- the estimated cost --------------------------------------------------------------------------


@pytest.fixture
def three_countries(make_candidate):
    """Three Australians, a New Zealander and a Briton."""
    return [
        make_candidate("Al", "One", "0412 000 001"),
        make_candidate("Bo", "Two", "0412 000 002"),
        make_candidate("Cy", "Three", "0412 000 003"),
        make_candidate("Kiri", "Kiwi", "+64 21 123 4567"),
        make_candidate("Brit", "Pom", "+44 7400 123456"),
    ]


def test_the_cost_sums_the_recipients_with_a_price_and_names_the_countries_without(
    client, consultant, three_countries, session
):
    set_setting(session, confirmation.PART_PRICES, {"AU": "0.08", "NZ": "0.1"})
    set_setting(session, confirmation.CURRENCY, "AUD")
    token = open_sms(client, three_countries)

    page = confirmation_page(client, token, message="y" * 200)  # two parts each

    # 3 x 2 x 0.08 + 1 x 2 x 0.10; the Briton has no price.
    cost = shown(page, "confirm-cost")
    assert cost.startswith("0.68 AUD for the 4 messages to countries with a price.")
    assert "No price is set for GB (1 message): not in the estimate." in cost
    assert shown(page, "confirm-parts").split()[0] == "10"


def test_the_cost_follows_each_recipients_own_parts(
    client, consultant, names_of_two_lengths, session
):
    set_setting(session, confirmation.PART_PRICES, {"AU": "0.05"})
    token = open_sms(client, names_of_two_lengths)

    page = confirmation_page(client, token, message=LONG_MESSAGE)

    assert shown(page, "confirm-cost") == "0.25"  # 5 parts; no currency label set


def test_without_prices_no_cost_is_estimated(client, consultant, four):
    token = open_sms(client, four)

    page = confirmation_page(client, token)

    assert shown(page, "confirm-cost") == "Not estimated: no price per SMS part is set."


# --- sending what was confirmed ------------------------------------------------------------------


def test_without_javascript_send_then_send_n_messages_lands_on_the_batch(
    client, consultant, four, session
):
    token = open_sms(client, four)
    page = confirmation_page(client, token)
    form = tree(page).one(id="confirm-send").one("form")
    assert (form.get("method"), form.get("action")) == ("post", f"/sms/compose/{token}/send")

    response = send_confirmed(client, token, digest_of(page))

    assert response.status_code == 303
    [batch] = rows(session, Batch)
    assert batch.id == batch_id(response)
    assert [m.body for m in rows(session, Message)] == [
        f"Hi {name}, new roles this week." for name in ("Al", "Bo", "Cy", "Di")
    ]
    assert client.get(response.headers["Location"]).status_code == 200


def test_with_htmx_send_answers_the_confirmation_in_place_and_then_the_batch(
    client, consultant, four, session
):
    token = open_sms(client, four)

    asked = send(client, token, htmx=True)

    assert asked.status_code == 200
    assert "<html" not in text(asked) and text(asked).lstrip().startswith('<section id="compose"')
    assert tree(asked).one(id="confirm-send-button").text == "Send 4 messages"
    form = tree(asked).one(id="confirm-send").one("form")
    assert (form.get("hx-post"), form.get("hx-target")) == (
        f"/sms/compose/{token}/send",
        "#compose",
    )
    assert written(session) == NOTHING

    sent = send_confirmed(client, token, digest_of(asked), htmx=True)

    assert sent.status_code == 204
    [batch] = rows(session, Batch)
    assert sent.headers["HX-Redirect"] == f"/sms/batches/{batch.id}"
    assert batch.message_count == 4


def test_the_confirmed_send_keeps_ignore_its_reason_and_the_comment(
    client, login, four, make_candidate, session
):
    login("team-leader")
    olive = make_candidate("Olive", "Out", "0412 000 009", sms_consent=False)
    token = open_sms(client, [*four, olive])
    page = confirmation_page(
        client,
        token,
        ignore="1",
        ignore_reason="Site closed today",
        comment="1",
        comment_type="SMS",
        comment_text="Told about the closure",
    )
    assert shown(page, "confirm-messages") == "5"

    batch_id(send_confirmed(client, token, digest_of(page)))

    [batch] = rows(session, Batch)
    assert (batch.message_count, batch.ignore_opt_out) == (5, True)
    assert {c.text for c in rows(session, Comment)} == {"Told about the closure"}
    [ignored] = rows(session, AuditEvent, AuditEvent.action == "sms.ignore_opt_out")
    assert ignored.details["reason"] == "Site closed today"


def test_someone_opting_out_after_the_confirmation_is_not_sent_to_by_its_ignore(
    client, login, four, make_candidate, session
):
    """The confirmation's digest names who gets what, not who opted out: Ava opting out after it
    was shown leaves it the same. Its Ignore still covers only Olive, the one it showed."""
    login("team-leader")
    olive = make_candidate("Olive", "Out", "0412 000 009", sms_consent=False)
    token = open_sms(client, [*four, olive])
    page = confirmation_page(client, token, ignore="1", ignore_reason="Site closed today")
    posted = {
        field.get("name"): field.get("value")
        for field in tree(page).one(id="confirm-send").all("input", type="hidden")
    }
    ava = four[0]
    ava.sms_consent = False
    session.commit()

    refused = client.post(f"/sms/compose/{token}/send", data=posted)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    assert "Who has opted out of SMS on this list has changed" in text(refused)


def test_a_confirmation_drawn_after_someone_opted_out_keeps_the_screens_opted_out_people(
    client, login, four, make_candidate, session
):
    """Without JavaScript the confirmation is a page of its own, loaded (or reloaded) after the
    Send: Ava opting out in between must not join the people its Ignore covers."""
    login("team-leader")
    olive = make_candidate("Olive", "Out", "0412 000 009", sms_consent=False)
    token = open_sms(client, [*four, olive])
    screen = tree(client.get(f"/sms/compose/{token}")).one("form", id="compose-form")
    [shown] = [
        f.get("value")
        for f in screen.all("input", type="hidden")
        if f.get("name") == "opted_out_shown"
    ]
    asked = send(client, token, ignore="1", ignore_reason="Site closed", opted_out_shown=shown)
    assert asked.status_code == 303
    ava = four[0]
    ava.sms_consent = False
    session.commit()
    asked = client.get(asked.headers["Location"])  # drawn after Ava opted out
    posted = {
        field.get("name"): field.get("value")
        for field in tree(asked).one(id="confirm-send").all("input", type="hidden")
    }

    refused = client.post(f"/sms/compose/{token}/send", data=posted)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    assert "Who has opted out of SMS on this list has changed" in text(refused)


def test_sending_the_confirmation_twice_makes_one_batch(client, consultant, four, session):
    token = open_sms(client, four)
    digest = digest_of(confirmation_page(client, token))

    first, second = send_confirmed(client, token, digest), send_confirmed(client, token, digest)

    assert batch_id(first) == batch_id(second)
    assert written(session)["messages"] == 4


def test_text_changed_in_another_tab_is_refused_and_confirmed_anew(
    client, consultant, four, session
):
    token = open_sms(client, four)
    seen = digest_of(confirmation_page(client, token))
    # Another tab keeps other text on the same draft.
    client.post(f"/sms/compose/{token}/save", data={"message": "Other text, {{first_name}}."})

    refused = send_confirmed(client, token, seen)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    alert = tree(refused).one(id="confirm-send").one("p", class_="error", role="alert")
    assert alert.text == confirmation.CHANGED
    assert tree(refused).one("blockquote").text == "Other text, Al."
    fresh = digest_of(refused)
    assert fresh != seen

    batch_id(send_confirmed(client, token, fresh))
    assert [m.body for m in rows(session, Message)][0] == "Other text, Al."


def test_a_recipient_taken_off_in_another_tab_is_refused(client, consultant, four, session):
    token = open_sms(client, four)
    seen = digest_of(confirmation_page(client, token))
    client.post(f"/sms/compose/{token}/update", data={"remove": str(four[0].id)})

    # Three is not over the threshold, but they were not what was confirmed.
    refused = send_confirmed(client, token, seen)

    assert refused.status_code == 409
    assert written(session) == NOTHING
    assert shown(refused, "confirm-send-button") == "Send 3 messages"


def test_a_number_changed_since_the_confirmation_is_refused(client, consultant, four, session):
    token = open_sms(client, four)
    seen = digest_of(confirmation_page(client, token))
    four[1].set_mobile("0412 000 099", "AU")
    session.commit()

    assert send_confirmed(client, token, seen).status_code == 409
    assert written(session) == NOTHING


def test_a_made_up_digest_is_refused(client, consultant, four, session):
    token = open_sms(client, four)
    send(client, token)

    response = send_confirmed(client, token, "0" * 64)

    assert response.status_code == 409
    assert written(session) == NOTHING


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_nothing_is_queued_without_the_confirmation(client, consultant, four, session, htmx):
    token = open_sms(client, four)

    for _ in range(2):  # pressing Send again only asks again
        assert send(client, token, htmx=htmx).status_code in (200, 303)

    assert written(session) == NOTHING


def test_a_refusal_comes_before_the_confirmation(client, consultant, four, session):
    token = open_sms(client, four)

    response = send(client, token, message="")

    assert response.status_code == 400
    assert "confirm-send" not in text(response)
    assert written(session) == NOTHING


# --- Cancel --------------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["js-off", "htmx"])
def test_cancel_goes_back_to_the_draft_with_everything_typed(
    client, consultant, four, session, htmx
):
    token = open_sms(client, four)
    send(
        client,
        token,
        message="Kept {{first_name}}",
        comment="1",
        comment_type="SMS",
        comment_text="A note",
    )
    page = client.get(f"/sms/compose/{token}?confirm=1")
    cancel = tree(page).one(id="confirm-send").one("a")
    assert cancel.text == "Cancel"
    assert (cancel.get("hx-get"), cancel.get("hx-target")) == (cancel.get("href"), "#compose")

    back = client.get(cancel.get("href"), htmx=htmx)

    assert back.status_code == 200
    screen = tree(back)
    assert screen.one("textarea", id="message").text == "Kept {{first_name}}"
    assert screen.one("textarea", id="comment_text").text == "A note"
    assert "checked" in screen.one("input", id="comment").attrs
    assert "autofocus" in screen.one("textarea", id="message").attrs
    assert "confirm-send" not in text(back)
    assert written(session) == NOTHING


# --- the settings --------------------------------------------------------------------------------


def confirmation_settings(client, **form):
    data = {"confirm_over": "", "part_prices": "", "price_currency": ""} | form
    return client.post("/admin/settings/confirmation", data=data)


def stored(session) -> dict:
    session.rollback()
    return {
        row.key: row.value
        for row in session.scalars(
            sa.select(Setting).where(Setting.key.in_(confirmation.SETTING_KEYS))
        )
    }


def test_the_administrator_sets_the_threshold_and_prices_audited(client, login, four, session):
    admin = login("administrator")

    response = confirmation_settings(
        client, confirm_over="1", part_prices="au 0.08\r\nNZ = 0.1", price_currency="AUD"
    )

    assert response.status_code == 302
    assert stored(session) == {
        "confirm_over": 1,
        "part_prices": {"AU": "0.08", "NZ": "0.1"},
        "price_currency": "AUD",
    }
    [event] = audits(session, "settings.changed")
    assert event.actor_id == admin.id
    assert event.details["changes"]["confirm_over"] == [None, 1]
    page = tree(client.get("/admin/settings"))
    assert page.one("input", id="confirm_over").get("value") == "1"
    assert page.one("textarea", id="part_prices").text == "AU 0.08 NZ 0.1"
    # The setting overrides SMS_CONFIRM_OVER (3): two recipients now ask first.
    token = open_sms(client, four[:2])
    assert send(client, token).headers["Location"] == f"/sms/compose/{token}?confirm=1"


def test_zero_confirms_every_send(client, login, four, session):
    login("administrator")
    assert confirmation_settings(client, confirm_over="0").status_code == 302
    assert stored(session) == {"confirm_over": 0}

    token = open_sms(client, four[:1])
    assert send(client, token).headers["Location"] == f"/sms/compose/{token}?confirm=1"


@pytest.mark.parametrize("typed", ["1,500", "1 500", " 001500 "])
def test_the_threshold_is_read_like_every_whole_number_setting(client, login, session, typed):
    login("administrator")
    assert confirmation_settings(client, confirm_over=typed).status_code == 302
    assert stored(session) == {"confirm_over": 1500}


def test_emptied_settings_fall_back_to_the_server(client, login, session):
    login("administrator")
    confirmation_settings(client, confirm_over="5", part_prices="AU 0.08", price_currency="AUD")

    assert confirmation_settings(client).status_code == 302

    assert stored(session) == {}
    assert "SMS_CONFIRM_OVER (3)" in text(client.get("/admin/settings"))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("confirm_over", "-1", "Enter a whole number from 0"),
        ("confirm_over", "1.5", "Enter a whole number from 0"),
        ("confirm_over", "lots", "Enter a whole number from 0"),
        # Digits to str.isdigit(), not to int(): refused beside the field, never a 500.
        ("confirm_over", "²", "Enter a whole number from 0"),
        ("confirm_over", "1²", "Enter a whole number from 0"),
        ("confirm_over", "٣", "Enter a whole number from 0"),
        ("confirm_over", "9" * 5000, "Enter a whole number from 0"),
        ("confirm_over", "2000000", "Enter a whole number from 0"),
        ("part_prices", "AU", "Line 1: write a country code and a price"),
        ("part_prices", "AU 0.08\nZZ 0.1", "Line 2: “ZZ” is not a two-letter region code"),
        ("part_prices", "AU -0.08", "Line 1: “-0.08” is not a price"),
        ("part_prices", "AU abc", "Line 1: “abc” is not a price"),
        ("part_prices", "AU 1e3", "Line 1: “1e3” is not a price"),
        # Decimal() takes these; a price is digits 0-9 with a decimal point.
        ("part_prices", "AU 0_08", "Line 1: “0_08” is not a price"),
        ("part_prices", "AU -0", "Line 1: “-0” is not a price"),
        ("part_prices", "AU 1e2", "Line 1: “1e2” is not a price"),
        ("part_prices", "AU ٣", "Line 1: “٣” is not a price"),
        ("part_prices", "AU 0.0000001", "“0.0000001” is not a price"),
        ("part_prices", "AU 0.08\nau 0.09", "Line 2: AU is listed more than once."),
        ("price_currency", "Australian dollars", "at most 10 characters"),
    ],
)
def test_settings_that_would_not_work_are_refused_beside_the_field(
    client, login, session, field, value, message
):
    login("administrator")

    response = confirmation_settings(client, **{field: value})

    assert_refused(response, field, message)
    assert stored(session) == {}
    assert audits(session, "settings.changed") == []


def test_only_administrators_change_the_settings(client, login, session):
    login("team-leader")

    assert confirmation_settings(client, confirm_over="1").status_code == 403
    assert stored(session) == {}


@pytest.mark.parametrize(("value", "expected"), [(None, 100), ("", 100), ("0", 0), ("250", 250)])
def test_sms_confirm_over_from_the_environment(value, expected):
    env = {"SECRET_KEY": "x"} | ({} if value is None else {"SMS_CONFIRM_OVER": value})
    assert from_environment(env, Path("/nonexistent"))["SMS_CONFIRM_OVER"] == expected


@pytest.mark.parametrize("value", ["-1", "many"])
def test_sms_confirm_over_must_be_a_whole_number_from_zero(value):
    with pytest.raises(ConfigError, match="SMS_CONFIRM_OVER"):
        from_environment({"SECRET_KEY": "x", "SMS_CONFIRM_OVER": value}, Path("/nonexistent"))
