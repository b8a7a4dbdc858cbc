"""Page weight: the first load of the search page and of the SMS screen stays within 100 KB
(HTML, CSS and JS, htmx included) and asks nothing of another host."""

from __future__ import annotations

import pytest

from tests.e2e.weight import first_load

BUDGET = 100 * 1024


@pytest.mark.parametrize("path", ["/candidates", "/sms/compose?candidate=1"])
def test_first_load_stays_within_the_budget_and_on_this_host(browser, live_server, path):
    measured = first_load(browser, live_server.url, path)
    assert measured["hosts"] == {live_server.url.split("//", 1)[1]}, measured["hosts"]
    assert measured["by_type"]["script"] > 0  # htmx is counted, so the figure is honest
    assert not measured["failed"], measured  # every request answered
    assert not measured["uncompressed"], measured  # the server gzips text over 1 KB
    assert 0 < measured["bytes"] <= BUDGET, measured
