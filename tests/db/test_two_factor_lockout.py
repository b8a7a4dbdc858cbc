"""Two-factor codes sent in parallel, on SQLite and PostgreSQL: each waits its turn and sees the
failures of those before it, so the lockout's five free failures hold (a check commits its own
steps, which once let the next guess in before the failure was written)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from tests.conftest import PASSWORD, Browser
from tests.web import test_two_factor as pages
from webapp.models import AuditEvent, LoginFailure
from webapp.users import throttle

# The two-factor pages' fixtures: the default roles must enrol, the clock stands at MOMENT.
MOMENT = pages.MOMENT
app_settings, clock, material = pages.app_settings, pages.clock, pages.material
code_at, enrolled = pages.code_at, pages.enrolled


def test_wrong_codes_sent_in_parallel_count_one_by_one(app, session, enrolled, code_at):
    user, _ = enrolled()
    right = code_at(user, MOMENT)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    app.test_client_class = Browser
    clients = [app.test_client() for _ in range(12)]
    for client in clients:  # each its own browser, past the password
        assert (
            client.post(
                "/login", data={"username": user.username, "password": PASSWORD}
            ).status_code
            == 302
        )
    start = threading.Barrier(len(clients))

    def guess(client) -> int:
        start.wait()
        return client.post("/login/code", data={"code": wrong}).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(guess, clients))

    assert answers == [401] * len(clients)  # none a 500 ("database is locked" on SQLite)
    session.rollback()
    counted = session.scalar(
        sa.select(sa.func.count()).select_from(LoginFailure).where(LoginFailure.kind == "account")
    )
    assert counted == throttle.FREE_FAILURES  # the rest found the account locked
    failed = session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "auth.login_failed")
    )
    assert failed == throttle.FREE_FAILURES


def test_a_right_code_leaves_no_failure_behind(app, session, enrolled, code_at):
    user, _ = enrolled()
    app.test_client_class = Browser
    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": PASSWORD})

    # The next step's code: enrolment spent this one, and a code is good once.
    assert client.post("/login/code", data={"code": code_at(user, MOMENT, 1)}).status_code == 302

    session.rollback()
    assert session.scalars(sa.select(LoginFailure)).all() == []
