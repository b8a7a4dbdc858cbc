"""READY_* settings /readyz and Status can use: infinite or NaN seconds made both answer 500, and a
negative threshold made /readyz 503 for ever."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from webapp.config import MAX_READY_SECONDS, ConfigError, from_environment
from webapp.database import make_engine, make_sessionmaker
from webapp.migrate import upgrade
from webapp.sms import status

SECRET = {"SECRET_KEY": "a-fixed-secret-for-the-test"}


@pytest.mark.parametrize(
    "name, value",
    [
        ("READY_WORKER_STALE_SECONDS", "inf"),
        ("READY_WORKER_STALE_SECONDS", "1e308"),
        ("READY_WORKER_STALE_SECONDS", "nan"),
        ("READY_WORKER_STALE_SECONDS", "0"),  # every worker silent between its beats
        ("READY_WORKER_STALE_SECONDS", "-5"),
        ("READY_QUEUE_AGE_SECONDS", "nan"),
        ("READY_QUEUE_AGE_SECONDS", "inf"),
        ("READY_QUEUE_AGE_SECONDS", "-1"),
        ("READY_EMAIL_FAILED", "-1"),
    ],
)
def test_a_readiness_threshold_that_cannot_be_met_or_reckoned_is_refused(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"^{name} must be "):
        from_environment({**SECRET, name: value}, tmp_path)


def test_usable_thresholds_are_read(tmp_path):
    config = from_environment(
        {
            **SECRET,
            "READY_WORKER_STALE_SECONDS": "0.5",
            "READY_QUEUE_AGE_SECONDS": "0",  # late as soon as a due message waits
            "READY_EMAIL_FAILED": "3",
        },
        tmp_path,
    )
    assert status.Thresholds.from_config(config) == status.Thresholds(0.5, 0.0, 3)
    defaults = from_environment(SECRET, tmp_path)
    assert status.Thresholds.from_config(defaults) == status.Thresholds(60.0, 300.0, 0)


def test_the_largest_threshold_accepted_can_be_reckoned_with(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'ready.sqlite3'}")
    try:
        upgrade(engine)
        now = datetime(2026, 12, 1, tzinfo=UTC)
        with make_sessionmaker(engine)() as session:
            status.beat(session, "host:1", now - timedelta(days=2), now - timedelta(hours=20))
            session.commit()
        thresholds = status.Thresholds(MAX_READY_SECONDS, MAX_READY_SECONDS, 0)
        state = status.readiness(engine, thresholds, "test", now=now)
    finally:
        engine.dispose()
    assert state.worker_ok and state.queue_ok
    assert not state.silent_workers
