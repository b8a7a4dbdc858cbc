"""The opt-out line of commercial messages on a real database (SQLite and PostgreSQL): the one
function that adds it, the setting's rules, Send recording it, a commercial template forcing it,
and a STOP reply honoured weeks after a commercial message."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.replying import receive
from webapp.errors import FieldError
from webapp.models import Batch, Candidate, Message, Setting, SmsTemplate, utcnow
from webapp.sms import compose, keywords, opt_out_line, segments, settings
from webapp.sms.opt_out_line import DEFAULT_LINE, check_line, with_line
from webapp.sms.providers.sandbox import Sandbox

LINE = "Reply STOP to opt out"

# --- the one function: typed text, commercial, line -> the body sent ------------------------------


def test_a_commercial_message_gets_the_line_on_a_line_of_its_own_after_the_text():
    assert (
        with_line("New roles this week.", True, LINE)
        == "New roles this week.\nReply STOP to opt out"
    )


def test_trailing_spaces_and_blank_lines_are_not_kept_before_the_line():
    assert with_line("New roles.  \n\n", True, LINE) == "New roles.\nReply STOP to opt out"


def test_a_message_that_is_not_commercial_is_sent_as_typed():
    assert with_line("New roles this week.  ", False, LINE) == "New roles this week.  "


@pytest.mark.parametrize(
    "typed",
    [
        "New roles. Reply STOP to opt out",
        "New roles.\nreply stop to OPT OUT.",
        "New roles.  Reply   STOP\nto opt out",
        "New roles (Reply STOP to opt out)!  \n",
        "Reply STOP to opt out",
    ],
)
def test_the_line_is_not_added_twice_when_the_text_already_holds_it(typed):
    assert with_line(typed, True, LINE) == typed


@pytest.mark.parametrize(
    "typed",
    [
        "Do not reply STOP to opt out of anything.",
        "Reply STOP to opt out, or reply YES for more roles.",
        "Do not reply STOP to opt out",
        "New roles.\nDo not Reply STOP to opt out.",
    ],
)
def test_the_words_anywhere_but_as_the_closing_line_do_not_count_as_the_line(typed):
    assert with_line(typed, True, LINE) == f"{typed}\n{LINE}"


def test_an_empty_message_is_the_line_alone():
    assert with_line("", True, LINE) == LINE


def test_the_line_can_turn_a_one_part_message_into_two():
    typed = "x" * 150
    assert segments.count(typed).segments == 1
    assert segments.count(with_line(typed, True, LINE)).segments == 2


# --- the setting ---------------------------------------------------------------------------------


def test_without_a_setting_the_default_line_applies(session):
    assert opt_out_line.current_line(session) == DEFAULT_LINE == "Reply STOP to opt out"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Reply STOP to opt out", "Reply STOP to opt out"),
        ("  Text  UNSUBSCRIBE to stop  ", "Text UNSUBSCRIBE to stop"),
        ("Opt out: reply optout", "Opt out: reply optout"),
        ("Reply OPT OUT to opt out", "Reply OPT OUT to opt out"),  # replies honour OPT OUT
        ("", ""),
    ],
)
def test_a_line_naming_a_working_keyword_is_kept_with_its_spaces_tidied(typed, kept):
    assert check_line(typed) == kept


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("Reply HALT to unsubscribe", "must name a reply that opts out"),
        ("Reply NO to opt out", "must name a reply that opts out"),
        ("Reply STOPPING to opt out", "must name a reply that opts out"),
        ("Reply STOP to opt out of all of these messages from our agency", "keep it to at most 60"),
        ("Reply STOP to opt out 🙂", "remove 🙂"),
        ("Reply {STOP} to opt out", "remove { }"),
        ("Reply STOP\nto opt out", "one line of plain text"),
    ],
)
def test_a_line_that_would_not_work_is_refused(typed, says):
    with pytest.raises(FieldError) as refused:
        check_line(typed)
    assert refused.value.field == "opt_out_line"
    assert says in refused.value.message


def test_every_keyword_a_line_may_name_is_one_replies_honour():
    for word in keywords.OPT_OUT:
        line = check_line(f"Reply {word.lower()} to opt out")
        assert keywords.consent_change(word.lower()) is False, line


def test_the_setting_is_saved_audited_and_used(session, make_user):
    admin = make_user(role="administrator")
    values = settings.stored(session) | {
        "comment_types": "SMS",
        "opt_out_line": "Text QUIT to stop",
    }
    changes = settings.save(session, admin, **values)
    assert changes == {"opt_out_line": ["", "Text QUIT to stop"]}
    assert opt_out_line.current_line(session) == "Text QUIT to stop"
    settings.save(session, admin, **(values | {"opt_out_line": ""}))
    assert session.get(Setting, "opt_out_line") is None
    assert opt_out_line.current_line(session) == DEFAULT_LINE


# --- Send ----------------------------------------------------------------------------------------


def sent(session, batch: Batch) -> list[str]:
    return [m.body for m in delivery.messages(session, batch)]


def test_a_commercial_send_carries_the_line_and_the_batch_records_it(
    session, make_user, make_candidate
):
    user = make_user()
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    batch = delivery.queue(
        session, user, [ada], provider="sandbox", body="Hi {{first_name}}", commercial=True
    )
    assert sent(session, batch) == ["Hi Ada\nReply STOP to opt out"]
    assert (batch.commercial, batch.opt_out_line) == (True, LINE)
    assert batch.body == "Hi {{first_name}}\nReply STOP to opt out"


def test_the_administrators_line_is_the_one_sent(session, make_user, make_candidate):
    session.add(Setting(key="opt_out_line", value="Text UNSUBSCRIBE to stop"))
    session.commit()
    batch = delivery.queue(
        session, make_user(), [make_candidate()], provider="sandbox", body="Hi", commercial=True
    )
    assert sent(session, batch) == ["Hi\nText UNSUBSCRIBE to stop"]
    assert batch.opt_out_line == "Text UNSUBSCRIBE to stop"


def test_a_send_that_is_not_commercial_records_no_line(session, make_user, make_candidate):
    batch = delivery.queue(session, make_user(), [make_candidate()], provider="sandbox", body="Hi")
    assert sent(session, batch) == ["Hi"]
    assert (batch.commercial, batch.opt_out_line) == (False, None)


def test_a_text_already_holding_the_line_is_sent_once_and_the_batch_still_records_it(
    session, make_user, make_candidate
):
    body = "Hi {{first_name}}. reply stop to opt out"
    batch = delivery.queue(
        session, make_user(), [make_candidate()], provider="sandbox", body=body, commercial=True
    )
    assert sent(session, batch) == ["Hi Ada. reply stop to opt out"]
    assert (batch.commercial, batch.opt_out_line) == (True, LINE)


def test_a_commercial_template_in_use_makes_the_send_commercial_whatever_is_asked(
    session, make_user, make_candidate
):
    user = make_user()
    alert = SmsTemplate(name="Job alert", body="New roles", commercial=True, shared=True)
    session.add(alert)
    session.commit()
    draft = compose.create_draft(session, user, "candidates", [make_candidate().id])
    compose.use_template(session, draft, user, alert.id)
    assert draft.commercial is True
    # The tick box posted unticked: the draft stays commercial while its template is.
    compose.save_input(session, draft, compose.DraftInput(message="New roles", commercial=False))
    assert draft.commercial is True
    batch = compose.send(
        session,
        draft,
        user,
        compose.SendRequest(body="New roles", template_id=alert.id, commercial=False),
        provider="sandbox",
        blocked=frozenset(),
    )
    assert sent(session, batch) == ["New roles\nReply STOP to opt out"]
    assert batch.commercial is True


@pytest.mark.parametrize("change", ["deactivated", "unshared", "for contacts only"])
def test_a_template_withdrawn_after_its_text_was_put_in_still_sends_that_text(
    session, make_user, make_candidate, change
):
    """Someone deactivates, unshares or re-targets the template while it is open on an SMS
    screen: the text it put there is still sent, commercial with its line, and the batch names it
    (it was refused as "not available", with no way out but replacing the typed text)."""
    owner, user = make_user(), make_user()
    alert = SmsTemplate(
        name="Job alert", body="New roles", commercial=True, shared=True, owner_id=owner.id
    )
    session.add(alert)
    session.commit()
    draft = compose.create_draft(session, user, "candidates", [make_candidate().id])
    compose.use_template(session, draft, user, alert.id)
    if change == "deactivated":
        alert.active = False
    elif change == "unshared":
        alert.shared = False
    else:
        alert.record_type = "contact"
    session.commit()
    with pytest.raises(FieldError):  # no longer offered to anyone new
        compose.template_for(session, user, "candidates", alert.id)
    batch = compose.send(
        session,
        draft,
        user,
        compose.SendRequest(body="New roles, call me", template_id=alert.id),
        provider="sandbox",
        blocked=frozenset(),
    )
    assert sent(session, batch) == ["New roles, call me\nReply STOP to opt out"]
    assert (batch.template_id, batch.commercial) == (alert.id, True)


def test_render_all_counts_the_line_for_each_recipient(session, make_user, make_candidate):
    user = make_user()
    draft = compose.create_draft(session, user, "candidates", [make_candidate().id])
    state = compose.analyse_draft(session, draft, frozenset(), False, commercial=True)
    [item] = compose.render_all(state, "x" * 150, user)
    assert item.rendered.text == "x" * 150 + "\n" + LINE
    assert (item.count.characters, item.count.segments) == (172, 2)


def test_a_quick_reply_draft_is_not_commercial(session, make_user, make_candidate):
    draft = compose.create_draft(session, make_user(), "candidates", [make_candidate().id])
    state = compose.analyse_draft(session, draft, frozenset(), False)
    assert (state.commercial, state.opt_out_line, state.body("Hi")) == (False, None, "Hi")


# --- the STOP reply, weeks later -----------------------------------------------------------------


def test_a_stop_reply_29_days_after_a_commercial_message_opts_the_person_out(
    app, session, casey, make_candidate
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    batch = delivery.queue(
        session, casey, [ada], provider="sandbox", body="New roles this week.", commercial=True
    )
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)
    [message] = delivery.messages(session, batch)
    assert (message.state, message.body) == ("sent", "New roles this week.\n" + LINE)
    weeks_ago = utcnow() - timedelta(days=29)
    session.execute(
        sa.update(Message)
        .where(Message.id == message.id)
        .values(created_at=weeks_ago, sent_at=weeks_ago, updated_at=weeks_ago)
    )
    session.commit()

    reply = receive(app, session, "Stop")

    assert reply.in_reply_to_id == message.id
    assert session.get(Candidate, ada.id).sms_consent is False
