"""A failed reply email on the Status page settled twice at once (Retry in one tab, Discard in
another, or two administrators): the second reads the email afresh under its row's lock, finds it
no longer failed and changes nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from functools import partial

import pytest

from tests.replying import audits
from tests.web.test_status_page import failed_email
from webapp.models import Email, User
from webapp.sms import status
from webapp.sms.replies import ReplySettings

retry = partial(status.retry_email, settings=ReplySettings("AU", "", "replies@example.com"))


@pytest.mark.parametrize(
    ("first", "second", "state"),
    [
        (retry, status.discard_email, "queued"),
        (status.discard_email, retry, "discarded"),
    ],
    ids=["retried-then-discard", "discarded-then-retry"],
)
def test_the_second_of_two_at_once_finds_it_settled(app, session, make_user, first, second, state):
    admin = make_user("root", role="administrator")
    email = failed_email(session)
    sessions = app.extensions["database"].sessionmaker
    late = sessions()
    try:
        # The second request has read the email (still failed) when the first one lands.
        theirs = late.get(Email, email.id)
        assert theirs.state == "failed"
        assert first(session, session.get(Email, email.id), admin)

        assert not second(late, theirs, late.get(User, admin.id))
    finally:
        late.close()
    session.expire_all()
    assert session.get(Email, email.id).state == state
    assert len(audits(session, "email.retried") + audits(session, "email.discarded")) == 1
