"""Back to a Replies page put back from htmx's history: the unread count beside Replies is asked for
at once, not shown as it was when the page was left until the next poll a minute on.

    python -m tests.e2e.test_unread_after_back seed N   (a consultant and N replies, as JSON)
"""

from __future__ import annotations

import json
import re
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import sign_in
from tests.e2e.helpers import run_seed

REPLIES = 51  # one more than a page of the inbox holds: the oldest is alone on page 2


def seed_replies(count: int) -> dict:
    """A consultant of this module's own (its numbers apart from the other modules' setups) and
    `count` replies to their SMS to Nina, oldest first, written by the domain in one process."""
    from tests.e2e import conversation_seed

    made = conversation_seed.setup("js", 80)
    message = made["people"][0]["message"]
    made["replies"] = [
        conversation_seed.reply(message, f"Reply number {k}")["reply"] for k in range(count)
    ]
    return made


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_back_to_the_first_page_asks_for_the_unread_count_at_once(page, js, live_server):
    made = run_seed(live_server, "tests.e2e.test_unread_after_back", "seed", str(REPLIES))
    oldest = made["replies"][0]
    sign_in(page, made["username"])
    nav = page.get_by_role("navigation", name="Main")
    replies = nav.get_by_role("link", name=re.compile(r"^Replies"))
    expect(replies).to_have_text(f"Replies {REPLIES}")
    replies.click()
    expect(page.locator("#results-heading")).to_have_text("Replies to your messages")

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Older").click()
    expect(page.locator("#results-heading")).to_have_text("Replies to your messages, page 2")
    mark = page.locator(f"#reply-{oldest}").get_by_role("button", name=re.compile("^Mark read"))
    mark.focus()
    page.keyboard.press("Enter")
    unmark = page.locator(f"#reply-{oldest}").get_by_role("button", name=re.compile("^Mark unread"))
    expect(unmark).to_be_visible()
    expect(replies).to_have_text(f"Replies {REPLIES - 1}")

    page.go_back()

    expect(page.locator("#results-heading")).to_have_text("Replies to your messages")
    expect(page).to_have_url(re.compile(r"/sms/replies$"))
    # Well within the poll's minute: asked for as the page came back. Both copies of the
    # navigation (the folded Menu's too) follow.
    expect(replies).to_have_text(f"Replies {REPLIES - 1}", timeout=5_000)
    expect(page.locator(".unread-count")).to_have_text([str(REPLIES - 1)] * 2)


if __name__ == "__main__":
    from webapp import create_app

    with create_app().app_context():
        command, count = sys.argv[1:]
        assert command == "seed", command
        print(json.dumps(seed_replies(int(count))))
