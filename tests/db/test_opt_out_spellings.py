"""A reply of an opt-out keyword spelt with a space or hyphen inside, as an opt-out line may print
it ("Reply OPT OUT to unsubscribe"), unticks SMS as STOP does, audited (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.replying import consent_audits, receive, rows
from webapp.models import Candidate


@pytest.mark.parametrize("reply", ["OPT OUT", "Opt-out", "STOP ALL", "stop all!"])
def test_an_opt_out_keyword_with_a_space_or_hyphen_inside_unticks_sms(
    app, session, make_candidate, reply
):
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")

    stop = receive(app, session, reply)

    assert rows(session, Candidate, Candidate.id == ada.id)[0].sms_consent is False
    [event] = consent_audits(session)
    assert (event.action, event.subject_id) == ("consent.sms_withdrawn", ada.id)
    assert (event.details["reply_id"], event.details["text"]) == (stop.id, reply)
