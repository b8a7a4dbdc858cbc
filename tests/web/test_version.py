"""One version number, pyproject.toml's: read at run time, shown to administrators in the footer."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from webapp import version as version_module
from webapp.version import version

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def pyproject_version() -> str:
    return tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def test_the_version_is_pyprojects():
    assert version() == pyproject_version()


def test_a_checkout_that_was_never_installed_reads_pyproject(monkeypatch):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(version_module.metadata, "version", not_installed)
    assert version.__wrapped__() == pyproject_version()


def test_only_administrators_see_the_version_in_the_footer(client, make_user):
    shown = f'<span class="app-version">{pyproject_version()}</span>'
    assert "app-version" not in client.get("/login").get_data(as_text=True)
    client.login(make_user(role="team-leader").username)
    page = client.get("/candidates").get_data(as_text=True)
    assert "app-version" not in page
    assert "<footer" not in page
    client.post("/logout")
    client.login(make_user(role="administrator").username)
    page = client.get("/candidates").get_data(as_text=True)
    assert '<footer class="site-footer">' in page
    assert shown in page
