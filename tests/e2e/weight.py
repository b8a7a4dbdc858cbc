"""Measure what a first visit to a page transfers (HTML, CSS, JS), in a fresh browser context."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.e2e.conftest import sign_in

TEXT_TYPES = ("document", "stylesheet", "script")


def first_load(browser, base_url: str, path: str) -> dict:
    """Sign in, then load `path` with a cold cache; bytes per resource type and any other hosts."""
    context = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        sign_in(page, "consultant")
        seen: list = []
        hosts: set[str] = set()
        failed: list[str] = []
        # A second context with only the sign-in cookie: nothing cached, as on a first visit.
        fresh = browser.new_context(base_url=base_url, storage_state=context.storage_state())
        try:
            probe = fresh.new_page()
            # Every request counts for the hosts, also one that fails (a CDN this network refuses).
            probe.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
            probe.on("requestfailed", lambda request: failed.append(request.url))
            probe.on("requestfinished", lambda request: seen.append(request))
            probe.goto(path)
            probe.wait_for_load_state("networkidle")
            totals = {kind: 0 for kind in TEXT_TYPES}
            uncompressed = []
            for request in seen:
                if request.resource_type in totals:
                    sizes = request.sizes()
                    totals[request.resource_type] += (
                        sizes["responseBodySize"] + sizes["responseHeadersSize"]
                    )
                    response = request.response()
                    if (
                        sizes["responseBodySize"] > 1000
                        and response is not None
                        and response.header_value("content-encoding") != "gzip"
                    ):
                        uncompressed.append(request.url)
            return {
                "bytes": sum(totals.values()),
                "by_type": totals,
                "hosts": hosts,
                "failed": failed,
                "uncompressed": uncompressed,
            }
        finally:
            fresh.close()
    finally:
        context.close()
