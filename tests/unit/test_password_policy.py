"""The password policy: length, variety, and no well-known passwords whatever their case."""

from __future__ import annotations

import pytest

from webapp.users.accounts import COMMON_PASSWORDS, password_problem


@pytest.mark.parametrize(
    "password", ["password123456", "QWERTYUIOP12", "Welcome12345", "1q2w3e4r5t6y"]
)
def test_common_passwords_are_refused_in_any_case(password):
    assert (
        password_problem(password)
        == "That password is one of the most common ones; choose another."
    )


def test_every_listed_password_is_refused():
    assert all(password_problem(p) is not None for p in COMMON_PASSWORDS)
    assert len(COMMON_PASSWORDS) >= 30


@pytest.mark.parametrize(
    "password", ["sms-desk-demo", "correct-horse-battery", "Tangerine-Kite-42"]
)
def test_ordinary_long_passwords_pass(password):
    assert password_problem(password) is None


def test_the_older_rules_still_hold():
    assert "at least" in password_problem("short")
    assert "repeat" in password_problem("abababababab")
