"""Settings read from the environment (DESIGN.md section 6), with safe development defaults."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from webapp.times import DEFAULT_ZONE, canonical_zone, zone_problem

TRUE_WORDS = {"1", "true", "yes", "on"}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
MAX_CONCURRENCY = 256  # parallel gateway calls a worker makes at most (`sms worker` too)


class ConfigError(RuntimeError):
    """The environment does not describe a runnable app; the message says what to set."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_WORDS


Number = TypeVar("Number", int, float)


def _number(
    env: Mapping[str, str], name: str, default: Number, kind: Callable[[str], Number], what: str
) -> Number:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, not {value!r}.") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int, "a whole number")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float, "a number")


def development_secret(instance_path: Path) -> str:
    """A secret key generated once and kept in instance/, so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _text(env: Mapping[str, str], name: str, default: str = "") -> str:
    """The variable's value, or `default` when it is unset or blank."""
    return env.get(name, "").strip() or default


def _role_names(env: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """A comma list of role names; None when unset or blank (the built-in default applies), and
    no roles at all for "none"."""
    value = _text(env, name)
    if not value:
        return None
    if value.lower() == "none":
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


def from_environment(env: Mapping[str, str], instance_path: Path) -> dict:
    """Build the Flask config mapping from environment variables."""
    development = _flag(env, "FLASK_DEBUG", False) or _flag(env, "DEMO_MODE", False)
    secret_key = _text(env, "SECRET_KEY")
    if not secret_key:
        if not development:
            raise ConfigError(
                "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
                "(python -c 'import secrets; print(secrets.token_hex(32))'), "
                "or set DEMO_MODE=1 for a local demo."
            )
        secret_key = development_secret(instance_path)

    database_url = _database_url(env) or f"sqlite:///{instance_path / 'smsdesk.sqlite3'}"
    provider = _text(env, "SMS_PROVIDER", "sandbox").lower()
    if provider not in {"sandbox", "smscentral", "twilio"}:
        raise ConfigError(f"SMS_PROVIDER must be sandbox, smscentral or twilio, not {provider!r}.")
    log_level = _text(env, "LOG_LEVEL", "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}.")
    log_format = _text(env, "LOG_FORMAT", "text").lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, not {log_format!r}.")
    mail_use_tls, mail_use_ssl = (
        _flag(env, "MAIL_USE_TLS", False),
        _flag(env, "MAIL_USE_SSL", False),
    )
    if mail_use_tls and mail_use_ssl:
        raise ConfigError(
            "Set MAIL_USE_SSL (SMTPS, port 465) or MAIL_USE_TLS (STARTTLS, port 587), not both."
        )

    timezone = canonical_zone(_text(env, "TIMEZONE", DEFAULT_ZONE))
    if problem := zone_problem(timezone):
        raise ConfigError(f"TIMEZONE: {problem}")
    confirm_over = _int(env, "SMS_CONFIRM_OVER", 100)
    if confirm_over < 0:
        raise ConfigError(f"SMS_CONFIRM_OVER must be 0 or more, not {confirm_over}.")
    # As `sms worker --concurrency` and `--rate` allow: a rate like 1e-12 leases each claimed
    # message past the last date there is, so every claim fails and nothing is sent.
    concurrency = _int(env, "DISPATCH_CONCURRENCY", 8)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ConfigError(
            f"DISPATCH_CONCURRENCY must be 1 to {MAX_CONCURRENCY}, not {concurrency}."
        )
    from webapp.sms.accounts import MIN_RATE  # an SMS account's rate has the same floor

    rate = _float(env, "DISPATCH_RATE_PER_SECOND", 0.0)
    if not (rate == 0 or MIN_RATE <= rate < float("inf")):  # NaN is none of them
        raise ConfigError(
            f"DISPATCH_RATE_PER_SECOND must be 0 (no limit) or {MIN_RATE} or more, not {rate:g}."
        )

    # A demo's links follow the PORT it serves on (`make run` passes it);
    # a server needs its URL set.
    default_base_url = f"http://127.0.0.1:{_int(env, 'PORT', 5000)}" if development else ""
    mail_server = _text(env, "MAIL_SERVER", "" if development else "localhost")

    return {
        "SECRET_KEY": secret_key,
        # SMS accounts' secrets are sealed under a key derived from this (blank: SECRET_KEY);
        # changing it makes the saved ones unreadable (webapp.sms.account_secrets).
        "ACCOUNTS_KEY": _text(env, "ACCOUNTS_KEY"),
        "DEMO_MODE": development,
        "DATABASE_URL": database_url,
        "SMS_PROVIDER": provider,
        # /sandbox lets anyone signed in reply as any recipient (a STOP unticks consent): a demo
        # tool, so it is there only when asked for, never merely because no gateway is set up.
        "SANDBOX": _flag(env, "SANDBOX", False),
        "SMS_DEFAULT_REGION": _text(env, "SMS_DEFAULT_REGION", "AU").upper(),
        # A Send to more people than this is confirmed first (the admin Settings page can say
        # otherwise); 0: every Send.
        "SMS_CONFIRM_OVER": confirm_over,
        # The organisation's time zone: every time is shown in it unless a user picks their own.
        "TIMEZONE": timezone,
        "SMSCENTRAL_API_URL": _text(
            env, "SMSCENTRAL_API_URL", "https://my.smscentral.com.au/api/v3.2"
        ),
        "SMSCENTRAL_STATUS_URL": _text(env, "SMSCENTRAL_STATUS_URL"),  # blank: the API URL
        "SMSCENTRAL_USERNAME": _text(env, "SMSCENTRAL_USERNAME"),
        "SMSCENTRAL_PASSWORD": _text(env, "SMSCENTRAL_PASSWORD"),
        "SMSCENTRAL_ORIGINATOR": _text(env, "SMSCENTRAL_ORIGINATOR"),
        "SMSCENTRAL_WEBHOOK_USERNAME": _text(env, "SMSCENTRAL_WEBHOOK_USERNAME"),
        "SMSCENTRAL_WEBHOOK_PASSWORD": _text(env, "SMSCENTRAL_WEBHOOK_PASSWORD"),
        "TWILIO_API_BASE": _text(env, "TWILIO_API_BASE", "https://api.twilio.com"),
        "TWILIO_ACCOUNT_SID": _text(env, "TWILIO_ACCOUNT_SID"),
        "TWILIO_AUTH_TOKEN": _text(env, "TWILIO_AUTH_TOKEN"),
        "TWILIO_FROM": _text(env, "TWILIO_FROM"),
        "TWILIO_MESSAGING_SERVICE_SID": _text(env, "TWILIO_MESSAGING_SERVICE_SID"),
        # Links in reply emails and Twilio's callback URLs; a local demo needs no setting.
        "PUBLIC_BASE_URL": _text(env, "PUBLIC_BASE_URL", default_base_url).rstrip("/"),
        "MAIL_SERVER": mail_server,
        # A demo with no mail server keeps its reply emails (listed on /sandbox) rather than
        # retrying them against a localhost:25 that is not there.
        "MAIL_KEEP": development and not mail_server,
        "MAIL_PORT": _int(env, "MAIL_PORT", 465 if mail_use_ssl else 25),
        "MAIL_USE_TLS": mail_use_tls,
        "MAIL_USE_SSL": mail_use_ssl,
        "MAIL_USERNAME": _text(env, "MAIL_USERNAME"),
        "MAIL_PASSWORD": _text(env, "MAIL_PASSWORD"),
        "MAIL_FROM": _text(env, "MAIL_FROM", "sms-desk@localhost"),
        "DISPATCH_CONCURRENCY": concurrency,
        "DISPATCH_RATE_PER_SECOND": rate,
        "EMBEDDED_WORKER": _flag(env, "EMBEDDED_WORKER", database_url.startswith("sqlite")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag(env, "SESSION_COOKIE_SECURE", False),
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": log_format,
        # /metrics from anywhere but loopback needs "Authorization: Bearer <token>";
        # blank: loopback only.
        "METRICS_TOKEN": _text(env, "METRICS_TOKEN"),
        **readiness_thresholds(env),
        "SESSION_IDLE_MINUTES": _int(env, "SESSION_IDLE_MINUTES", 60),
        "SESSION_ABSOLUTE_HOURS": _int(env, "SESSION_ABSOLUTE_HOURS", 12),
        **sending_safeguards(env),
        # Roles that must use two-factor sign-in unless the admin Settings page says otherwise;
        # None: those holding sms.ignore_opt_out or users.manage (webapp.users.two_factor).
        "TWO_FACTOR_ROLES": _role_names(env, "TWO_FACTOR_ROLES"),
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        "WTF_CSRF_TIME_LIMIT": None,
        **single_sign_on(env),
    }


DATABASE_FORMS = "sqlite:///path/to/file.sqlite3 or postgresql+psycopg://user:password@host/db"


def _database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL if SQLAlchemy can open it with SQLite or PostgreSQL; blank when unset.
    Heroku's postgres:// (a name SQLAlchemy dropped) is read as postgresql+psycopg://."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    value = _text(env, "DATABASE_URL")
    if not value:
        return ""
    if value.startswith("postgres://"):
        value = "postgresql+psycopg://" + value.removeprefix("postgres://")
    # Never the value itself in the message: it may hold the database's password.
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(f"DATABASE_URL is not a database URL: use {DATABASE_FORMS}.") from None
    if url.get_backend_name() not in {"sqlite", "postgresql"}:
        raise ConfigError(
            f"DATABASE_URL must be SQLite or PostgreSQL ({DATABASE_FORMS}), "
            f"not {url.drivername}://."
        )
    try:
        url.get_dialect().import_dbapi()  # what creating the engine does first
    except (NoSuchModuleError, ImportError):
        raise ConfigError(
            f"DATABASE_URL: no driver {url.drivername}:// is installed; use {DATABASE_FORMS}."
        ) from None
    return value


# Beyond this a worker's silence reaches back past the first date there is (year 1), and /readyz
# failed with OverflowError; 1e10 s is some 300 years, longer than any check could mean.
MAX_READY_SECONDS = 1e10


def readiness_thresholds(env: Mapping[str, str]) -> dict:
    """The READY_* settings: /readyz answers 503 beyond these (docs/operating.md), so each must be
    one it can reckon with and that can be met: seconds up to a limit, an email count from 0."""
    stale = _float(env, "READY_WORKER_STALE_SECONDS", 60.0)
    # 0 would call every worker silent between its beats (HEARTBEAT_EVERY): always 503.
    if not 0 < stale <= MAX_READY_SECONDS:  # NaN compares false: refused too
        raise ConfigError(
            f"READY_WORKER_STALE_SECONDS must be more than 0 and at most {MAX_READY_SECONDS:g} "
            f"seconds, not {stale:g}."
        )
    queue_age = _float(env, "READY_QUEUE_AGE_SECONDS", 300.0)
    if not 0 <= queue_age <= MAX_READY_SECONDS:
        raise ConfigError(
            f"READY_QUEUE_AGE_SECONDS must be 0 to {MAX_READY_SECONDS:g} seconds, "
            f"not {queue_age:g}."
        )
    email_failed = _int(env, "READY_EMAIL_FAILED", 0)
    if email_failed < 0:
        raise ConfigError(f"READY_EMAIL_FAILED must be 0 or more, not {email_failed}.")
    return {
        "READY_WORKER_STALE_SECONDS": stale,
        "READY_QUEUE_AGE_SECONDS": queue_age,
        "READY_EMAIL_FAILED": email_failed,
    }


def check_gateway(config: Mapping) -> None:
    """Refuse settings the SMS_PROVIDER's gateway could not be built from (a missing password or
    sender, a URL that is not http(s)). An SMS Central sender may be left to the database (the
    Sender ID on /admin/settings), which only the worker reads: it is not asked for here."""
    from webapp.sms.providers.factory import make_provider

    gateway = dict(config)
    if gateway.get("SMS_PROVIDER") == "smscentral" and not gateway.get("SMSCENTRAL_ORIGINATOR"):
        gateway["SMSCENTRAL_ORIGINATOR"] = "from the database"
    try:
        provider = make_provider(gateway)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    provider.close()


def single_sign_on(env: Mapping[str, str]) -> dict:
    """The OIDC_* settings and LOCAL_PASSWORDS (docs/configuration.md, "Single sign-on"),
    refused whole when they could lock everyone out or grant the wrong roles."""
    from webapp.users.oidc import DEFAULT_NAME, DEFAULT_ROLE_CLAIM, issuer_problem, parse_role_map

    issuer = _text(env, "OIDC_ISSUER")
    client_id = _text(env, "OIDC_CLIENT_ID")
    try:
        role_map = parse_role_map(_text(env, "OIDC_ROLE_MAP"))
    except ValueError as error:
        raise ConfigError(f"OIDC_ROLE_MAP: {error}.") from None
    create_users = _flag(env, "OIDC_CREATE_USERS", False)
    local_passwords = _flag(env, "LOCAL_PASSWORDS", True)
    if issuer:
        if problem := issuer_problem(issuer):
            raise ConfigError(f"OIDC_ISSUER: {problem}.")
        if not client_id:
            raise ConfigError("OIDC_ISSUER is set but OIDC_CLIENT_ID is not: set both.")
        if create_users and not role_map:
            raise ConfigError(
                "OIDC_CREATE_USERS needs OIDC_ROLE_MAP: a user made at first sign-in gets the "
                "roles their groups map to (e.g. sms-users=consultant)."
            )
    elif client_id or role_map or create_users:
        raise ConfigError("OIDC_CLIENT_ID, OIDC_ROLE_MAP or OIDC_CREATE_USERS need OIDC_ISSUER.")
    if not local_passwords and not issuer:
        raise ConfigError(
            "LOCAL_PASSWORDS=0 switches passwords off, but OIDC_ISSUER is not set: "
            "nobody could sign in."
        )
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": _text(env, "OIDC_CLIENT_SECRET"),
        "OIDC_NAME": _text(env, "OIDC_NAME", DEFAULT_NAME),
        "OIDC_ROLE_CLAIM": _text(env, "OIDC_ROLE_CLAIM", DEFAULT_ROLE_CLAIM),
        "OIDC_ROLE_MAP": role_map,
        "OIDC_CREATE_USERS": create_users,
        "LOCAL_PASSWORDS": local_passwords,
    }


def sending_safeguards(env: Mapping[str, str]) -> dict:
    """SMS_DAILY_LIMIT, SMS_ALERT_RATE and SECURITY_ALERT_EMAIL (SECURITY.md, "Sending limits"
    and "Volume alerts"); a rate or address that cannot be meant is refused at start."""
    from webapp.sms.alerts import parse_rate
    from webapp.sms.quiet_hours import parse_window

    # The default of the role defaults: messages a user may send in any 24 hours; 0: no limit.
    daily_limit = _int(env, "SMS_DAILY_LIMIT", 0)
    if daily_limit < 0:
        raise ConfigError(f"SMS_DAILY_LIMIT must be 0 (no limit) or more, not {daily_limit}.")
    rate = _text(env, "SMS_ALERT_RATE")
    try:
        parse_rate(rate)
    except ValueError as error:
        raise ConfigError(f"SMS_ALERT_RATE: {error}") from None
    alert_email = _text(env, "SECURITY_ALERT_EMAIL")
    if alert_email and (alert_email.count("@") != 1 or any(c.isspace() for c in alert_email)):
        raise ConfigError(f"SECURITY_ALERT_EMAIL must be one email address, not {alert_email!r}.")
    # Off unless set (the admin Settings page can say otherwise): "20:00-08:00", in each
    # recipient's local time (webapp.sms.quiet_hours).
    try:
        quiet = parse_window(_text(env, "QUIET_HOURS"))
    except ValueError as error:
        raise ConfigError(f"QUIET_HOURS: {error}") from None
    return {
        "QUIET_HOURS": str(quiet) if quiet else "",
        "SMS_DAILY_LIMIT": daily_limit,
        "SMS_ALERT_RATE": rate,
        "SECURITY_ALERT_EMAIL": alert_email,
    }


# No form or gateway push comes near this; anything bigger is refused before it is read.
MAX_CONTENT_LENGTH = 1024 * 1024

INSECURE_COOKIE_WARNING = (
    "SESSION_COOKIE_SECURE is off: the session cookie can travel over plain HTTP. "
    "Serve the app over HTTPS and set SESSION_COOKIE_SECURE=1."
)


def warn_if_insecure(config: Mapping, log: logging.Logger | None = None) -> bool:
    """Log a warning when a non-demo app would send its session cookie without HTTPS; True if so."""
    if config.get("SESSION_COOKIE_SECURE") or config.get("DEMO_MODE"):
        return False
    (log or logging.getLogger(__name__)).warning(INSECURE_COOKIE_WARNING)
    return True


def sandbox_enabled(config: Mapping) -> bool:
    """True when /sandbox exists: the sandbox gateway, in a demo (DEMO_MODE) or with SANDBOX set."""
    return config.get("SMS_PROVIDER") == "sandbox" and bool(
        config.get("DEMO_MODE") or config.get("SANDBOX")
    )


def testing_config(database_url: str, **overrides) -> dict:
    """Settings for the test suite: CSRF stays on, no worker thread, a fixed key."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DEMO_MODE": False,
        "DATABASE_URL": database_url,
        "SMS_PROVIDER": "sandbox",
        "SANDBOX": False,  # a test that uses /sandbox says so
        "SMS_DEFAULT_REGION": "AU",
        "TIMEZONE": "Australia/Sydney",
        "PUBLIC_BASE_URL": "http://localhost",
        "EMBEDDED_WORKER": False,
        "DISPATCH_CONCURRENCY": 4,
        "DISPATCH_RATE_PER_SECOND": 0.0,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_KEEP": False,
        "MAIL_PORT": 0,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_FROM": "sms-desk@localhost",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,
        "SESSION_IDLE_MINUTES": 60,
        "SESSION_ABSOLUTE_HOURS": 12,
        # Tests and benchmarks sign administrators and team leaders in with a password alone; the
        # two-factor tests ask for TWO_FACTOR_ROLES=None (the built-in default) themselves.
        "TWO_FACTOR_ROLES": (),
        "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
        "WTF_CSRF_TIME_LIMIT": None,
    }
    config.update(overrides)
    return config
