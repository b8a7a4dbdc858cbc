"""The production install of the README: build the wheel, install it with its dependencies into a
fresh virtual environment, and run it from an empty folder, far from the checkout."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from email.message import Message
from pathlib import Path

import pytest

from webapp import migrate

pytestmark = [pytest.mark.install, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".cache",
    "instance",
    ".hypothesis",
    ".pytest_cache",
    "node_modules",
    "screenshots",
)


def run(args: list, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    """Run a command; fail the test with its output when it fails."""
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout}"
    )
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, Message, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers, response.read()


class Server:
    """A web server started from the installed package, its output in a file; always stopped."""

    def __init__(self, args: list, cwd: Path, env: dict[str, str], port: int, log: Path):
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [str(a) for a in args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited early:\n{self.output()}"
            try:
                if get(f"{self.base}/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise AssertionError(f"the server did not answer in 30 s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@pytest.fixture
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment holding the wheel `python -m build` made, and its
    dependencies."""
    work = tmp_path_factory.mktemp("install")
    # A copy, so the build leaves nothing (egg-info, build/) in the checkout the suite runs from.
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    # The inherited environment carries the machine's pip settings (index, caches); PYTHONPATH could
    # put the checkout back in front of the installed package.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run([sys.executable, "-m", "build", "--outdir", work / "dist", source], work, env)
    [_sdist] = (work / "dist").glob("*.tar.gz")  # the wheel is built from it
    [wheel] = (work / "dist").glob("*.whl")
    run([sys.executable, "-m", "venv", work / "venv"], work, env)
    run(
        [
            work / "venv/bin/python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            wheel,
        ],
        work,
        env,
    )
    return work


@pytest.fixture
def app_env(installed, tmp_path) -> dict[str, str]:
    """Nothing but the environment: settings, and a PATH that leads to the new venv."""
    return {
        "PATH": f"{installed / 'venv/bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'smsdesk.sqlite3'}",
        "SECRET_KEY": "install-test-secret",
    }


def pyproject_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def wheel_carries_templates_static_files_and_migrations(wheel: Path) -> None:
    # `python -m build` makes the wheel from the sdist, so this covers MANIFEST.in as well.
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "webapp/templates/base.html",
        "webapp/static/css/app.css",
        "webapp/static/vendor/htmx-2.0.11.min.js",
        "webapp/migrations/env.py",
        "webapp/migrations/script.py.mako",
    ):
        assert path in names
    shipped = {Path(n).name for n in names if n.startswith("webapp/migrations/versions/")}
    assert shipped == {p.name for p in (ROOT / "migrations/versions").glob("*.py")}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


# One test, not several: under pytest-xdist each would build and install the wheel again.
def test_the_wheel_installs_and_runs_from_an_empty_folder(installed, app_env, tmp_path):
    [wheel] = (installed / "dist").glob("*.whl")
    wheel_carries_templates_static_files_and_migrations(wheel)
    empty = tmp_path / "empty"
    empty.mkdir()
    venv = installed / "venv"

    where = run(
        [
            venv / "bin/python",
            "-c",
            (
                "import webapp, webapp.version; "
                "print(webapp.__file__); print(webapp.version.version())"
            ),
        ],
        empty,
        app_env,
    )
    package_file, version = where.split()
    assert Path(package_file).is_relative_to(venv)
    assert version == pyproject_version()

    upgraded = run([venv / "bin/flask", "--app", "webapp", "db-upgrade"], empty, app_env)
    assert f"Database at revision {migrate.head_revision()}." in upgraded
    run([venv / "bin/flask", "--app", "webapp", "sms", "worker", "--once"], empty, app_env)

    servers = {
        "waitress": lambda port: [
            venv / "bin/waitress-serve",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--call",
            "webapp:create_app",
        ],
        # As the deployment guide runs it, with SMS Desk's worker class from the installed wheel.
        "gunicorn": lambda port: [
            venv / "bin/gunicorn",
            "-w",
            "2",
            "-k",
            "webapp.gunicorn_worker.BalancedThreadWorker",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "webapp:create_app()",
        ],
    }
    for name, command in servers.items():
        port = free_port()
        server = Server(command(port), empty, app_env, port, tmp_path / f"{name}.log")
        try:
            server.wait_until_up()
            status, headers, body = get(f"{server.base}/login")
            assert status == 200, name
            assert headers["X-Request-ID"]
            page = body.decode()
            assert "Sign in" in page
            stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', page).group(1)
            status, headers, body = get(server.base + stylesheet)
            assert status == 200, name
            assert headers["Content-Type"].startswith("text/css")
            assert body.startswith(b"/* SMS Desk")
        finally:
            server.stop()
        assert "GET /login 200" in server.output(), name  # the access line, at INFO by default
    assert os.listdir(empty) == []  # nothing written to the working directory
