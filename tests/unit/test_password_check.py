"""Checking a password against a stored hash: a hash no password matches takes a real check's
time too, so how long a wrong password takes does not tell which accounts have one."""

from __future__ import annotations

import pytest

from webapp.models import User, users
from webapp.users.oidc import UNUSABLE_PASSWORD_PREFIX


@pytest.fixture
def hashes_checked(monkeypatch):
    """The method of each hash werkzeug checked a password against, through our module's
    reference to check_password_hash ("" for one it refused unread)."""
    seen: list[str] = []
    real = users.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        parts = pwhash.split("$")
        seen.append(parts[0] if len(parts) == 3 else "")
        return real(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", counting)
    return seen


def with_password(password: str) -> User:
    user = User(username="casey")
    user.set_password(password)
    return user


def test_a_wrong_password_is_one_real_check(hashes_checked):
    assert not with_password("right-password-1").check_password("wrong-password-1")
    assert hashes_checked == [users.PASSWORD_HASH_METHOD]
    assert with_password("right-password-1").check_password("right-password-1")


@pytest.mark.parametrize(
    "stored",
    [
        UNUSABLE_PASSWORD_PREFIX + "0123456789abcdef",  # single sign-on's accounts
        UNUSABLE_PASSWORD_PREFIX + "a$b$c",
        "no-dollar-signs",
        "",
        "unknown-method$salt$hash",
        "scrypt:not-a-number$salt$hash",
    ],
)
def test_an_unusable_hash_matches_nothing_after_a_real_check(hashes_checked, stored):
    user = User(username="kim.sso", password_hash=stored)
    assert user.check_password("any-password-at-all") is False
    # The same work as a wrong password against a real hash: not an answer at once.
    assert hashes_checked[-1:] == [users.PASSWORD_HASH_METHOD]


def test_single_sign_on_marks_its_hashes_unusable():
    assert UNUSABLE_PASSWORD_PREFIX.startswith(users.UNUSABLE_PASSWORD_MARK)
