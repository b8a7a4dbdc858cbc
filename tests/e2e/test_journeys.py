"""The main journeys in a real browser, each with JavaScript on and off."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in


def search(page, text: str) -> None:
    page.get_by_label("Search", exact=True).fill(text)
    page.get_by_role("button", name="Search", exact=True).click()


def test_sign_in_search_tick_three_and_send(page, js):
    sign_in(page, "consultant")
    search(page, "Lovelace")
    expect(page.get_by_role("link", name="Ada Lovelace", exact=True)).to_be_visible()
    page.goto("/candidates?job=Software+Developer&location=Sydney")
    for name in ("Ada Lovelace", "Alan Turing", "Grace Hopper"):
        page.get_by_label(f"Select {name}").check()
    page.get_by_role("button", name="Bulk SMS").click()
    compose = page.locator("#compose")
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 3 people"))).to_be_visible()
    screenshot(page, f"compose-{'js' if js else 'nojs'}")
    page.get_by_label("Message").fill("Hi {{first_name}}, a Sydney developer role is open.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview")).to_contain_text("Hi Grace, a Sydney developer role is open.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/sms/batches/\d+"))
    expect(page.get_by_role("progressbar")).to_be_visible()
    if js:
        expect(page.locator("#progress")).to_contain_text("done", timeout=15_000)
    else:
        for _ in range(30):
            page.reload()
            if "done" in page.locator("#progress").inner_text():
                break
            page.wait_for_timeout(500)
    expect(page.locator(".state-counts")).to_contain_text("delivered 3")
