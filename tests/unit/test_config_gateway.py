"""The configured gateway's settings are checked at start when the web process sends too
(EMBEDDED_WORKER): with one missing every request failed, /healthz included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import ConfigError, check_gateway, from_environment

SECRET = {"SECRET_KEY": "a-fixed-secret-for-the-test"}
SMS_CENTRAL = {
    **SECRET,
    "SMS_PROVIDER": "smscentral",
    "SMSCENTRAL_USERNAME": "acct",
    "SMSCENTRAL_PASSWORD": "pw",
    "SMSCENTRAL_ORIGINATOR": "Recruit",
}
TWILIO = {
    **SECRET,
    "SMS_PROVIDER": "twilio",
    "TWILIO_ACCOUNT_SID": "AC123",
    "TWILIO_AUTH_TOKEN": "token",
    "TWILIO_FROM": "+61400000000",
}
BROKEN = [
    ({**TWILIO, "TWILIO_FROM": ""}, "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"),
    ({**TWILIO, "TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
    ({**TWILIO, "TWILIO_API_BASE": "api.twilio.com"}, "TWILIO_API_BASE must be an http"),
    ({**SMS_CENTRAL, "SMSCENTRAL_USERNAME": ""}, "SMSCENTRAL_USERNAME"),
    ({**SMS_CENTRAL, "SMSCENTRAL_PASSWORD": ""}, "SMSCENTRAL_PASSWORD"),
    ({**SMS_CENTRAL, "SMSCENTRAL_API_URL": "ftp://x"}, "SMSCENTRAL_API_URL must be an http"),
    ({**SMS_CENTRAL, "SMSCENTRAL_STATUS_URL": "x"}, "SMSCENTRAL_STATUS_URL must be an http"),
]
IDS = [
    "twilio-no-from",
    "twilio-no-token",
    "twilio-base",
    "smscentral-no-user",
    "smscentral-no-password",
    "smscentral-ftp",
    "smscentral-status-url",
]


@pytest.mark.parametrize("env, named", BROKEN, ids=IDS)
def test_gateway_settings_it_could_not_be_built_from_are_refused_naming_them(tmp_path, env, named):
    with pytest.raises(ConfigError, match=named):
        check_gateway(from_environment(env, tmp_path))


@pytest.mark.parametrize(
    "env",
    [
        {**SECRET},  # the sandbox needs nothing
        SMS_CENTRAL,
        TWILIO,
        {**TWILIO, "TWILIO_FROM": "", "TWILIO_MESSAGING_SERVICE_SID": "MG123"},
        # The Sender ID saved on /admin/settings may give the sender: only the worker can tell.
        {**SMS_CENTRAL, "SMSCENTRAL_ORIGINATOR": ""},
    ],
    ids=["sandbox", "smscentral", "twilio", "twilio-service", "smscentral-sender-in-database"],
)
def test_complete_gateway_settings_pass(tmp_path, env):
    check_gateway(from_environment(env, tmp_path))


@pytest.fixture
def environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith(("SMS", "TWILIO_", "FLASK_", "DEMO_MODE", "EMBEDDED_WORKER")):
            monkeypatch.delenv(name)

    def set_to(env: dict[str, str]) -> None:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'app.sqlite3'}")

    return set_to


def test_an_app_that_sends_in_process_refuses_to_start_without_its_gateway_settings(environment):
    environment({**TWILIO, "TWILIO_FROM": ""})  # SQLite: the worker is embedded by default
    with pytest.raises(ConfigError, match="TWILIO_FROM"):
        create_app()


def test_web_processes_that_leave_sending_to_a_worker_start_as_before(environment):
    """As they did: the `sms worker` service says what it lacks."""
    environment({**TWILIO, "TWILIO_FROM": "", "EMBEDDED_WORKER": "0"})
    app = create_app()
    app.extensions["database"].engine.dispose()


def test_the_server_says_what_is_missing_in_one_line_and_stops(tmp_path):
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SMS", "TWILIO_", "FLASK_", "DEMO_MODE", "EMBEDDED_WORKER"))
    }
    environment.update(TWILIO, TWILIO_FROM="", DATABASE_URL=f"sqlite:///{tmp_path / 'app.sqlite3'}")
    environment["SESSION_COOKIE_SECURE"] = "1"  # no warning before the line
    finished = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,  # a loaded machine takes a while to import the app
    )
    assert finished.returncode == 3  # gunicorn's "worker failed to boot"
    assert finished.stderr == (
        "SMS Desk cannot start: SMS_PROVIDER=twilio needs TWILIO_FROM or "
        "TWILIO_MESSAGING_SERVICE_SID to be set.\n"
    )
