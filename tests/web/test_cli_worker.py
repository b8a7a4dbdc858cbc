"""`flask sms worker --rate R`: 0 for no limit, or a rate its leases can be reckoned by."""

from __future__ import annotations

import pytest


def worker(app, *args: str):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["sms", "worker", "--once", *args])


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
