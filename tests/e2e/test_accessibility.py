"""axe-core (WCAG 2.0/2.1 A and AA, 2.2 AA) on every page and every swapped-in state.

axe is vendored at tests/e2e/vendor/ (npm package axe-core 4.14.1) and injected into the page
through Playwright's evaluate, which the page's Content-Security-Policy does not block (it goes
through the DevTools protocol, not a <script> element); it is never served by the app.
axe runs with JavaScript on (its checks are asynchronous and need the page's event loop)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import HERE, sign_in, watched_page
from tests.e2e.helpers import (
    insert_merge_field,
    open_outcome_list,
    results_heading,
    search,
    select_people,
    signed_in,
    sms_from_record,
    use_template,
)

AXE_SOURCE = (HERE / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(result =>
  result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 200),
                              summary: n.failureSummary}))})))"""
WOLLONGONG_DEVELOPERS = "/candidates?job=Software+Developer&location=Wollongong"
AXEL = ("Axel Axe", "0412 345 698", "+61412345698")

REFUSED = re.compile(r"status of 40[01] ")

_cookies: dict[str, list] = {}


@pytest.fixture
def js() -> bool:
    return True


def axe_violations(page) -> list[dict]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE)
    return page.evaluate(RUN_AXE, WCAG_TAGS)


def check(page, where: str) -> None:
    """Zero axe violations, or a message naming each rule, its impact and the elements."""
    violations = axe_violations(page)
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            lines.append(f"    at {node['target']}: {node['html']}")
            lines.append("      " + node["summary"].replace("\n", "\n      "))
    assert not violations, (
        f"axe found {len(violations)} violation(s) on {where} ({page.url}):\n" + "\n".join(lines)
    )


@pytest.fixture
def page_with_refusals(context):
    """A page for states the app answers 400/401 on purpose (a refused form): Chromium logs every
    4xx as a console error, so those lines are allowed here and nothing else is."""
    with watched_page(context, allowed=REFUSED) as page:
        yield page


@pytest.fixture
def login_as(browser, live_server, context):
    """Sign `context` in as a demo user (each user signs in once per session; cookies reused)."""

    def login(username: str) -> None:
        if username not in _cookies:
            other = browser.new_context(base_url=live_server.url)
            page = other.new_page()
            sign_in(page, username)
            _cookies[username] = other.cookies()
            other.close()
        context.add_cookies(_cookies[username])

    return login


@pytest.fixture(scope="module")
def history(browser, live_server):
    """An SMS to Axel Axe and his reply, so the record, batch and sandbox pages have content."""
    with signed_in(browser, live_server.url, "lead", timeout=10_000) as page:
        name, mobile, e164 = AXEL
        batch_url, record_url = sms_from_record(
            page, name, mobile, "Hi {{first_name}}, can we talk today?"
        )
        page.goto("/sandbox")
        row = page.locator("tbody tr", has_text=e164).first
        row.get_by_label(re.compile(rf"^Reply from {re.escape(e164)} to the SMS sent ")).fill(
            "Yes, after 3pm"
        )
        row.get_by_role("button", name=f"Send reply from {e164}").click()
        expect(page.locator(".flashes")).to_contain_text("received")
    return {"batch": batch_url, "record": record_url}


def open_panel(page, names=None) -> None:
    """The SMS panel swapped into the search page, for the chosen people or everyone matching."""
    page.goto(WOLLONGONG_DEVELOPERS)
    if names:
        select_people(page, names)
    else:
        page.get_by_label(re.compile(r"Select all [\d,]+ matching")).check()
    page.get_by_role("button", name="Bulk SMS").click()
    expect(page.locator("#compose-panel #compose")).to_be_visible()
    expect(page.locator("#compose-heading")).to_be_focused()


# ---------------------------------------------------------------------------- whole pages


def test_login_page(page):
    page.goto("/login")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    check(page, "the sign-in page")


def test_login_page_refused(page_with_refusals):
    page = page_with_refusals
    page.goto("/login")
    page.get_by_label("Username").fill("nobody-axe")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    check(page, "the sign-in page after a wrong password")


@pytest.mark.parametrize(
    "url",
    [
        "/candidates",
        "/contacts",
        WOLLONGONG_DEVELOPERS,
        "/candidates?page=2",
        "/contacts?q=zzzz-nobody",
    ],
)
def test_search_pages(page, login_as, url):
    login_as("lead")
    page.goto(url)
    expect(page.locator("#results-heading")).to_be_visible()
    check(page, f"the search page {url}")


def test_search_page_with_refused_filters(page_with_refusals, login_as):
    page = page_with_refusals
    login_as("lead")
    response = page.goto("/candidates?created_from=not-a-date&sort=nonsense")
    assert response.status == 400
    expect(page.locator(".error-summary")).to_be_visible()
    check(page, "the search page with filters it could not read")


def test_record_page_with_history(page, login_as, history):
    login_as("lead")
    page.goto(history["record"])
    expect(page.locator("#history .sms-bubble").first).to_be_visible()
    check(page, "a record (Sent tab)")
    page.locator("#history").get_by_role("link", name="Received", exact=True).click()
    expect(page.locator("#history .sms-reply")).to_have_text("Yes, after 3pm")
    check(page, "a record, Received tab swapped in")
    privacy = page.locator("#privacy")
    privacy.get_by_label("Mail", exact=True).click()
    privacy.get_by_role("button", name="Save Privacy").click()
    expect(privacy.get_by_role("status")).to_contain_text("Privacy saved")
    check(page, "a record after Save Privacy (fragment)")


def test_record_edit_and_new_pages(page, login_as, history):
    login_as("lead")
    page.goto(history["record"] + "/edit")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, "the record edit page")
    page.goto("/candidates/new")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, "the new candidate page")


def test_sms_screen_full_page(page, login_as, history):
    login_as("lead")
    page.goto(history["record"])
    page.get_by_role("link", name=f"SMS {AXEL[1]}").click()
    expect(page).to_have_url(re.compile(r"/sms/compose\?candidate=\d+"))
    expect(page.get_by_role("heading", name="SMS to 1 person")).to_be_visible()
    check(page, "the SMS screen (full page, one person)")


def test_sms_screen_full_page_with_every_outcome(page, login_as):
    login_as("lead")
    open_panel(page)
    token = re.search(
        r"/sms/compose/([^/]+)/update", page.locator("#compose-form").get_attribute("action")
    ).group(1)
    page.goto(f"/sms/compose/{token}")
    expect(page.get_by_role("heading", name=re.compile(r"SMS to \d+ people"))).to_be_visible()
    check(page, "the SMS screen (full page, every outcome)")
    page.goto(f"/sms/compose/{token}/list/blocked_country")
    expect(
        page.get_by_role("heading", name=re.compile("Country the gateway will not serve"))
    ).to_be_visible()
    check(page, "an outcome list (full page)")


def test_batch_page(page, login_as, history):
    login_as("lead")
    page.goto(history["batch"])
    expect(page.locator("#progress")).to_contain_text("done")
    check(page, "the batch page")
    page.locator(".state-counts").get_by_role("link", name=re.compile("delivered")).click()
    expect(page.get_by_role("link", name="all")).to_be_visible()
    check(page, "the batch page filtered by state")


def test_sandbox_page(page, login_as, history):
    login_as("lead")
    page.goto("/sandbox")
    expect(page.locator("tbody tr").first).to_be_visible()
    check(page, "/sandbox")


OPTIONAL_PAGES = [
    "/templates",
    "/templates/new",
    "/admin/users",
    "/admin/settings",
    "/admin/offices",
    "/audit",
    "/replies/unmatched",
    "/profile",
]


@pytest.mark.parametrize("url", OPTIONAL_PAGES)
def test_other_pages(page, login_as, url):
    """Pages that other changes add; a page that is absent must not be linked from the menu."""
    login_as("admin")
    response = page.goto(url)
    if response.status == 404:
        page.goto("/candidates")
        links = page.get_by_role("navigation", name="Main").get_by_role("link")
        hrefs = [link.get_attribute("href") for link in links.all()]
        assert url not in hrefs, f"{url} answers 404 but the main menu links to it"
        return
    assert response.status == 200, f"{url} answered {response.status}"
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, url)


def test_other_pages_swapped_in(page, login_as):
    login_as("admin")
    page.goto("/templates")
    page.get_by_role("searchbox", name="Search templates").fill("alert")
    expect(page).to_have_url(re.compile(r"q=alert"))
    expect(page.locator("#results")).to_contain_text("Job alert")
    check(page, "/templates with search results swapped in")
    page.locator("#results").get_by_role("link", name="Job alert").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check(page, f"a template's page ({page.url})")
    page.goto("/audit")
    page.get_by_label("Who (username)").fill("lead")
    expect(page).to_have_url(re.compile(r"actor=lead"))
    check(page, "/audit with filtered results swapped in")


def without_scripts(page) -> None:
    """What a browser without JavaScript shows, in a page where axe can still run: our scripts
    arrive empty and <noscript> content is unwrapped (so "Use template", "Insert" and "Update
    recipients" are there). An approximation of JS off; the JS-off journeys test the behaviour."""

    def handle(route):
        if route.request.resource_type == "script":
            route.fulfill(status=200, content_type="text/javascript", body="")
        elif route.request.resource_type == "document":
            response = route.fetch()
            body = response.text().replace("<noscript>", "").replace("</noscript>", "")
            route.fulfill(response=response, body=body)
        else:
            route.continue_()

    page.route("**/*", handle)


def test_sms_screen_as_without_javascript(page, login_as):
    login_as("lead")
    without_scripts(page)
    page.goto(WOLLONGONG_DEVELOPERS)
    select_people(page, ["Ada Lovelace", "Alan Turing", "Olive Optout", "Kaz Blocked"])
    page.get_by_role("button", name="Bulk SMS").click()
    # The redirect to the screen's address is followed inside the route: the URL stays the POST's.
    expect(page).to_have_url(re.compile(r"/sms/compose(/[\w-]+)?$"))
    expect(page.get_by_role("button", name="Use template")).to_be_visible()
    check(page, "the SMS screen as a page of its own (no JS)")
    use_template(page, False, "Job alert")
    insert_merge_field(page, False, "Location")
    expect(page.get_by_label("Message", exact=True)).to_have_value(re.compile(r"\{\{location\}\}$"))
    page.get_by_label("Ignore", exact=True).check()
    page.get_by_role("button", name="Update recipients").click()
    expect(page.get_by_role("group", name="Mobile Number")).to_contain_text("Olive Optout")
    check(page, "the SMS screen after Use template, Insert and Update recipients (no JS)")
    page.get_by_role("button", name="Preview").click()
    expect(page).to_have_url(re.compile(r"/preview$"))
    expect(page.locator("#preview")).to_contain_text("Recipient 1 of 3")
    check(page, "the preview as a page of its own (no JS)")


# ------------------------------------------------------------------- swapped-in states


def test_search_results_swapped_in(page, login_as):
    login_as("lead")
    page.goto("/candidates")
    search(page, True, q="Lovelace")
    expect(page.locator("#results-heading")).to_have_text(results_heading(1))
    check(page, "search results swapped in")
    search(page, True, q="zzzz-nobody")
    expect(page.locator("#results")).to_contain_text("Nobody matches")
    check(page, "empty search results swapped in")


def test_shortcuts_help_and_empty_selection(page, login_as):
    login_as("lead")
    page.goto(WOLLONGONG_DEVELOPERS)
    page.get_by_role("button", name=re.compile("Keyboard shortcuts")).click()
    expect(page.get_by_role("region", name="Keyboard shortcuts")).to_be_visible()
    page.get_by_role("button", name="Bulk SMS").click()
    expect(page.locator("#bulk-help")).to_contain_text("Nothing is ticked yet")
    check(page, "the search page with the shortcuts help and the empty-selection message")


def test_sms_panel_swapped_in(page, login_as):
    login_as("lead")
    open_panel(page)
    check(page, "the SMS panel in the search page (every outcome, Ignore offered)")


def test_sms_panel_states(page, login_as):
    login_as("lead")
    open_panel(page, ["Ada Lovelace", "Alan Turing", "Olive Optout", "Kaz Blocked"])
    use_template(page, True, "Job alert")
    expect(page.get_by_label("Message", exact=True)).to_be_focused()
    check(page, "the SMS panel after choosing a template")

    page.get_by_label("Message", exact=True).fill("Hi {{first_name}} {{nosuch}} – it’s open")
    expect(page.locator("#sms-counter")).to_have_attribute("data-encoding", "UCS-2")
    check(page, "the SMS panel after the counter updated")

    page.get_by_label("Ignore", exact=True).check()
    expect(page.get_by_role("group", name="Mobile Number")).to_contain_text("Olive Optout")
    check(page, "the SMS panel with Ignore ticked")

    page.get_by_role("button", name=re.compile(r"^Remove Alan Turing \(")).click()
    expect(page.get_by_role("button", name="Put back Alan Turing")).to_be_visible()
    check(page, "the SMS panel after Remove")


def test_outcome_list_fragments(page, login_as):
    login_as("lead")
    open_panel(page)
    open_outcome_list(page, True, "Opted out", "Opt Out Recipient List")
    check(page, "the Opt Out Recipient List fragment")
    open_outcome_list(page, True, "Country the gateway will not serve")
    expect(page.locator("#outcome-list")).to_contain_text("Kazakhstan")
    check(page, "the blocked-country list fragment")


def test_preview_fragment(page, login_as):
    login_as("lead")
    open_panel(page, ["Ada Lovelace", "Alan Turing"])
    page.get_by_label("Message", exact=True).fill(
        "Hi {{first_name}}, {{nosuch}} in {{client_name}}"
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-heading")).to_be_focused()
    check(page, "the preview fragment (unknown and empty merge fields)")
    page.get_by_role("button", name="Next recipient").click()
    expect(page.locator("#preview")).to_contain_text("Recipient 2 of 2")
    check(page, "the preview fragment, second recipient")


def test_send_refused_fragment(page_with_refusals, login_as):
    page = page_with_refusals
    login_as("lead")
    open_panel(page, ["Ada Lovelace"])
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#compose [role=alert], #compose .error").first).to_be_visible()
    check(page, "the SMS panel after Send with an empty message")


CONTRAST = """() => {
  const rgb = value => (value.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const c = [r, g, b].map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const background = e => {
    for (; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll('kbd')].filter(k => k.offsetParent !== null).map(k => {
    const a = lum(rgb(getComputedStyle(k).color)), b = lum(background(k));
    return {
      where: (k.parentElement.id || k.parentElement.tagName) + ' > kbd "' + k.textContent + '"',
      ratio: Math.round((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) * 100) / 100,
    };
  });
}"""


def test_keyboard_hints_are_legible(page, login_as):
    """DESIGN 7: shortcuts have a visible <kbd> hint; visible means 4.5:1 contrast (WCAG 1.4.3).
    axe leaves these to a human ("incomplete": the hints are aria-hidden), so it is measured
    here."""
    login_as("lead")
    page.goto(WOLLONGONG_DEVELOPERS)
    page.get_by_role("button", name=re.compile("Keyboard shortcuts")).click()
    expect(page.get_by_role("region", name="Keyboard shortcuts")).to_be_visible()
    hints = page.evaluate(CONTRAST)
    assert len(hints) >= 4, hints
    faint = [hint for hint in hints if hint["ratio"] < 4.5]
    assert not faint, f"keyboard hints below 4.5:1 contrast: {faint}"


def test_counter_and_preview_are_not_live_regions(page, login_as):
    """DESIGN 7: live regions are the ones in base.html; the counter and preview are not live
    regions (an <output> is role=status, polite, unless it says aria-live="off")."""
    login_as("lead")
    open_panel(page, ["Ada Lovelace"])
    page.get_by_label("Message", exact=True).fill("Hi {{first_name}}")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-heading")).to_be_focused()
    live = page.evaluate(
        """() => [...document.querySelectorAll('#sms-counter, #preview')].filter(e => {
        const live = e.getAttribute('aria-live');
        if (live) return live !== 'off';
        return e.tagName === 'OUTPUT' ||
          ['status', 'log', 'alert'].includes(e.getAttribute('role'));
      }).map(e => e.outerHTML.slice(0, 120))"""
    )
    assert not live, f"live regions that should not be: {live}"


def test_batch_progress_fragment(page, login_as):
    login_as("lead")
    open_panel(page, ["Grace Hopper"])
    page.get_by_label("Message", exact=True).fill("Hi {{first_name}}")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sms/batches/\d+"))
    running = "updating by itself" in page.locator("#progress").inner_text()
    expect(page.locator("#progress")).to_contain_text("done", timeout=15_000)
    if running:  # the last poll swapped the progress in and announced the end
        expect(page.locator("body > [role=status]")).to_contain_text("finished")
    check(page, "the batch page after its progress swapped in")
