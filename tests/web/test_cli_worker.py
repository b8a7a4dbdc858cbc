"""`flask sms worker`: `--rate R` 0 for no limit, or a rate its leases can be reckoned by; `--once`
signs off, and exits 1 when a step failed (test_cli_database: a database it cannot use)."""

from __future__ import annotations

import signal

import pytest
import sqlalchemy as sa

from webapp.models import WorkerHeartbeat
from webapp.sms import outbox


def worker(app, *args: str):
    # The command sets SIGTERM and SIGINT to stop its dispatcher: put pytest's own back after.
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        with app.app_context():
            return app.test_cli_runner().invoke(args=["sms", "worker", "--once", *args])
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize("rate", ["1e-12", "0.001", "nan"])
def test_a_rate_too_small_to_lease_claimed_messages_by_is_refused(app, rate):
    # A claimed message is leased for as long as its wait: at 1e-12 a second the lease passed the
    # year 9999, and every claim failed (OverflowError) while the worker ran on sending nothing.
    result = worker(app, "--rate", rate)
    assert result.exit_code == 2
    assert "use 0 for no limit, or 0.01 or more" in result.output


@pytest.mark.parametrize("rate", ["0", "0.01", "50"])
def test_no_limit_or_a_usable_rate_runs(app, rate):
    result = worker(app, "--rate", rate)
    assert result.exit_code == 0, result.output
    assert "SMS worker stopped after handling 0 message(s)." in result.output


def test_once_leaves_no_heartbeat_behind(app, session):
    """Its row stayed: /readyz said a worker was live for a minute, then warned of a silent one
    for a day."""
    result = worker(app)

    assert result.exit_code == 0, result.output
    assert session.scalars(sa.select(WorkerHeartbeat)).all() == []


def test_once_exits_1_naming_a_step_that_failed(app, monkeypatch):
    """Every step's error is logged and the run goes on: a cron job's `--once` exited 0."""

    def away(_session):
        raise sa.exc.OperationalError("UPDATE messages", {}, Exception("disk I/O error"))

    monkeypatch.setattr(outbox, "expire_leases", away)

    result = worker(app)

    assert result.exit_code == 1
    assert "SMS worker stopped after handling 0 message(s)." in result.output
    assert "Error: 1 step(s) failed: expiring leases (see the errors logged above)." in (
        result.output
    )
