"""Security headers on every page, the session cookie's flags, and the warning about plain HTTP."""

from __future__ import annotations

import logging

import pytest

from webapp import config as settings
from webapp import create_app


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


@pytest.mark.parametrize("path", ["/login", "/healthz", "/candidates", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)

    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    parsed = directives(policy)
    assert parsed["default-src"] == ["'self'"]
    assert parsed["frame-ancestors"] == ["'none'"]
    assert response.headers["Referrer-Policy"] in {
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    }
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/login", "/no-such-page", "/candidates", "/candidates?q=ada"])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "fragment"])
def test_pages_and_fragments_are_never_stored_by_a_browser_or_proxy(client, login, path, htmx):
    login("consultant")

    response = client.get(path, htmx=htmx)

    assert response.headers["Cache-Control"] == "no-store"


def test_the_health_check_and_static_files_may_be_cached(client):
    for path in ("/healthz", "/static/css/app.css"):
        response = client.get(path)
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", ""), path
        response.close()


def test_the_session_cookie_is_httponly_and_samesite_lax(client, login):
    login("viewer")

    cookie = client.get_cookie("session")

    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


def test_a_secure_cookie_is_marked_secure(database_url):
    app = create_app(settings.testing_config(database_url, SESSION_COOKIE_SECURE=True))
    try:
        client = app.test_client()
        client.get("/login")  # the CSRF token puts something in the session
        assert client.get_cookie("session").secure
    finally:
        app.extensions["database"].engine.dispose()


@pytest.mark.parametrize(
    ("secure", "demo", "warned"), [(False, False, True), (True, False, False), (False, True, False)]
)
def test_startup_warns_when_the_cookie_may_travel_over_plain_http(
    database_url, caplog, secure, demo, warned
):
    with caplog.at_level(logging.WARNING):
        app = create_app(
            settings.testing_config(database_url, SESSION_COOKIE_SECURE=secure, DEMO_MODE=demo)
        )
    app.extensions["database"].engine.dispose()

    assert (settings.INSECURE_COOKIE_WARNING in caplog.text) is warned


def test_the_environment_sets_the_cookie_flag_and_session_limits(tmp_path):
    config = settings.from_environment(
        {
            "SECRET_KEY": "x" * 32,
            "SESSION_COOKIE_SECURE": "1",
            "SESSION_IDLE_MINUTES": "15",
            "SESSION_ABSOLUTE_HOURS": "8",
        },
        tmp_path,
    )
    defaults = settings.from_environment({"SECRET_KEY": "x" * 32}, tmp_path)

    assert (
        config["SESSION_COOKIE_SECURE"],
        config["SESSION_IDLE_MINUTES"],
        config["SESSION_ABSOLUTE_HOURS"],
    ) == (True, 15, 8)
    assert (
        defaults["SESSION_COOKIE_SECURE"],
        defaults["SESSION_IDLE_MINUTES"],
        defaults["SESSION_ABSOLUTE_HOURS"],
        defaults["MAX_CONTENT_LENGTH"],
    ) == (False, 60, 12, 1024 * 1024)


def test_behind_one_trusted_proxy_the_client_address_comes_from_x_forwarded_for(database_url):
    from flask import request

    from webapp import create_app
    from webapp.config import testing_config

    app = create_app(testing_config(database_url, TRUSTED_PROXIES=1))
    app.add_url_rule("/_whoami", view_func=lambda: f"{request.remote_addr} {request.scheme}")
    try:
        answer = app.test_client().get(
            "/_whoami", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        )
        assert answer.get_data(as_text=True) == "203.0.113.9 https"
    finally:
        app.extensions["database"].engine.dispose()
