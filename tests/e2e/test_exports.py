"""The CSV downloads in a real browser, with JavaScript on and off: a consultant saves a batch's
messages and the Sent log filtered by what they typed, each from the keyboard, and opens the
files as a spreadsheet program would."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.test_sent_replies import seed, type_filter


def download_by_keyboard(page, scope) -> tuple[str, list[dict[str, str]]]:
    """Tab to "Download CSV" in `scope` and press Enter: the file's name and its rows."""
    link = scope.get_by_role("link", name="Download CSV", exact=True)
    link.focus()
    expect(link).to_be_focused()
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    download = info.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    return download.suggested_filename, rows


def test_a_consultant_downloads_a_batch_and_their_filtered_sent_log(page, js, live_server):
    # Numbers of their own (the seed's n), apart from the Sent and Replies tests' people.
    made = seed(live_server, "setup", "csvjs" if js else "csvnojs", "100" if js else "101")
    batch = made["batch"]
    sign_in(page, made["username"])

    page.goto(f"/sms/batches/{batch}")
    name, rows = download_by_keyboard(page, page.locator("main"))

    assert name == f"batch-{batch}-messages.csv"
    assert sorted(row["Person"] for row in rows) == sorted(p["name"] for p in made["people"])
    assert all(re.fullmatch(r"'\+614\d{8}", row["Number"]) for row in rows)
    assert page.url.endswith(f"/sms/batches/{batch}")  # the page stays; the file is saved

    page.goto("/sms/sent")
    type_filter(page, js, "night shift")
    results = page.locator("#results")
    expect(results.get_by_role("link", name="Download CSV", exact=True)).to_have_attribute(
        "href", re.compile(r"text=night\+shift")
    )
    name, rows = download_by_keyboard(page, results)

    assert re.fullmatch(r"sent-\d{4}-\d{2}-\d{2}\.csv", name)
    assert [row["Batch"] for row in rows] == [str(batch)]
    assert "night shift this Friday" in rows[0]["Message"]
    assert rows[0]["Messages"] == "2"


def test_download_after_the_session_ended_shows_the_sign_in_page_then_the_batch_again(
    page, js, live_server
):
    """Signed out in another tab, then Download CSV: the sign-in page was saved as login.html
    without a word (the link's `download` attribute saved whatever answered). It is shown, and
    signing in leads back to the batch, whose Download CSV then saves the file."""
    made = seed(live_server, "setup", "csvoutjs" if js else "csvoutnojs", "102" if js else "103")
    batch = made["batch"]
    sign_in(page, made["username"])
    page.goto(f"/sms/batches/{batch}")
    other = page.context.new_page()
    other.goto("/dashboard")
    other.get_by_role("button", name="Sign out").click()
    expect(other.get_by_role("button", name="Sign in")).to_be_visible()
    other.close()

    link = page.locator("main").get_by_role("link", name="Download CSV", exact=True)
    link.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/login\?next=/sms/batches/{batch}/messages\.csv$"))
    page.get_by_label("Username").press_sequentially(made["username"])
    page.get_by_label("Password").press_sequentially("sms-desk-demo")
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(re.compile(rf"/sms/batches/{batch}$"))
    expect(page.locator(".flashes")).to_contain_text("press Download CSV again")
    name, rows = download_by_keyboard(page, page.locator("main"))
    assert name == f"batch-{batch}-messages.csv" and len(rows) == len(made["people"])
