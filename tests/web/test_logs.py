"""Logs: LOG_LEVEL and LOG_FORMAT, a request id in every line a request causes, one access line
each."""

from __future__ import annotations

import json
import logging
import re

import pytest

from webapp import config as settings
from webapp import create_app

GENERATED_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app(database_url, request):
    """The app, with the settings a test names through `indirect` parametrisation."""
    app = create_app(settings.testing_config(database_url, **getattr(request, "param", {})))
    # A route that logs while it answers, like any view meeting a problem.
    app.add_url_rule("/_logs", endpoint="_logs", view_func=_view_that_logs)
    yield app
    app.extensions["database"].engine.dispose()


def _view_that_logs():
    logging.getLogger("webapp.test").warning("Something a view noticed")
    return "ok"


def json_lines(text: str) -> list[dict]:
    """Every line parsed as JSON: one that is not fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def access_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "webapp.access"]


@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json"}], indirect=True)
def test_json_lines_parse_and_carry_the_request_id(app, client, capsys):
    capsys.readouterr()
    response = client.get("/_logs")
    logging.getLogger("webapp.test").warning("After the request")
    lines = json_lines(capsys.readouterr().err)

    request_id = response.headers["X-Request-ID"]
    assert GENERATED_ID.fullmatch(request_id)
    noticed = [line for line in lines if line["message"] == "Something a view noticed"]
    assert len(noticed) == 1
    assert noticed[0]["request_id"] == request_id
    assert noticed[0]["level"] == "WARNING"
    assert noticed[0]["logger"] == "webapp.test"
    assert "time" in noticed[0]
    assert [line["request_id"] for line in access_lines(lines)] == [request_id]
    after = [line for line in lines if line["message"] == "After the request"]
    assert after[0]["request_id"] == "-"


@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json"}], indirect=True)
def test_each_request_gets_its_own_id(app, client, capsys):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first != second
    assert [line["request_id"] for line in access_lines(json_lines(capsys.readouterr().err))] == [
        first,
        second,
    ]


def test_a_request_id_sent_without_a_trusted_proxy_is_not_taken(client, capsys):
    response = client.get("/healthz", headers={"X-Request-ID": "forged-by-a-browser"})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])
    assert "forged-by-a-browser" not in capsys.readouterr().err


@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json", "TRUSTED_PROXIES": 1}], indirect=True)
def test_a_trusted_proxys_request_id_is_echoed_and_logged(app, client, capsys):
    capsys.readouterr()
    response = client.get("/_logs", headers={"X-Request-ID": "f3a1c2e0-proxy:42"})
    assert response.headers["X-Request-ID"] == "f3a1c2e0-proxy:42"
    lines = json_lines(capsys.readouterr().err)
    assert {line["request_id"] for line in lines} == {"f3a1c2e0-proxy:42"}


@pytest.mark.parametrize("app", [{"TRUSTED_PROXIES": 1}], indirect=True)
@pytest.mark.parametrize("offered", ["two words", "x" * 129, "a]b", ""])
def test_a_proxys_request_id_that_could_break_a_line_is_replaced(app, client, offered):
    response = client.get("/healthz", headers={"X-Request-ID": offered})
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json"}], indirect=True)
def test_the_access_line_names_the_route_not_the_path_or_query(
    app, client, login, make_candidate, capsys
):
    user = login("consultant")
    candidate = make_candidate(first_name="Zelda", last_name="Quimby")
    capsys.readouterr()
    client.get("/candidates?q=Quimby&location=Wollongong")
    client.get(f"/candidates/{candidate.id}")
    output = capsys.readouterr().err

    lines = access_lines(json_lines(output))
    assert [(line["method"], line["route"], line["status"], line["user_id"]) for line in lines] == [
        ("GET", "/candidates", 200, user.id),
        ("GET", "/<any(candidates, contacts):kind>/<id:person_id>", 200, user.id),
    ]
    assert all(
        isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0 for line in lines
    )
    # Search terms and ids are personal data or lead to it: no line carries them.
    assert "Quimby" not in output
    assert "Wollongong" not in output
    assert f"/candidates/{candidate.id}" not in output


@pytest.mark.parametrize("app", [{"LOG_FORMAT": "json"}], indirect=True)
def test_the_access_line_of_an_anonymous_or_unknown_request(app, client, capsys):
    capsys.readouterr()
    client.get("/no/such/page?mobile=0412345678")
    [line] = access_lines(json_lines(capsys.readouterr().err))
    assert (line["route"], line["status"], line["user_id"]) == ("-", 404, None)
    assert "0412345678" not in line["message"]


def test_text_lines_show_the_request_id(client, capsys):
    capsys.readouterr()
    response = client.get("/_logs")
    output = capsys.readouterr().err
    request_id = response.headers["X-Request-ID"]
    assert re.search(rf"WARNING webapp\.test \[{request_id}\] Something a view noticed", output)
    assert re.search(
        rf"INFO webapp\.access \[{request_id}\] GET /_logs 200 [0-9.]+ ms user -", output
    )


@pytest.mark.parametrize("app", [{"LOG_LEVEL": "ERROR"}], indirect=True)
def test_log_level_is_respected(app, client, capsys):
    capsys.readouterr()
    client.get("/_logs")
    logging.getLogger("webapp.test").error("Something went wrong")
    output = capsys.readouterr().err
    assert "Something a view noticed" not in output  # WARNING
    assert "webapp.access" not in output  # INFO
    assert "ERROR webapp.test [-] Something went wrong" in output


def test_info_is_the_default_level(client, capsys):
    capsys.readouterr()
    client.get("/healthz")
    assert "INFO webapp.access" in capsys.readouterr().err


def test_the_app_installs_one_handler_however_often_it_is_built(app, database_url, capsys):
    create_app(settings.testing_config(database_url)).extensions["database"].engine.dispose()
    capsys.readouterr()
    logging.getLogger("webapp.test").warning("Once only")
    assert capsys.readouterr().err.count("WARNING webapp.test [-] Once only") == 1


def test_log_settings_come_from_the_environment(tmp_path):
    env = {"SECRET_KEY": "x"}
    config = settings.from_environment(env, tmp_path)
    assert (config["LOG_LEVEL"], config["LOG_FORMAT"]) == ("INFO", "text")
    config = settings.from_environment(
        {**env, "LOG_LEVEL": "debug", "LOG_FORMAT": "JSON"}, tmp_path
    )
    assert (config["LOG_LEVEL"], config["LOG_FORMAT"]) == ("DEBUG", "json")


@pytest.mark.parametrize("name, value", [("LOG_LEVEL", "verbose"), ("LOG_FORMAT", "xml")])
def test_unknown_log_settings_are_refused_with_the_variable_named(tmp_path, name, value):
    with pytest.raises(settings.ConfigError, match=name):
        settings.from_environment({"SECRET_KEY": "x", name: value}, tmp_path)
