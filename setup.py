"""Packaging hook: copies the top-level templates/, static/ and migrations/ into the built
package."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
APP_FOLDERS = ("templates", "static", "migrations")


class BuildPyWithAppFolders(build_py):
    """Build the package as usual, then add the app's folders as webapp/templates, webapp/static,
    webapp/migrations, so a wheel or `pip install .` runs from any directory (webapp/folders.py
    looks there first). The checkout keeps them at the top level, where `make run` uses them."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # `pip install -e .` serves them from the checkout itself
        for name in APP_FOLDERS:
            target = Path(self.build_lib) / "webapp" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(
                HERE / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[co]")
            )


setup(cmdclass={"build_py": BuildPyWithAppFolders})
