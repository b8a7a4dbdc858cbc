"""The Quick reply under a record's conversation: one SMS to that one person, through the SMS
screen's own path (a draft, its recipient analysis, Send's batch and audit), once per form."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy.exc
import sqlalchemy.orm as so

from webapp import form_tokens, phones
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import Batch, ComposeDraft, User
from webapp.sms import alerts, compose, limits, merge, quiet_hours, recipients, routing, segments
from webapp.sms.people import PersonRow, load
from webapp.text import is_blank


@dataclass(frozen=True)
class Reach:
    """Whether an SMS typed now would reach the person, and if not why (an outcome of the SMS
    screen's recipient analysis)."""

    person: PersonRow
    outcome: str

    @property
    def ok(self) -> bool:
        return self.outcome == recipients.OK

    @property
    def opted_out(self) -> bool:
        return self.outcome == recipients.OPTED_OUT

    @property
    def possible(self) -> bool:
        """Whether some user could send it: only an opt-out can be overridden (Ignore)."""
        return self.ok or self.opted_out


def reach(
    session: so.Session, kind: str, person_id: int, blocked: frozenset[str] | routing.Routes
) -> Reach | None:
    """The person's outcome as the SMS screen would decide it; None when there is no such person."""
    people = load(session, kind, [person_id])
    if not people:
        return None
    [outcome] = recipients.analyse(people, blocked).outcomes
    return Reach(outcome.person, outcome.outcome)


def refusal(
    found: Reach,
    *,
    can_ignore: bool,
    self_withdrawn: bool,
    region_name: str | None = None,
    blocked_by: str | None = None,
) -> str:
    """Why the SMS cannot go to this person, as the form says it (and what would let it).

    `blocked_by`: an SMS account's refusal of the country (routing.Routes.refusal)."""
    person = found.person
    name = person.full_name
    if found.outcome == recipients.NO_MOBILE:
        return f"{name} has no mobile number. Add one on their record to send them an SMS."
    if found.outcome == recipients.INVALID_NUMBER:
        kind = phones.what_number(person.mobile_e164)
        if kind:  # a landline kept from before mobiles were checked for what they are
            return (
                f"{name}'s mobile number “{(person.mobile_raw or '').strip()}” is {kind}, not a "
                "mobile. Put their mobile on their record to send them an SMS."
            )
        return (
            f"{name}'s mobile number “{(person.mobile_raw or '').strip()}” is not a valid number. "
            "Correct it on their record to send them an SMS."
        )
    if found.outcome == recipients.BLOCKED_COUNTRY:
        if blocked_by:
            return f"{name} cannot be sent an SMS: {blocked_by[:1].lower()}{blocked_by[1:]}."
        where = region_name or person.mobile_region or "a country"
        return f"{name}'s mobile number is in {where}, which the SMS gateway will not serve."
    why = _why(self_withdrawn)
    if can_ignore:
        return (
            f"{name} has opted out of SMS ({why}). To send anyway, give a reason for ignoring "
            "opt-outs: it goes in the audit log."
        )
    return (
        f"{name} has opted out of SMS ({why}). Only a user allowed to ignore opt-outs can send "
        "to them."
    )


def _why(self_withdrawn: bool) -> str:
    return "they opted out themselves" if self_withdrawn else "SMS is not ticked in their Privacy"


def ignore_refused(found: Reach, *, self_withdrawn: bool, notice: str | None) -> str:
    """What the form says when its user asked to Ignore an opt-out but may no longer (the
    permission left their role while the form was open): nothing went, and what that leaves.

    `notice`: the form's refusal for this person as it now stands for them (None: none)."""
    said = "Your reply was not sent: you may no longer ignore SMS opt-outs."
    name = found.person.full_name
    if found.opted_out:
        return (
            f"{said} {name} has opted out of SMS ({_why(self_withdrawn)}), so only a user allowed "
            "to ignore opt-outs can send to them. Your text is kept below."
        )
    if found.ok:  # they opted in again meanwhile: no reason is needed now
        return f"{said} {name} can get SMS again: press Send reply to send it without a reason."
    return f"{said} {notice}" if notice else said


def count(person: PersonRow, body: str, sender: User) -> segments.SegmentCount:
    """The live counter: the message as this person would get it (merge fields filled in)."""
    return segments.count(merge.render(merge.parse(body), person, sender).text)


def gaps(person: PersonRow, body: str, sender: User) -> str | None:
    """Why a reply would reach its one person with a gap: a merge field with nothing in it for
    them ({{location}} on a record without one, {{client_name}} for a candidate). The SMS screen
    shows such gaps in its preview; this box has none, and the person is known, so the words are
    asked for instead. None when every field is filled (unknown ones are Send's to refuse)."""
    rendered = merge.render(merge.parse(body), person, sender)
    if not rendered.empty or rendered.unknown:
        return None
    yours = [name for name in rendered.empty if merge.FIELDS[name].is_sender]
    theirs = [name for name in rendered.empty if name not in yours]
    named = ", ".join("{{" + name + "}}" for name in theirs or yours)
    verb = "is" if len(theirs or yours) == 1 else "are"
    where = f"for {person.full_name}" if theirs else "on your Profile"
    return (
        f"{named} {verb} empty {where}, so the SMS would have a gap there: type the words instead."
    )


@dataclass(frozen=True)
class ReplyRequest:
    token: str
    body: str
    ignore_reason: str  # typed only to send to an opted-out person: its presence means Ignore


@dataclass(frozen=True)
class Sent:
    batch: Batch
    repeated: bool  # this form had sent it already (a double click, a resubmitted page)


def send(
    session: so.Session,
    sender: User,
    kind: str,
    person_id: int,
    request: ReplyRequest,
    *,
    provider: str,
    blocked: frozenset[str] | routing.Routes,
    self_withdrawn: bool = False,
    region_names: dict[str, str] | None = None,
    limit_settings: limits.LimitSettings | None = None,
    alert_settings: alerts.AlertSettings | None = None,
    quiet: quiet_hours.QuietSettings | None = None,
) -> Sent:
    """Queue the reply as a batch of one through compose.send (permissions, consent, country,
    merge fields, length, the Ignore audit, "sms.sent"), or return the batch this form's token
    made already.

    Raises FieldError (403 for a permission, 409 for a token that is not this form's) with nothing
    written but the draft.
    """
    if not form_tokens.ours(request.token):
        raise FieldError("This reply form is incomplete: reload the page and try again.")
    ignore = not is_blank(request.ignore_reason)  # a zero-width space alone is no reason
    compose.require_permission(sender, ignore)
    if is_blank(request.body):
        # Said here, not by Send's check, whose message offers a template: this box has no picker.
        raise FieldError("Type a reply.", "message")
    if problem := merge.unknown_problem(request.body, picker=False):
        raise FieldError(problem, "message")
    draft = _draft(session, sender, kind, person_id, request.token)
    existing = compose.batch_for(session, draft)
    if existing is not None:
        if existing.body != request.body:
            # Back to a page already sent from, its text edited: never drop the new text quietly.
            raise FieldError(
                "This form has sent its reply already, so this text was not sent. Press Send "
                "reply again to send it as another SMS.",
                "message",
                status=409,
            )
        return Sent(existing, repeated=True)
    state = compose.analyse_draft(session, draft, blocked, ignore)
    if not state.people:
        raise FieldError("This person no longer exists.", status=409)
    [outcome] = state.analysis.outcomes
    if not outcome.included:
        found = Reach(outcome.person, outcome.outcome)
        if found.opted_out and sender.can("sms.ignore_opt_out"):
            # The form says why above the box (the refusal as its notice): beside the reason
            # field only what to do, so the sentence is not shown, and read, twice.
            raise FieldError("Type the reason for ignoring the opt-out.", "ignore_reason")
        raise FieldError(
            refusal(
                found,
                can_ignore=sender.can("sms.ignore_opt_out"),
                self_withdrawn=self_withdrawn,
                region_name=(region_names or {}).get(outcome.person.mobile_region or ""),
                blocked_by=blocked.refusal(outcome.person.mobile_region)
                if isinstance(blocked, routing.Routes)
                else None,
            ),
            "form",
        )
    if problem := gaps(outcome.person, request.body, sender):
        raise FieldError(problem, "message")
    batch = compose.send(
        session,
        draft,
        sender,
        compose.SendRequest(body=request.body, ignore=ignore, ignore_reason=request.ignore_reason),
        provider=provider,
        blocked=blocked,
        limit_settings=limit_settings,  # a reply counts against the daily limits like any Send
        alert_settings=alert_settings,
        quiet=quiet,  # a reply in the person's night waits for their morning too
    )
    return Sent(batch, repeated=False)


def _draft(
    session: so.Session, sender: User, kind: str, person_id: int, token: str
) -> ComposeDraft:
    """The draft this form's token names: on the form's first post, a new one from
    compose.create_draft (which refuses a person who no longer exists) that takes the token.

    It keeps no selection digest, so Bulk SMS for this person never reopens it as an SMS screen.
    The token is unique: of two posts racing with one token, one names its draft with it and the
    other drops its own and reads that one.
    """
    begin_write(session)
    draft = compose.draft_by_token(session, token)
    if draft is None:
        made = compose.create_draft(session, sender, kind, [person_id])
        made.token, made.selection = token, None
        try:
            session.commit()
        except sqlalchemy.exc.IntegrityError:
            session.rollback()
            session.delete(made)
            session.commit()
        begin_write(session)
        draft = compose.draft_by_token(session, token)
    if (
        draft is None
        or draft.user_id != sender.id
        or draft.kind != kind
        or draft.person_ids != [person_id]
    ):
        raise FieldError(
            "This reply form belongs to another record or user: reload the page and type the "
            "reply again.",
            status=409,
        )
    return draft
