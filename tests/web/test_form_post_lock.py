"""A form post on SQLite holds the write lock from the start of each of its transactions, also
after a step of it commits: a worker writing meanwhile waits instead of failing the post."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Setting, utcnow


def test_a_post_that_commits_a_step_and_goes_on_is_not_failed_by_a_write_in_between(
    app, client, login, session
):
    engine = app.extensions["database"].engine

    def worker_writes() -> None:  # the embedded worker's heartbeat, say, on its own connection
        with engine.begin() as connection:
            connection.execute(
                sa.insert(Setting).values(key="sms_alert_rate", value=50, updated_at=utcnow())
            )

    @app.post("/test-two-steps")
    def two_steps():
        db.session.commit()  # a first step committed (a template applied), and the post goes on
        db.session.execute(sa.select(Setting.key)).all()  # it reads
        other = threading.Thread(target=worker_writes)
        other.start()
        other.join(0.5)  # the worker writes now, unless this transaction holds the lock
        db.session.execute(
            sa.insert(Setting).values(key="sms_daily_limit", value=10, updated_at=utcnow())
        )
        db.session.commit()  # then it writes
        other.join(10)
        return "kept"

    login("consultant")
    response = client.post("/test-two-steps")
    assert response.status_code == 200, response.get_data(as_text=True)
    keys = set(session.scalars(sa.select(Setting.key)))
    assert {"sms_alert_rate", "sms_daily_limit"} <= keys
