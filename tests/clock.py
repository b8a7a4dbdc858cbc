"""A clock for tests that moves only when told, so a measured length is exact."""

from __future__ import annotations


class ManualClock:
    """Seconds that move only when told (`advance`); called, it reads the time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> str:
        """Move on by `seconds`; returns "" so a template can call it in an expression."""
        self.now += seconds
        return ""
