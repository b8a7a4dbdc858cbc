"""A form pressed twice on a slow network, with JavaScript on and off: with it, the second press
sends nothing while the first post is on its way (shortcuts.js); without it, both go, and the
server answers the second as the first (a password change said "That is not your current
password." and counted a failed sign-in, though the change had worked)."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in
from tests.e2e.test_slow_network import enter_twice_slowly
from tests.e2e.test_two_factor import create_user

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "a-new-password-of-mine"


def test_change_password_pressed_twice_says_it_is_changed(page, js, live_server):
    username = f"twice{random.randrange(10**6):06d}"
    create_user(live_server, username, "consultant")
    sign_in(page, username)
    page.goto("/profile/password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    posts = enter_twice_slowly(page)

    expect(page.get_by_role("heading", level=1)).to_have_text("Your profile", timeout=20_000)
    expect(page.locator(".flashes")).to_contain_text("Your password is changed")
    expect(page.locator("body")).not_to_contain_text("not your current password")
    assert len(posts) == (1 if js else 2)
