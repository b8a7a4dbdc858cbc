"""Server-side sessions on every database (webapp.users.sessions), and the account changes in
webapp.users.accounts that end them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tests.conftest import started_session
from webapp import config as settings
from webapp import create_app
from webapp.models import AuditEvent, User, UserSession
from webapp.users import accounts
from webapp.users import sessions as user_sessions
from webapp.users.accounts import UserDetails
from webapp.web import sessions as web_sessions

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LONG_AGO = T0 - timedelta(hours=12)
PASSWORD = "correct-horse-battery"


def start(session, user, moment=T0) -> str:
    return started_session(session, user, moment)


def live(session, token: str, user) -> bool:
    session.rollback()
    return user_sessions.find(session, token, user.id) is not None


def stored(session, user) -> list[UserSession]:
    session.rollback()
    return list(session.scalars(sa.select(UserSession).where(UserSession.user_id == user.id)))


def test_only_the_tokens_hash_is_stored_and_find_needs_the_right_user(session, make_user):
    jo, other = make_user("jo"), make_user("other")
    token = start(session, jo)

    [row] = stored(session, jo)
    assert row.id == user_sessions.digest(token) != token and len(row.id) == 64
    found = user_sessions.find(session, token, jo.id)
    assert found is not None and found[1].id == jo.id
    assert user_sessions.find(session, token, other.id) is None
    assert user_sessions.find(session, token + "x", jo.id) is None
    assert user_sessions.find(session, None, jo.id) is None


def test_end_revokes_one_session_once(session, make_user):
    jo = make_user("jo")
    first, second = start(session, jo), start(session, jo)

    assert user_sessions.end(session, first, T0) is True
    session.commit()
    assert user_sessions.end(session, first, T0) is False

    assert not live(session, first, jo)
    assert live(session, second, jo)


def test_end_all_keeps_only_the_named_session(session, make_user):
    jo, other = make_user("jo"), make_user("other")
    here, there, elsewhere = start(session, jo), start(session, jo), start(session, jo)
    others = start(session, other)

    assert user_sessions.end_all(session, jo.id, T0, keep=here) == 2
    session.commit()

    assert [live(session, token, jo) for token in (here, there, elsewhere)] == [True, False, False]
    assert live(session, others, other)


def test_a_new_sign_in_forgets_the_users_revoked_and_too_old_sessions(session, make_user):
    jo, other = make_user("jo"), make_user("other")
    old = start(session, jo, LONG_AGO - timedelta(minutes=1))
    ended = start(session, jo)
    user_sessions.end(session, ended, T0)
    kept = start(session, jo, T0 - timedelta(hours=1))
    others_old = start(session, other, LONG_AGO - timedelta(minutes=1))
    session.commit()

    newest = start(session, jo)

    assert {row.id for row in stored(session, jo)} == {
        user_sessions.digest(kept),
        user_sessions.digest(newest),
    }
    assert [row.id for row in stored(session, other)] == [user_sessions.digest(others_old)]
    assert not live(session, old, jo)


def test_touch_is_due_after_a_minute(session, make_user):
    jo = make_user("jo")
    token = start(session, jo)
    row, _user = user_sessions.find(session, token, jo.id)

    assert not user_sessions.touch_due(row, T0 + timedelta(seconds=59))
    assert user_sessions.touch_due(row, T0 + timedelta(seconds=60))
    user_sessions.touch(session, row, T0 + timedelta(seconds=60))
    session.commit()
    assert stored(session, jo)[0].last_seen_at == T0 + timedelta(seconds=60)


# --- the account changes that end sessions -------------------------------------------------------


def test_changing_ones_password_ends_the_other_sessions(session, make_user):
    jo = make_user("jo")
    here, there = start(session, jo), start(session, jo)

    accounts.change_password(session, jo, PASSWORD, "my-very-own-password", keep_session=here)

    assert (live(session, here, jo), live(session, there, jo)) == (True, False)


def test_a_temporary_password_deactivation_and_role_change_each_end_the_users_sessions(
    session, make_user
):
    admin, jo = make_user("boss", role="administrator"), make_user("jo")
    admins = start(session, admin)

    token = start(session, jo)
    accounts.set_temporary_password(session, admin, jo, "a-long-temporary-pw", keep_session=admins)
    assert not live(session, token, jo)

    token = start(session, jo)
    accounts.deactivate_user(session, admin, jo)
    accounts.reactivate_user(session, admin, jo)
    assert not live(session, token, jo)

    token = start(session, jo)
    for roles, still_live in ((("consultant",), True), (("viewer",), False)):
        details = UserDetails(
            username="jo",
            full_name="Jo",
            email="jo@example.com",
            mobile=None,
            office_id=None,
            roles=roles,
        )
        accounts.edit_user(session, admin, jo, details, "AU", keep_session=admins)
        assert live(session, token, jo) is still_live, roles

    assert live(session, admins, admin)


def test_sign_out_everywhere_ends_them_all_and_is_audited(session, make_user):
    jo = make_user("jo")
    tokens = [start(session, jo) for _ in range(3)]
    user_sessions.end(session, tokens[0], T0)
    session.commit()

    assert accounts.sign_out_everywhere(session, jo) == 2

    assert not any(live(session, token, jo) for token in tokens)
    [event] = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "profile.signed_out_everywhere")
    ).all()
    assert (event.actor_id, event.subject_id, event.details) == (jo.id, jo.id, {"sessions": 2})


def test_a_deleted_users_sessions_go_with_them(session, make_user):
    """Users are never deleted by the app, but the foreign key must not block a manual clean-up."""
    jo = make_user("jo")
    start(session, jo)
    session.execute(sa.delete(User).where(User.id == jo.id))
    session.commit()

    assert session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


# --- through the web app, on each database -------------------------------------------------------


def test_two_web_processes_share_sessions_and_activity_is_noted_once_a_minute(
    app, client, database_url, make_user, session, monkeypatch
):
    clock = {"now": T0.timestamp()}
    monkeypatch.setattr(web_sessions, "now", lambda: clock["now"])
    second = create_app(settings.testing_config(database_url))
    second.test_client_class = type(client)
    try:
        jo = make_user("jo")
        assert client.login("jo").status_code == 302
        there = second.test_client()
        there.set_cookie("session", client.get_cookie("session").value)

        clock["now"] += 30
        assert there.get("/candidates").status_code == 200
        assert stored(session, jo)[0].last_seen_at == T0
        clock["now"] += 60  # a form post in one process, a page in the other
        assert there.post("/profile", data={"email": "jo@example.org"}).status_code == 302
        assert stored(session, jo)[0].last_seen_at == T0 + timedelta(seconds=90)
        clock["now"] += 120
        assert client.get("/candidates").status_code == 200
        assert stored(session, jo)[0].last_seen_at == T0 + timedelta(seconds=210)

        assert client.post("/logout").status_code == 302

        refused = there.get("/candidates")
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
        assert stored(session, jo)[0].revoked_at == T0 + timedelta(seconds=210)
    finally:
        second.extensions["database"].engine.dispose()


def test_expiry_is_read_from_the_sessions_row_whatever_the_cookie_says(
    client, make_user, session, monkeypatch
):
    monkeypatch.setattr(web_sessions, "now", T0.timestamp)
    jo = make_user("jo")

    def open_with_the_row_moved(**row_values) -> str:
        """Sign in, move the row's timestamps back (the cookie's stay at now), open a page: where
        to."""
        assert client.login("jo").status_code == 302
        session.rollback()  # a fresh transaction, after the sign-in's
        session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == jo.id, UserSession.revoked_at.is_(None))
            .values(**row_values)
        )
        session.commit()
        return client.get("/candidates").headers.get("Location", "")

    # Seen 60:59 ago: within the idle limit plus the minute by which last_seen_at may lag.
    assert open_with_the_row_moved(last_seen_at=T0 - timedelta(minutes=60, seconds=59)) == ""
    assert client.post("/logout").status_code == 302

    for moved in (
        {"last_seen_at": T0 - timedelta(minutes=61, seconds=1)},
        {"created_at": T0 - timedelta(hours=12, seconds=1)},
    ):
        assert open_with_the_row_moved(**moved).startswith("/login")
        assert all(row.revoked_at == T0 for row in stored(session, jo))  # ended on the server
