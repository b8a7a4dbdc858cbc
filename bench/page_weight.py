"""Page weight of a first visit (cold cache): HTML + CSS + JS of the candidate search page and of
the SMS screen, in KB (1 KB = 1,000 bytes) as transferred, i.e. after gzip.

Starts the same live server (waitress, own SQLite database, demo data) and Debian Chromium as the
browser tests, and measures with the same code (tests/e2e/weight.py)."""

from __future__ import annotations

import tempfile
from pathlib import Path

GOAL = "≤ 100 KB"


def measure() -> list[tuple[str, float, str, str]]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
    from tests.e2e.weight import candidate_id, first_load, signed_in_state

    with tempfile.TemporaryDirectory(prefix="smsdesk-weight-") as workdir:
        server = LiveServer(Path(workdir))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS)
                try:
                    state = signed_in_state(browser, server.url)
                    pages = [
                        ("first load: candidate search, HTML+CSS+JS", "/candidates"),
                        ("first load: SMS screen, HTML+CSS+JS",
                         f"/sms/compose?candidate={candidate_id(browser, server.url, state)}"),
                    ]
                    figures = []
                    for name, path in pages:
                        weight = first_load(browser, server.url, state, path)
                        if weight.foreign:
                            name += f" (+{len(weight.foreign)} requests to other hosts!)"
                        figures.append((name, round(weight.text_bytes / 1000, 1), "KB", GOAL))
                    return figures
                finally:
                    browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    for name, value, unit, goal in measure():
        print(f"{name}: {value} {unit} (goal {goal})")
