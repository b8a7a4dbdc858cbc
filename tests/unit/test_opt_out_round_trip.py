"""The opt-out line put after a commercial message's text, and taken off again for editing."""

from __future__ import annotations

import pytest

from webapp.sms.opt_out_line import with_line, without_line

LINE = "Reply STOP to opt out"


@pytest.mark.parametrize("typed", ["Hi {{first_name}}, a shift on Monday?", "Two\nlines", "x"])
def test_the_line_taken_off_gives_back_what_was_typed(typed):
    assert without_line(with_line(typed, True, LINE), True, LINE) == typed


def test_a_text_that_is_not_commercial_or_lacks_the_line_is_left_as_it_is():
    sent = f"Hi there\n{LINE}"
    assert without_line(sent, False, LINE) == sent
    assert without_line("Hi there", True, LINE) == "Hi there"
    assert without_line(f"Hi there {LINE}", True, LINE) == f"Hi there {LINE}"
    assert without_line(sent, True, None) == sent
