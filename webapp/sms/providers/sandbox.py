"""A gateway for demos and tests that never touches the network.

Rule, by the recipient's E.164 number:

- ending in `0000`: Rejected (reason "failed"), to show a permanent failure;
- ending in `9999`: Unknown, as if the gateway timed out after taking the request;
- any other number: Accepted with provider id `sandbox-<uuid>`.

A lookup finds every message: the sandbox "took" the ones that timed out, so reconciliation turns
them `sent` (and then `delivered`), as it would with a real gateway that answered too late.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from . import Accepted, Enquiry, Found, LookupResult, OutboundSms, Rejected, SendResult, Unknown

# How the sandbox's message ids begin: `sandbox-<uuid>` for what it sent, `sandbox-in-…` for the
# replies its page makes up. An SMS account's message the sandbox sent is known by it.
ID_PREFIX = "sandbox-"


class Sandbox:
    name = "sandbox"

    def send(self, message: OutboundSms) -> SendResult:
        if message.to_e164.endswith("0000"):
            return Rejected("sandbox", "Sandbox: numbers ending 0000 are rejected", "failed")
        if message.to_e164.endswith("9999"):
            return Unknown("Sandbox: numbers ending 9999 time out")
        return Accepted(provider_message_id=f"{ID_PREFIX}{message.uuid}")

    def lookup(
        self, enquiries: Sequence[Enquiry], taken: Collection[str] = ()
    ) -> dict[str, LookupResult]:
        return {e.uuid: Found("sent", f"{ID_PREFIX}{e.uuid}") for e in enquiries}

    def close(self) -> None:
        pass
