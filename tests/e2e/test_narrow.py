"""Phones (390 px wide): no page scrolls sideways, with JavaScript on and off; wide tables scroll in
a focusable, labelled region of their own; the main navigation folds into a "Menu" that opens from
the keyboard without JavaScript; the header's and the tables' links and buttons are at least 24 px
(WCAG 2.5.8); and a message's state is a pill wherever it is shown."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import add_candidate, arrow_to, signed_in, sms_from_record
from tests.e2e.test_accessibility import check
from tests.e2e.test_offices import PASSWORD, flask

PHONE = {"width": 390, "height": 844}
AXEL = ("Axel Axe", "0412 345 698")
MESSAGE = "Hi {{first_name}}, a quick one from a phone"
# Every page a consultant or an administrator reaches; names in lower case stand for a URL the
# `sent` fixture finds.
PAGES = [
    "/candidates",
    "/contacts",
    "record",
    "record edit",
    "compose",
    "batch",
    "resend",
    "/templates",
    "/templates/new",
    "template",
    "/audit",
    "/admin/users",
    "user",
    "user deactivate",
    "/admin/users/new",
    "/admin/roles",
    "/admin/settings",
    "/admin/status",
    "/profile",
    "/replies/unmatched",
    "/sandbox",
]

# Elements wider than the viewport (the first few), to say what made a page scroll sideways.
TOO_WIDE = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 0.5;
  }).slice(0, 6).map(e => e.outerHTML.slice(0, 120));
}"""

# Links, buttons, summaries and check boxes in the header and in tables that are on screen: their
# size (WCAG 2.5.8 asks 24 by 24 CSS pixels).
TARGETS = """selector => [...document.querySelectorAll(selector)].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  }).map(e => {
    const box = e.getBoundingClientRect();
    return {what: e.outerHTML.slice(0, 90), width: box.width, height: box.height};
  })"""
TARGET_SELECTOR = ", ".join(
    f"{where} {what}"
    for where in (".site-header", "table")
    for what in ("a", "button", "summary", "input[type=checkbox]")
)


@pytest.fixture(scope="module")
def sent(browser, live_server):
    """Signed in as the administrator, who sent Axel an SMS: the cookies and the pages' URLs."""
    with signed_in(browser, live_server.url, "admin", timeout=15_000) as page:
        batch, record = sms_from_record(page, *AXEL, MESSAGE)
        page.goto("/templates")
        template = page.locator("#results table a").first.get_attribute("href")
        page.goto("/admin/users")
        user = page.locator("#results table a").first.get_attribute("href")
        cookies = page.context.cookies()
    assert user.endswith("/edit"), user
    path = re.compile(r"^https?://[^/]+")
    batch, record = path.sub("", batch), path.sub("", record)
    urls = {name: name for name in PAGES} | {
        "record": record,
        "record edit": record + "/edit",
        "compose": f"/sms/compose?candidate={record.rsplit('/', 1)[1]}",
        "batch": batch,
        "resend": batch + "/resend",
        "template": template,
        "user": user,
        "user deactivate": user.removesuffix("/edit") + "/deactivate",
    }
    return {"cookies": cookies, "urls": urls}


@pytest.fixture(scope="module")
def phones(browser, live_server, sent):
    """A phone-sized page signed in as the administrator, with JavaScript on and with it off."""
    contexts, pages = [], {}
    for js in (True, False):
        context = browser.new_context(
            base_url=live_server.url, viewport=PHONE, java_script_enabled=js
        )
        context.set_default_timeout(10_000)
        context.add_cookies(sent["cookies"])
        contexts.append(context)
        pages[js] = context.new_page()
    yield pages
    for context in contexts:
        context.close()


def assert_fits(page, where: str) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (
        f"{where} is {width} px wide at {PHONE['width']} px: {page.evaluate(TOO_WIDE)}"
    )


def small_targets(page) -> list[dict]:
    return [
        target
        for target in page.evaluate(TARGETS, TARGET_SELECTOR)
        if target["width"] < 24 or target["height"] < 24
    ]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("name", PAGES)
def test_no_page_scrolls_sideways_on_a_phone(phones, sent, name, js):
    url = sent["urls"][name]
    page = phones[js]
    response = page.goto(url)
    assert response.status == 200, f"{url} answered {response.status}"
    expect(page.locator("header summary", has_text="Menu")).to_be_visible()  # the nav is folded
    assert_fits(page, url)


# As agencies name offices; a list is as wide as its longest choice unless the page holds it in.
LONG_OFFICE = "Zz Sydney CBD Permanent and Executive Recruitment (Finance, Legal and Technology)"


@pytest.fixture(scope="module")
def long_office(live_server):
    flask(live_server, "office", "add", LONG_OFFICE)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("url", ["/dashboard", "/profile", "/admin/users/new"])
def test_a_list_with_a_long_choice_fits_a_phone(phones, long_office, url, js):
    page = phones[js]
    assert page.goto(url).status == 200
    expect(page.locator("select option", has_text=LONG_OFFICE).first).to_be_attached()
    assert_fits(page, url)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_every_page_in_the_menu_fits_a_phone(phones, js):
    """Pages other changes add are in the menu: each of them fits too."""
    page = phones[js]
    page.goto("/candidates")
    page.locator("header summary", has_text="Menu").click()
    menu = page.get_by_role("navigation", name="Main")
    hrefs = [link.get_attribute("href") for link in menu.get_by_role("link").all()]
    assert len(hrefs) >= 8, hrefs  # an administrator's menu
    too_wide = {}
    for href in hrefs:
        assert page.goto(href).status == 200, href
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            too_wide[href] = (width, page.evaluate(TOO_WIDE))
    assert not too_wide, f"pages wider than {PHONE['width']} px: {too_wide}"


# A real surname of 35 letters, and one word as long as a name may be (100 characters).
LONG_NAMES = [
    ("Hubert", "Wolfeschlegelsteinhausenbergerdorff", "0412 345 661"),
    (
        "Zed",
        "Z" + "wolfeschlegelsteinhausenbergerdorff" * 2 + "welchevoralternwarengewisse",
        "0412 345 662",
    ),
]


@pytest.fixture(scope="module")
def long_named(browser, live_server):
    """The record, its edit form, the SMS screen and the batch page of each long-named person,
    sent an SMS by the administrator."""
    urls = []
    with signed_in(browser, live_server.url, "admin", timeout=15_000) as page:
        for first, last, mobile in LONG_NAMES:
            add_candidate(page, first, last, mobile)
            # Not MESSAGE: the pills test finds Axel's SMS on /sandbox by its text.
            batch, record = sms_from_record(page, f"{first} {last}", mobile, "Hi, long name")
            path = re.compile(r"^https?://[^/]+")
            record, batch = path.sub("", record), path.sub("", batch)
            person = record.rsplit("/", 1)[1]
            urls += [record, record + "/edit", f"/sms/compose?candidate={person}", batch]
    return urls


@pytest.fixture(scope="module")
def one_word_admin_pages(live_server, phones):
    """A user and an office each named with one 100-letter word: the user's page (its
    "Deactivate <name>…" button) and the new SMS account's (its "Offices it serves" choices)."""
    flask(live_server, "office", "add", "O" * 100)
    flask(
        live_server,
        *("create-user", "oneword", "--role", "consultant", "--email", "oneword@example.com"),
        *("--full-name", "W" * 100),
        stdin=f"{PASSWORD}\n",
    )
    page = phones[True]
    page.goto("/admin/users?q=oneword")
    user = page.locator("#results table a").first.get_attribute("href")
    # An SMS account named with one 120-letter word: the list's Webhook addresses made it 1,197 px.
    page.goto("/admin/sms-accounts/new")
    page.get_by_label("Name", exact=True).fill("A" * 120)
    arrow_to(page, page.get_by_label("Gateway"), "Twilio")
    page.get_by_label("Account SID").fill("AC" + "c" * 32)
    page.get_by_label("Auth token").fill("0123456789abcdef0123456789abcdef")
    page.get_by_label("From number").fill("+64 21 765 4322")
    page.get_by_label("Destination countries it serves").fill("WS")
    page.get_by_role("button", name="Add SMS account").click()
    expect(page.locator(".flashes")).to_contain_text("added")
    return [re.sub(r"^https?://[^/]+", "", user), "/admin/sms-accounts/new", "/admin/sms-accounts"]


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_long_name_does_not_make_a_page_scroll_sideways(
    phones, long_named, one_word_admin_pages, js
):
    page = phones[js]
    for url in long_named + one_word_admin_pages:
        assert page.goto(url).status == 200, url
        assert_fits(page, url)


# A template named as people name them, near the 100-character limit: the SMS screen's Template
# list was as wide as it (755 px), and one of 100 letters with no space made the page 1,648 px.
LONG_TEMPLATES = (
    "Follow-up after second interview with the hiring manager at the client's Sydney office, "
    "Friday",
    "T" * 100,
)


@pytest.fixture(scope="module")
def long_templates(phones):
    page = phones[True]
    for name in LONG_TEMPLATES:
        page.goto("/templates/new")
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Message", exact=True).fill("Hi {{first_name}}, thanks for coming in.")
        page.get_by_role("button", name="Add template").click()
        expect(page).not_to_have_url(re.compile(r"/templates/new$"))  # added


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_long_template_name_does_not_widen_the_sms_screen(phones, sent, long_templates, js):
    page = phones[js]
    assert page.goto(sent["urls"]["compose"]).status == 200
    for name in LONG_TEMPLATES:
        expect(page.locator("#template_id option", has_text=name)).to_be_attached()
    assert_fits(page, "the SMS screen")


def test_the_sign_in_page_fits_a_phone(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto("/login")
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()
        assert_fits(page, "/login")
        assert not small_targets(page)
    finally:
        context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_the_navigation_folds_into_a_menu_that_opens_from_the_keyboard(phones, js):
    page = phones[js]
    page.goto("/candidates")
    navigation = page.get_by_role("navigation", name="Main")
    expect(navigation).to_have_count(0)  # folded: neither copy is on screen
    menu = page.locator("header summary", has_text="Menu")
    expect(menu).to_be_visible()
    assert_fits(page, "/candidates with the menu folded")

    page.locator("#main").focus()  # start from the top of the page, as after a load
    page.keyboard.press("Shift+Tab")  # back up into the header, to Sign out
    for _ in range(6):
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
        page.keyboard.press("Shift+Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")

    expect(navigation).to_be_visible()
    links = navigation.get_by_role("link")
    expect(links.first).to_have_text("Dashboard")
    expect(links.nth(1)).to_have_text("Candidates")
    expect(navigation.get_by_role("link", name="Audit log")).to_be_visible()
    assert_fits(page, "/candidates with the menu open")
    page.keyboard.press("Tab")
    expect(links.first).to_be_focused()
    page.keyboard.press("Tab")
    expect(links.nth(1)).to_be_focused()
    page.keyboard.press("Tab")
    expect(links.nth(2)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/contacts"))
    expect(page.get_by_role("heading", level=1, name="Client Contacts")).to_be_visible()


def test_on_a_wide_screen_the_navigation_is_a_row_and_there_is_no_menu(page, login_as_admin):
    page.goto("/candidates")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(1)
    menu = page.locator("header summary", has_text="Menu")
    expect(menu).to_have_count(1)  # there, for narrow screens, but not shown on this one
    expect(menu).to_be_hidden()


@pytest.fixture
def js() -> bool:
    return True


@pytest.fixture
def login_as_admin(context, sent):
    context.add_cookies(sent["cookies"])


@pytest.mark.parametrize(
    "url", ["/candidates", "batch", "record", "/templates", "/admin/users", "/audit", "/sandbox"]
)
def test_links_and_buttons_in_the_header_and_tables_are_at_least_24px(phones, sent, url):
    page = phones[True]
    page.goto(sent["urls"][url])
    page.locator("header summary", has_text="Menu").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    measured = page.evaluate(TARGETS, TARGET_SELECTOR)
    assert len(measured) >= 4, measured  # the brand, Menu, its links and Sign out at least
    assert not small_targets(page), f"targets under 24 px on {url}: {small_targets(page)}"


def test_a_wide_table_scrolls_in_a_labelled_region_the_keyboard_reaches(phones):
    page = phones[True]
    page.goto("/admin/roles")
    region = page.get_by_role("region", name="Permissions by role")
    expect(region).to_be_visible()
    assert region.evaluate("e => e.scrollWidth > e.clientWidth"), "the roles table fits: no test"
    # Shadows at the edges say there is more: the region paints a background of its own.
    assert region.evaluate("e => getComputedStyle(e).backgroundImage").count("gradient") >= 2

    page.locator("#main").focus()
    for _ in range(8):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('role')") == "region":
            break
    expect(region).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "() => document.activeElement.scrollLeft > 0", timeout=5_000
    )  # the arrow keys scroll it sideways
    assert_fits(page, "/admin/roles")


@pytest.mark.parametrize("url", ["/candidates", "batch", "record", "/admin/roles", "/audit"])
def test_axe_finds_nothing_on_a_phone_with_the_menu_open(phones, sent, url):
    page = phones[True]
    page.goto(sent["urls"][url])
    check(page, f"{url} at {PHONE['width']} px")
    page.locator("header summary", has_text="Menu").click()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    check(page, f"{url} at {PHONE['width']} px with the menu open")


PILL = """e => {
  const style = getComputedStyle(e);
  return {radius: parseFloat(style.borderTopLeftRadius), weight: Number(style.fontWeight),
          background: style.backgroundColor, text: e.textContent.trim()};
}"""


def assert_pill(locator, state: str) -> None:
    expect(locator).to_have_text(state)
    pill = locator.evaluate(PILL)
    assert pill["radius"] >= 8, f"{state} is not rounded like a pill: {pill}"
    assert pill["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), pill
    assert pill["weight"] < 600, f"{state} is a bold word, not a pill: {pill}"


@pytest.mark.parametrize("width", [1280, 390])
def test_sent_states_are_pills_on_the_batch_page_and_in_the_record_history(
    browser, live_server, sent, width
):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    try:
        context.add_cookies(sent["cookies"])
        page = context.new_page()
        page.goto(sent["urls"]["batch"])
        expect(page.locator("#progress")).to_contain_text("done", timeout=15_000)
        assert_pill(page.get_by_role("table").locator(".state"), "delivered")
        assert_pill(page.locator(".state-counts .state"), "delivered")
        text = "a quick one from a phone"
        page.goto(sent["urls"]["record"])
        assert_pill(page.locator("#history li", has_text=text).locator(".state"), "delivered")
        page.goto("/sandbox")
        assert_pill(page.locator("tbody tr", has_text=text).locator(".state"), "delivered")
    finally:
        context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_saved_setting_is_said_in_its_section_on_screen_with_the_focus_on_it(phones, js):
    page = phones[js]
    page.goto("/admin/settings")
    page.get_by_role("textbox", name="Quiet hours").focus()
    page.keyboard.press("End")
    page.keyboard.press("Enter")  # saved as it was: said all the same
    page.wait_for_url("**/admin/settings")

    notice = page.locator("#quiet-hours .flash")
    expect(notice).to_have_text("Quiet hours unchanged.")
    expect(notice).to_be_focused()
    expect(notice).to_be_in_viewport()
    expect(page.locator("ul.flashes")).to_have_count(0)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_templates_edit_and_deactivate_are_in_view_on_a_phone(phones, js):
    """Each folder's table was 550-664 px wide in a sideways-scrolling box, Status, Edit and
    Deactivate off screen: its rows stack, as the Replies' and the Sandbox's do."""
    page = phones[js]
    assert page.goto("/templates").status == 200
    row = page.locator("#results tbody tr").filter(has=page.locator("button")).first
    for control in (row.get_by_role("link", name="Edit"), row.get_by_role("button")):
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    regions = page.locator("#results .table-scroll")
    assert regions.count() >= 1
    for region in regions.all():
        assert region.evaluate("e => e.scrollWidth <= e.clientWidth"), "a folder scrolls sideways"
    expect(row.locator("td[data-label=Status]")).to_contain_text("Active")
    assert_fits(page, "/templates")
