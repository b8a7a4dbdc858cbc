"""Loopback HTTP fakes of the SMS gateways (SMS Central, Twilio), with fault injection."""

from .server import (
    FakeServer,
    Fault,
    Recorded,
    Reply,
    blackhole,
    body,
    http_status,
    refused_url,
    reset,
    timeout,
)
from .smscentral import FakeSmsCentral
from .twilio import FakeTwilio, twilio_error

__all__ = [
    "FakeServer",
    "FakeSmsCentral",
    "FakeTwilio",
    "Fault",
    "Recorded",
    "Reply",
    "blackhole",
    "body",
    "http_status",
    "refused_url",
    "reset",
    "timeout",
    "twilio_error",
]
