"""Settings from the environment (DESIGN.md section 6): required secret, demo key, defaults,
errors."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from webapp import config as settings
from webapp import create_app
from webapp.config import ConfigError, from_environment
from webapp.sms.mailer import MailSettings

SECRET = {"SECRET_KEY": "a-fixed-secret-for-the-test"}
CONFIG_VARIABLES = (
    "SECRET_KEY",
    "FLASK_DEBUG",
    "DEMO_MODE",
    "DATABASE_URL",
    "SMS_PROVIDER",
    "SMS_DEFAULT_REGION",
    "MAIL_PORT",
    "EMBEDDED_WORKER",
    "SANDBOX",
    "PORT",
    "MAIL_SERVER",
    "PUBLIC_BASE_URL",
)


# --- SECRET_KEY ---------------------------------------------------------------------------------


def test_missing_secret_key_outside_development_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment({}, tmp_path)
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    "env",
    [
        {"SECRET_KEY": "   "},
        {"FLASK_DEBUG": "0"},
        {"DEMO_MODE": "no"},
        {"FLASK_DEBUG": "", "DEMO_MODE": ""},
    ],
)
def test_blank_secret_or_switched_off_development_flags_still_require_a_key(tmp_path, env):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment(env, tmp_path)


def test_demo_mode_generates_a_key_once_and_reuses_it(tmp_path):
    instance = tmp_path / "instance"  # not there yet: it is created
    first = from_environment({"DEMO_MODE": "1"}, instance)
    key_file = instance / "secret_key"
    assert key_file.read_text().strip() == first["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 32
    assert first["DEMO_MODE"] is True

    second = from_environment({"DEMO_MODE": "1"}, instance)
    assert second["SECRET_KEY"] == first["SECRET_KEY"]


def test_generated_key_file_is_readable_by_its_owner_only(tmp_path):
    from_environment({"DEMO_MODE": "1"}, tmp_path)
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_flask_debug_also_allows_a_generated_key(tmp_path):
    config = from_environment({"FLASK_DEBUG": "true"}, tmp_path)
    assert config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()


def test_different_instances_get_different_generated_keys(tmp_path):
    one = from_environment({"DEMO_MODE": "1"}, tmp_path / "one")
    two = from_environment({"DEMO_MODE": "1"}, tmp_path / "two")
    assert one["SECRET_KEY"] != two["SECRET_KEY"]


def test_a_given_secret_key_is_used_and_nothing_is_written(tmp_path):
    config = from_environment(
        {"SECRET_KEY": "  from-the-environment  ", "DEMO_MODE": "1"}, tmp_path
    )
    assert config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_follow_the_design(tmp_path):
    config = from_environment(SECRET, tmp_path)
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'smsdesk.sqlite3'}"
    assert config["SMS_PROVIDER"] == "sandbox"
    assert config["SMS_DEFAULT_REGION"] == "AU"
    assert config["SMSCENTRAL_API_URL"] == "https://my.smscentral.com.au/api/v3.2"
    assert config["TWILIO_API_BASE"] == "https://api.twilio.com"
    assert config["EMBEDDED_WORKER"] is True
    assert config["DEMO_MODE"] is False
    assert config["MAIL_PORT"] == 25


def test_default_sqlite_database_lives_inside_the_instance_path(tmp_path):
    url = from_environment(SECRET, tmp_path)["DATABASE_URL"]
    assert url.startswith("sqlite:///")
    path = url.removeprefix("sqlite:///")
    assert path.startswith(str(tmp_path) + "/")


def test_embedded_worker_is_off_by_default_on_postgresql(tmp_path):
    config = from_environment(
        {**SECRET, "DATABASE_URL": "postgresql+psycopg://u@db/smsdesk"}, tmp_path
    )
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@db/smsdesk"
    assert config["EMBEDDED_WORKER"] is False


@pytest.mark.parametrize(
    "url, value, expected",
    [
        ("postgresql+psycopg://u@db/smsdesk", "1", True),
        ("", "0", False),
        ("", "off", False),
        ("", "yes", True),
    ],
)
def test_embedded_worker_can_be_set_explicitly(tmp_path, url, value, expected):
    config = from_environment({**SECRET, "DATABASE_URL": url, "EMBEDDED_WORKER": value}, tmp_path)
    assert config["EMBEDDED_WORKER"] is expected


def test_region_is_upper_cased_and_provider_lower_cased(tmp_path):
    config = from_environment(
        {**SECRET, "SMS_DEFAULT_REGION": " nz ", "SMS_PROVIDER": "Twilio"}, tmp_path
    )
    assert config["SMS_DEFAULT_REGION"] == "NZ"
    assert config["SMS_PROVIDER"] == "twilio"


@pytest.mark.parametrize("provider", ["sandbox", "smscentral", "twilio"])
def test_each_known_provider_is_accepted(tmp_path, provider):
    assert (
        from_environment({**SECRET, "SMS_PROVIDER": provider}, tmp_path)["SMS_PROVIDER"] == provider
    )


def test_empty_provider_falls_back_to_sandbox(tmp_path):
    assert from_environment({**SECRET, "SMS_PROVIDER": " "}, tmp_path)["SMS_PROVIDER"] == "sandbox"


def test_smscentral_settings_are_read(tmp_path):
    config = from_environment(
        {
            **SECRET,
            "SMS_PROVIDER": "smscentral",
            "SMSCENTRAL_API_URL": "http://127.0.0.1:8025/api",
            "SMSCENTRAL_USERNAME": "acct",
            "SMSCENTRAL_PASSWORD": "pw",
            "SMSCENTRAL_ORIGINATOR": "Recruit",
            "PUBLIC_BASE_URL": "https://sms.example.com/",
        },
        tmp_path,
    )
    assert config["SMSCENTRAL_API_URL"] == "http://127.0.0.1:8025/api"
    assert (config["SMSCENTRAL_USERNAME"], config["SMSCENTRAL_PASSWORD"]) == ("acct", "pw")
    assert config["SMSCENTRAL_ORIGINATOR"] == "Recruit"
    assert config["PUBLIC_BASE_URL"] == "https://sms.example.com"


# --- the demo's links and mail (`make run`) -----------------------------------------------------


@pytest.mark.parametrize(
    "env, url",
    [
        ({"DEMO_MODE": "1"}, "http://127.0.0.1:5000"),
        ({"DEMO_MODE": "1", "PORT": "8123"}, "http://127.0.0.1:8123"),  # make run PORT=8123
        ({"FLASK_DEBUG": "1", "PORT": " 8080 "}, "http://127.0.0.1:8080"),
        (
            {"DEMO_MODE": "1", "PORT": "8123", "PUBLIC_BASE_URL": "http://demo.example:9000/"},
            "http://demo.example:9000",
        ),  # an explicit PUBLIC_BASE_URL wins
        ({**SECRET, "PORT": "8123"}, ""),  # a server's links never guess its address
        (
            {**SECRET, "PORT": "not a port"},
            "",
        ),  # nor does PORT stop it starting: outside a demo it is unread
    ],
)
def test_the_demo_links_follow_the_port_it_serves_on_unless_public_base_url_is_set(
    tmp_path, env, url
):
    assert from_environment(env, tmp_path)["PUBLIC_BASE_URL"] == url


def test_a_demo_with_a_port_that_is_not_a_number_is_refused_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="PORT"):
        from_environment({"DEMO_MODE": "1", "PORT": "eighty"}, tmp_path)


@pytest.mark.parametrize(
    "env, server, keep",
    [
        ({"DEMO_MODE": "1"}, "", True),  # `make run`: the emails are kept and shown on /sandbox
        ({"DEMO_MODE": "1", "MAIL_SERVER": "  "}, "", True),
        ({"DEMO_MODE": "1", "MAIL_SERVER": "mail.example.com"}, "mail.example.com", False),
        ({**SECRET}, "localhost", False),  # outside the demo, mail goes to the local MTA by default
        ({**SECRET, "MAIL_SERVER": "mail.example.com"}, "mail.example.com", False),
    ],
)
def test_a_demo_without_a_mail_server_keeps_its_emails_and_sends_none(tmp_path, env, server, keep):
    config = from_environment(env, tmp_path)
    assert (config["MAIL_SERVER"], config["MAIL_KEEP"]) == (server, keep)
    # No mail server, no mail step in the worker: nothing ever tries localhost:25.
    assert (MailSettings.from_config(config) is None) is keep


def test_numbers_are_parsed(tmp_path):
    config = from_environment(
        {
            **SECRET,
            "MAIL_PORT": "587",
            "DISPATCH_CONCURRENCY": "3",
            "DISPATCH_RATE_PER_SECOND": "2.5",
            "MAIL_USE_TLS": "1",
        },
        tmp_path,
    )
    assert config["MAIL_PORT"] == 587
    assert config["DISPATCH_CONCURRENCY"] == 3
    assert config["DISPATCH_RATE_PER_SECOND"] == 2.5
    assert config["MAIL_USE_TLS"] is True


@pytest.mark.parametrize(
    "env, sandbox, enabled",
    [
        ({}, False, False),  # the sandbox gateway by default, but no /sandbox unless asked for
        ({"SANDBOX": "1"}, True, True),
        ({"SANDBOX": "no"}, False, False),
        ({"DEMO_MODE": "1"}, False, True),  # `make run`
        ({"SANDBOX": "1", "SMS_PROVIDER": "twilio"}, True, False),
        ({"DEMO_MODE": "1", "SMS_PROVIDER": "smscentral"}, False, False),
    ],
)
def test_the_sandbox_page_is_on_only_with_its_gateway_and_demo_mode_or_sandbox(
    tmp_path, env, sandbox, enabled
):
    config = from_environment({**SECRET, **env}, tmp_path)
    assert config["SANDBOX"] is sandbox
    assert settings.sandbox_enabled(config) is enabled


def test_session_cookie_is_http_only_and_same_site_lax(tmp_path):
    config = from_environment(SECRET, tmp_path)
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["nexmo", "sand box", "smscentral2"])
def test_unknown_sms_provider_is_refused(tmp_path, provider):
    with pytest.raises(ConfigError, match="SMS_PROVIDER") as error:
        from_environment({**SECRET, "SMS_PROVIDER": provider}, tmp_path)
    assert "sandbox" in str(error.value)


@pytest.mark.parametrize("port", ["smtp", "25.5", "2 5"])
def test_non_numeric_mail_port_is_refused(tmp_path, port):
    with pytest.raises(ConfigError, match="MAIL_PORT"):
        from_environment({**SECRET, "MAIL_PORT": port}, tmp_path)


def test_non_numeric_dispatch_rate_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="DISPATCH_RATE_PER_SECOND"):
        from_environment({**SECRET, "DISPATCH_RATE_PER_SECOND": "fast"}, tmp_path)


@pytest.mark.parametrize(
    "name, value",
    [
        # Each claimed message is leased for its wait: a year of it overflows the date.
        ("DISPATCH_RATE_PER_SECOND", "1e-12"),
        ("DISPATCH_RATE_PER_SECOND", "nan"),
        ("DISPATCH_RATE_PER_SECOND", "inf"),
        ("DISPATCH_RATE_PER_SECOND", "-1"),
        ("DISPATCH_CONCURRENCY", "0"),
        ("DISPATCH_CONCURRENCY", "257"),
    ],
)
def test_a_dispatch_setting_no_worker_could_send_with_is_refused(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        from_environment({**SECRET, name: value}, tmp_path)


@pytest.mark.parametrize("rate", ["0", "0.01", "1000000"])
def test_no_rate_limit_or_any_rate_from_the_lowest_is_taken(tmp_path, rate):
    config = from_environment({**SECRET, "DISPATCH_RATE_PER_SECOND": rate}, tmp_path)
    assert config["DISPATCH_RATE_PER_SECOND"] == float(rate)


# --- create_app ----------------------------------------------------------------------------------


def test_create_app_takes_a_config_mapping(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    app = create_app(settings.testing_config(url, SMS_DEFAULT_REGION="NZ"))
    try:
        assert app.testing
        assert app.config["DATABASE_URL"] == url
        assert app.config["SMS_DEFAULT_REGION"] == "NZ"
        assert app.secret_key == "test-secret-key-not-for-production"
        assert str(app.extensions["database"].engine.url) == url
    finally:
        app.extensions["database"].engine.dispose()


@pytest.fixture
def clean_environment(monkeypatch):
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_app_refuses_to_start_without_a_secret_key(clean_environment):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_the_command_line_without_a_secret_key_says_so_in_one_line_and_stops(tmp_path):
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in CONFIG_VARIABLES and not name.startswith("FLASK_")
    }
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'never.sqlite3'}"
    finished = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db-upgrade"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # 3 is gunicorn's "worker failed to boot": its master stops instead of respawning the worker.
    assert finished.returncode == 3
    assert finished.stderr.startswith("SMS Desk cannot start: SECRET_KEY is not set.")
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "never.sqlite3").exists()


def test_app_reads_the_environment_when_no_mapping_is_given(clean_environment, tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    clean_environment.setenv("SECRET_KEY", "from-the-environment-0123456789")
    clean_environment.setenv("DATABASE_URL", url)
    clean_environment.setenv("EMBEDDED_WORKER", "0")
    clean_environment.setenv("SMS_DEFAULT_REGION", "gb")
    app = create_app()
    try:
        assert app.secret_key == "from-the-environment-0123456789"
        assert app.config["DATABASE_URL"] == url
        assert app.config["SMS_DEFAULT_REGION"] == "GB"
        assert app.config["EMBEDDED_WORKER"] is False
        assert not app.testing
    finally:
        app.extensions["database"].engine.dispose()


def test_app_refuses_to_start_with_a_bad_provider(clean_environment):
    clean_environment.setenv("SECRET_KEY", "from-the-environment-0123456789")
    clean_environment.setenv("SMS_PROVIDER", "carrier-pigeon")
    with pytest.raises(ConfigError, match="SMS_PROVIDER"):
        create_app()
