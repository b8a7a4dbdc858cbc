"""Login throttling kept in the database: growing delays per account and per address, shared by
every app process, the same answer for unknown usernames, reset by a success, and audited."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser
from webapp import config as settings
from webapp import create_app
from webapp.auth.routes import BAD_CREDENTIALS
from webapp.models import AuditEvent, LoginFailure
from webapp.users import throttle

CSRF_TOKEN = re.compile(r"[\w-]{20,}\.[\w-]+\.[\w-]+")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The time the sign-in view sees; it stands still until a test moves it."""
    state = {"now": T0}
    monkeypatch.setattr(throttle, "now", lambda: state["now"])

    def move_to(seconds_after_t0: float) -> None:
        state["now"] = T0 + timedelta(seconds=seconds_after_t0)

    return move_to


def fail(
    session, username: str = "ada", address: str = "10.0.0.1", *, times: int, at: datetime = T0
) -> datetime | None:
    until = None
    for _ in range(times):
        until = throttle.record_failure(session, throttle.Attempt(username, address), at)
    session.commit()
    return until


def sign_in(client, username: str, password: str = PASSWORD, address: str = "10.0.0.1"):
    return client.post(
        "/login",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def refused(response) -> bool:
    return response.status_code == 401 and BAD_CREDENTIALS in response.get_data(as_text=True)


def locked_out(response) -> bool:
    """Refused while locked: said so, whether the password typed was right or not."""
    page = response.get_data(as_text=True)
    return (
        response.status_code == 429
        and "Too many failed attempts from this account or network" in page
        and BAD_CREDENTIALS not in page
    )


def page_without_tokens(response, username: str) -> str:
    """The page with the CSRF tokens (signed, so different each time) and the username blanked."""
    return CSRF_TOKEN.sub("TOKEN", response.get_data(as_text=True).replace(username, "NAME"))


def audits(session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (4, 0), (5, 1), (6, 2), (7, 4), (10, 32), (14, 512), (15, 900), (40, 900)],
)
def test_the_delay_doubles_from_the_fifth_failure_and_is_capped(failures, seconds):
    assert throttle.delay_after(failures) == timedelta(seconds=seconds)


def test_four_failures_lock_nothing_and_the_fifth_locks_for_a_second(session):
    attempt = throttle.Attempt("ada", "10.0.0.1")
    assert fail(session, times=4) is None
    assert throttle.locked_until(session, attempt, T0) is None

    assert fail(session, times=1) == T0 + timedelta(seconds=1)
    assert throttle.locked_until(
        session, attempt, T0 + timedelta(milliseconds=999)
    ) == T0 + timedelta(seconds=1)
    assert throttle.locked_until(session, attempt, T0 + timedelta(seconds=1)) is None


def test_the_account_is_locked_from_any_address_and_the_address_for_any_account(session):
    fail(session, "ada", "10.0.0.1", times=8)

    assert throttle.locked_until(session, throttle.Attempt("ADA ", "10.9.9.9"), T0) is not None
    assert throttle.locked_until(session, throttle.Attempt("bob", "10.0.0.1"), T0) is not None
    assert throttle.locked_until(session, throttle.Attempt("bob", "10.9.9.9"), T0) is None


def test_failures_older_than_the_window_no_longer_count(session):
    fail(session, times=10, at=T0)
    later = T0 + throttle.WINDOW + timedelta(seconds=1)

    assert throttle.locked_until(session, throttle.Attempt("ada", "10.0.0.1"), later) is None


def test_a_success_clears_the_accounts_failures_but_not_the_addresss(session):
    fail(session, "ada", "10.0.0.1", times=3)
    fail(session, "bob", "10.0.0.1", times=1)

    throttle.record_success(session, throttle.Attempt("Ada", "10.0.0.1"))
    session.commit()

    left = session.execute(sa.select(LoginFailure.kind, LoginFailure.key)).all()
    assert sorted(left) == sorted([("address", "10.0.0.1")] * 4 + [("account", "bob")])


def test_the_view_says_a_locked_sign_in_is_locked_not_that_the_password_is_wrong(
    client, make_user, clock
):
    # It used to answer "Wrong username or password" to the right password while locked.
    user = make_user(role="viewer")
    for _ in range(5):
        assert refused(sign_in(client, user.username, "wrong-password-123"))

    locked = sign_in(client, user.username)  # the right password, one failure too many

    assert locked_out(locked)
    assert "Try again in about 1 second" in locked.get_data(as_text=True)
    assert locked_out(sign_in(client, user.username, "wrong-password-123"))  # the same answer
    clock(1)
    assert sign_in(client, user.username).status_code == 302


def test_an_unknown_username_is_throttled_exactly_like_a_known_one(
    client, session, make_user, clock
):
    known = make_user(username="known-user", role="viewer")
    answers = {}
    for name, address in ((known.username, "10.0.0.1"), ("nobody-here", "10.0.0.2")):
        first = [sign_in(client, name, "wrong-password-123", address) for _ in range(5)]
        # From a fresh address, so only the account's count can refuse it; the known user's
        # password is right, yet the answer is the same as for a name that does not exist.
        sixth = sign_in(client, name, PASSWORD, "10.9.9.9")
        answers[name] = [(r.status_code, page_without_tokens(r, name)) for r in first + [sixth]]
        assert all(refused(r) for r in first) and locked_out(sixth)
        session.rollback()  # end the read transaction, to see what the requests committed
        assert throttle.locked_until(session, throttle.Attempt(name, "10.8.8.8"), T0) is not None

    assert answers[known.username] == answers["nobody-here"]


def test_throttling_holds_across_two_app_processes_on_one_database(database_url, make_user, clock):
    user = make_user(role="viewer")
    apps = [create_app(settings.testing_config(database_url)) for _ in range(2)]
    try:
        clients = []
        for app in apps:
            app.test_client_class = Browser
            clients.append(app.test_client())
        for index in range(5):
            assert refused(sign_in(clients[index % 2], user.username, "wrong-password-123"))

        assert locked_out(sign_in(clients[1], user.username))
        assert locked_out(sign_in(clients[0], user.username))
        clock(1)
        assert sign_in(clients[1], user.username).status_code == 302
    finally:
        for app in apps:
            app.extensions["database"].engine.dispose()


def test_guesses_sent_in_parallel_cannot_all_pass_before_the_first_failure_counts(
    app, session, make_user, clock
):
    # Each guess used to read the count, check the password, and only then write its failure:
    # twelve at once all read "no failures" and were all checked against the password.
    user = make_user(role="viewer")
    app.test_client_class = Browser
    clients = [app.test_client() for _ in range(12)]
    for client in clients:
        client.get("/login")  # each its own browser, with its own form token
    start = threading.Barrier(len(clients))

    def guess(client) -> int:
        start.wait()
        return sign_in(client, user.username, "wrong-password-123").status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(guess, clients))

    # The first five are checked and fail; the rest find the account locked and are told so.
    assert sorted(answers) == [401] * throttle.FREE_FAILURES + [429] * (
        len(clients) - throttle.FREE_FAILURES
    )
    checked = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).all()
    assert len(checked) == throttle.FREE_FAILURES  # the rest found the account locked
    assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "auth.locked")) == 1


def test_wrong_current_passwords_sent_in_parallel_count_one_by_one(app, session, make_user, clock):
    # A session left open is no way round the lockout, whatever the number of tabs guessing.
    user = make_user(role="viewer")
    app.test_client_class = Browser
    clients = [app.test_client() for _ in range(12)]
    for client in clients:
        assert client.login(user.username).status_code == 302
    start = threading.Barrier(len(clients))
    new = "my-very-own-password"

    def guess(client) -> int:
        start.wait()
        form = {"current_password": "wrong-password-123", "new_password": new}
        return client.post("/profile/password", data=form | {"repeat_password": new}).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(guess, clients))

    assert set(answers) <= {400, 429} and answers.count(429) == len(clients) - 5, answers
    session.rollback()
    counted = session.scalar(
        sa.select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.kind == "account")
    )
    assert counted == throttle.FREE_FAILURES


def test_a_success_resets_the_count(client, session, make_user, clock):
    user = make_user(role="viewer")
    for _ in range(4):
        sign_in(client, user.username, "wrong-password-123", "10.0.0.1")
    assert sign_in(client, user.username, address="10.0.0.2").status_code == 302
    client.post("/logout")

    for _ in range(4):
        assert refused(sign_in(client, user.username, "wrong-password-123", "10.0.0.3"))
    # Four failures since the success, not eight: the account is not locked.
    assert sign_in(client, user.username, address="10.0.0.4").status_code == 302


def test_failures_and_locks_are_audited_with_username_and_address(
    client, session, make_user, clock
):
    for _ in range(5):
        sign_in(client, "nobody-here", "wrong-password-123", "10.0.0.7")
    sign_in(client, "nobody-here", "wrong-password-123", "10.0.0.7")  # refused while locked

    failed = audits(session, "auth.login_failed")
    locked = audits(session, "auth.locked")
    assert len(failed) == 5
    assert all(
        e.actor_id is None
        and e.details["username"] == "nobody-here"
        and e.details["address"] == "10.0.0.7"
        for e in failed + locked
    )
    assert len(locked) == 1
    assert locked[0].details["until"] == (T0 + timedelta(seconds=1)).isoformat()


@pytest.mark.parametrize(
    "seconds, said",
    [
        (0.2, "about 1 second"),
        (1, "about 1 second"),
        (8, "about 8 seconds"),
        (89, "about 89 seconds"),
        (256, "about 4 minutes"),
        (900, "about 15 minutes"),
    ],
)
def test_a_refusal_says_how_long_the_wait_is(seconds, said):
    moment = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    assert throttle.wait_text(moment + timedelta(seconds=seconds), moment) == said
