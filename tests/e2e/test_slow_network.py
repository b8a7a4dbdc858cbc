"""A slow network never composes for the wrong people: Chromium throttled to 1.5 s of latency per
request (DevTools network emulation), a search sent, and Select all + Bulk SMS pressed at once."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import (
    keyboard_search,
    outcome_counts,
    posts_made,
    results_heading,
    unexpected,
)

LATENCY_MS = 1500
SMS_SCREEN = "#compose-panel #compose-form"


def throttle(page, latency_ms: int = LATENCY_MS):
    """Every request from now on takes `latency_ms` longer, as on a slow mobile network."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": latency_ms, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    return cdp


def enter_twice_slowly(page) -> list:
    """Enter, and Enter again 0.3 s later while the first post is on its way on a slow network (a
    double press): the POSTs the page made."""
    posts = posts_made(page)
    throttle(page)
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    return posts


class InFlight:
    """Counts the page's requests still waiting for an answer (Playwright's own events)."""

    def __init__(self, page):
        self.page = page
        self.open = 0
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    def _start(self, _request) -> None:
        self.open += 1

    def _end(self, _request) -> None:
        self.open -= 1

    def wait_quiet(self, timeout_ms: int = 20_000) -> None:
        """Until nothing is in flight: every late answer (search or SMS screen) has landed."""
        waited = 0
        while self.open > 0 or waited < 300:
            assert waited < timeout_ms, (
                f"{self.open} requests still in flight after {timeout_ms} ms"
            )
            self.page.wait_for_timeout(100)
            waited += 100


def listed_names(page) -> set[str]:
    labels = page.locator("#results input.row-select").evaluate_all(
        "boxes => boxes.map(box => box.getAttribute('aria-label'))"
    )
    return {label.removeprefix("Select ") for label in labels}


def sms_screen_names(page) -> list[str]:
    """Who the SMS screen's Mobile Number field lists ("Ada Lovelace <0412 345 678>" → name)."""
    texts = page.locator(f"{SMS_SCREEN} .recipient").all_inner_texts()
    return [re.sub(r"\s*<.*>$", "", text).strip() for text in texts]


def assert_sms_screen_only_for_listed(page) -> None:
    """Whatever happened, an SMS screen on the page is for people the list shows now, or none."""
    listed = listed_names(page)
    if page.locator(SMS_SCREEN).count():
        names = set(sms_screen_names(page))
        assert names <= listed, f"the SMS screen lists {sorted(names - listed)}, who are not listed"
        total = sum(outcome_counts(page).values())
        assert total <= len(listed), (
            f"the SMS screen is for {total} people; the list shows {len(listed)}"
        )
    # Ticks made on the previous list never carry over to the new one.
    assert page.locator("#results input.row-select:checked").count() == 0
    assert not page.locator("#select-page").is_checked()


def mouse_click(page, selector: str) -> None:
    """A real click where the control is now: no waiting for it to be enabled or for the list."""
    control = page.locator(selector)
    control.scroll_into_view_if_needed()
    box = control.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


@pytest.fixture
def page_errors():
    """An abort htmx was told to make (a search aborting a Bulk SMS still on its way, the closed
    SMS screen cancelling its own requests) is not an error."""
    return unexpected


@pytest.fixture
def js() -> bool:
    """Races between requests exist only with JavaScript on (without it the form posts its page)."""
    return True


@pytest.fixture
def slow_page(page):
    """Signed in as a consultant on the full candidate list (50 rows), then the network slows."""
    sign_in(page, "consultant")
    expect(page.locator("#results input.row-select")).to_have_count(50)
    in_flight = InFlight(page)
    throttle(page)
    return page, in_flight


def search_by_keyboard(page, query: str, *, enter: bool = True) -> None:
    """Focus Search with `/`, type the query with real key presses, and send it with Enter."""
    page.keyboard.press("Shift+Tab")  # out of Search (autofocused), so `/` is a shortcut
    page.keyboard.press("/")
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type(query)
    if enter:
        page.keyboard.press("Enter")


def then_the_list_is_ada_alone(page, in_flight) -> None:
    expect(page.locator("#results-heading")).to_have_text(results_heading(1), timeout=15_000)
    in_flight.wait_quiet()
    assert listed_names(page) == {"Ada Lovelace"}
    assert_sms_screen_only_for_listed(page)


def test_a_and_b_pressed_while_the_search_is_on_its_way(slow_page):
    """Type, Enter, then Select all and Bulk SMS at once, on a 1.5 s network."""
    page, in_flight = slow_page
    search_by_keyboard(page, "Lovelace")
    page.keyboard.press("Shift+Tab")  # leave Search so the shortcuts apply
    page.keyboard.press("a")
    page.keyboard.press("b")
    # The answer is still 1.5 s away: nothing was ticked, and the user is told why.
    expect(page.locator("#live-status")).to_have_text(re.compile("The list is still loading"))
    assert page.locator("#results input.row-select:checked").count() == 0
    expect(page.get_by_role("button", name="Bulk SMS")).to_be_disabled()
    then_the_list_is_ada_alone(page, in_flight)

    # Once the list is in, the same keys compose for the one person it shows.
    page.keyboard.press("a")
    expect(page.get_by_label("Select Ada Lovelace", exact=True)).to_be_checked()
    page.keyboard.press("b")
    screen = page.locator("#compose-panel #compose")
    expect(screen.get_by_role("heading", name=re.compile(r"SMS to 1 person"))).to_be_visible(
        timeout=15_000
    )
    expect(page.get_by_role("group", name="Mobile Number")).to_contain_text("Ada Lovelace")
    assert sms_screen_names(page) == ["Ada Lovelace"]


def test_select_all_and_bulk_sms_clicked_while_the_search_is_on_its_way(slow_page):
    page, in_flight = slow_page
    search_by_keyboard(page, "Lovelace")
    mouse_click(page, "#select-page")
    mouse_click(page, "#bulk-sms-button")
    then_the_list_is_ada_alone(page, in_flight)


def test_row_ticked_and_bulk_sms_clicked_before_the_typed_search_is_sent(slow_page):
    """Within the search's typing pause (no Enter): the ticks go out before the search does. The
    search is held in the browser until the clicks are made, so they never race its answer."""
    page, in_flight = slow_page
    searches = Held(page, "**/candidates?*", lambda request: "hx-request" in request.headers)
    search_by_keyboard(page, "Lovelace", enter=False)
    mouse_click(page, "#results input[aria-label='Select Grace Hopper']")
    mouse_click(page, "#bulk-sms-button")
    searches.wait_for(1)
    searches.release()
    then_the_list_is_ada_alone(page, in_flight)


def test_sms_screen_open_when_a_new_search_lands_is_closed_and_the_message_kept(slow_page):
    """An SMS screen opened for the old list does not stay beside a list that no longer shows
    them."""
    page, in_flight = slow_page
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("a")
    page.keyboard.press("b")
    expect(
        page.locator("#compose-panel #compose").get_by_role(
            "heading", name=re.compile(r"SMS to \d+ people")
        )
    ).to_be_visible(timeout=15_000)
    page.get_by_label("Message", exact=True).click()
    page.keyboard.type("See you Monday")
    page.locator("#q").click()  # back up to Search while the SMS screen is open
    page.keyboard.type("Lovelace")
    page.keyboard.press("Enter")
    then_the_list_is_ada_alone(page, in_flight)
    expect(page.locator(SMS_SCREEN)).to_have_count(0)
    expect(page.locator("#compose-panel")).to_contain_text(
        "The list changed, so the SMS screen was closed: tick people again, then press Bulk SMS. "
        "Your message is kept for it."
    )
    expect(page.locator("#q")).to_be_focused()  # closing it took nobody's focus away

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("a")
    page.keyboard.press("b")
    expect(page.get_by_label("Message", exact=True)).to_have_value("See you Monday", timeout=15_000)
    assert sms_screen_names(page) == ["Ada Lovelace"]


def test_bulk_sms_carries_the_search_it_was_ticked_on_and_the_search_as_typed(page):
    """The wiring of the server's check: htmx sends the search form along with the ticks."""
    sign_in(page, "consultant")
    keyboard_search(page, "Turing", 1)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("a")
    with page.expect_request("**/sms/compose") as posted:
        page.keyboard.press("b")
    form = parse_qs(posted.value.post_data)
    assert form["search_as_typed"] == ["1"]
    assert form["q"] == ["Turing"] and form["criteria-q"] == ["Turing"]
    expect(
        page.locator("#compose-panel #compose").get_by_role(
            "heading", name=re.compile(r"SMS to 1 person")
        )
    ).to_be_visible()


@pytest.mark.parametrize("js", [False], ids=["nojs"])
def test_without_js_bulk_sms_posts_the_page_it_shows(page, live_server, js):
    """No JavaScript, no race: the form posts the ticks of the page on screen."""
    sign_in(page, "consultant")
    page.locator("#q").fill("Turing")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    throttle(page)
    page.locator("#q").fill("Lovelace")  # typed but not searched: the page is unchanged
    page.get_by_label("Select Alan Turing", exact=True).check()
    page.get_by_role("button", name="Bulk SMS").click()
    expect(page).to_have_url(re.compile(r"/sms/compose/[\w-]+$"))  # POST, then redirect to a GET
    expect(page.get_by_role("heading", name=re.compile(r"SMS to 1 person"))).to_be_visible()
    expect(page.get_by_role("group", name="Mobile Number")).to_contain_text("Alan Turing")


def test_back_to_an_earlier_search_then_bulk_sms(page):
    """Back puts an earlier list on screen: Search shows the search it was made by, and Bulk SMS
    composes for that list (not refused as changed)."""
    sign_in(page, "consultant")
    keyboard_search(page, "Turing", 1)
    keyboard_search(page, "Lovelace", 1)
    expect(page.locator("#results")).to_contain_text("Ada Lovelace")
    page.go_back()
    expect(page.locator("#results")).to_contain_text("Alan Turing")
    expect(page.locator("#q")).to_have_value("Turing")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("a")
    page.keyboard.press("b")
    expect(page.locator("#compose-panel #compose")).to_be_visible()
    assert sms_screen_names(page) == ["Alan Turing"]


def test_typing_while_the_sms_screen_redraws_is_kept(page):
    """Commercial ticked redraws the screen; what is typed in the Message meanwhile stays, and so
    does the focus. (It went: the redraw put back the text the request took, and the focus on
    Commercial.)"""
    sign_in(page, "consultant")
    page.goto("/candidates?q=Turing")
    link = page.locator("#results a[href*='/sms/compose?candidate=']").first
    page.goto(link.get_attribute("href"))
    message = page.get_by_label("Message", exact=True)
    message.focus()
    page.keyboard.type("Hello {{first_name}},")
    in_flight = InFlight(page)
    throttle(page, 1200)

    page.get_by_label("Commercial message", exact=True).focus()
    page.keyboard.press("Space")
    message.focus()  # straight back to the Message (a click), while the redraw is on its way
    page.keyboard.press("Control+End")
    page.keyboard.type(" the roster is out")
    in_flight.wait_quiet()

    expect(page.get_by_label("Commercial message", exact=True)).to_be_checked()
    expect(message).to_have_value("Hello {{first_name}}, the roster is out")
    expect(message).to_be_focused()
    page.reload()  # and the draft kept it
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Hello {{first_name}}, the roster is out"
    )


def test_a_quick_reply_typed_while_one_is_sending_is_kept_for_the_next(page):
    """The box typed in after Send reply is pressed keeps what was added: it came back empty."""
    sign_in(page, "consultant")
    page.goto("/candidates?q=Turing")
    page.locator("#results").get_by_role("link", name="Alan Turing", exact=True).click()
    box = page.get_by_label("Quick reply", exact=True)
    box.focus()
    page.keyboard.type("First note: running 10 min late")
    in_flight = InFlight(page)
    throttle(page, 1200)

    page.keyboard.press("Tab")  # the counter is not a stop: Send reply
    expect(page.get_by_role("button", name="Send reply")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("End")
    page.keyboard.type(" Second: bring your ID")
    in_flight.wait_quiet()

    history = page.locator("#history")
    expect(history).to_contain_text("First note: running 10 min late")
    expect(page.get_by_label("Quick reply", exact=True)).to_have_value("Second: bring your ID")
    expect(page.get_by_label("Quick reply", exact=True)).to_be_focused()


def sms_screen_for_turing(page) -> None:
    """Signed in as a consultant, Alan Turing found, ticked and the SMS screen open (a, b)."""
    sign_in(page, "consultant")
    keyboard_search(page, "Turing", 1)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("a")
    page.keyboard.press("b")
    expect(page.locator("#compose-panel #compose")).to_be_visible()


def send_held(page):
    """Enter on Send, its request held in the browser (its answer not asked for) until the test
    fulfils it: the route."""
    held = []
    page.route("**/send", lambda route: held.append(route))
    page.get_by_role("button", name="Send", exact=True).focus()
    page.keyboard.press("Enter")
    for _ in range(100):
        if held:
            return held[0]
        page.wait_for_timeout(50)
    raise AssertionError("the Send never left")


def search_for_lovelace(page) -> None:
    """A search by keyboard for Lovelace, landed: Alan Turing is no longer listed."""
    keyboard_search(page, "Lovelace", 1)
    expect(page.locator("#results")).to_contain_text("Ada Lovelace")
    expect(page.locator("#results")).not_to_contain_text("Alan Turing")


def test_a_search_while_send_is_on_its_way_lets_the_send_finish(page):
    """Send pressed, then a search before its answer came: the Send is not cancelled (the server
    may have sent it; the page said "not sent", and sending again sent it twice), and its answer
    still opens the batch page."""
    sms_screen_for_turing(page)
    page.get_by_label("Message", exact=True).focus()
    page.keyboard.type("Are you free for a call at 3?")
    send = send_held(page)
    search_for_lovelace(page)  # under the SMS screen

    expect(page.locator("#compose-panel")).not_to_contain_text("SMS screen was closed")
    send.fulfill(response=send.fetch())
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+$"))
    expect(page.locator("main")).to_contain_text("Are you free for a call at 3?")


def refusal_expected(errors: list[str]) -> list[str]:
    """Chromium logs the refused Send's 400 as a console error: it is the point here."""
    return [e for e in unexpected(errors) if "status of 400" not in e]


@pytest.mark.parametrize("page_errors", [refusal_expected], ids=["refused"])
def test_a_send_refused_after_the_list_changed_closes_the_screen_then(page):
    """The Send held while the list changed comes back refused (no message): the screen it would
    redraw is for a list that is gone, so it closes then, as it would have at once."""
    sms_screen_for_turing(page)
    send = send_held(page)  # with no message: refused
    search_for_lovelace(page)
    expect(page.locator("#compose-panel #compose")).to_be_visible()  # still waiting for the Send

    send.fulfill(response=send.fetch())

    expect(page.locator("#compose-panel")).to_contain_text("SMS screen was closed")
    expect(page.locator("#compose-panel #compose")).to_have_count(0)


class Held:
    """Requests matching `pattern` (and `which`) held in the browser, their answers not asked
    for, until the test releases them: a late answer on cue."""

    def __init__(self, page, pattern: str, which=lambda request: True):
        self.page = page
        self.which = which
        self.routes = []
        page.route(pattern, self._hold)

    def _hold(self, route) -> None:
        if self.which(route.request):
            self.routes.append(route)
        else:
            route.continue_()

    def wait_for(self, count: int) -> None:
        for _ in range(100):
            if len(self.routes) >= count:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"{count} requests expected on their way; {len(self.routes)} left")

    def release(self) -> None:
        for route in self.routes:
            try:
                route.continue_()
            except PlaywrightError:
                pass  # the page aborted it meanwhile: nothing to answer
        self.routes = []


def s_held_on_sam_single(page) -> Held:
    """The Singles listed (Sam, Sue), and s pressed on Sam's row: his SMS screen on its way."""
    sign_in(page, "consultant")
    page.goto("/candidates?q=Single")
    expect(page.locator("#results-heading")).to_have_text(results_heading(2))
    held = Held(page, "**/sms/compose?*")
    page.keyboard.press("/")
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("Select Sam Single", exact=True)).to_be_focused()
    page.keyboard.press("s")
    held.wait_for(1)
    return held


def test_s_then_a_new_search_opens_no_sms_screen_for_the_old_list(page):
    """s on a row, then / and another search before the SMS screen came: it came late, for someone
    the list no longer shows, and took the focus from Search mid-word (the next keys went to its
    heading, or ran as shortcuts). The new search cancels it."""
    in_flight = InFlight(page)
    held = s_held_on_sam_single(page)
    page.keyboard.press("/")
    page.keyboard.type("Rep")
    expect(page.locator("#results")).to_contain_text("Rory Reply")
    held.release()
    in_flight.wait_quiet()
    assert_sms_screen_only_for_listed(page)  # Sam's came to nothing
    page.keyboard.type("ly")

    expect(page.locator("#q")).to_be_focused()
    expect(page.locator("#q")).to_have_value("Reply")
    in_flight.wait_quiet()
    assert listed_names(page) == {"Rory Reply", "Rhea Reply"}
    expect(page.locator(SMS_SCREEN)).to_have_count(0)
    assert_sms_screen_only_for_listed(page)


def test_bulk_sms_pressed_while_a_rows_sms_screen_is_on_its_way_is_the_one_shown(page):
    """s on Sam, then j x b for Sue: the Bulk SMS screen came, then Sam's late one replaced it,
    for someone never ticked."""
    in_flight = InFlight(page)
    held = s_held_on_sam_single(page)
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("b")
    expect(page.locator(SMS_SCREEN)).to_be_visible()
    held.release()
    in_flight.wait_quiet()

    assert sms_screen_names(page) == ["Sue Single"]
    expect(page.locator("#compose-heading")).to_be_focused()


def test_a_rows_sms_screen_landing_while_in_search_leaves_the_focus_there(page):
    """s on Sam, then / to Search: the screen still opens (Sam is listed), but the focus stays in
    Search rather than jumping to the screen's heading under the keys being typed."""
    in_flight = InFlight(page)
    held = s_held_on_sam_single(page)
    page.keyboard.press("/")
    held.release()
    in_flight.wait_quiet()

    assert sms_screen_names(page) == ["Sam Single"]
    expect(page.locator("#q")).to_be_focused()


def test_back_while_a_search_is_on_its_way_keeps_the_address_of_the_page_shown(page):
    """Back pressed while a typed search was on its way: the list Back put on screen stayed, but
    the late answer pushed its own ?q= into the address bar and the history."""
    sign_in(page, "consultant")
    keyboard_search(page, "Turing", 1)
    expect(page).to_have_url(re.compile(r"/candidates\?q=Turing"))
    in_flight = InFlight(page)
    searches = Held(page, "**/candidates?*", lambda request: "hx-request" in request.headers)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("/")
    page.keyboard.type("Lovelace")
    searches.wait_for(1)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/candidates$"))
    searches.release()
    in_flight.wait_quiet()

    expect(page).to_have_url(re.compile(r"/candidates$"))
    expect(page.locator("#q")).to_have_value("")
    assert len(listed_names(page)) == 50  # the whole list's first page, as Back put it
    page.go_forward()
    expect(page).to_have_url(re.compile(r"/candidates\?q=Turing&"))
