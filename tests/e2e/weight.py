"""Page weight: what a first visit (fresh browser context, cold cache) transfers, per request.

Used by tests/e2e/test_page_weight.py (asserts the budget) and bench/page_weight.py (prints it)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.e2e.conftest import PASSWORD

TEXT_TYPES = {"document", "stylesheet", "script"}   # HTML, CSS and JS
BUDGET_BYTES = 100 * 1000                            # 100 KB for HTML + CSS + JS on a first load


@dataclass
class Transfer:
    url: str
    resource_type: str
    status: int
    body_bytes: int          # as received, i.e. compressed when the server gzipped it
    header_bytes: int
    encoding: str | None

    @property
    def bytes(self) -> int:
        return self.body_bytes + self.header_bytes


@dataclass
class Weight:
    path: str
    transfers: list[Transfer] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)     # requests to any other host
    failed: list[str] = field(default_factory=list)

    @property
    def text_bytes(self) -> int:
        return sum(t.bytes for t in self.transfers if t.resource_type in TEXT_TYPES)

    @property
    def all_bytes(self) -> int:
        return sum(t.bytes for t in self.transfers)

    def table(self) -> str:
        lines = [f"first load of {self.path}: {self.text_bytes:,} bytes HTML+CSS+JS, "
                 f"{self.all_bytes:,} bytes in all"]
        for t in self.transfers:
            lines.append(f"  {t.bytes:>8,}  {t.resource_type:<10} {t.status} {t.encoding or '-':<5} {t.url}")
        return "\n".join(lines)


def signed_in_state(browser, base_url: str, username: str = "consultant") -> dict:
    """Cookies of a signed-in user, to start a fresh (cold-cache) context already signed in."""
    context = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/candidates**")
        return context.storage_state()
    finally:
        context.close()


def candidate_id(browser, base_url: str, state: dict, name: str = "Ada Lovelace") -> int:
    context = browser.new_context(base_url=base_url, storage_state=state)
    try:
        page = context.new_page()
        page.goto("/candidates?q=" + name.replace(" ", "+"))
        href = page.locator("#results").get_by_role("link", name=name, exact=True).get_attribute("href")
        return int(re.search(r"/candidates/(\d+)", href).group(1))
    finally:
        context.close()


def first_load(browser, base_url: str, state: dict, path: str) -> Weight:
    """Open `path` in a new context (empty cache) and record every request it makes."""
    origin = urlsplit(base_url)
    weight = Weight(path)
    context = browser.new_context(base_url=base_url, storage_state=state)
    try:
        page = context.new_page()
        finished = []
        page.on("request", lambda request: weight.foreign.append(request.url)
                if urlsplit(request.url).netloc != origin.netloc else None)
        page.on("requestfinished", lambda request: finished.append(request))
        page.on("requestfailed", lambda request: weight.failed.append(request.url))
        page.goto(path, wait_until="load")
        page.wait_for_load_state("networkidle")
        for request in finished:
            sizes = request.sizes()
            response = request.response()
            weight.transfers.append(Transfer(
                url=request.url, resource_type=request.resource_type,
                status=response.status if response else 0,
                body_bytes=sizes["responseBodySize"], header_bytes=sizes["responseHeadersSize"],
                encoding=response.header_value("content-encoding") if response else None))
    finally:
        context.close()
    return weight
