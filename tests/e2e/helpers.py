"""Steps the browser journeys share: search, open a record, the SMS screen, the batch page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ROOT, sign_in

# Outcome keys as the SMS screen marks them (class="outcome outcome-<key>").
OUTCOMES = ("ok", "opted_out", "blocked_country", "invalid_number", "no_mobile", "duplicate")


def unexpected(errors: list[str]) -> list[str]:
    """Console errors less the ones htmx logs for each request it aborts on purpose (hx-sync
    "replace": a newer request of the same form or control takes its place)."""
    left = list(errors)
    for message in errors:
        if message.startswith("htmx:sendAbort, "):
            left.remove(message)
            left.remove(message.replace("htmx:sendAbort", "htmx:afterRequest", 1))
    return left


def arrow_to(page: Page, select, label: str) -> None:
    """Choose `label` in a closed list as a keyboard user does: focus it, then an arrow at a time,
    each a change (and, where the list asks the server on change, a request) of its own."""
    select.focus()
    labels = [text.strip() for text in select.locator("option").all_inner_texts()]
    now, wanted = select.evaluate("list => list.selectedIndex"), labels.index(label)
    for _ in range(abs(wanted - now)):
        page.keyboard.press("ArrowDown" if wanted > now else "ArrowUp")
    expect(select.locator("option:checked")).to_have_text(label)


def results_heading(count: int) -> re.Pattern:
    """The results heading for `count` people ("1 match", "7 matching")."""
    return re.compile(rf"^\s*{count:,}\s+match(ing)?\s*$")


def keyboard_search(page: Page, text: str, count: int) -> None:
    """Search for `text` by keyboard alone (Shift+Tab out of the field, / to Search) and wait for
    `count` results."""
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("/")
    page.keyboard.type(text)
    expect(page.locator("#results-heading")).to_have_text(results_heading(count))


def search(page: Page, js: bool, **fields: str) -> None:
    """Fill the search form; with JS the results swap in as you type, without it press Search."""
    labels = {"q": "Search", "location": "Location", "job": "Job title / skills"}
    form = page.locator("form#search")
    for name, value in fields.items():
        if name not in ("q", "status"):
            open_more_filters(page)
        if name == "status":
            arrow_to(page, form.get_by_label("Status", exact=True), value)
        else:
            form.get_by_label(labels[name], exact=True).fill(value)
    if not js:
        form.get_by_role("button", name="Search", exact=True).click()


def open_more_filters(page: Page) -> None:
    """Unfold "More filters" (the filters other than Search and Status), if it is folded."""
    more = page.locator("form#search details.more-filters")
    if more.get_attribute("open") is None:
        more.locator("summary").click()


def open_record(page: Page, js: bool, name: str) -> None:
    """Find a candidate by full name and open their record."""
    page.goto("/candidates")
    search(page, js, q=name)
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    page.locator("#results").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()


def select_people(page: Page, names) -> None:
    for name in names:
        page.get_by_label(f"Select {name}", exact=True).check()


def compose_panel(page: Page):
    return page.locator("#compose")


def outcome_counts(page: Page) -> dict[str, int]:
    """The SMS screen's count per outcome (outcomes not shown count 0)."""
    counts = dict.fromkeys(OUTCOMES, 0)
    for key in OUTCOMES:
        item = page.locator(f"#compose .outcome-counts li.outcome-{key}")
        if item.count():
            counts[key] = int(item.first.locator(".count").inner_text().replace(",", ""))
    return counts


def open_outcome_list(page: Page, js: bool, label: str, link_name: str = "Show list"):
    """Open one outcome's list (a fragment under the counts with JS, a page of its own without)."""
    item = page.locator("#compose .outcome-counts li", has_text=label)
    # Without JS a button stands in for the link: it keeps what was typed on the way.
    item.get_by_role("link" if js else "button", name=link_name).click()
    listing = page.locator(".outcome-people")
    heading = page.locator("#outcome-list-heading")
    expect(heading).to_contain_text(link_name if link_name == "Opt Out Recipient List" else label)
    if js:
        expect(page.locator("#outcome-list .outcome-people")).to_be_visible()
        expect(heading).to_be_focused()
    else:
        expect(page).to_have_url(re.compile(r"/sms/compose/[^/]+/list/\w+$"))
    return listing


def back_to_compose(page: Page, js: bool) -> None:
    """After looking at a list without JS, return to the SMS screen by its own link."""
    if not js:
        page.get_by_role("link", name="Back to the SMS").click()
        expect(compose_panel(page)).to_be_visible()


def use_template(page: Page, js: bool, name: str) -> None:
    """Choose a template and commit it (the list alone changes nothing, with JS or without)."""
    arrow_to(page, page.get_by_label("Template", exact=True), name)
    page.get_by_role("button", name="Use template").click()
    expect(page.get_by_label("Template", exact=True)).to_have_value(re.compile(r"^\d+$"))
    expect(page.get_by_label("Message", exact=True)).not_to_have_value("")


def insert_merge_field(page: Page, js: bool, label: str) -> None:
    """Choose a field and press Insert: at the cursor with JS, at the end without."""
    arrow_to(page, page.get_by_label("Insert merge field", exact=True), label)
    page.get_by_role("button", name="Insert", exact=True).click()


def wait_for_batch(page: Page, js: bool, delivered: int) -> None:
    """On the batch page: with JS the progress updates itself; without it, reload (bounded)."""
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+"))
    expect(page.get_by_role("progressbar")).to_be_visible()
    if js:
        expect(page.locator("#progress")).to_contain_text("done", timeout=15_000)
    else:
        for _ in range(30):
            if "— done" in page.locator("#progress").inner_text():
                break
            page.wait_for_timeout(500)
            page.reload()
        expect(page.locator("#progress")).to_contain_text("done")
    expect(page.locator(".state-counts")).to_contain_text(f"delivered {delivered}")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")


def send_single_from_record(page: Page, js: bool, name: str, mobile: str, text: str) -> None:
    """Open a record, follow its "SMS <number>" link, write `text`, Send and wait for delivery."""
    open_record(page, js, name)
    page.get_by_role("link", name=f"SMS {mobile}", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sms/compose\?candidate=\d+$"))
    expect(
        compose_panel(page).get_by_role("heading", name=re.compile(r"SMS to 1 person"))
    ).to_be_visible()
    expect(page.get_by_role("group", name="Mobile Number")).to_contain_text(name)
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()
    wait_for_batch(page, js, delivered=1)


@contextmanager
def signed_in(browser: Browser, base_url: str, username: str, timeout: int) -> Iterator[Page]:
    """A page in a browser context of its own, signed in as `username`; closed on the way out."""
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(timeout)
    try:
        page = context.new_page()
        sign_in(page, username)
        yield page
    finally:
        context.close()


def sms_from_record(page: Page, name: str, mobile: str, text: str) -> tuple[str, str]:
    """Send `name` one SMS from their record (JavaScript on): the batch page's URL, and the
    record's as its link on that page leads back."""
    send_single_from_record(page, True, name, mobile, text)
    batch = page.url
    page.get_by_role("table").get_by_role("link", name=name).click()
    return batch, page.url


def run_seed(live_server, module: str, *args: str) -> dict:
    """Run a seeding module (`python -m module args…`) against the live server's database, with
    no worker of its own; the JSON on its last line of output."""
    env = {**live_server.env, "EMBEDDED_WORKER": "0"}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def retype(page: Page, label: str, value: str) -> None:
    """Put the focus in the field labelled `label`, select what it holds and type `value`."""
    page.get_by_label(label, exact=True).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(value)


def add_candidate(page: Page, first: str, last: str, mobile: str) -> None:
    """Add a candidate from the keyboard (typed, then Enter) and wait for their record."""
    page.goto("/candidates/new")
    retype(page, "First name", first)
    retype(page, "Last name", last)
    retype(page, "Mobile", mobile)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{first} {last}")


def posts_made(page: Page, ending: str = "") -> list:
    """The POST requests the page makes from now on (to addresses ending in `ending`), filled in
    as they go."""
    posts: list = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST" and request.url.endswith(ending) and posts.append(request)
        ),
    )
    return posts
