"""The layers import downwards only: phones and text below models, models below the domain (sms,
users, people), and neither the domain nor the models know Flask (read from the source, so a lazy
import counts too); models hold tables, not services."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"


def imported(path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def modules(*parts: str) -> list[Path]:
    found = []
    for part in parts:
        path = WEBAPP / part
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


def offending(paths: list[Path], *prefixes: str) -> dict[str, list[str]]:
    bad = {}
    for path in paths:
        hits = sorted(
            name
            for name in imported(path)
            if any(name == p or name.startswith(p + ".") for p in prefixes)
        )
        if hits:
            bad[str(path.relative_to(WEBAPP.parent))] = hits
    return bad


LAYERS_WITHOUT_FLASK = ["sms", "users", "people", "models", "phones.py", "text.py"]


@pytest.mark.parametrize("layer", LAYERS_WITHOUT_FLASK)
def test_the_domain_and_the_models_import_nothing_from_flask(layer):
    assert offending(modules(layer), "flask", "flask_login", "flask_wtf", "htmx_flask") == {}


def test_the_models_import_nothing_from_the_domain():
    assert offending(modules("models"), "webapp.sms", "webapp.users", "webapp.people") == {}


def session_functions(path: Path) -> list[str]:
    """The module's top-level functions that take a database session: the mark of a service."""
    found = []
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
            types = [
                ast.unparse(arg.annotation).strip("'\"").rsplit(".", 1)[-1]
                for arg in arguments
                if arg.annotation
            ]
            if "Session" in types:
                found.append(node.name)
    return found


def test_the_models_hold_tables_and_no_services():
    # audit() stays: it only adds an AuditEvent row to the caller's transaction.
    services = {
        str(path.relative_to(WEBAPP.parent)): names
        for path in modules("models")
        if (names := [name for name in session_functions(path) if name != "audit"])
    }
    assert services == {}


def test_the_service_check_sees_a_function_taking_a_session(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import sqlalchemy.orm as so\n\n"
        "def save(session: so.Session, x: int) -> None:\n    pass\n\n"
        "def pure(x: int) -> int:\n    return x\n\n"
        "def due(row: UserSession) -> bool:\n    return True\n"
    )
    assert session_functions(sample) == ["save"]


@pytest.mark.parametrize("layer", ["phones.py", "text.py"])
def test_phones_and_text_import_nothing_from_the_models_or_the_domain(layer):
    assert (
        offending(modules(layer), "webapp.models", "webapp.sms", "webapp.users", "webapp.people")
        == {}
    )


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def later():\n    from flask import g\n    return g\n")
    assert {"flask", "flask.g"} <= imported(sample)
