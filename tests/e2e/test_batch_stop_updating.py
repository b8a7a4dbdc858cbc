"""The batch page's updates can be stopped with JavaScript on (WCAG 2.2.2): "Stop reloading" is a
real link there too, not only inside <noscript>; pressed from the keyboard it stops htmx's polling
(a poll out at that moment included), leaves the focus on "reload by itself", and that puts the
updates back, the focus on "Stop reloading" again."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import send_single_from_record, unexpected
from tests.e2e.test_batch_progress import add_candidate, awaiting_receipt
from tests.e2e.test_slow_network import Held

NAME, MOBILE = "Stella Zzstop", "0412 345 795"


@pytest.fixture
def page_errors():
    """Stop reloading pressed while a poll is out aborts that poll (hx-sync "replace"): htmx logs
    the abort, which is no error."""
    return unexpected


def tab_to(page, link) -> None:
    """Tab (real key presses) until `link` has the focus."""
    for _ in range(60):
        page.keyboard.press("Tab")
        if link.evaluate("element => element === document.activeElement"):
            return
    expect(link).to_be_focused()


@pytest.mark.parametrize("js", [True])
def test_stop_reloading_stops_the_updates_with_javascript_on(page, js, live_server):
    sign_in(page, "consultant")
    add_candidate(page, NAME, MOBILE)
    send_single_from_record(page, js, NAME, MOBILE, "Hi {{first_name}}, hold on.")
    batch_id = int(re.search(r"/sms/batches/(\d+)", page.url).group(1))
    awaiting_receipt(live_server, batch_id)  # sent, no receipt yet: the page polls every 2 s
    page.reload()
    progress = page.locator("#progress")
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    stop = progress.get_by_role("link", name="Stop reloading", exact=True)
    expect(stop).to_be_visible()

    # The next poll is on its way as Stop reloading is pressed, and answers first: both are held
    # in the browser, then let go in that order.
    address = re.compile(rf"/sms/batches/{batch_id}(\?refresh=off)?$")
    held = Held(page, address)
    ended: list = []
    page.on("requestfinished", lambda request: ended.append(request))
    page.on("requestfailed", lambda request: ended.append(request))  # aborted
    tab_to(page, stop)
    held.wait_for(1)
    page.keyboard.press("Enter")
    held.wait_for(2)
    poll = held.routes.pop(0)
    try:
        poll.continue_()
    except PlaywrightError:
        pass  # aborted by the press: nothing to answer
    for _ in range(100):
        if poll.request in ended:
            break
        page.wait_for_timeout(50)
    assert poll.request in ended
    held.release()
    page.unroute(address)

    by_itself = progress.get_by_role("link", name="reload by itself", exact=True)
    expect(by_itself).to_be_focused()
    expect(page).to_have_url(re.compile(rf"/sms/batches/{batch_id}\?refresh=off$"))
    expect(progress).not_to_have_attribute("hx-trigger", re.compile("."))
    expect(progress).to_contain_text("not finished yet")
    # No poll follows.
    progress.evaluate("section => { section.dataset.stopped = 'yes'; }")
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.wait_for_timeout(5_000)  # more than two polls' worth
    expect(page.locator("#progress[data-stopped]")).to_have_count(1)
    assert not [url for url in asked if f"/sms/batches/{batch_id}" in url], asked
    expect(by_itself).to_be_focused()

    # And back: the updates start again, the focus on the link that stops them.
    page.keyboard.press("Enter")
    expect(stop).to_be_focused()
    expect(page).to_have_url(re.compile(rf"/sms/batches/{batch_id}$"))
    expect(progress).to_have_attribute("hx-trigger", "every 2s")
    progress.evaluate("section => { section.dataset.before = 'yes'; }")
    expect(page.locator("#progress[data-before]")).to_have_count(0, timeout=5_000)
    expect(stop).to_be_focused()
