"""Screenshots of the search page, the SMS screen and the batch page at 1280 px and at 390 px (a
phone), taken on every run into tests/e2e/screenshots/ as `<page>-<width>.png`, so they show the
layout as it is."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.helpers import compose_panel, select_people

WOLLONGONG_DEVELOPERS = "/candidates?job=Software+Developer&location=Wollongong"
PEOPLE = ("Ada Lovelace", "Alan Turing", "Grace Hopper")


@pytest.mark.parametrize("width", [1280, 390])
def test_search_sms_screen_and_batch_at_each_width(browser, live_server, width):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900 if width > 600 else 844}
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        sign_in(page, "consultant")
        page.goto(WOLLONGONG_DEVELOPERS)
        select_people(page, PEOPLE)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"search-{width}")

        page.get_by_role("button", name="Bulk SMS").click()
        compose = compose_panel(page)
        expect(compose.get_by_role("heading", name=re.compile(r"SMS to 3 people"))).to_be_visible()
        page.get_by_label("Message", exact=True).press_sequentially(
            "Hi {{first_name}}, a new role in Wollongong: call me today?"
        )
        expect(page.locator("#sms-counter")).not_to_have_attribute("data-characters", "0")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"sms-screen-{width}")

        page.get_by_role("button", name="Send", exact=True).click()
        expect(page).to_have_url(re.compile(r"/sms/batches/\d+"))
        expect(page.locator("#progress")).to_contain_text("done", timeout=15_000)
        expect(page.locator(".state-counts")).to_contain_text("delivered 3")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"batch-{width}")
    finally:
        context.close()
