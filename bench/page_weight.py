"""Page weight of the first load of the search page and the SMS screen, measured in Chromium."""

from __future__ import annotations

import tempfile
from pathlib import Path


def measure() -> list[tuple[str, float, str, str]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
    from tests.e2e.weight import first_load

    if not Path(CHROMIUM).exists():
        return []
    server = LiveServer(Path(tempfile.mkdtemp(prefix="smsdesk-weight-")))
    figures = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            for name, path in (
                ("search page", "/candidates"),
                ("SMS screen", "/sms/compose?candidate=1"),
            ):
                measured = first_load(browser, server.url, path)
                figures.append(
                    (
                        f"page weight, first load of the {name} (HTML+CSS+JS)",
                        measured["bytes"] / 1024,
                        "KB",
                        "≤ 100",
                    )
                )
                figures.append(
                    (
                        f"page weight, other hosts asked by the {name}",
                        len(measured["hosts"]) - 1,
                        "",
                        "0",
                    )
                )
            browser.close()
    finally:
        server.stop()
    return figures
