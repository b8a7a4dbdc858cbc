"""Sent's "Message or template" filter on SQLite and PostgreSQL: each word typed is looked for on
its own, in the message or the template's name, so a batch is found by the words its row shows
(the body's line breaks and double spaces folded to single spaces), in any order, and an accent
typed as one character or as a letter and its mark finds the message stored either way."""

from __future__ import annotations

import sqlalchemy as sa

from tests.delivery import queue
from webapp.models import Batch
from webapp.sms import exports, sent_log

HELLO = "Hello Sam,\nyour interview is at 3pm"
DOUBLE = "Double  spaced reminder"


def found(session, sender_id, typed: str) -> list[int]:
    """The batches Sent lists for `typed` in its text box, read as the page reads it."""
    filters, _, errors = sent_log.parse({"text": typed})
    assert errors == {}
    return sorted(row.batch.id for row in sent_log.search(session, sender_id, filters).rows)


def test_a_batch_is_found_by_the_words_its_row_shows(session, sender, ada, make_template):
    hello = queue(session, sender, [ada], provider="sandbox", body=HELLO)
    double = queue(session, sender, [ada], provider="sandbox", body=DOUBLE)
    template = make_template("Night shift roster", "Hi {{first_name}}, shifts are up")
    rostered = queue(
        session, sender, [ada], provider="sandbox", template_id=template.id, body=template.body
    )
    session.commit()
    assert session.get(Batch, hello.id).body == HELLO  # stored as typed, its line break kept
    [row] = [
        r
        for r in sent_log.search(session, sender.id, sent_log.Filters()).rows
        if r.batch.id == hello.id
    ]
    assert row.title == "Hello Sam, your interview is at 3pm"

    assert found(session, sender.id, "Hello Sam, your interview") == [hello.id]
    assert found(session, sender.id, "Sam, your") == [hello.id]
    assert found(session, sender.id, row.title) == [hello.id]
    assert found(session, sender.id, "Double spaced reminder") == [double.id]
    # Every word is needed, in any order, each in the message or the template's name.
    assert found(session, sender.id, "interview Sam") == [hello.id]
    assert found(session, sender.id, "Sam, their interview") == []
    assert found(session, sender.id, "roster shifts") == [rostered.id]
    assert found(session, sender.id, "Night Sam") == []
    # A percent sign or underscore is still only itself.
    assert found(session, sender.id, "3_m") == []
    assert found(session, sender.id, "Sam%your") == []
    # The CSV lists what the page does.
    filters, _, _ = sent_log.parse({"text": "your Sam,"})
    assert exports.sent_row_count(session, sender.id, filters) == 1


def test_an_accent_typed_either_way_finds_a_message_stored_either_way(session, sender, ada):
    decomposed = queue(session, sender, [ada], provider="sandbox", body="Cafe\u0301 meeting")
    composed = queue(session, sender, [ada], provider="sandbox", body="Caf\u00e9 lunch")
    plain = queue(session, sender, [ada], provider="sandbox", body="Cafe opening")
    session.commit()
    assert session.get(Batch, decomposed.id).body == "Cafe\u0301 meeting"

    both = sorted([decomposed.id, composed.id])
    assert found(session, sender.id, "Caf\u00e9") == both
    assert found(session, sender.id, "Cafe\u0301") == both
    assert found(session, sender.id, "caf\u00e9 meeting") == [decomposed.id]
    assert found(session, sender.id, "lunch Cafe\u0301") == [composed.id]
    # Without its accent the word is another word's start too, as before.
    assert found(session, sender.id, "Cafe") == sorted([decomposed.id, plain.id])


def test_one_plain_word_is_one_condition_as_before():
    """The bench's "Sent: my batches, text" page reads a word as it always has."""
    [condition] = sent_log.conditions(sent_log.Filters(text="night"), None)
    before = sa.or_(
        Batch.body.icontains("night", autoescape=True),
        Batch.template_name.icontains("night", autoescape=True),
    )
    assert str(condition) == str(before)
