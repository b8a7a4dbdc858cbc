"""The dashboard in a real browser, with JavaScript on and off: signing in lands on it, a keyboard
user reaches and opens "Show data", its numbers match the messages seeded for the last few days,
a phone's 390 px never scroll sideways, axe finds nothing; and the user guide's screenshot.

Run as a module (`python -m tests.e2e.test_dashboard VARIANT`) it seeds that consultant's days
into the live server's database and prints what it made as JSON.
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, screenshot, sign_in
from tests.e2e.helpers import arrow_to, run_seed, unexpected
from tests.e2e.test_accessibility import check

# Per day back from today: (delivered, sent, failed, parts per message); one reply and a STOP.
DAYS = ((6, 1, 0, 1), (9, 0, 1, 2), (4, 2, 2, 1), (7, 1, 0, 1), (3, 0, 1, 3))
# Longer than a bar's label has room for: the chart cuts it.
LONG_REASON = "Sandbox: numbers ending 0000 are rejected"


def seed(variant: str) -> dict:
    """A consultant of the variant's own with five days of messages, replies and an opt-out."""
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from webapp.database import begin_write
    from webapp.extensions import db
    from webapp.models import AuditEvent, Message, Role, User

    session = db.session
    begin_write(session)
    role = session.scalar(sa.select(Role).where(Role.name == "consultant"))
    user = User(
        username=f"dash-{variant}",
        full_name=f"Dana Dashboard{variant.title()}",
        email=f"dash-{variant}@example.com",
        roles=[role],
    )
    user.set_password(PASSWORD)
    session.add(user)
    session.flush()
    # Two hours ago, in UTC, is on the same local day as now for all but the first hours of a day;
    # whole days back from it fall on the days before, whatever the server's zone.
    base = datetime.now(UTC) - timedelta(hours=2)
    total = 0
    last = None
    for back, (delivered, sent, failed, parts) in enumerate(DAYS):
        at = base - timedelta(days=back)
        states = ["delivered"] * delivered + ["sent"] * sent + ["failed"] * failed
        for state in states:
            last = Message(
                sender_id=user.id,
                to_e164="+61412000999",
                body="Hi there, a night shift this Friday?",
                # Not the sandbox, whose stand-in receipts would deliver the "sent" ones.
                provider="twilio",
                state=state,
                segments=parts,
                error_text=LONG_REASON if state == "failed" else None,
                created_at=at,
                # The gateway took all but the failed ones (their parts count); a message still
                # "sent" from an earlier day is shown as "Sent, no receipt".
                sent_at=None if state == "failed" else at,
            )
            session.add(last)
            total += 1
    session.flush()
    stop = Message(
        direction="in",
        sender_id=user.id,
        in_reply_to_id=last.id,
        from_e164="+61412000999",
        to_e164="+61400000000",
        body="STOP",
        provider="sandbox",
        state="received",
        created_at=base,
    )
    session.add(stop)
    session.flush()
    session.add(
        AuditEvent(
            action="consent.sms_withdrawn",
            subject_type="candidate",
            subject_id=1,
            details={"reply_id": stop.id, "source": "reply"},
            created_at=base,
        )
    )
    session.commit()
    return {"username": user.username, "messages": total}


def seeded(live_server, variant: str) -> dict:
    return run_seed(live_server, "tests.e2e.test_dashboard", variant)


def keyboard_sign_in(page, username: str) -> None:
    page.goto("/login")
    page.get_by_label("Username").press_sequentially(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")


def tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused element's text is `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == name:
            return
    raise AssertionError(f"Tab never reached “{name}”")


def test_the_dashboard_from_the_keyboard(page, live_server, js):
    made = seeded(live_server, "js" if js else "nojs")
    keyboard_sign_in(page, made["username"])
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    expect(page.locator("#total-messages")).to_have_text(str(made["messages"]))
    expect(page.locator("#total-opt-outs")).to_have_text("1")
    chart = page.get_by_role("img", name="Messages per day, by final state")
    expect(chart).to_be_visible()

    if js:
        screenshot(page, "dashboard")  # for docs/user-guide.md, its tables closed

    table = page.locator("#messages-data")
    expect(table).to_be_hidden()
    tab_to(page, "Show data: messages per day")
    page.keyboard.press("Enter")
    expect(table).to_be_visible()
    expect(table.locator("tfoot td").last).to_have_text(str(made["messages"]))
    delivered = sum(day[0] for day in DAYS)
    expect(table.locator("tfoot td").first).to_have_text(str(delivered))
    # The bars drawn add up to the same numbers.
    values = page.locator("#messages-chart rect[data-series=delivered]").evaluate_all(
        "rects => rects.map(r => Number(r.dataset.value))"
    )
    assert sum(values) == delivered
    no_receipt = sum(day[1] for day in DAYS[1:])  # sent a day or more ago, no receipt since
    expect(table.locator("tfoot td").nth(1)).to_have_text(str(no_receipt))
    parts = sum((day[0] + day[1]) * day[3] for day in DAYS)  # the failed ones' never went
    expect(page.locator("#total-parts")).to_have_text(str(parts))
    if js:  # axe runs in the page: only where scripts run
        check(page, "the dashboard")
        # Every bar's label starts inside its chart (28 characters of a wide font ran off it).
        lefts = page.locator("svg.chart text.bar-label").evaluate_all(
            "labels => labels.map(label => label.getBBox().x)"
        )
        assert lefts and min(lefts) >= 0, lefts

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the dashboard is {width} px wide on a phone"


@pytest.fixture
def page_errors():
    """A choice made while the one before is still loading aborts it (hx-sync "replace"): htmx
    logs those aborts, which are no error."""
    return unexpected


@pytest.mark.parametrize("js", [True])
def test_the_everyone_link_comes_and_goes_with_the_user_chosen(page, js):
    """It sat in the form, outside the results a choice swaps: with JavaScript on, choosing a user
    left no way back to everyone's figures (the page reloaded without JavaScript had it)."""
    sign_in(page, "lead")
    page.goto("/dashboard")
    everyone = page.get_by_role("link", name="Everyone", exact=True)
    user = page.get_by_label("User", exact=True)
    heading = page.locator("#results-heading")
    expect(everyone).to_have_count(0)

    arrow_to(page, user, "Casey Consultant")
    expect(heading).to_have_text("Casey Consultant’s last 30 days")
    expect(everyone).to_be_visible()
    arrow_to(page, user, "Everyone")
    expect(heading).to_have_text("Everyone’s last 30 days")
    expect(everyone).to_have_count(0)
    expect(user).to_be_focused()

    arrow_to(page, user, "Casey Consultant")
    expect(heading).to_have_text("Casey Consultant’s last 30 days")
    expect(everyone).to_be_visible()
    tab_to(page, "Everyone")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(heading).to_have_text("Everyone’s last 30 days")
    expect(everyone).to_have_count(0)


@pytest.mark.parametrize("js", [True])
def test_arrowing_past_users_loads_only_the_one_stopped_on(page, js):
    """The list asked for the figures on every arrow key, with no delay: four presses of ↓ made
    four requests, four redraws and four history entries on the way to one user."""
    sign_in(page, "lead")
    page.goto("/dashboard")
    user = page.get_by_label("User", exact=True)
    asked: list[str] = []
    page.on(
        "request",
        lambda request: (
            asked.append(request.url)
            if "/dashboard" in request.url and request.headers.get("hx-request")
            else None
        ),
    )
    history = page.evaluate("history.length")
    labels = [text.strip() for text in user.locator("option").all_inner_texts()]
    assert len(labels) > 4, labels

    user.focus()
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    expect(user.locator("option:checked")).to_have_text(labels[4])
    expect(page.locator("#results-heading")).to_have_text(f"{labels[4]}’s last 30 days")
    page.wait_for_timeout(700)  # longer than the delay: no late request for a user passed
    assert len(asked) == 1, asked
    assert page.evaluate("history.length") <= history + 1
    expect(user).to_be_focused()


if __name__ == "__main__":
    from webapp import create_app

    with create_app().app_context():
        print(json.dumps(seed(sys.argv[1])))
