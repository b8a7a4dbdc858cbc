"""A gateway for demos and tests that never touches the network.

Rule, by the recipient's E.164 number:

- ending in `0000`: Rejected (reason "failed"), to show a permanent failure;
- ending in `9999`: Unknown, as if the gateway timed out after taking the request;
- any other number: Accepted with provider id `sandbox-<uuid>`.
"""

from __future__ import annotations

from . import Accepted, OutboundSms, Rejected, SendResult, Unknown


class Sandbox:
    name = "sandbox"

    def send(self, message: OutboundSms) -> SendResult:
        if message.to_e164.endswith("0000"):
            return Rejected("sandbox", "Sandbox: numbers ending 0000 are rejected", "failed")
        if message.to_e164.endswith("9999"):
            return Unknown("Sandbox: numbers ending 9999 time out")
        return Accepted(provider_message_id=f"sandbox-{message.uuid}")

    def close(self) -> None:
        pass
