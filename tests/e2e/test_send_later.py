"""Send later in a real browser, JavaScript on and off, from the keyboard: a message typed, Tab to
"Send at", the date and time typed segment by segment into Chromium's datetime-local control, Send;
the batch page and the Sent row say "Scheduled for …"; "Cancel scheduled send" asks first, then
withdraws it, once, from two tabs on a slow network. And the Sent row on a 390 px phone."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in, watched_page
from tests.e2e.helpers import compose_panel, select_people
from tests.e2e.test_accessibility import REFUSED, check
from tests.e2e.test_slow_network import InFlight, throttle

WOLLONGONG_DEVELOPERS = "/candidates?job=Software+Developer&location=Wollongong"
PERSON = "Grace Hopper"
TEXT = "Hi {{first_name}}, your shift tomorrow starts at 7."
PHONE = {"width": 390, "height": 844}
# The page says the zone its times are in: "… in your time zone, Australia/Sydney; …".
ZONE = re.compile(r"your time zone, ([A-Za-z_+\-/0-9]+);")
# Elements wider than the viewport: what makes a page scroll sideways.
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 0.5;
  }).map(e => e.outerHTML.slice(0, 120));
}"""


def tab_to(page, locator, presses: int = 25, key: str = "Tab") -> None:
    """Press Tab (or `key`: Shift+Tab) a bounded number of times until `locator` has the focus."""
    for _ in range(presses):
        if locator.evaluate("e => e === document.activeElement"):
            return
        page.keyboard.press(key)
    expect(locator).to_be_focused()


def type_send_at(page, day) -> None:
    """Tab to Send at and type 9:30 am on `day` into it, segment by segment."""
    send_at = page.get_by_label("Send at", exact=True)
    tab_to(page, send_at)
    # Chromium's control takes digits per segment (month, day, year in en-US), Tab to the time.
    send_at.press_sequentially(f"{day.month:02d}{day.day:02d}{day.year}")
    page.keyboard.press("Tab")
    send_at.press_sequentially("0930AM")
    expect(send_at).to_have_value(f"{day.isoformat()}T09:30")


def users_zone(page) -> ZoneInfo:
    return ZoneInfo(ZONE.search(page.locator("#send-at-hint").inner_text()).group(1))


def sms_screen_with_text(page):
    """As the consultant, the SMS screen for PERSON with TEXT typed in its Message: the box."""
    sign_in(page, "consultant")
    page.goto(WOLLONGONG_DEVELOPERS)
    select_people(page, [PERSON])
    page.get_by_role("button", name="Bulk SMS").press("Enter")
    message = page.get_by_label("Message", exact=True)
    message.focus()
    message.press_sequentially(TEXT)
    return message


def schedule_from_the_keyboard(page) -> tuple[str, str]:
    """As the consultant: one person ticked, TEXT typed, 9:30 am tomorrow (their zone) typed into
    Send at, Enter on Send. Returns the batch page's path and the time as the pages show it."""
    sms_screen_with_text(page)
    expect(compose_panel(page).get_by_role("heading", name="SMS to 1 person")).to_be_visible()
    day = (datetime.now(UTC).astimezone(users_zone(page)) + timedelta(days=1)).date()
    type_send_at(page, day)

    send = page.get_by_role("button", name="Send", exact=True)
    tab_to(page, send)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+$"))
    shown = f"{day.day} {day.strftime('%b %Y')}, 9:30 am"
    return re.search(r"/sms/batches/\d+$", page.url).group(0), shown


def test_schedule_then_cancel_from_the_keyboard(page, js):
    batch_path, shown = schedule_from_the_keyboard(page)
    batch_id = batch_path.rsplit("/", 1)[1]

    banner = page.locator("#scheduled-for")
    expect(banner).to_contain_text(f"Scheduled for {shown}")
    expect(page.get_by_role("progressbar")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit text")).to_be_visible()
    if js:  # axe needs the page's scripts
        check(page, "a scheduled batch's page")

    # Edit text: the Message box has the focus; the new text replaces the old from the keyboard.
    page.get_by_role("link", name="Edit text").press("Enter")
    box = page.get_by_label("Message", exact=True)
    expect(box).to_be_focused()
    expect(box).to_have_value(TEXT)
    if js:
        check(page, "the text of a scheduled send")
    page.keyboard.press("Control+A")
    box.press_sequentially("{{first_name}}, the shift moved to 8.")
    if js:  # the counter follows the typing
        typed = len("{{first_name}}, the shift moved to 8.")
        expect(page.locator("#sms-counter")).to_have_attribute("data-characters", str(typed))
    save = page.get_by_role("button", name="Save text")
    tab_to(page, save)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"{batch_path}$"))
    expect(page.locator(".flashes")).to_contain_text(f"the 1 message goes with it at {shown}")
    expect(page.locator("blockquote.sms-bubble")).to_have_text(
        "{{first_name}}, the shift moved to 8."
    )

    # From a filtered list: the cancel comes back to it, filters and all.
    page.goto("/sms/sent?text=shift+moved")
    row = page.locator(f"#batch-{batch_id}")
    expect(row).to_contain_text(f"Scheduled for {shown}")
    if js:
        check(page, "Sent with a scheduled batch")
    cancel = row.get_by_role("button", name="Cancel scheduled send")
    cancel.focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(rf"/sms/batches/{batch_id}/cancel"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(
        re.compile(rf"^Cancel the send of 1 message scheduled for {re.escape(shown)} \w+\?$")
    )
    if js:
        check(page, "the question before cancelling a scheduled send")
    confirm = page.get_by_role("main").get_by_role("button", name="Cancel scheduled send")
    tab_to(page, confirm)
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/sms/sent\?text=shift\+moved$"))
    expect(page.get_by_label("Message or template")).to_have_value("shift moved")
    expect(page.locator(".flashes")).to_contain_text(
        "Scheduled send cancelled: 1 message withdrawn; nothing was sent."
    )
    row = page.locator(f"#batch-{batch_id}")
    expect(row).to_contain_text("Cancelled by")
    expect(row).to_contain_text("nothing was sent")
    expect(row.get_by_role("button")).to_have_count(0)


def type_moment(page, send_at, moment: datetime) -> None:
    """Tab into Send at from the Message and type `moment` (in the user's zone) segment by
    segment, its hour on the 12-hour clock Chromium shows in en-US."""
    page.get_by_label("Message", exact=True).focus()
    tab_to(page, send_at)
    send_at.press_sequentially(f"{moment.month:02d}{moment.day:02d}{moment.year}")
    page.keyboard.press("Tab")
    hour = moment.hour % 12 or 12
    send_at.press_sequentially(f"{hour:02d}{moment.minute:02d}{'AM' if moment.hour < 12 else 'PM'}")
    expect(send_at).to_have_value(moment.strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_the_quiet_hours_note_follows_the_send_at_typed(page, js, live_server):
    """It was the note the screen opened with (none, by day): a time typed into the recipient's
    night said nothing of the wait until a reload. Grace's Australian mobile spans several zones:
    it is read in the consultant's office's, the zone Send at is typed in."""
    sms_screen_with_text(page)
    note = page.locator("#quiet-hours-note")
    zone = users_zone(page)
    start = (datetime.now(zone).hour + 12) % 24  # far from now: the screen opened without it
    window = f"{start:02d}:00-{(start + 2) % 24:02d}:00"
    with sqlite3.connect(live_server.database) as connection:
        connection.execute(
            "INSERT OR REPLACE INTO settings (key, value, updated_at) "
            "VALUES ('quiet_hours', ?, CURRENT_TIMESTAMP)",
            (json.dumps(window),),
        )
    try:
        expect(note).to_be_hidden()
        tomorrow = datetime.now(zone).date() + timedelta(days=1)
        at_night = datetime(tomorrow.year, tomorrow.month, tomorrow.day, start, 30, tzinfo=zone)
        send_at = page.get_by_label("Send at", exact=True)

        type_moment(page, send_at, at_night)

        expect(note).to_be_visible()
        expect(note).to_contain_text(
            f"1 message will wait for quiet hours ({window.replace('-', '–')} in each recipient’s"
        )
        type_moment(page, send_at, at_night + timedelta(hours=6))
        expect(note).to_be_hidden()
    finally:
        with sqlite3.connect(live_server.database) as connection:
            connection.execute("DELETE FROM settings WHERE key = 'quiet_hours'")


def test_the_scheduled_row_on_a_phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    context.set_default_timeout(10_000)
    try:
        with watched_page(context) as page:
            batch_path, shown = schedule_from_the_keyboard(page)
            batch_id = batch_path.rsplit("/", 1)[1]
            page.goto("/sms/sent")
            row = page.locator(f"#batch-{batch_id}")
            expect(row).to_contain_text(f"Scheduled for {shown}")
            # The page never scrolls sideways; the table may, in its own region.
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], page.evaluate(TOO_WIDE)
            cancel = row.get_by_role("button", name="Cancel scheduled send")
            tab_to(page, cancel)  # in the table's own scrolling region: focus brings it into view
            box = cancel.bounding_box()
            assert box["height"] >= 24 and box["width"] >= 24, box
            assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box
            # Tidy up: this test's batch is withdrawn, as a user would.
            page.keyboard.press("Enter")
            page.get_by_role("main").get_by_role("button", name="Cancel scheduled send").press(
                "Enter"
            )
            expect(page.locator(".flashes")).to_contain_text("Scheduled send cancelled")
    finally:
        context.close()


def test_a_time_that_has_passed_is_refused_on_the_field(context, js):
    with watched_page(context, allowed=REFUSED) as page:
        sms_screen_with_text(page)
        yesterday = (datetime.now(UTC).astimezone(users_zone(page)) - timedelta(days=1)).date()
        type_send_at(page, yesterday)
        tab_to(page, page.get_by_role("button", name="Send", exact=True))
        page.keyboard.press("Enter")

        send_at = page.get_by_label("Send at", exact=True)
        expect(send_at).to_be_focused()
        expect(send_at).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#send-at-error")).to_contain_text("has passed")
        expect(send_at).to_have_value(f"{yesterday.isoformat()}T09:30")  # kept, to correct
        expect(page).not_to_have_url(re.compile(r"/sms/batches/"))


def test_a_time_typed_without_am_or_pm_holds_send_back_on_the_field(page, js):
    """Unfinished, the control posts an empty Send at, which sends now: the browser keeps Send
    from posting it, JavaScript or not, and the rest of the screen still works."""
    message = sms_screen_with_text(page)
    day = (datetime.now(UTC).astimezone(users_zone(page)) + timedelta(days=1)).date()
    send_at = page.get_by_label("Send at", exact=True)
    tab_to(page, send_at)
    send_at.press_sequentially(f"{day.month:02d}{day.day:02d}{day.year}")
    page.keyboard.press("Tab")
    send_at.press_sequentially("0930")  # no A or P
    assert send_at.evaluate("e => e.validity.badInput")
    send = page.get_by_role("button", name="Send", exact=True)
    tab_to(page, send)
    page.keyboard.press("Enter")

    expect(send_at).to_be_focused()  # where the browser points
    page.wait_for_timeout(500)
    expect(page).not_to_have_url(re.compile(r"/sms/batches/"))
    expect(message).to_have_value(TEXT)
    # Nor does anything else redraw the screen with the field emptied for Send: Preview…
    preview = page.get_by_role("button", name="Preview", exact=True)
    tab_to(page, preview)
    page.keyboard.press("Enter")
    expect(send_at).to_be_focused()
    assert send_at.evaluate("e => e.validity.badInput")  # still as typed, unfinished
    # …or, with JavaScript, a tick box's redraw: the tick is taken back.
    if js:
        commercial = page.get_by_label("Commercial message", exact=True)
        tab_to(page, commercial, presses=40, key="Shift+Tab")
        page.keyboard.press("Space")
        expect(send_at).to_be_focused()
        expect(commercial).not_to_be_checked()
        assert send_at.evaluate("e => e.validity.badInput")

    type_send_at(page, day)  # from the field's first part, as the browser focused it
    tab_to(page, send)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+$"))
    expect(page.locator("#scheduled-for")).to_contain_text("9:30 am")


def test_two_tabs_on_a_slow_network_cancel_once_and_both_say_so(context, js):
    """The question open in two tabs, each request 1.5 s slow, Enter pressed in both before
    either answers: one cancels, and the other, finding it cancelled by this user a moment ago,
    answers as it did (the flash on Sent): never a 500, never a second withdrawal, never "you
    cancelled it" as a refusal of the user's own press."""
    with watched_page(context) as page:
        batch_path, _shown = schedule_from_the_keyboard(page)
        batch_id = batch_path.rsplit("/", 1)[1]
        other = page.context.new_page()
        tabs = (page, other)
        for tab in tabs:
            tab.goto(f"/sms/batches/{batch_id}/cancel")
            throttle(tab)
            tab.get_by_role("main").get_by_role("button", name="Cancel scheduled send").focus()
        for tab in tabs:
            tab.keyboard.press("Enter")

        withdrawn = re.compile(r"1 message withdrawn; nothing was sent")
        told = re.compile(r"no longer scheduled: .+ cancelled it at .+ nothing was sent")
        outcomes = []
        for tab in tabs:
            expect(tab.locator("main")).to_contain_text(
                re.compile(f"{withdrawn.pattern}|{told.pattern}"), timeout=20_000
            )
            shown = tab.locator("main").inner_text()
            outcomes.append("cancelled" if withdrawn.search(shown) else "told")
        assert outcomes == ["cancelled", "cancelled"]
        for tab in tabs:
            expect(tab).to_have_url(re.compile(r"/sms/sent$"))
        other.close()


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_send_at_and_comment_set_while_the_screen_redraws_still_hold_at_send(page, js):
    """Commercial ticked redraws the screen; Comment ticked and Send at typed while that redraw is
    on its way are still there when it lands, and the Send schedules. (They went: the redraw put
    back the empty Send at, so Send sent at once, with no comment.)"""
    sign_in(page, "consultant")
    page.goto(WOLLONGONG_DEVELOPERS)
    select_people(page, [PERSON])
    page.get_by_role("button", name="Bulk SMS").press("Enter")
    expect(compose_panel(page).get_by_role("heading", name="SMS to 1 person")).to_be_visible()
    page.get_by_label("Message", exact=True).focus()
    page.keyboard.type("Hi {{first_name}}, rosters are out.")
    day = (datetime.now(UTC).astimezone(users_zone(page)) + timedelta(days=2)).date()
    in_flight = InFlight(page)
    cdp = throttle(page, 2500)

    commercial = page.get_by_label("Commercial message", exact=True)
    tab_to(page, commercial, key="Shift+Tab")  # it is above the Message
    page.keyboard.press("Space")  # the redraw leaves
    comment = page.get_by_label("Comment", exact=True)
    tab_to(page, comment)
    page.keyboard.press("Space")
    type_send_at(page, day)
    assert in_flight.open > 0, "the redraw landed before the test was done typing"
    in_flight.wait_quiet()

    send_at = page.get_by_label("Send at", exact=True)
    expect(commercial).to_be_checked()
    expect(comment).to_be_checked()
    expect(send_at).to_have_value(f"{day.isoformat()}T09:30")
    expect(send_at).to_be_focused()  # where the keyboard user was, not back on Commercial

    send = page.get_by_role("button", name="Send", exact=True)
    tab_to(page, send)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+$"), timeout=20_000)
    expect(page.locator("#scheduled-for")).to_contain_text("Scheduled for")
    # Withdrawn again, so the other journeys find Grace as they left her.
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.get_by_role("button", name="Cancel scheduled send").press("Enter")
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+/cancel"))
    confirm = page.get_by_role("main").get_by_role("button", name="Cancel scheduled send")
    tab_to(page, confirm)
    page.keyboard.press("Enter")
    expect(page.locator(".flashes")).to_contain_text("1 message withdrawn")
