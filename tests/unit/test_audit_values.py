"""How the audit log writes a recorded value: plain text, with "—" for nothing."""

from __future__ import annotations

import pytest

from webapp.audit_log import as_text, describe


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


def test_a_daily_limit_of_0_reads_no_limit():
    details = describe(
        "settings.changed",
        {
            "changes": {
                "role_daily_limits": [{"consultant": 100}, {"consultant": 0, "team-leader": 5}],
                "org_daily_limit": [0, 20000],
                "default_region": ["", 0],  # not a limit: a 0 elsewhere is shown as it is
            }
        },
    )
    assert [(c.label, c.old, c.new) for c in details.changes] == [
        ("role daily limits", "consultant: 100", "consultant: no limit; team-leader: 5"),
        ("org daily limit", "no limit", "20000"),
        ("default region", "—", "0"),
    ]
    own = describe("user.daily_limit_changed", {"username": "casey", "old": 0, "new": None})
    assert own.lines == (("username", "casey"), ("old", "no limit"), ("new", "—"))
