"""Retry-After values that float() reads but are no wait (NaN, infinities) are no Retry-After: the
message waits our own backoff, which is always a finite number of seconds."""

from __future__ import annotations

import math

import pytest

from webapp.sms.outbox import BACKOFF_CAP, backoff
from webapp.sms.providers import retry_after


@pytest.mark.parametrize("value", ["NaN", "nan", "-nan", "inf", "-inf", "Infinity", "1e999"])
def test_a_retry_after_that_is_no_finite_number_is_none(value):
    assert retry_after({"Retry-After": value}) is None


def test_a_large_retry_after_is_read_and_the_wait_capped():
    assert retry_after({"Retry-After": "1e300"}) == 1e300
    assert backoff(1, 1e300) == BACKOFF_CAP


@pytest.mark.parametrize("seconds", [math.nan, math.inf])
def test_backoff_is_always_a_finite_wait(seconds):
    assert 0 < backoff(1, seconds) <= BACKOFF_CAP
