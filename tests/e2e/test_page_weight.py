"""A first visit stays small: HTML + CSS + JS of the search page and of the SMS screen ≤ 100 KB,
all from our own host (no CDN, no fonts or trackers from elsewhere)."""

from __future__ import annotations

import pytest

from tests.e2e.weight import BUDGET_BYTES, TEXT_TYPES, candidate_id, first_load, signed_in_state


@pytest.fixture(scope="module")
def state(browser, live_server):
    return signed_in_state(browser, live_server.url)


@pytest.mark.parametrize("screen", ["candidate search", "SMS screen"])
def test_first_load_weight(browser, live_server, state, screen):
    if screen == "SMS screen":
        path = f"/sms/compose?candidate={candidate_id(browser, live_server.url, state)}"
    else:
        path = "/candidates"
    weight = first_load(browser, live_server.url, state, path)
    report = weight.table()
    print(report)

    assert not weight.foreign, f"requests to other hosts: {weight.foreign}\n{report}"
    assert not weight.failed, f"requests that failed: {weight.failed}\n{report}"
    types = {t.resource_type for t in weight.transfers}
    assert TEXT_TYPES <= types, f"expected HTML, CSS and JS on a first load, got {types}\n{report}"
    page = [t for t in weight.transfers if t.resource_type == "document"]
    assert len(page) == 1 and page[0].status == 200, report
    # The text the server sends is compressed (anything past the server's 600-byte threshold).
    for t in weight.transfers:
        if t.resource_type in TEXT_TYPES and t.body_bytes > 1000:
            assert t.encoding == "gzip", f"{t.url} was sent uncompressed\n{report}"
    assert weight.text_bytes <= BUDGET_BYTES, (
        f"{screen}: {weight.text_bytes:,} bytes of HTML+CSS+JS, over the {BUDGET_BYTES:,}-byte budget\n{report}")
