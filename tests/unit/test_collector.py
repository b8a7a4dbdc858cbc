"""The cycle collector is settled once in a served process and left alone in a test's app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from webapp.collector import YOUNG_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter: settling freezes a process's objects for good.
PROBE = """
import gc, json, sys
from webapp import create_app
from webapp.config import testing_config
got = {"before": gc.get_threshold()}
if sys.argv[1] == "testing":
    create_app(testing_config(sys.argv[2]))
else:
    create_app()
    got["frozen_first"] = gc.get_freeze_count()
    create_app()
got["after"] = gc.get_threshold()
got["frozen"] = gc.get_freeze_count()
print(json.dumps(got))
"""


def _probe(tmp_path: Path, mode: str) -> dict:
    url = f"sqlite:///{tmp_path / 'collector.sqlite3'}"
    env = {
        **os.environ,
        "SECRET_KEY": "collector-test-0123456789abcdef",
        "DATABASE_URL": url,
        "EMBEDDED_WORKER": "0",
        "LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode, url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_app_built_from_the_environment_settles_the_collector_once(tmp_path):
    got = _probe(tmp_path, "served")
    assert got["before"][0] != YOUNG_THRESHOLD
    assert got["after"] == [YOUNG_THRESHOLD, got["before"][1], got["before"][2]]
    # Start-up's objects (tens of thousands: modules, routes, mappers) are out of the full passes.
    assert got["frozen_first"] > 10_000
    # A second app in the same process is not frozen too (the count only falls, as frozen objects
    # that lose their last reference are freed; a second freeze would add the new app's thousands).
    assert got["frozen"] <= got["frozen_first"]


def test_a_testing_app_leaves_the_collector_as_python_set_it(tmp_path):
    got = _probe(tmp_path, "testing")
    assert got["after"] == got["before"]
    assert got["frozen"] == 0
