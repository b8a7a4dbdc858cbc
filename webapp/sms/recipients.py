"""Decide, for each person picked for an SMS, whether they get it and if not why."""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import Any

OK = "ok"
NO_MOBILE = "no_mobile"
INVALID_NUMBER = "invalid_number"
OPTED_OUT = "opted_out"
BLOCKED_COUNTRY = "blocked_country"
DUPLICATE = "duplicate"

# Display order.
OUTCOMES = (OK, OPTED_OUT, BLOCKED_COUNTRY, INVALID_NUMBER, NO_MOBILE, DUPLICATE)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One person's result. `overridden` means they opted out but Ignore let them past that
    check."""

    person: Any
    outcome: str
    overridden: bool = False

    @property
    def included(self) -> bool:
        return self.outcome == OK


@dataclass(frozen=True)
class Analysis:
    outcomes: tuple[Outcome, ...]  # one per input person, in input order

    def included(self) -> list[Outcome]:
        return self.of(OK)

    def of(self, outcome: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.outcome == outcome]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for o in self.outcomes:
            counts[o.outcome] += 1
        return counts

    @property
    def opted_out(self) -> list[Any]:
        """Everyone who has opted out of SMS, including those Ignore let through."""
        return [o.person for o in self.outcomes if o.outcome == OPTED_OUT or o.overridden]


def analyse(
    people: Iterable[Any], blocked_regions: Container[str], *, ignore_opt_out: bool = False
) -> Analysis:
    """Give each person exactly one outcome, checking in a fixed order so the reason shown is
    stable.

    `blocked_regions` is the gateway's blocked set, or routing.Routes: each region then checked
    against the blocked list of the account its message would go through.

    Relies on the mobile_* fields computed by `phones.normalise` at write time, so nothing is
    parsed here.
    """
    seen: set[str] = set()
    outcomes: list[Outcome | None] = []
    # Let through by Ignore, by their place in `outcomes`: they claim a number only after
    # everyone who consented has, so Ignore adds people and never takes an SMS from one who said
    # yes (the opted-out first of two on a number made the consenting second a duplicate).
    overridden: list[tuple[int, Any]] = []
    for person in people:
        if not (person.mobile_raw or "").strip():
            result = NO_MOBILE
        elif not person.mobile_valid or not person.mobile_e164:
            result = INVALID_NUMBER
        elif person.mobile_region in blocked_regions:
            # Blocked and invalid come before consent: Ignore may override consent, never delivery.
            result = BLOCKED_COUNTRY
        elif not person.sms_consent:
            if not ignore_opt_out:
                result = OPTED_OUT
            else:
                overridden.append((len(outcomes), person))
                outcomes.append(None)
                continue
        # Only people who would actually be sent to claim a number, so an opted-out first
        # person never turns a consenting second one into a duplicate.
        elif person.mobile_e164 in seen:
            result = DUPLICATE
        else:
            seen.add(person.mobile_e164)
            result = OK
        outcomes.append(Outcome(person, result, False))
    for place, person in overridden:
        # One whose number went to someone else is a duplicate, not an opt-out let through.
        taken = person.mobile_e164 in seen
        seen.add(person.mobile_e164)
        outcomes[place] = Outcome(person, DUPLICATE, False) if taken else Outcome(person, OK, True)
    return Analysis(tuple(outcomes))
