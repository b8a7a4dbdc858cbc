"""Quiet hours: the organisation's window (QUIET_HOURS, e.g. 20:00-08:00) in which no message
reaches a recipient, read in the recipient's local time, and when a message due in it may go.

API fixed for issue 21; the body is being written (a planner of None means quiet hours are off).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any

import sqlalchemy.orm as so

from webapp.models import User
from webapp.sms.outbox import QuietUntil


@dataclass(frozen=True)
class Window:
    """From `start` to `end` in local time; start after end means across midnight."""

    start: time
    end: time


@dataclass(frozen=True)
class QuietSettings:
    """What the environment says: QUIET_HOURS (None: off) and the organisation's zone."""

    window: Window | None = None
    organisation_zone: str = "Australia/Sydney"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> QuietSettings:
        return cls(None, config.get("TIMEZONE") or "Australia/Sydney")


def planner(session: so.Session, sender: User, settings: QuietSettings | None) -> QuietUntil | None:
    """When quiet hours end for each number, for messages `sender` sends; None when they are off
    (no window stored on the Settings page, none in the environment)."""
    return None
