"""The search list from the keyboard, on a phone and beside the Bulk SMS bar: Tab (JavaScript off)
never leaves the focus under the bar; the arrow keys pass over the facts a phone leaves out; and a
page link clicked with Ctrl or Shift opens a page of its own, as any link does."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import results_heading, retype

PHONE = {"width": 390, "height": 844}

# Where the focus is, and whether the Bulk SMS bar covers any of it (a control of the bar's own
# is in it, not under it).
FOCUS = """() => {
  const focused = document.activeElement;
  const bar = document.querySelector(".selection-bar");
  const box = focused.getBoundingClientRect(), barBox = bar.getBoundingClientRect();
  return {what: focused.getAttribute("aria-label") || focused.textContent.trim().slice(0, 30),
          inBar: bar.contains(focused), top: box.top, bottom: box.bottom, barTop: barBox.top};
}"""


@pytest.mark.parametrize("viewport", [PHONE, {"width": 1280, "height": 800}], ids=["phone", "wide"])
@pytest.mark.parametrize("js", [False], ids=["nojs"])
def test_without_javascript_tab_never_leaves_the_focus_under_the_bulk_sms_bar(page, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, "admin")
    page.goto("/candidates")
    page.locator("#q").focus()
    stops = 0
    for _ in range(400):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        if focus["inBar"]:
            break
        stops += 1
        assert focus["bottom"] <= focus["barTop"] + 0.5, f"Tab {stops} is under the bar: {focus}"
    else:
        pytest.fail("Tab never reached the Bulk SMS bar")
    # The whole page of the list was passed, well below the window's foot.
    assert stops > 100


def add_candidate_with(page: Page, first: str, last: str, mobile: str, **facts: str) -> None:
    """Add a candidate from the keyboard with some of Job title and Location filled in."""
    page.goto("/candidates/new")
    retype(page, "First name", first)
    retype(page, "Last name", last)
    retype(page, "Mobile", mobile)
    for label, value in facts.items():
        retype(page, label.replace("_", " ").capitalize(), value)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{first} {last}")


@pytest.fixture(scope="module")
def people_with_gaps(browser, live_server) -> str:
    """Three candidates of one new surname: one with a Job title only, one with a Location only,
    one with neither. The surname."""
    digits = f"{random.randrange(10**5):05d}"
    surname = "Zzgap" + "".join(chr(ord("a") + int(digit)) for digit in digits)
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, "admin")
    add_candidate_with(page, "Ada", surname, f"0419 6{digits[:2]} {digits[2:]}", job_title="Welder")
    add_candidate_with(page, "Bea", surname, f"0419 7{digits[:2]} {digits[2:]}", location="Hobart")
    add_candidate_with(page, "Cal", surname, f"0419 8{digits[:2]} {digits[2:]}")
    context.close()
    return surname


# The focused cell (its row's first name and its label), and whether it is the list's one Tab stop.
CELL = """() => {
  const focused = document.activeElement;
  const cell = focused.closest("td, th");
  const stop = document.getElementById("results-table").querySelector('[tabindex="0"]');
  return {row: cell.parentElement.querySelector(".name").textContent.split(" ")[0],
          cell: cell.getAttribute("data-label") || cell.className,
          shown: focused.getClientRects().length > 0, isStop: stop === focused};
}"""


def at(page: Page, row: str, cell: str) -> None:
    assert page.evaluate(CELL) == {"row": row, "cell": cell, "shown": True, "isStop": True}


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_on_a_phone_the_arrow_keys_pass_over_the_facts_left_out(page, people_with_gaps):
    page.set_viewport_size(PHONE)
    sign_in(page, "admin")
    page.goto(f"/candidates?q={people_with_gaps}")
    expect(page.locator("#results-heading")).to_have_text(results_heading(3))
    expect(page.locator("#results-table .name")).to_have_text(
        [re.compile(rf"^{first} ") for first in ("Ada", "Bea", "Cal")]
    )
    page.locator("#q").focus()
    page.keyboard.press("ArrowDown")
    at(page, "Ada", "select-cell")
    for cell in ("name", "Mobile", "SMS consent", "Job title", "Status"):
        page.keyboard.press("ArrowRight")
        at(page, "Ada", cell)
    page.keyboard.press("ArrowRight")  # the row's end: the focus stays
    at(page, "Ada", "Status")
    page.keyboard.press("ArrowLeft")
    at(page, "Ada", "Job title")
    # Down onto a row with no Job title: the nearest fact shown, the earlier of two as near.
    page.keyboard.press("ArrowDown")
    at(page, "Bea", "SMS consent")
    page.keyboard.press("ArrowRight")
    at(page, "Bea", "Location")
    page.keyboard.press("ArrowDown")
    at(page, "Cal", "Status")
    page.keyboard.press("ArrowLeft")
    at(page, "Cal", "SMS consent")
    # The list is still one Tab stop, where the focus was: ↓ from Search and Tab go back to it.
    page.locator("#q").focus()
    page.keyboard.press("ArrowDown")
    at(page, "Cal", "SMS consent")
    page.locator("#q").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => !!document.activeElement.closest('#results-table')"):
            break
    at(page, "Cal", "SMS consent")


@pytest.mark.parametrize("js", [True], ids=["js"])
@pytest.mark.parametrize("modifier", ["Control", "Shift"])
def test_a_page_link_clicked_with_ctrl_or_shift_opens_a_page_of_its_own(page, modifier):
    sign_in(page, "admin")
    page.goto("/candidates")
    box = page.locator("input.row-select").first
    box.check()
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="Next page").click(modifiers=[modifier])
    other = opened.value
    expect(other).to_have_url(re.compile(r"/candidates\?page=2$"))
    expect(other.locator("#results-table caption")).to_have_text("Candidates, page 2")
    other.close()
    # This page stays as it was, its tick too.
    expect(page).to_have_url(re.compile(r"/candidates$"))
    expect(page.locator("#results-table caption")).to_have_text("Candidates, page 1")
    expect(box).to_be_checked()
    # A plain click still swaps the next page in.
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("#results-table caption")).to_have_text("Candidates, page 2")
    expect(page).to_have_url(re.compile(r"/candidates\?page=2$"))
    expect(page.locator("#results-heading")).to_be_focused()
    assert len(page.context.pages) == 1
