"""Adding a person from the Add form on a real database (SQLite and PostgreSQL): once per form
token, even for two posts of it racing, and refused once for a person of the kind already stored
with the mobile or email, until confirmed."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from webapp.models import Candidate
from webapp.people import records

TOKEN = "t" * 32


def zoe(**values) -> records.PersonData:
    base = {"first_name": "Zoë", "last_name": "Müller", "email": None, "status": "Active"}
    return records.PersonData(values=base | values, mobile="0412 345 678")


def names(session) -> list[str]:
    session.rollback()
    return [p.full_name for p in session.scalars(sa.select(Candidate).order_by(Candidate.id))]


def test_a_repeat_of_the_form_returns_the_person_it_added(session, casey):
    first = records.add_person(session, "candidates", zoe(), casey, "AU", token=TOKEN)
    again = records.add_person(session, "candidates", zoe(), casey, "AU", token=TOKEN)
    assert (first.repeated, again.repeated) == (False, True)
    assert again.person.id == first.person.id
    assert names(session) == ["Zoë Müller"]


def test_a_token_is_its_users_own(session, casey, make_user):
    records.add_person(session, "candidates", zoe(), casey, "AU", token=TOKEN)
    other = make_user("jo")
    # Another user's form with the same token is no repeat of Casey's: refused as the same person.
    with pytest.raises(records.AlreadyStored):
        records.add_person(session, "candidates", zoe(), other, "AU", token=TOKEN)


def test_the_same_mobile_is_refused_until_confirmed(session, casey, ada):
    with pytest.raises(records.AlreadyStored) as refused:
        records.add_person(session, "candidates", zoe(), casey, "AU", token=TOKEN)
    assert [p.id for p in refused.value.people] == [ada.id]
    assert refused.value.status == 409
    assert names(session) == ["Ada Lovelace"]

    records.add_person(session, "candidates", zoe(), casey, "AU", token=TOKEN, confirmed=True)
    assert names(session) == ["Ada Lovelace", "Zoë Müller"]


def test_two_posts_of_one_form_racing_add_one_person(app, session, casey, monkeypatch):
    looked_up = records.same_people

    def slowly(*args, **kwargs):
        time.sleep(0.5)  # between the token's look-up and the save: the other post comes now
        return looked_up(*args, **kwargs)

    monkeypatch.setattr(records, "same_people", slowly)
    sessions = app.extensions["database"].sessionmaker
    outcomes: list[bool] = []

    def post() -> None:
        with sessions() as mine:
            added = records.add_person(
                mine, "candidates", zoe(), mine.merge(casey), "AU", token=TOKEN
            )
            outcomes.append(added.repeated)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(outcomes) == [False, True]
    assert names(session) == ["Zoë Müller"]


@pytest.fixture
def casey(make_user):
    return make_user("casey", role="consultant")
