"""Times in the reader's zone in a real browser, JavaScript on and off: a consultant chooses a Time
zone on Profile by keyboard and Sent, Replies, the batch page and the conversation show their
seeded UTC times in it, across a daylight-saving change; the administrator's Settings zone
applies to a user who has chosen none."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, sign_in

pytestmark = pytest.mark.e2e

# New Zealand's and Sydney's clocks go back an hour on 5 April 2026 (3 am daylight time becomes
# 2 am standard time): 13:30 UTC is before the change in Auckland, 14:30 UTC after it, so the
# batch and the reply an hour later read the same wall-clock time with different abbreviations.
SENT_AT = "2026-04-04 13:30:00"
REPLIED_AT = "2026-04-04 14:30:00"
# One desk per test and JavaScript setting, numbered clear of test_sent_replies's (from 0).
DESKS = {
    ("own", "js"): 40,
    ("own", "nojs"): 41,
    ("organisation", "js"): 42,
    ("organisation", "nojs"): 43,
}
# tests/e2e/conversation_seed.py's steps, all desks in one process: one app start, not eight.
SEED = """
import json, sys
from tests.e2e import conversation_seed as seed
from webapp import create_app
made = {}
with create_app().app_context():
    for key, variant, n in json.loads(sys.argv[1]):
        desk = seed.setup(variant, n)
        answer = seed.reply(desk["people"][0]["message"], "Yes, Friday is fine")
        made[key] = desk | answer
print(json.dumps(made))
"""


@pytest.fixture(scope="module")
def desks(live_server) -> dict:
    """For each of DESKS: a consultant of its own (no zone chosen), their batch to two
    candidates sent at SENT_AT, and Nina's reply received at REPLIED_AT."""
    wanted = [[f"{test}-{variant}", variant, n] for (test, variant), n in DESKS.items()]
    done = subprocess.run(
        [sys.executable, "-c", SEED, json.dumps(wanted)],
        cwd=ROOT,
        env={**live_server.env, "EMBEDDED_WORKER": "0"},
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    made = json.loads(done.stdout.strip().splitlines()[-1])
    with sqlite3.connect(live_server.database, timeout=10) as connection:
        for desk in made.values():
            connection.execute(
                "UPDATE batches SET created_at = ? WHERE id = ?", (SENT_AT, desk["batch"])
            )
            # Sent when made: the history shows when a message left (sent_at).
            connection.execute(
                "UPDATE messages SET created_at = ?, sent_at = ? WHERE batch_id = ?",
                (SENT_AT, SENT_AT, desk["batch"]),
            )
            connection.execute(
                "UPDATE messages SET created_at = ? WHERE id = ?", (REPLIED_AT, desk["reply"])
            )
    return made


def tab_to(page, target, limit: int = 20) -> None:
    """Press Tab until `target` (a locator) has the focus: the fields between may change."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def times_on_pages(page, desk: dict) -> dict[str, str]:
    """The seeded batch's and reply's times as Sent, Replies, the batch page and Nina's
    conversation show them."""
    nina = desk["people"][0]
    page.goto("/sms/sent")
    sent = page.locator(f"#batch-{desk['batch']} time").inner_text()
    page.goto("/sms/replies")
    replied = page.locator(f"#reply-{desk['reply']} time").inner_text()
    page.goto(f"/sms/batches/{desk['batch']}")
    batch = page.locator("dt:text-is('Sent at') + dd").inner_text()
    page.goto(f"/candidates/{nina['id']}")
    thread = page.locator("#thread")
    out = thread.locator("li.sms-out", has_text="night shift").locator(".history-meta").first
    back = thread.locator("li", has_text="Yes, Friday is fine").locator(".history-meta").first
    return {
        "sent": sent,
        "replied": replied,
        "batch": batch,
        "thread sent": out.inner_text(),
        "thread reply": back.inner_text(),
    }


def test_my_time_zone_chosen_on_profile_by_keyboard_shows_everywhere(page, js, desks):
    desk = desks["own-js" if js else "own-nojs"]
    sign_in(page, desk["username"])
    page.goto("/profile")
    page.get_by_text("Office", exact=True).click()
    page.keyboard.press("Tab")
    zone = page.get_by_label("Time zone", exact=True)
    expect(zone).to_be_focused()
    expect(zone).to_have_value("")
    page.keyboard.type("Pacific/Auckland")
    page.keyboard.press("Tab")
    save = page.get_by_role("button", name="Save profile")
    expect(save).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".flashes")).to_contain_text("Your profile is saved.")
    expect(page.get_by_label("Time zone", exact=True)).to_have_value("Pacific/Auckland")

    shown = times_on_pages(page, desk)
    assert shown["sent"] == "5 Apr 2026, 2:30 am NZDT"
    assert shown["replied"] == "5 Apr 2026, 2:30 am NZST"
    assert shown["batch"] == "5 Apr 2026, 2:30 am NZDT"
    assert "5 Apr 2026, 2:30 am NZDT" in shown["thread sent"]
    assert "5 Apr 2026, 2:30 am NZST" in shown["thread reply"]
    expect(page.locator("body")).not_to_contain_text("AEDT")


def test_the_organisation_zone_applies_to_a_user_without_their_own(
    browser, live_server, js, page, desks
):
    desk = desks["organisation-js" if js else "organisation-nojs"]
    sign_in(page, desk["username"])
    page.goto("/sms/sent")
    # Nobody has chosen a zone yet: TIMEZONE's default, Sydney (still on daylight time).
    expect(page.locator(f"#batch-{desk['batch']} time")).to_have_text("5 Apr 2026, 12:30 am AEDT")

    admin = browser.new_context(base_url=live_server.url, java_script_enabled=js)
    admin.set_default_timeout(10_000)
    try:
        settings = admin.new_page()
        sign_in(settings, "admin")
        settings.goto("/admin/settings")
        settings.get_by_text("Address for unmatched replies", exact=True).click()
        tab_to(settings, settings.get_by_label("Time zone", exact=True))
        settings.keyboard.press("Control+A")
        settings.keyboard.type("Australia/Perth")
        tab_to(settings, settings.get_by_role("button", name="Save settings"))
        settings.keyboard.press("Enter")
        expect(settings.get_by_label("Time zone", exact=True)).to_have_value("Australia/Perth")

        shown = times_on_pages(page, desk)
        assert shown["sent"] == "4 Apr 2026, 9:30 pm AWST"
        assert shown["replied"] == "4 Apr 2026, 10:30 pm AWST"
        assert shown["batch"] == "4 Apr 2026, 9:30 pm AWST"
        assert "4 Apr 2026, 9:30 pm AWST" in shown["thread sent"]
        assert "4 Apr 2026, 10:30 pm AWST" in shown["thread reply"]
    finally:
        admin.close()
        # The other browser tests read times in the default zone: put it back.
        with sqlite3.connect(live_server.database, timeout=10) as connection:
            connection.execute("DELETE FROM settings WHERE key = 'timezone'")
