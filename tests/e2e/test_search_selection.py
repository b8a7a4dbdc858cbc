"""The search page's selection with JavaScript: the count after Back says who Bulk SMS sends to, and
the Bulk SMS bar at the window's foot never hides the row the keyboard is on."""

from __future__ import annotations

import random
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import add_candidate, results_heading

YOUNG = 6  # candidates of the e2e data a search for "young" finds


@pytest.fixture
def js() -> bool:
    return True


def leave_and_come_back(page: Page) -> None:
    """Open the first row's record, then the browser's Back (the search page loads again: pages
    are sent no-store, and the browser puts the ticks back on its own)."""
    page.locator("#results .name a").first.click()
    page.wait_for_url(re.compile(r"/candidates/\d+$"))
    page.go_back()
    expect(page.locator("#results-heading")).to_have_text(results_heading(YOUNG))


def test_after_back_the_count_says_all_matching_and_bulk_sms_agrees(page):
    sign_in(page, "admin")
    page.goto("/candidates?q=young")
    page.get_by_label(f"Select all {YOUNG} matching").check()
    count = page.locator("#selected-count")
    expect(count).to_have_text(f"{YOUNG} (all matching) selected")
    page.keyboard.press("b")
    heading = page.locator("#compose-heading")
    expect(heading).to_have_text(re.compile(r"SMS to \d+ (person|people)"))
    before = heading.inner_text()
    page.keyboard.press("Escape")
    expect(heading).to_have_count(0)

    leave_and_come_back(page)
    expect(page.locator("#select-matching")).to_be_checked()
    expect(count).to_have_text(f"{YOUNG} (all matching) selected")
    page.locator("#q").press("Shift+Tab")  # out of Search: b is a shortcut again
    page.keyboard.press("b")
    expect(heading).to_have_text(before)


def test_after_back_the_count_and_select_all_follow_the_ticked_rows(page):
    sign_in(page, "admin")
    page.goto("/candidates?q=young")
    boxes = page.locator("input.row-select")
    boxes.nth(0).check()
    boxes.nth(2).check()
    count = page.locator("#selected-count")
    expect(count).to_have_text("2 selected")

    leave_and_come_back(page)
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(2)).to_be_checked()
    expect(count).to_have_text("2 selected")
    assert page.locator("#select-page").evaluate("box => box.indeterminate")


def new_surname() -> tuple[str, str]:
    """A surname of letters no other test uses (the server is shared), and digits for mobiles."""
    digits = f"{random.randrange(10**5):05d}"
    return "Zzbyrne" + "".join(chr(ord("a") + int(digit)) for digit in digits), digits


def add_in_another_tab(page: Page, first: str, last: str, mobile: str) -> None:
    other = page.context.new_page()
    add_candidate(other, first, last, mobile)
    other.close()


def test_after_back_the_ticks_follow_the_people_when_someone_new_sorts_before_them(page):
    """The browser put ticks back by position: a candidate added meanwhile who sorts first was
    ticked after Back (and sent the SMS), and the last one ticked lost her tick."""
    sign_in(page, "consultant")
    surname, digits = new_surname()
    for first, mobile in (
        ("Zzab", f"0419 1{digits[:2]} {digits[2:]}"),
        ("Zzad", f"0419 2{digits[:2]} {digits[2:]}"),
    ):
        add_candidate(page, first, surname, mobile)
    page.goto(f"/candidates?q={surname}")
    expect(page.locator("#results-heading")).to_have_text(results_heading(2))
    page.get_by_label(f"Select Zzab {surname}", exact=True).check()
    page.get_by_label(f"Select Zzad {surname}", exact=True).check()
    count = page.locator("#selected-count")
    expect(count).to_have_text("2 selected")
    page.locator("#results").get_by_role("link", name=f"Zzab {surname}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Zzab {surname}")

    add_in_another_tab(page, "Zzaa", surname, f"0419 3{digits[:2]} {digits[2:]}")
    page.go_back()
    expect(page.locator("#results-heading")).to_have_text(results_heading(3))
    expect(page.get_by_label(f"Select Zzaa {surname}", exact=True)).not_to_be_checked()
    expect(page.get_by_label(f"Select Zzab {surname}", exact=True)).to_be_checked()
    expect(page.get_by_label(f"Select Zzad {surname}", exact=True)).to_be_checked()
    expect(count).to_have_text("2 selected")
    page.keyboard.press("b")
    expect(page.locator("#compose-heading")).to_have_text(re.compile(r"SMS to 2 people"))
    recipients = page.get_by_role("group", name="Mobile Number")
    expect(recipients).to_contain_text(f"Zzab {surname}")
    expect(recipients).to_contain_text(f"Zzad {surname}")
    expect(recipients).not_to_contain_text(f"Zzaa {surname}")


def test_after_back_select_all_matching_stays_ticked_for_the_search_as_it_is_now(page):
    sign_in(page, "consultant")
    surname, digits = new_surname()
    add_candidate(page, "Zzab", surname, f"0419 4{digits[:2]} {digits[2:]}")
    page.goto(f"/candidates?q={surname}&sort=-created")
    page.get_by_label("Select all 1 matching").check()
    page.locator("#results").get_by_role("link", name=f"Zzab {surname}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Zzab {surname}")

    add_in_another_tab(page, "Zzac", surname, f"0419 5{digits[:2]} {digits[2:]}")
    page.go_back()
    expect(page.locator("#results-heading")).to_have_text(results_heading(2))
    expect(page.get_by_label("Select all 2 matching")).to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("2 (all matching) selected")
    expect(page.locator("input.row-select:checked")).to_have_count(0)


def test_ticks_come_back_only_by_back_not_on_a_new_visit_to_the_same_search(page):
    sign_in(page, "admin")
    page.goto("/candidates?q=young")
    page.locator("input.row-select").nth(1).check()
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    page.goto("/candidates")
    page.goto("/candidates?q=young")
    expect(page.locator("#results-heading")).to_have_text(results_heading(YOUNG))
    expect(page.locator("input.row-select:checked")).to_have_count(0)
    expect(page.locator("#selected-count")).to_have_text("0 selected")
    leave_and_come_back(page)  # nor after Back to this visit, where none was ticked
    expect(page.locator("input.row-select:checked")).to_have_count(0)


@pytest.mark.parametrize("js", [False])
def test_without_javascript_back_brings_no_ticks(page, js):
    """Without the script nothing can tell who was ticked: no box is ticked by its place."""
    sign_in(page, "admin")
    page.goto("/candidates?q=young")
    page.get_by_role("checkbox", name=re.compile(r"^Select ")).nth(1).check()
    page.get_by_label("Select all", exact=True).check()
    page.locator("#results .name a").first.click()
    page.wait_for_url(re.compile(r"/candidates/\d+$"))
    page.go_back()
    expect(page.locator("#results-heading")).to_have_text(results_heading(YOUNG))
    expect(page.locator("input.row-select:checked")).to_have_count(0)
    expect(page.locator("#select-page")).not_to_be_checked()


PHONE = {"width": 390, "height": 700}


def assert_above_the_bar(page: Page, where: str) -> None:
    focused = page.evaluate(
        """() => {
          const row = document.activeElement.closest("tr");
          const bar = document.querySelector(".selection-bar").getBoundingClientRect();
          return {bottom: row.getBoundingClientRect().bottom, barTop: bar.top,
                  boxBottom: document.activeElement.getBoundingClientRect().bottom};
        }"""
    )
    assert focused["boxBottom"] <= focused["barTop"], f"{where}: {focused}"
    assert focused["bottom"] <= focused["barTop"] + 1, f"{where}: {focused}"


def test_on_a_phone_the_row_the_keyboard_is_on_is_above_the_bulk_sms_bar(page):
    page.set_viewport_size(PHONE)
    sign_in(page, "admin")
    page.goto("/candidates?q=young")
    page.keyboard.press("/")
    page.keyboard.press("ArrowDown")
    assert_above_the_bar(page, "the first row")
    for row in range(2, YOUNG + 1):
        page.keyboard.press("ArrowDown")
        assert_above_the_bar(page, f"row {row}")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("x")
    ticked = page.locator("input.row-select").nth(1)
    expect(ticked).to_be_checked()
    expect(ticked).to_be_focused()
    assert_above_the_bar(page, "the ticked row")


def test_on_a_phone_a_click_on_a_row_half_under_the_bar_ticks_it_where_it_is(page):
    """Only the keyboard's focus moves the row: a scroll between a click's press and release
    would take the box from under the pointer, and the click would tick nothing."""
    page.set_viewport_size(PHONE)
    sign_in(page, "admin")
    page.goto("/candidates?q=young")
    box = page.locator("input.row-select").nth(1)
    # The row's box just above the bar, the rest of the row under it.
    page.evaluate(
        """box => {
          const bar = document.querySelector(".selection-bar").getBoundingClientRect();
          window.scrollBy(0, box.getBoundingClientRect().bottom - bar.top + 8);
        }""",
        box.element_handle(),
    )
    place = box.bounding_box()
    row = box.locator("xpath=ancestor::tr").bounding_box()
    bar = page.locator(".selection-bar").bounding_box()
    assert place["y"] + place["height"] <= bar["y"] < row["y"] + row["height"]
    page.mouse.click(place["x"] + place["width"] / 2, place["y"] + place["height"] / 2)
    expect(box).to_be_checked()
    assert box.bounding_box()["y"] == place["y"]
