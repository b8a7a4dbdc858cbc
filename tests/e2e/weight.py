"""Measure what a first visit to a page transfers (HTML, CSS, JS), in a fresh browser context."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.conftest import PASSWORD

TEXT_TYPES = ("document", "stylesheet", "script")


def first_load(browser, base_url: str, path: str) -> dict:
    """Sign in, then load `path` with a cold cache; bytes per resource type and any other hosts."""
    context = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Username").fill("consultant")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/candidates**")
        seen: list = []
        # A second context with only the sign-in cookie: nothing cached, as on a first visit.
        fresh = browser.new_context(base_url=base_url, storage_state=context.storage_state())
        try:
            probe = fresh.new_page()
            probe.on("requestfinished", lambda request: seen.append(request))
            probe.goto(path)
            probe.wait_for_load_state("load")
            totals = {kind: 0 for kind in TEXT_TYPES}
            hosts = set()
            for request in seen:
                hosts.add(urlsplit(request.url).netloc)
                if request.resource_type in totals:
                    sizes = request.sizes()
                    totals[request.resource_type] += sizes["responseBodySize"] + sizes["responseHeadersSize"]
            return {"bytes": sum(totals.values()), "by_type": totals, "hosts": hosts}
        finally:
            fresh.close()
    finally:
        context.close()
