"""The search results by keyboard and on a phone: one Tab stop walked with the arrow keys, ticks,
the record and the SMS screen from a row, the SMS screen beside the list, "More filters"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import results_heading

WOLLONGONG_DEVELOPERS = "/candidates?job=Software+Developer&location=Wollongong"
WIDE, NARROW = 1280, 390
# Where the focus is: the element, and the index of its row in the results (0 is the header).
FOCUSED = """() => {
  const e = document.activeElement;
  const row = e.closest('#results-table tr');
  return {tag: e.tagName, id: e.id, label: e.getAttribute('aria-label'),
          text: (e.innerText || '').trim(), row: row ? row.rowIndex : null};
}"""


@pytest.fixture(params=[WIDE, NARROW], ids=["1280px", "390px"])
def width(request) -> int:
    return request.param


@pytest.fixture
def js() -> bool:
    """Row keys, the side panel and its focus need JavaScript; tests without it say so."""
    return True


@pytest.fixture
def context(browser, live_server, js, width):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=js, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(10_000)
    yield context
    context.close()


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def row_names(page) -> list[str]:
    return page.locator("#results-table tbody td.name").all_inner_texts()


def into_the_list(page) -> list[str]:
    """Wollongong's developers, then `/` to Search and ArrowDown into the list; their names."""
    sign_in(page, "consultant")
    page.goto(WOLLONGONG_DEVELOPERS)
    names = row_names(page)
    assert len(names) == 7, names
    page.keyboard.press("/")
    expect(page.get_by_label("Search", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label(f"Select {names[0]}", exact=True)).to_be_focused()
    return names


def assert_on_row(page, names: list[str], index: int) -> None:
    """The focus is on row `index`'s tick box, and that row (only) is highlighted."""
    expect(page.get_by_label(f"Select {names[index]}", exact=True)).to_be_focused()
    backgrounds = page.locator("#results-table tbody tr").evaluate_all(
        "rows => rows.map(row => getComputedStyle(row).backgroundColor)"
    )
    plain = backgrounds[index - 1] if index else backgrounds[1]
    assert backgrounds[index] != plain, backgrounds
    assert len(set(backgrounds)) == 2, backgrounds


def test_tab_goes_from_the_page_start_to_the_first_row_in_four_presses(page):
    sign_in(page, "consultant")
    page.goto("/candidates")
    expect(page.get_by_label("Search", exact=True)).to_be_focused()  # where the page starts
    first = page.locator("#results-table tbody tr").first.get_by_role("checkbox")
    presses = 0
    while focused(page)["row"] != 1:
        assert presses < 4, f"4 Tab presses from Search end on {focused(page)}"
        page.keyboard.press("Tab")
        presses += 1
    expect(first).to_be_focused()
    # The list is one Tab stop: the next press leaves it for the Bulk SMS bar.
    page.keyboard.press("Tab")
    expect(page.locator("#select-matching")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(first).to_be_focused()


def test_arrows_j_k_home_end_move_the_row_highlight(page):
    names = into_the_list(page)
    assert_on_row(page, names, 0)
    page.keyboard.press("ArrowDown")
    assert_on_row(page, names, 1)
    page.keyboard.press("j")
    assert_on_row(page, names, 2)
    page.keyboard.press("k")
    assert_on_row(page, names, 1)
    page.keyboard.press("ArrowUp")
    assert_on_row(page, names, 0)
    page.keyboard.press("End")
    assert_on_row(page, names, 6)
    page.keyboard.press("ArrowDown")  # the last row stays the last
    assert_on_row(page, names, 6)
    page.keyboard.press("Home")
    assert_on_row(page, names, 0)
    # Along the row: the name, then the number; up and down keep to that column.
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("link", name=names[0], exact=True)).to_be_focused()
    page.keyboard.press("j")
    expect(page.get_by_role("link", name=names[1], exact=True)).to_be_focused()
    # The row walked to is where Tab comes back to.
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("link", name=names[1], exact=True)).to_be_focused()


def test_x_and_space_tick_the_row(page):
    names = into_the_list(page)
    box = page.get_by_label(f"Select {names[0]}", exact=True)
    page.keyboard.press("x")
    expect(box).to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    page.keyboard.press("Space")
    expect(box).not_to_be_checked()
    page.keyboard.press("j")
    page.keyboard.press("Space")
    expect(page.get_by_label(f"Select {names[1]}", exact=True)).to_be_checked()
    page.keyboard.press("ArrowRight")  # on the name link, x and Space still tick the row
    scrolled = page.evaluate("window.scrollY")
    page.keyboard.press("x")
    expect(page.get_by_label(f"Select {names[1]}", exact=True)).not_to_be_checked()
    page.keyboard.press("Space")
    expect(page.get_by_label(f"Select {names[1]}", exact=True)).to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    assert page.evaluate("window.scrollY") == scrolled  # Space ticked; it did not page down
    expect(page.get_by_role("link", name=names[1], exact=True)).to_be_focused()


def test_enter_opens_the_record(page):
    names = into_the_list(page)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/candidates/\d+$"))
    expect(page.get_by_role("heading", level=1, name=names[1])).to_be_visible()


def test_s_opens_the_sms_screen_for_the_row_and_esc_comes_back(page):
    names = into_the_list(page)
    ada = names.index("Ada Lovelace")
    for _ in range(ada):
        page.keyboard.press("j")
    page.keyboard.press("s")
    compose = page.locator("#compose-panel #compose")
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 1 person"))).to_be_focused()
    expect(page.get_by_role("group", name="Mobile Number")).to_contain_text("Ada Lovelace")
    expect(page).to_have_url(re.compile(r"/candidates\?"))  # still the search page
    page.keyboard.press("Escape")
    expect(compose).to_have_count(0)
    assert_on_row(page, names, ada)


def test_sms_screen_opens_beside_the_list_when_wide_and_below_when_narrow(page, width):
    names = into_the_list(page)
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("b")
    heading = page.locator("#compose-heading")
    expect(page.get_by_role("group", name="Mobile Number")).to_contain_text(names[1])
    expect(heading).to_be_focused()
    results = page.locator("#results-table").bounding_box()
    panel = page.locator("#compose-panel").bounding_box()
    if width == WIDE:
        assert panel["x"] >= results["x"] + results["width"], (results, panel)
        assert panel["y"] < results["y"] + results["height"], (results, panel)
        # Both in view at once: the top of the list and the SMS screen's heading.
        assert panel["y"] < 900 and results["y"] < 900
    else:
        assert panel["y"] >= results["y"] + results["height"], (results, panel)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.keyboard.press("Escape")
    expect(page.locator("#compose-panel #compose")).to_have_count(0)
    expect(page.get_by_role("button", name="Bulk SMS")).to_be_focused()
    # Closed, the list has the width back.
    assert page.locator("#results-table").bounding_box()["width"] > results["width"] - 1

    page.keyboard.press("b")
    expect(heading).to_be_focused()
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.locator("#compose-panel #compose")).to_have_count(0)
    expect(page.get_by_role("button", name="Bulk SMS")).to_be_focused()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_search_page_does_not_scroll_sideways_and_targets_are_24px(page, width, js):
    sign_in(page, "consultant")
    page.goto("/candidates")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.get_by_text("More filters", exact=True).click()
    expect(page.get_by_label("Location", exact=True)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width != NARROW:
        return
    targets = page.locator(
        "#results-table input, #results-table a, #bulk-sms input, #bulk-sms button,"
        " .pager a, .more-filters summary, #search button"
    )
    small = [
        (target.get_attribute("aria-label") or target.inner_text(), box)
        for target in targets.all()
        if (box := target.bounding_box()) and (box["height"] < 24 or box["width"] < 24)
    ]
    assert not small, small[:5]


@pytest.mark.parametrize("width", [WIDE], ids=["1280px"])
@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_more_filters_fold_unless_one_of_them_is_set(page, js):
    sign_in(page, "consultant")
    more = page.locator("details.more-filters")
    page.goto("/candidates?q=Lovelace&status=Active")
    expect(more).not_to_have_attribute("open", re.compile(".*"))
    expect(page.get_by_label("Location", exact=True)).to_be_hidden()
    page.goto(WOLLONGONG_DEVELOPERS)
    expect(more).to_have_attribute("open", "")
    expect(page.get_by_label("Location", exact=True)).to_have_value("Wollongong")
    page.goto("/candidates?sort=-created")
    expect(page.get_by_label("Sort by", exact=True)).to_be_visible()


def test_filter_bar_labels_on_one_line_and_search_beside_its_field(page, width):
    sign_in(page, "consultant")
    page.goto("/candidates")
    form = page.locator("form#search")
    search = form.get_by_label("Search", exact=True).bounding_box()
    status = form.get_by_label("Status", exact=True).bounding_box()
    button = form.get_by_role("button", name="Search", exact=True).bounding_box()
    labels = [form.locator(f"label[for={name}]").bounding_box() for name in ("q", "status")]
    if width == WIDE:
        assert abs(labels[0]["y"] - labels[1]["y"]) < 2, labels
        assert abs(search["y"] - status["y"]) < 4, (search, status)
    # The button sits on the line of the field beside it, not of its label.
    assert abs((button["y"] + button["height"] / 2) - (status["y"] + status["height"] / 2)) < 6


@pytest.mark.parametrize("width", [WIDE], ids=["1280px"])
def test_help_lists_the_row_keys(page):
    sign_in(page, "consultant")
    page.goto("/candidates")
    expect(page.get_by_label("Search", exact=True)).to_be_focused()  # then out of it
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("?")
    help = page.get_by_role("region", name="Keyboard shortcuts")
    expect(help).to_be_visible()
    for key in ("/", "↓", "j", "k", "Home", "End", "x", "Space", "Enter", "s", "a", "b", "Esc"):
        expect(help.locator("kbd", has_text=re.compile(rf"^{re.escape(key)}$"))).not_to_have_count(
            0
        )


@pytest.mark.parametrize("width", [WIDE], ids=["1280px"])
def test_a_new_list_closes_the_sms_screen_and_the_same_people_get_the_message_back(page):
    sign_in(page, "consultant")
    # Chromium may place the autofocus after the load event: typed before, the first key is lost.
    expect(page.get_by_label("Search", exact=True)).to_be_focused()
    page.keyboard.type("Lovelace")
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("x")
    page.keyboard.press("b")
    expect(page.locator("#compose-heading")).to_be_focused()
    page.get_by_label("Message", exact=True).click()
    page.keyboard.type("See you at ten")
    page.keyboard.press("Escape")  # closed; the focus is back on Bulk SMS
    expect(page.get_by_role("button", name="Bulk SMS")).to_be_focused()
    page.keyboard.press("/")
    page.keyboard.press("End")
    page.keyboard.type("z")
    expect(page.locator("#results-heading")).to_have_text(results_heading(0))
    page.keyboard.press("Backspace")
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    page.keyboard.press("ArrowDown")
    page.keyboard.press("x")
    page.keyboard.press("b")
    expect(page.get_by_label("Message", exact=True)).to_have_value("See you at ten")
    expect(page.locator("#compose-heading")).to_be_focused()
    page.keyboard.press("/")
    page.keyboard.press("End")
    page.keyboard.type("z")
    panel = page.locator("#compose-panel")
    expect(panel).to_contain_text("The list changed, so the SMS screen was closed")
    expect(panel).to_contain_text("Your message is kept for it.")
    expect(page.locator("#search-layout")).to_have_class(re.compile(r"\bpanel-open\b"))


@pytest.mark.parametrize("width", [WIDE], ids=["1280px"])
def test_down_pressed_before_the_search_answers_lands_in_the_new_list(page):
    """↓ straight after typing, inside the search's 350 ms wait: the focus goes into the list on
    the screen, which the answer then replaces. It lands on the new list's first row (it fell to
    the page, and the next x ticked nothing)."""
    sign_in(page, "consultant")
    expect(page.get_by_label("Search", exact=True)).to_be_focused()
    page.keyboard.type("Lovelace")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    [name] = row_names(page)
    box = page.get_by_label(f"Select {name}", exact=True)
    expect(box).to_be_focused()
    page.keyboard.press("x")
    expect(box).to_be_checked()
    expect(page.locator("#selected-count")).to_have_text("1 selected")


@pytest.mark.parametrize("width", [WIDE], ids=["1280px"])
def test_down_pressed_before_a_search_that_finds_nobody_lands_on_its_heading(page):
    sign_in(page, "consultant")
    expect(page.get_by_label("Search", exact=True)).to_be_focused()
    page.keyboard.type("Zzqxnobody")
    page.keyboard.press("ArrowDown")
    heading = page.locator("#results-heading")
    expect(heading).to_have_text(results_heading(0))
    expect(heading).to_be_focused()  # not the page: "0 matching" is read out


def test_axe_finds_nothing_on_the_walked_list_and_the_open_sms_screen(page, width):
    from tests.e2e.test_accessibility import check

    into_the_list(page)
    page.keyboard.press("j")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # a plain cell has the focus
    page.keyboard.press("x")
    check(page, f"the search page, a row walked to, at {width} px")
    page.keyboard.press("b")
    expect(page.locator("#compose-heading")).to_be_focused()
    check(page, f"the search page with the SMS screen open, at {width} px")


# What a quick hand does the moment a new list is on the screen: ticks its first row and presses
# Bulk SMS in the very next task after the swap, before any timer of htmx's has run.
QUICK_BULK_SMS = """() => new Promise(resolve => {
  document.body.addEventListener("htmx:afterSwap", function once(event) {
    if (document.querySelectorAll("#results-table .row-select").length !== 1) return;
    document.body.removeEventListener("htmx:afterSwap", once);
    setTimeout(() => {
      document.querySelector("#results-table .row-select").click();
      document.getElementById("bulk-sms-button").click();
      resolve();
    }, 0);
  });
  const q = document.getElementById("q");
  q.value = "Lovelace";
  q.dispatchEvent(new Event("input", {bubbles: true}));
})"""


@pytest.mark.parametrize("width", [WIDE], ids=["1280px"])
def test_bulk_sms_pressed_the_moment_a_new_list_arrives_opens_beside_it(page):
    # The list's own Bulk SMS form is ready as soon as it is shown: pressed at once, it opens the
    # SMS screen beside the list rather than leaving the page for the no-JavaScript one.
    sign_in(page, "consultant")
    url = page.url
    page.evaluate(QUICK_BULK_SMS)
    expect(page.locator("#compose-heading")).to_be_focused()
    expect(page.locator("#compose-heading")).to_contain_text("SMS to 1 person")
    assert page.url.split("?")[0] == url.split("?")[0]
    expect(page.locator("#search-layout")).to_have_class(re.compile(r"\bpanel-open\b"))
