"""Create and edit Candidates and Client Contacts and change their Privacy, each change audited."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp import form_tokens
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models.activity import AuditEvent, Comment, audit, subject_name
from webapp.models.people import PRIVACY_FIELDS, Candidate, Client, ClientContact, name_key
from webapp.models.users import User
from webapp.people.kinds import KINDS, Kind
from webapp.phones import normalise
from webapp.sms import consent
from webapp.text import is_blank, visible


def get_person(session: so.Session, kind: str, person_id: int) -> Candidate | ClientContact | None:
    if kind not in KINDS.segments:
        return None
    return session.get(KINDS.by_segment(kind).model, person_id)


# A new record starts with these ticked or not (the Privacy section changes them afterwards).
NEW_PERSON_PRIVACY = {
    "sms_consent": True,
    "email_consent": True,
    "mail_consent": True,
    "privacy_statement_read": False,
}
# Audit sources of an SMS withdrawal that came from the person: their STOP reply (typed on /sandbox
# in a demo), or the gateway reporting their number as unsubscribed. → what ticking SMS overrides.
SELF_WITHDRAWALS = {"reply": "stop", "sandbox": "stop", "gateway": "gateway opt-out"}
# Every audit action whose changes can tick or untick a person's SMS box: a STOP or opt-out and its
# undoing (webapp.sms.consent), the Privacy section, and the record's creation or edit (snapshots).
SMS_CONSENT_ACTIONS = (
    "consent.sms_withdrawn",
    "consent.sms_given",
    "privacy.changed",
    "person.created",
    "person.edited",
)


class RestoreReasonRequired(FieldError):
    """Ticking SMS again over the person's own withdrawal needs a typed reason."""

    def __init__(self, withdrawal: Withdrawal):
        super().__init__(
            f"This person {withdrawal.how}: say why SMS may be ticked again (for example, when "
            "and how they asked for SMS again).",
            "sms_consent_reason",
        )
        self.withdrawal = withdrawal


# Ticking SMS again over the person's own withdrawal overrides it, as Ignore does on a send.
OVERRIDE_PERMISSION = "sms.ignore_opt_out"


class OverrideNotAllowed(FieldError):
    """Ticking SMS again over the person's own withdrawal by a user who may not ignore opt-outs
    (403): otherwise any user who edits records could undo a STOP and then send as usual."""

    def __init__(self, withdrawal: Withdrawal):
        super().__init__(
            f"Not saved: this person {withdrawal.how}, so only a user allowed to ignore opt-outs "
            "can tick SMS again. Untick SMS to save your other changes.",
            "sms_consent",
            status=403,
        )
        self.withdrawal = withdrawal


@dataclass(frozen=True)
class Withdrawal:
    """How and when a person withdrew SMS consent themselves."""

    source: str  # a key of SELF_WITHDRAWALS
    at: datetime
    overrides: str  # "stop" or "gateway opt-out"
    code: str | None = None  # the gateway's opt-out code

    @property
    def how(self) -> str:
        """What the person did, as the refusals say it."""
        return "replied STOP" if self.overrides == "stop" else "unsubscribed at the gateway"


def self_withdrawal(session: so.Session, person: Candidate | ClientContact) -> Withdrawal | None:
    """The person's own withdrawal when that is why their SMS box is unticked now, else None.

    The latest audit event that changed the SMS box decides: a STOP later overruled by a user who
    ticked it, or unticked it again themselves, no longer counts. However many other events the
    person has, only those that changed the box are read (the person's events by the subject index).
    """
    if person.sms_consent or person.id is None:
        return None
    query = _latest_consent_change(subject_name(person))
    return _withdrawal_in(session.scalars(query, {"subject_id": person.id}).first())


def _withdrawal_in(event: AuditEvent | None) -> Withdrawal | None:
    """The person's own withdrawal that `event`, their latest change of the SMS box, is; else
    None."""
    if event is None:
        return None
    details = event.details
    change = details["changes"]["sms_consent"]
    source = details.get("source")
    if (
        not (isinstance(change, list) and len(change) == 2 and change[1] is False)
        or event.action != "consent.sms_withdrawn"
        or source not in SELF_WITHDRAWALS
    ):
        return None
    code = details.get("code")
    return Withdrawal(
        source=source,
        at=event.created_at,
        overrides=SELF_WITHDRAWALS[source],
        code=str(code) if code is not None else None,
    )


def consent_changed_at(session: so.Session, person: Candidate | ClientContact) -> datetime | None:
    """When someone last changed the person's SMS box on their record (by any means), or None if
    nobody did. The record's creation is no change: its box was ticked or not from the start."""
    if person.id is None:
        return None
    query = _latest_consent_change(subject_name(person), CHANGES_AFTER_CREATION)
    event = session.scalars(query, {"subject_id": person.id}).first()
    return event.created_at if event is not None else None


CHANGES_AFTER_CREATION = tuple(
    action for action in SMS_CONSENT_ACTIONS if action != "person.created"
)


@cache
def _latest_consent_change(
    subject_type: str, actions: tuple[str, ...] = SMS_CONSENT_ACTIONS
) -> sa.Select:
    """The statement of a person's latest audit event of `actions` that changed their SMS box
    (bound: subject_id), built once for each kind of person: building a statement and its cache
    key cost more than running it (measured). Without the actor, which a withdrawal does not
    show."""
    return (
        sa.select(AuditEvent)
        .where(
            AuditEvent.subject_type == subject_type,
            AuditEvent.subject_id == sa.bindparam("subject_id"),
            *_consent_changes(actions),
        )
        .options(so.lazyload(AuditEvent.actor))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def _consent_changes(actions: tuple[str, ...] = SMS_CONSENT_ACTIONS) -> tuple:
    """The conditions of an audit event of `actions` that changed a person's SMS box."""
    return (
        AuditEvent.action.in_(actions),
        # A Privacy save or an edit may leave the SMS box alone.
        AuditEvent.details[("changes", "sms_consent")].as_string().is_not(None),
    )


@dataclass(frozen=True)
class WithdrawnNumber:
    """A number whose holder withdrew SMS consent themselves: a record given it carries that."""

    number: str  # E.164
    withdrawal: Withdrawal
    holder: str  # the record withdrawn, as the audit log names it: "candidate 12"

    @property
    def cause(self) -> dict[str, str]:
        """What the audit entry of a record kept opted out by it says (consent.set_for's cause)."""
        return {"source": self.withdrawal.source, "carried_from": self.holder}


# Numbers asked about in one statement: an import asks about a chunk's (2,000 rows), and one IN
# list of a whole file's could pass a statement's limit of parameters (PostgreSQL's 65,535).
NUMBERS_A_STATEMENT = 1_000


def withdrawn_numbers(session: so.Session, numbers: Iterable[str]) -> dict[str, WithdrawnNumber]:
    """Of these E.164 numbers, each that a record holds with its SMS box unticked by the person's
    own withdrawal (self_withdrawal): a STOP, a gateway's opt-out. Of several such records, the
    first candidate, else the first contact (by id).

    Asked for many at once (an import's chunk): for each kind and NUMBERS_A_STATEMENT numbers, one
    statement finds the unticked records with them and one their latest changes of the box."""
    wanted = list(dict.fromkeys(number for number in numbers if number))
    found: dict[str, WithdrawnNumber] = {}
    for start in range(0, len(wanted), NUMBERS_A_STATEMENT):
        part = wanted[start : start + NUMBERS_A_STATEMENT]
        for kind in KINDS:
            model = kind.model
            holders = dict(
                session.execute(
                    sa.select(model.id, model.mobile_e164)
                    .where(model.mobile_e164.in_(part), sa.not_(model.sms_consent))
                    .order_by(model.id)
                ).all()
            )
            if not holders:
                continue
            latest = (
                sa.select(sa.func.max(AuditEvent.id))
                .where(
                    AuditEvent.subject_type == kind.singular,
                    AuditEvent.subject_id.in_(list(holders)),
                    *_consent_changes(),
                )
                .group_by(AuditEvent.subject_id)
            )
            events = session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.id.in_(latest))
                .options(so.lazyload(AuditEvent.actor))
            )
            withdrawals = {event.subject_id: _withdrawal_in(event) for event in events}
            for person_id, number in holders.items():  # by id
                withdrawal = withdrawals.get(person_id)
                if withdrawal is not None and number not in found:
                    holder = f"{kind.singular} {person_id}"
                    found[number] = WithdrawnNumber(number, withdrawal, holder)
    return found


def change_privacy(
    session: so.Session,
    person: Candidate | ClientContact,
    actor: User,
    loaded: dict[str, bool],
    submitted: dict[str, bool],
    *,
    restore_reason: str = "",
    reason: str = "edited on the record",
) -> dict:
    """Apply the boxes the user changed (`submitted` differs from `loaded`, the values their form
    was opened with), audited; return what changed ({field: [old, new]}).

    A box left as loaded is never written, so a form opened before a STOP cannot undo it. A box
    holds one of two values, so one the user changed is stored either as loaded (written now) or
    as submitted (another tab, or a STOP, made the same change: nothing to write, and no clash).
    Raises, changing nothing, OverrideNotAllowed when SMS would be ticked again over the person's
    own STOP (or the gateway's opt-out) by an `actor` who may not ignore opt-outs, and
    RestoreReasonRequired when without `restore_reason`, which is otherwise audited with what it
    overrides.
    """
    changed = [
        field
        for field in PRIVACY_FIELDS
        if field in submitted and field in loaded and submitted[field] != loaded[field]
    ]
    if not changed:
        return {}
    # Read the stored values under a write lock, so a STOP that lands while we decide waits for us
    # (or we for it) instead of being overwritten.
    begin_write(session)
    session.refresh(person, with_for_update=True)
    changed = [field for field in changed if getattr(person, field) != submitted[field]]
    if not changed:
        session.rollback()
        return {}
    details: dict = {"reason": reason}
    if "sms_consent" in changed and submitted["sms_consent"]:
        withdrawal = self_withdrawal(session, person)
        if withdrawal is not None:
            if not actor.can(OVERRIDE_PERMISSION):
                session.rollback()
                raise OverrideNotAllowed(withdrawal)
            if is_blank(restore_reason):
                session.rollback()
                raise RestoreReasonRequired(withdrawal)
            details = {"reason": restore_reason.strip(), "overrides": withdrawal.overrides}
    changes = {}
    for field in changed:
        changes[field] = [getattr(person, field), submitted[field]]
        setattr(person, field, submitted[field])
    audit(session, actor, "privacy.changed", person, changes=changes, **details)
    session.commit()
    return changes


@dataclass
class PersonData:
    """What the add/edit form submits, already validated."""

    values: dict
    mobile: str | None
    client_name: str | None = None


# How many people already stored an Add refused for names (more are rare: one is enough to stop).
SAME_PEOPLE_SHOWN = 5


class AlreadyStored(FieldError):
    """An Add of someone whose mobile or email a person of the same kind already has, or an Edit
    giving a person such a mobile or email (409): refused once, naming them, until the user
    confirms they are someone else."""

    def __init__(self, noun: str, people: list[Candidate | ClientContact], adding: bool = True):
        names = ", ".join(person.full_name for person in people)
        done, button = ("added", "Add anyway") if adding else ("saved", "Save anyway")
        super().__init__(
            f"Not {done}: a {noun} with this mobile or email is already stored ({names}). "
            f"Open them, or press {button} if this is someone else.",
            status=409,
        )
        self.people = people


@dataclass(frozen=True)
class Added:
    """What an Add did: the person it added, or the one this form's token added before
    (`repeated`: the same submission sent again, nothing new written)."""

    person: Candidate | ClientContact
    repeated: bool = False


def add_person(
    session: so.Session,
    kind: str,
    data: PersonData,
    actor: User,
    default_region: str,
    *,
    token: str = "",
    confirmed: bool = False,
) -> Added:
    """Add a person from the Add form, once per form: a repeat of a submission (its `token`, kept
    in the creation's audit event, already added someone) returns that person instead. Unless
    `confirmed`, raises AlreadyStored, writing nothing, when a person of the kind already has the
    mobile (E.164) or email typed.

    The token is looked up and the person added under one lock (SQLite's write lock; on
    PostgreSQL the actor's row, FOR UPDATE), so two posts of one form racing add one person."""
    of_kind = KINDS.by_segment(kind)
    form_tokens.lock_adding(session, actor)
    token = form_tokens.ours(token)
    if token:
        before = form_tokens.added_with(
            session, actor, token, "person.created", of_kind.model, of_kind.singular
        )
        if before is not None:
            session.rollback()
            return Added(before, repeated=True)
    if not confirmed:
        same = same_people(session, of_kind, normalise(data.mobile, default_region).e164, data)
        if same:
            session.rollback()
            raise AlreadyStored(of_kind.noun, same)
    return Added(save_person(session, kind, None, data, actor, default_region, form_token=token))


def same_people(
    session: so.Session,
    kind: Kind,
    mobile_e164: str | None,
    data: PersonData,
    leaving_out: int | None = None,
) -> list[Candidate | ClientContact]:
    """People of `kind` already stored with this mobile (E.164) or the email typed (compared as
    searched: case folded), but the one of id `leaving_out`, oldest first, at most
    SAME_PEOPLE_SHOWN."""
    model = kind.model
    email = (data.values.get("email") or "").strip()
    matches = []
    if mobile_e164:
        matches.append(model.mobile_e164 == mobile_e164)
    if email:
        matches.append(model.email_key == name_key(email))
    if not matches:
        return []
    query = sa.select(model).where(sa.or_(*matches))
    if leaving_out is not None:
        query = query.where(model.id != leaving_out)
    return list(session.scalars(query.order_by(model.id).limit(SAME_PEOPLE_SHOWN)))


def edit_person(
    session: so.Session,
    kind: str,
    person: Candidate | ClientContact,
    data: PersonData,
    actor: User,
    default_region: str,
    *,
    confirmed: bool = False,
) -> Candidate | ClientContact:
    """Save an Edit of `person`, audited. Unless `confirmed`, raises AlreadyStored, writing
    nothing, when the edit gives them a mobile (E.164) or email another person of the kind
    already has: a reply from a shared number could not be matched to one of them, and a STOP
    from it would untick SMS on them all. A mobile or email left as it was is not checked again,
    so people already sharing one can still have their other details saved."""
    of_kind = KINDS.by_segment(kind)
    if not confirmed:
        mobile = None
        if (data.mobile or "").strip() != (person.mobile_raw or "").strip():
            mobile = normalise(data.mobile, default_region).e164
        email = (data.values.get("email") or "").strip()
        if email and name_key(email) == person.email_key:
            email = ""
        new = PersonData(values={"email": email}, mobile=None)
        same = same_people(
            session,
            of_kind,
            mobile if mobile != person.mobile_e164 else None,
            new,
            leaving_out=person.id,
        )
        if same:
            session.rollback()
            raise AlreadyStored(of_kind.noun, same, adding=False)
    return save_person(session, kind, person, data, actor, default_region)


def save_person(
    session: so.Session,
    kind: str,
    person: Candidate | ClientContact | None,
    data: PersonData,
    actor: User,
    default_region: str,
    form_token: str = "",
) -> Candidate | ClientContact:
    """Create (person None) or update a person from form data, audited, in one transaction (a
    creation's audit event keeps the Add form's `form_token`: see add_person). An update that
    changes nothing writes nothing, an audit entry neither."""
    created = person is None
    of_kind = KINDS.by_segment(kind)
    if person is None:
        person = of_kind.model(**NEW_PERSON_PRIVACY)
        session.add(person)
    before = _snapshot(person, of_kind) if not created else {}
    for field, value in data.values.items():
        setattr(person, field, value)
    renumbered = created or (data.mobile or "").strip() != (person.mobile_raw or "").strip()
    if renumbered:
        # Unchanged, the stored number stands as it was read (in the region of whoever typed it).
        person.set_mobile(data.mobile, default_region)
    if of_kind.has_client:
        person.client = _client_named(session, data.client_name, person.client)
    session.flush()
    after = _snapshot(person, of_kind)
    changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    if not created and not changes:
        # Saved as it was (or sent twice): nothing written, and no "Record edited" saying nothing.
        session.rollback()
        return person
    once = {form_tokens.AUDITED_AS: form_token} if created and form_token else {}
    audit(
        session,
        actor,
        "person.created" if created else "person.edited",
        person,
        changes=changes,
        **once,
    )
    if renumbered:
        _carry_withdrawal(session, person, actor)
    session.commit()
    return person


def _carry_withdrawal(session: so.Session, person: Candidate | ClientContact, actor: User) -> None:
    """A number whose owner replied STOP (or opted out at the gateway) on another record stays
    opted out on this one: otherwise Add anyway, or an Edit, made a ticked record to send to it,
    and its own Privacy box untouched by any STOP. Audited as that withdrawal, so ticking SMS
    again needs the same authority (change_privacy)."""
    if not person.sms_consent or not person.mobile_e164:
        return
    withdrawn = withdrawn_numbers(session, [person.mobile_e164]).get(person.mobile_e164)
    if withdrawn is not None:
        carry_withdrawal(session, [person], withdrawn, actor)


def carry_withdrawal(
    session: so.Session,
    people: list[Candidate | ClientContact],
    withdrawn: WithdrawnNumber,
    actor: User | None,
) -> None:
    """Untick SMS on `people`, ticked records given the `withdrawn` number (by a save, an import),
    as that withdrawal: each audited consent.sms_withdrawn with its source and the record it came
    from (carried_from). The caller commits."""
    consent.set_for(
        session, people, False, number=withdrawn.number, actor=actor, cause=withdrawn.cause
    )


def _snapshot(person, kind: Kind) -> dict:
    snap = {field: getattr(person, field) for field in kind.fields + tuple(PRIVACY_FIELDS)}
    snap["mobile"] = person.mobile_raw
    if kind.has_client:
        snap["client"] = person.client.name if person.client else None
    return snap


def _client_named(
    session: so.Session, name: str | None, current: Client | None = None
) -> Client | None:
    """The client a contact's typed Client names: one of that name and key, else of that key
    (its spelling may differ, "Muller AG" for "Müller AG"), else a new one. Of several with the
    key, the one spelled as typed, then the contact's own, then the oldest: an edit of another
    field never moves a contact to another client.

    A name that shows nothing (a zero-width space alone: is_blank) is no client, and a new one is
    named as it shows (webapp.text.visible): "Acme" with a zero-width space pasted in is Acme. One
    stored before with such a character is still found by its name as posted, so its contacts'
    edits keep it."""
    if name is None or is_blank(name):
        return None
    posted, typed = name.strip(), visible(name)
    mine = current.id if current is not None and current.id is not None else 0
    first = sa.case(
        (Client.name == posted, 0), (Client.name == typed, 1), (Client.id == mine, 2), else_=3
    )
    client = session.scalar(
        sa.select(Client)
        .where(Client.name_key.in_({name_key(typed), name_key(posted)}))
        .order_by(first, Client.id)
        .limit(1)
    )
    return client or Client(name=typed)


def comments_for(
    session: so.Session, person: Candidate | ClientContact, limit: int = 100
) -> list[Comment]:
    query = _latest_comments(KINDS.of(person).person_column, limit)
    return list(session.scalars(query, {"person_id": person.id}))


@cache
def _latest_comments(person_column: str, limit: int) -> sa.Select:
    """The statement of a person's latest comments with their authors (bound: person_id), built
    once for each kind of person."""
    column = getattr(Comment, person_column)
    return (
        sa.select(Comment)
        .where(column == sa.bindparam("person_id"))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
