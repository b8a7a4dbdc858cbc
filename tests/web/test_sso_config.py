"""The single sign-on settings: read from the environment, and refused at start-up when they
could grant the wrong roles or lock everyone out."""

from __future__ import annotations

from pathlib import Path

import pytest

from webapp import create_app
from webapp.config import ConfigError, from_environment

BASE = {"SECRET_KEY": "x" * 32}
PROVIDER = {"OIDC_ISSUER": "https://login.example.com/realms/staff", "OIDC_CLIENT_ID": "sms-desk"}


def settings(tmp_path: Path, **env: str) -> dict:
    return from_environment({**BASE, **env}, tmp_path)


def test_without_oidc_settings_passwords_are_on_and_sso_off(tmp_path):
    config = settings(tmp_path)
    assert config["OIDC_ISSUER"] == ""
    assert config["LOCAL_PASSWORDS"] is True
    assert config["OIDC_ROLE_MAP"] == {}


def test_every_setting_is_read(tmp_path):
    config = settings(
        tmp_path,
        **PROVIDER,
        OIDC_CLIENT_SECRET="s3cret",
        OIDC_NAME="Contoso",
        OIDC_ROLE_CLAIM="roles",
        OIDC_ROLE_MAP=" sms-admins = administrator , sms-users=consultant ",
        OIDC_CREATE_USERS="1",
        LOCAL_PASSWORDS="0",
    )
    assert config["OIDC_ISSUER"] == PROVIDER["OIDC_ISSUER"]
    assert (config["OIDC_CLIENT_ID"], config["OIDC_CLIENT_SECRET"]) == ("sms-desk", "s3cret")
    assert (config["OIDC_NAME"], config["OIDC_ROLE_CLAIM"]) == ("Contoso", "roles")
    assert config["OIDC_ROLE_MAP"] == {"sms-admins": "administrator", "sms-users": "consultant"}
    assert config["OIDC_CREATE_USERS"] is True
    assert config["LOCAL_PASSWORDS"] is False


def test_the_role_claim_defaults_to_groups(tmp_path):
    assert settings(tmp_path, **PROVIDER)["OIDC_ROLE_CLAIM"] == "groups"


@pytest.mark.parametrize(
    ("role_map", "complaint"),
    [
        ("sms-admins=admin", "'admin' is not a role"),
        ("sms-admins", "is not group=role"),
        ("=consultant", "is not group=role"),
        ("sms-users=", "is not group=role"),
        ("sms-users=consultant,,sms-leads=team-leader", "pair 2 is empty"),
        ("sms-users=consultant,", "pair 2 is empty"),
        ("sms-users=consultant,sms-users=viewer", "mapped twice"),
    ],
)
def test_a_bad_role_map_stops_the_start(tmp_path, role_map, complaint):
    with pytest.raises(ConfigError, match="OIDC_ROLE_MAP") as error:
        settings(tmp_path, **PROVIDER, OIDC_ROLE_MAP=role_map)
    assert complaint in str(error.value)


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"LOCAL_PASSWORDS": "0"}, "nobody could sign in"),
        ({"OIDC_CLIENT_ID": "sms-desk"}, "need OIDC_ISSUER"),
        ({"OIDC_ISSUER": "https://login.example.com"}, "OIDC_CLIENT_ID is not"),
        ({**PROVIDER, "OIDC_ISSUER": "http://login.example.com"}, "must start with https://"),
        ({**PROVIDER, "OIDC_ISSUER": "login.example.com"}, "is not an issuer URL"),
        ({**PROVIDER, "OIDC_CREATE_USERS": "1"}, "OIDC_CREATE_USERS needs OIDC_ROLE_MAP"),
    ],
)
def test_settings_that_cannot_work_stop_the_start(tmp_path, env, complaint):
    with pytest.raises(ConfigError, match=complaint):
        settings(tmp_path, **env)


def test_a_provider_on_loopback_may_use_plain_http(tmp_path):
    config = settings(tmp_path, **{**PROVIDER, "OIDC_ISSUER": "http://127.0.0.1:8080/realm"})
    assert config["OIDC_ISSUER"] == "http://127.0.0.1:8080/realm"


def test_the_app_refuses_to_start_on_a_bad_map(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    monkeypatch.setenv("OIDC_ISSUER", PROVIDER["OIDC_ISSUER"])
    monkeypatch.setenv("OIDC_CLIENT_ID", "sms-desk")
    monkeypatch.setenv("OIDC_ROLE_MAP", "sms-admins=root")
    with pytest.raises(ConfigError, match="'root' is not a role"):
        create_app()
