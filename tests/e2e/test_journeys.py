"""The main journeys in a real browser, each with JavaScript on and off."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, screenshot, sign_in, watched_page
from tests.e2e.helpers import (
    back_to_compose,
    compose_panel,
    insert_merge_field,
    open_outcome_list,
    open_record,
    outcome_counts,
    results_heading,
    search,
    select_people,
    send_single_from_record,
    use_template,
    wait_for_batch,
)

WOLLONGONG_DEVELOPERS = "/candidates?job=Software+Developer&location=Wollongong"
FIRST_NAMES = {"Ada Lovelace": "Ada", "Alan Turing": "Alan", "Grace Hopper": "Grace"}


def bulk_sms(page, username: str, names):
    """Signed in as `username`, `names` ticked among Wollongong's developers, Bulk SMS pressed:
    the SMS screen."""
    sign_in(page, username)
    page.goto(WOLLONGONG_DEVELOPERS)
    select_people(page, names)
    page.get_by_role("button", name="Bulk SMS").click()
    return compose_panel(page)


def test_sign_in(page, js):
    page.goto("/candidates")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_label("Username")).to_be_focused()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    if js:
        screenshot(page, "login")
    page.get_by_label("Username").fill("consultant")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/candidates"))
    expect(page.get_by_role("heading", level=1, name="Candidates")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.goto("/candidates")
    expect(page).to_have_url(re.compile(r"/login"))


def test_search_and_filter_candidates(page, js):
    sign_in(page, "consultant")
    if js:
        # A full page load would lose this; a swap keeps it.
        page.evaluate("window.__samePage = true")
    search(page, js, location="Wollongong", job="Software Developer", status="Active")
    results = page.locator("#results")
    expect(page.locator("#results-heading")).to_have_text(results_heading(7))
    expect(page).to_have_url(re.compile(r"location=Wollongong"))
    expect(page).to_have_url(re.compile(r"job=Software(\+|%20)Developer"))
    expect(page).to_have_url(re.compile(r"status=Active"))
    rows = results.locator("table.results tbody tr")
    expect(rows).to_have_count(7)
    for name in (
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
        "Olive Optout",
        "Kaz Blocked",
        "Ivy Invalid",
        "Nora Nomobile",
    ):
        expect(results.get_by_role("link", name=name, exact=True)).to_be_visible()
    for row in rows.all():
        cells = row.locator("td")
        expect(cells.nth(5)).to_have_text("Wollongong")
        expect(cells.nth(6)).to_have_text("Active")
    expect(page.get_by_label("Select all 7 matching")).to_be_visible()

    search(page, js, q="Optout")
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    expect(rows).to_have_count(1)
    expect(results.get_by_role("link", name="Olive Optout", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"q=Optout"))
    if js:
        assert page.evaluate("window.__samePage === true"), "the search reloaded the whole page"
        expect(page.get_by_label("Search", exact=True)).to_be_focused()
        expect(page.locator("body > [role=status]")).to_have_text(re.compile(r"1 candidate found"))
        screenshot(page, "search")

    search(page, js, q="Nobody Here Zzz")
    expect(page.locator("#results-heading")).to_have_text(results_heading(0))
    expect(results).to_contain_text("Nobody matches")
    # The URL is the search: reloading it (or a bookmark) gives the same results.
    page.goto(WOLLONGONG_DEVELOPERS + "&status=Active&q=Lovelace")
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    expect(page.get_by_label("Search", exact=True)).to_have_value("Lovelace")


def test_filters_survive_the_results_swap(page, js):
    """After a search the Status filter still holds its choices and the chosen one."""
    sign_in(page, "consultant")
    status = page.locator("form#search").get_by_label("Status", exact=True)
    choices = status.locator("option").all_inner_texts()
    assert "Any" in choices and "Active" in choices, choices
    search(page, js, location="Wollongong", status="Active")
    expect(page).to_have_url(
        re.compile(r"location=Wollongong.*status=Active|status=Active.*location=Wollongong")
    )
    search(page, js, job="Software Developer")
    expect(page.locator("#results-heading")).to_have_text(results_heading(7))
    expect(status.locator("option")).to_have_text(choices)
    expect(status).to_have_value("Active")
    # The cause when this fails: two elements share id="status" (the Status filter and the live
    # region in base.html), and the results' out-of-band update lands in the first one.
    ids = page.evaluate("document.querySelectorAll('[id=status]').length")
    assert ids == 1, f"{ids} elements have id=status"


def test_tick_three_template_merge_field_preview_send(page, js):
    compose = bulk_sms(page, "consultant", FIRST_NAMES)
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 3 people"))).to_be_visible()
    if js:
        # The panel swaps into the search page, the focus on its heading (who it is for).
        expect(page).to_have_url(re.compile(r"/candidates\?"))
        expect(page.locator("#compose-panel #compose")).to_be_visible()
        expect(page.locator("#compose-heading")).to_be_focused()
    else:
        # Bulk SMS redirected to the screen's own address: Back and reload are safe.
        expect(page).to_have_url(re.compile(r"/sms/compose/[\w-]+$"))
    recipients = page.get_by_role("group", name="Mobile Number")
    for name in FIRST_NAMES:
        expect(recipients).to_contain_text(name)

    use_template(page, js, "Job alert")
    message = page.get_by_label("Message", exact=True)
    expect(message).to_have_value(re.compile(r"\{\{first_name\}\}"))
    template_text = message.input_value()
    if js:
        # The template is in; the focus is on the Message to carry on typing.
        expect(message).to_be_focused()
        screenshot(page, "sms-panel")
        # Put the cursor at the start: the field goes where the cursor is.
        message.click()
        message.press("Control+Home")
    insert_merge_field(page, js, "Location")
    if js:
        expect(message).to_have_value("{{location}}" + template_text)
    else:
        expect(message).to_have_value(template_text + "{{location}}")
    counter = page.locator("output#sms-counter")
    expect(counter).to_have_attribute("data-encoding", "GSM-7")
    expect(counter).not_to_have_attribute("data-characters", "0")
    if not js:
        screenshot(page, "sms-screen-nojs")

    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text(
        re.compile(r"Recipient 1 of 3: (Ada Lovelace|Alan Turing|Grace Hopper)")
    )
    bubble = preview.locator(".sms-bubble")
    first = re.search(r"Recipient 1 of 3: (\w+ \w+)", preview.inner_text()).group(1)
    expect(bubble).to_contain_text(f"Hi {FIRST_NAMES[first]}")
    expect(bubble).to_have_text(re.compile(r"^Wollongong" if js else r"Wollongong$"))
    expect(bubble).not_to_contain_text("{{")
    if js:
        expect(page.locator("#preview-heading")).to_be_focused()
        screenshot(page, "preview")
    page.get_by_role("button", name="Next recipient").click()
    expect(preview).to_contain_text("Recipient 2 of 3")
    expect(message).to_have_value(re.compile(r"\{\{location\}\}"))

    page.get_by_role("button", name="Send", exact=True).click()
    wait_for_batch(page, js, delivered=3)
    table = page.get_by_role("table")
    for name in FIRST_NAMES:
        expect(table.get_by_role("row", name=re.compile(name))).to_contain_text("delivered")
    expect(page.locator("dl.details")).to_contain_text("Job alert")
    if js:
        screenshot(page, "batch")


def _expected_from_table(page) -> dict[str, int]:
    """What the search table itself says about each row's mobile and consent."""
    counts = {"no_mobile": 0, "invalid_number": 0, "opted_out": 0}
    for row in page.locator("table.results tbody tr").all():
        mobile, consent = (
            row.locator("td").nth(2).inner_text(),
            row.locator("td").nth(3).inner_text(),
        )
        if "No mobile" in mobile:
            counts["no_mobile"] += 1
        elif "invalid" in mobile:
            counts["invalid_number"] += 1
        elif consent.strip() == "No":
            counts["opted_out"] += 1
    return counts


def test_select_all_matching(page, js):
    sign_in(page, "consultant")
    page.goto(WOLLONGONG_DEVELOPERS)
    matching = page.get_by_label(re.compile(r"Select all [\d,]+ matching"))
    label = page.locator("label", has=page.locator("#select-matching")).inner_text()
    shown = re.search(r"Select all ([\d,]+) matching", label).group(1)
    total = int(shown.replace(",", ""))
    heading_total = int(re.search(r"\d+", page.locator("#results-heading").inner_text()).group())
    assert total == heading_total >= 7
    expected = _expected_from_table(page)
    matching.check()
    if js:
        expect(page.locator("#selected-count")).to_have_text(f"{shown} (all matching) selected")
    page.get_by_role("button", name="Bulk SMS").click()
    compose = compose_panel(page)
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to \d+ people"))).to_be_visible()

    counts = outcome_counts(page)
    assert sum(counts.values()) == total, counts
    for outcome, n in expected.items():
        assert counts[outcome] == n, (outcome, counts, expected)
    assert counts["blocked_country"] >= 1, counts
    assert counts["ok"] >= 3, counts
    expect(compose.get_by_role("heading", name=f"SMS to {counts['ok']} people")).to_be_visible()
    recipients = page.get_by_role("group", name="Mobile Number")
    expect(recipients.locator("li")).to_have_count(counts["ok"])
    for name in FIRST_NAMES:
        expect(recipients).to_contain_text(name)
    for name in ("Olive Optout", "Kaz Blocked", "Ivy Invalid", "Nora Nomobile"):
        expect(recipients).not_to_contain_text(name)

    for label, link, name in (
        ("Opted out", "Opt Out Recipient List", "Olive Optout"),
        ("Country the gateway will not serve", "Show list", "Kaz Blocked"),
        ("Invalid mobile number", "Show list", "Ivy Invalid"),
        ("No mobile number", "Show list", "Nora Nomobile"),
    ):
        listing = open_outcome_list(page, js, label, link)
        expect(listing.get_by_role("link", name=name, exact=True)).to_be_visible()
        back_to_compose(page, js)

    page.get_by_label("Message", exact=True).fill(
        "Hi {{first_name}}, are you free to talk this week?"
    )
    page.get_by_role("button", name="Send", exact=True).click()
    wait_for_batch(page, js, delivered=counts["ok"])
    expect(page.locator("dl.details")).to_contain_text(f"{counts['ok']} candidates")
    expect(page.get_by_role("table").locator("tbody tr")).to_have_count(counts["ok"])


def test_single_sms_from_a_record_mobile_link(page, js):
    name, mobile = ("Sam Single", "0412 345 692") if js else ("Sue Single", "0412 345 693")
    sign_in(page, "consultant")
    send_single_from_record(page, js, name, mobile, "Hi {{first_name}}, please call me back.")
    expect(page.get_by_role("table")).to_contain_text(name)
    page.get_by_role("table").get_by_role("link", name=name).click()
    history = page.locator("#history")
    expect(history).to_contain_text(f"Hi {name.split()[0]}, please call me back.")
    expect(history.locator(".state")).to_have_text("delivered")


def test_consultant_sees_opt_out_list_but_no_ignore(page, js):
    compose = bulk_sms(page, "consultant", ["Ada Lovelace", "Olive Optout"])
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 1 person"))).to_be_visible()
    opt_out_list = compose.get_by_role("link" if js else "button", name="Opt Out Recipient List")
    expect(opt_out_list).to_be_visible()
    expect(compose.get_by_label("Ignore", exact=True)).to_have_count(0)
    expect(compose).to_contain_text("Only users with permission can override this")
    expect(page.get_by_role("group", name="Mobile Number")).not_to_contain_text("Olive Optout")
    listing = open_outcome_list(page, js, "Opted out", "Opt Out Recipient List")
    expect(listing.get_by_role("heading")).to_have_text(re.compile(r"Opt Out Recipient List \(1\)"))
    expect(listing.get_by_role("link", name="Olive Optout", exact=True)).to_be_visible()
    expect(listing).not_to_contain_text("Ada Lovelace")


@pytest.fixture
def page_refusing_once(context):
    """A page on which the app answers 400 on purpose (a refused Send): Chromium logs each 4xx as a
    console error, so those lines are allowed, and nothing else."""
    with watched_page(context, allowed=re.compile("status of 400 ")) as page:
        yield page


def test_team_leader_ignores_opt_out(page_refusing_once, js):
    page = page_refusing_once
    compose = bulk_sms(page, "lead", ["Ada Lovelace", "Olive Optout"])
    recipients = page.get_by_role("group", name="Mobile Number")
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 1 person"))).to_be_visible()
    expect(recipients).not_to_contain_text("Olive Optout")
    page.get_by_label("Ignore", exact=True).check()
    if not js:
        page.get_by_role("button", name="Update recipients").click()
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 2 people"))).to_be_visible()
    expect(recipients).to_contain_text("Olive Optout")
    expect(recipients.locator("li", has_text="Olive Optout")).to_contain_text("opted out — Ignore")
    expect(page.get_by_label("Ignore", exact=True)).to_be_checked()
    if js:
        expect(page.get_by_label("Ignore", exact=True)).to_be_focused()
    page.get_by_label("Message", exact=True).fill(
        "Hi {{first_name}}, the role you asked about is open."
    )
    # Ignore needs a reason: Send without one is refused beside the field, and nothing is queued.
    page.get_by_role("button", name="Send", exact=True).click()
    reason = page.get_by_label("Reason for ignoring opt-outs", exact=True)
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#ignore-reason-error")).to_contain_text("reason for ignoring opt-outs")
    expect(page.get_by_label("Message", exact=True)).to_have_value(
        "Hi {{first_name}}, the role you asked about is open."
    )
    reason.fill("Asked to be told about this role")
    page.get_by_role("button", name="Send", exact=True).click()
    wait_for_batch(page, js, delivered=2)
    expect(page.locator("dl.details")).to_contain_text("Ignore was used")
    table = page.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile("Olive Optout"))).to_contain_text("delivered")
    expect(table.get_by_role("row", name=re.compile("Ada Lovelace"))).to_contain_text("delivered")


def test_blocked_country_recipient_is_excluded(page, js):
    compose = bulk_sms(page, "consultant", ["Ada Lovelace", "Kaz Blocked"])
    expect(compose.get_by_role("heading", name=re.compile(r"SMS to 1 person"))).to_be_visible()
    assert outcome_counts(page)["blocked_country"] == 1
    expect(page.locator("li.outcome-blocked_country")).to_contain_text(
        "Country the gateway will not serve"
    )
    expect(page.get_by_role("group", name="Mobile Number")).not_to_contain_text("Kaz Blocked")
    listing = open_outcome_list(page, js, "Country the gateway will not serve")
    row = listing.get_by_role("row", name=re.compile("Kaz Blocked"))
    expect(row).to_contain_text("+7 701 123 4567")
    expect(row).to_contain_text("Kazakhstan")
    back_to_compose(page, js)
    page.get_by_label("Message", exact=True).fill("Hi {{first_name}}")
    page.get_by_role("button", name="Send", exact=True).click()
    wait_for_batch(page, js, delivered=1)
    expect(page.locator("dl.details")).to_contain_text("1 in a blocked country")
    expect(page.get_by_role("table")).not_to_contain_text("Kaz Blocked")


def test_sandbox_reply_appears_as_received_communication(page, js):
    name, mobile, e164 = (
        ("Rory Reply", "0412 345 694", "+61412345694")
        if js
        else ("Rhea Reply", "0412 345 695", "+61412345695")
    )
    reply = f"Yes please, call me after 5 ({'js' if js else 'nojs'})"
    sign_in(page, "consultant")
    send_single_from_record(page, js, name, mobile, "Hi {{first_name}}, is now a good time?")
    page.goto("/sandbox")
    row = page.locator("tbody tr", has_text=e164).first
    expect(row).to_contain_text("is now a good time?")
    row.get_by_label(re.compile(rf"^Reply from {re.escape(e164)} to the SMS sent ")).fill(reply)
    row.get_by_role("button", name=f"Send reply from {e164}").click()
    expect(page.locator(".flashes")).to_contain_text(f"Reply from {e164} received.")
    if js:
        screenshot(page, "sandbox")

    open_record(page, js, name)
    history = page.locator("#history")
    history.get_by_role("link", name="Received", exact=True).click()
    expect(history.get_by_role("link", name="Received", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    received = history.locator("ol.history > li")
    expect(received).to_have_count(1)
    expect(received).to_contain_text("Received")
    # Shown one way everywhere: national for the default region, the E.164 form in a title.
    expect(received).to_contain_text(f"from {mobile}")
    expect(received.locator(f'span[title="{e164}"]')).to_have_text(mobile)
    expect(received.locator(".sms-reply")).to_have_text(reply)
    expect(received).to_contain_text("In reply to")
    if js:
        screenshot(page, "record-history")
    history.get_by_role("link", name="Sent", exact=True).click()
    expect(history.get_by_role("link", name="Sent", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(history.locator(".sms-reply")).to_have_text(reply)


def test_privacy_sms_box_saved_on_a_record(page, js):
    name, mobile = ("Pia Privacy", "0412 345 696") if js else ("Pete Privacy", "0412 345 697")
    sign_in(page, "consultant")
    open_record(page, js, name)
    privacy = page.locator("#privacy")
    box = privacy.get_by_label("SMS", exact=True)
    expect(box).not_to_be_checked()
    expect(privacy).to_contain_text("SMS is not ticked")
    box.check()
    privacy.get_by_role("button", name="Save Privacy").click()
    if js:
        expect(privacy.get_by_role("status")).to_have_text("Privacy saved: SMS ticked.")
    else:
        expect(page.locator(".flashes")).to_contain_text("Privacy saved: SMS ticked.")
    expect(privacy).not_to_contain_text("SMS is not ticked")
    page.reload()
    expect(page.locator("#privacy").get_by_label("SMS", exact=True)).to_be_checked()
    # It counts: the person is now someone an SMS goes to.
    page.get_by_role("link", name=f"SMS {mobile}", exact=True).click()
    expect(page.locator("li.outcome-ok .count")).to_have_text("1")
    expect(page.locator("li.outcome-opted_out")).to_have_count(0)
