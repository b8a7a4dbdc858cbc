"""How the audit log writes a recorded value: plain text, with "—" for nothing."""

from __future__ import annotations

import pytest

from webapp.audit_log import as_text


@pytest.mark.parametrize(
    "value, shown",
    [
        (None, "—"),
        ("", "—"),  # a setting changed from empty read "originator:  → +61400000000"
        ("  ", "—"),
        ("+61400000000", "+61400000000"),
        (True, "yes"),
        (False, "no"),
        ([], "—"),
        (["AU", "NZ"], "AU, NZ"),
        ({"a": None}, "a: —"),
        (0, "0"),
        ("<b>x</b>", "<b>x</b>"),  # escaped where it is shown, never markup here
    ],
)
def test_a_recorded_value_reads_as_plain_text(value, shown):
    assert as_text(value) == shown
