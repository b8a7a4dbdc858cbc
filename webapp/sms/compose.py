"""The SMS screen's work: drafts of who is chosen, analysis, preview, and Send in one
transaction."""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo

import sqlalchemy as sa
import sqlalchemy.exc
import sqlalchemy.orm as so

from webapp import form_tokens, times
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import Batch, Comment, ComposeDraft, Message, SmsTemplate, User, audit
from webapp.models.base import utcnow
from webapp.people.kinds import KINDS
from webapp.sms import (
    alerts,
    confirmation,
    limits,
    merge,
    opt_out_line,
    quiet_hours,
    routing,
    segments,
)
from webapp.sms.outbox import Outgoing, enqueue
from webapp.sms.people import PersonRow, load
from webapp.sms.recipients import BLOCKED_COUNTRY, INVALID_NUMBER, NO_MOBILE, Analysis, analyse
from webapp.text import is_blank, plain_text_problem

MAX_RECIPIENTS = 50_000
MAX_CHARACTERS = 1_600  # Twilio's limit for one message body; SMS Central joins parts up to it too.
MAX_REASON = 500
# People an Ignore audit entry names one by one; beyond, it records their count and ids only.
MAX_AUDIT_PEOPLE = 5_000
MAX_COMMENT = 2_000
# The Comment text is copied onto every recipient's record: one Send may not store more than this.
MAX_COMMENT_TOTAL = 1_000_000
DRAFT_LIFETIME = timedelta(hours=24)


def _chosen(session: so.Session, kind: str, ids: Sequence[int]) -> list[int]:
    """The ids chosen, each once and in order; refused when empty, too many, or gone."""
    if kind not in KINDS.segments:
        raise FieldError("Choose candidates or client contacts.", "kind")
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise FieldError("Tick at least one person (or Select all) before Bulk SMS.", "ids")
    if len(wanted) > MAX_RECIPIENTS:
        raise FieldError(
            f"At most {MAX_RECIPIENTS:,} people can be sent one SMS at a time; narrow the search.",
            "ids",
        )
    begin_write(session)
    people = load(session, kind, wanted)
    missing = len(wanted) - len(people)
    if missing:
        raise FieldError(
            f"{missing:,} of the chosen people no longer exist. Search again and tick them afresh.",
            "ids",
            status=409,
        )
    return wanted


def selection_key(kind: str, ids: Sequence[int]) -> str:
    """A digest naming one selection: the kind and its ids in order."""
    return hashlib.sha256(f"{kind}:{','.join(map(str, ids))}".encode()).hexdigest()


def _new_draft(session: so.Session, user: User, kind: str, wanted: list[int]) -> ComposeDraft:
    draft = ComposeDraft(
        token=form_tokens.new(),
        user_id=user.id,
        kind=kind,
        person_ids=wanted,
        selection=selection_key(kind, wanted),
        removed_ids=[],
    )
    session.add(draft)
    session.commit()
    return draft


def create_draft(session: so.Session, user: User, kind: str, ids: Sequence[int]) -> ComposeDraft:
    """Remember who was chosen on a new draft; refuse ids that do not exist, and oversized
    selections."""
    return _new_draft(session, user, kind, _chosen(session, kind, ids))


def start_of_today(zone: tzinfo = UTC, now: datetime | None = None) -> datetime:
    """The moment `now`'s day began in `zone` (the user's: their morning's draft is today's until
    their midnight, not until UTC's), in UTC."""
    now = now or utcnow()
    return times.start_of(now.astimezone(zone).date(), zone)


def open_draft(
    session: so.Session,
    user: User,
    kind: str,
    ids: Sequence[int],
    *,
    zone: tzinfo = UTC,
    since: datetime | None = None,
) -> ComposeDraft:
    """The user's unsent draft for exactly this selection opened since `since` (the start of
    today in `zone`, the user's), with all it remembers; a new draft when there is none. Of
    several, the one opened last: a cancelled scheduled send's draft counts as opened when it
    was cancelled (reopened_at), ties going to the one made last.

    So Esc, Cancel or a reload followed by Bulk SMS for the same people loses nothing typed.
    """
    wanted = _chosen(session, kind, ids)
    key = selection_key(kind, wanted)
    since = max(since or start_of_today(zone), utcnow() - DRAFT_LIFETIME)
    found = session.scalar(
        sa.select(ComposeDraft)
        .outerjoin(Batch, Batch.draft_id == ComposeDraft.id)
        .where(
            ComposeDraft.user_id == user.id,
            ComposeDraft.selection == key,
            ComposeDraft.created_at >= since,
            Batch.id.is_(None),
        )
        # ix_compose_drafts_user_selection finds the user's few drafts for the selection; they are
        # sorted after, on SQLite and PostgreSQL alike (created_at to the microsecond on both).
        .order_by(ComposeDraft.created_at.desc(), ComposeDraft.id.desc())
        .limit(1)
    )
    if found is not None and found.kind == kind and found.person_ids == wanted:
        session.commit()  # ends the write transaction _chosen began
        return found
    return _new_draft(session, user, kind, wanted)


def reopened_at(session: so.Session, draft: ComposeDraft, now: datetime) -> datetime | None:
    """When `draft`, free again (its scheduled send cancelled), counts as opened, so that Bulk SMS
    for the same people reopens it (open_draft takes the draft opened last): `now`, or just after
    any other unsent draft of theirs opened later still by the clock (a coarse or stepped one).

    None, leaving it as it was, when a draft of theirs opened after it holds anything typed,
    ticked or taken off: Bulk SMS goes on opening that one, never hiding it behind this one (the
    cancelled text stays on its batch page). An untouched one, opened just to look, gives way."""
    since = now - DRAFT_LIFETIME
    others = session.scalars(
        sa.select(ComposeDraft)
        .outerjoin(Batch, Batch.draft_id == ComposeDraft.id)
        .where(
            ComposeDraft.user_id == draft.user_id,
            ComposeDraft.selection == draft.selection,
            ComposeDraft.id != draft.id,
            ComposeDraft.created_at >= since,
            Batch.id.is_(None),
        )
    ).all()
    later = [
        other for other in others if (other.created_at, other.id) > (draft.created_at, draft.id)
    ]
    if any(holds_input(other) for other in later):
        return None
    latest = max((other.created_at for other in others), default=now)
    return max(now, latest + timedelta(microseconds=1))


def holds_input(draft: ComposeDraft) -> bool:
    """Whether anything was typed, ticked or chosen on the draft's screen, or anyone taken off."""
    return (
        draft_input(draft) != DraftInput()
        or draft.template_id is not None
        or bool(draft.removed_ids)
    )


@dataclass(frozen=True)
class DraftInput:
    """What the user has typed and ticked on an SMS screen, as its draft keeps it."""

    message: str = ""
    ignore: bool = False
    ignore_reason: str = ""
    comment: bool = False
    comment_type: str | None = None
    comment_text: str = ""
    commercial: bool = False
    # Send later: the "Send at" as typed ("": send now), kept whatever it is, in the past or not
    # read at all (schedule.parse_send_at judges it at Send); and the UTC moment it names, if any.
    send_at_typed: str = ""
    send_at: datetime | None = None


def draft_input(draft: ComposeDraft) -> DraftInput:
    return DraftInput(
        message=draft.message or "",
        ignore=bool(draft.ignore),
        ignore_reason=draft.ignore_reason or "",
        comment=bool(draft.comment),
        comment_type=draft.comment_type,
        comment_text=draft.comment_text or "",
        commercial=bool(draft.commercial),
        send_at_typed=draft.send_at_typed or "",
        send_at=draft.send_at,
    )


def save_input(session: so.Session, draft: ComposeDraft, typed: DraftInput) -> None:
    """Keep what the screen holds now on its draft (a write only when something changed).

    Kept as typed, refusals and all: a reason or comment too long is refused at Send, never cut
    here. Only a NUL goes, which PostgreSQL cannot store in text.
    """
    typed = replace(
        typed,
        **{
            name: getattr(typed, name).replace("\x00", "")
            for name in ("message", "ignore_reason", "comment_text", "send_at_typed")
        },
        # A draft whose template is commercial is commercial, whatever the tick box posted.
        commercial=typed.commercial or opt_out_line.forced(session, draft),
    )
    if typed == draft_input(draft):
        return
    for name, value in asdict(typed).items():
        setattr(draft, name, value)
    draft.updated_at = utcnow()
    session.commit()


def template_text(session: so.Session, draft: ComposeDraft) -> str | None:
    """The text of the template last put into this draft's Message as it is now (it may have been
    edited since it was put in), if the template is still there."""
    if draft.template_id is None:
        return None
    template = session.get(SmsTemplate, draft.template_id)
    return template.body if template is not None else None


def text_digest(text: str) -> str:
    """A digest of a text a template put into the Message: the screen carries it from post to
    post, so "unchanged" is measured against the text put in, not the template's text now."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def put_in_key(session: so.Session, draft: ComposeDraft) -> str:
    """The digest of the text the draft's template put into its Message, as far as the draft
    alone tells ("": none): its template's text now, while the Message holds exactly that.

    The draft keeps no copy of the text put in, so a screen drawn afresh (a reload, Bulk SMS
    again) over a template edited since asks before replacing it: asking loses nothing."""
    text = template_text(session, draft)
    return text_digest(text) if text is not None and draft.message == text else ""


def would_lose_text(
    session: so.Session, draft: ComposeDraft, message: str, put_in: str | None = None
) -> bool:
    """True when `message` holds text the user typed: not blank, and not exactly the text the
    template last put in. Replacing it then needs their word first.

    `put_in` is the digest of that text as the screen carried it (text_digest; "": none put in).
    None: not carried, and the template's text as it is now stands for it."""
    if not message.strip():
        return False
    if put_in is not None:
        return text_digest(message) != put_in
    return message != template_text(session, draft)


def use_template(
    session: so.Session, draft: ComposeDraft, user: User, template_id: int | None
) -> SmsTemplate | None:
    """Put a template's text into the draft's Message (None: "No template", the text stays).

    "No template" keeps a commercial template in use: its text stays in the Message, so the
    message stays commercial (else an untick after it would send that text without the opt-out
    line). Only another template's text, put in its place, ends it, and the tick it made.
    """
    template = None if template_id is None else template_for(session, user, draft.kind, template_id)
    forced = opt_out_line.forced(session, draft)
    if template is not None or not forced:
        draft.template_id = template.id if template is not None else None
    if template is not None:
        draft.message = template.body
        # A tick the commercial template in use made goes with its text; the sender's own stays.
        draft.commercial = template.commercial or (draft.commercial and not forced)
    draft.updated_at = utcnow()
    session.commit()
    return template


def draft_by_token(session: so.Session, token: str) -> ComposeDraft | None:
    return session.scalar(sa.select(ComposeDraft).where(ComposeDraft.token == token))


def get_draft(session: so.Session, token: str, user: User) -> ComposeDraft:
    """The user's own, unexpired draft; anything else is a stale or forged token."""
    draft = draft_by_token(session, token)
    if draft is None or draft.user_id != user.id:
        raise FieldError(
            "This SMS screen is not known (it may be someone else's, or have been "
            "cleared). Start again from the search.",
            status=404,
        )
    if draft.created_at < utcnow() - DRAFT_LIFETIME:
        raise FieldError(
            "This SMS screen was opened more than a day ago and has expired. "
            "Start again from the search.",
            status=410,
        )
    return draft


def batch_for(session: so.Session, draft: ComposeDraft) -> Batch | None:
    return session.scalar(sa.select(Batch).where(Batch.draft_id == draft.id))


def set_removed(session: so.Session, draft: ComposeDraft, person_id: int, removed: bool) -> None:
    """Take a person off this SMS (or put them back); only people on the draft count."""
    if person_id not in draft.person_ids:
        raise FieldError("That person is not on this SMS.", "recipients")
    current = [i for i in draft.removed_ids if i != person_id]
    draft.removed_ids = current + [person_id] if removed else current
    session.commit()


def removed_key(draft: ComposeDraft) -> str:
    """A digest naming who is taken off `draft` (in any order): the screen carries the one it
    showed, so Send can refuse a list another tab or window changed since (Remove, Put back)."""
    removed = ",".join(map(str, sorted(set(draft.removed_ids or []))))
    return hashlib.sha256(removed.encode()).hexdigest()[:32]


# Outcomes that come before consent (recipients.analyse): whoever has one of them is never sent
# to, Ignore or not, so their opting out or in changes nothing Ignore does.
_UNREACHABLE = frozenset({NO_MOBILE, INVALID_NUMBER, BLOCKED_COUNTRY})


@dataclass
class ComposeState:
    """Everyone on the draft, what the analysis made of them, and who was taken off."""

    draft: ComposeDraft
    people: list[PersonRow]
    removed: list[PersonRow]
    analysis: Analysis
    ignore: bool
    missing: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    # Commercial: the organisation's opt-out line follows the typed text (None otherwise).
    commercial: bool = False
    opt_out_line: str | None = None

    def body(self, typed: str) -> str:
        """The message as it is sent: the typed text, with the opt-out line when commercial."""
        return opt_out_line.with_line(typed, self.commercial, self.opt_out_line)

    @property
    def included(self) -> list[PersonRow]:
        return [o.person for o in self.analysis.included()]

    @property
    def opted_out(self) -> list[PersonRow]:
        return self.analysis.opted_out

    @property
    def opted_out_key(self) -> str:
        """A digest naming the opted-out people on this SMS that Ignore could send to (whether or
        not it is ticked): the screen carries the one it showed, so a Send with Ignore can refuse
        to send to someone who opted out since (on their record, or by a STOP reply)."""
        ids = sorted(
            o.person.id
            for o in self.analysis.outcomes
            if not o.person.sms_consent and o.outcome not in _UNREACHABLE
        )
        return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]

    @property
    def recipients_key(self) -> str:
        """A digest naming who this SMS goes to, at which number: each consenting recipient, and
        each opted-out person Ignore could let through, marked so. The screen carries the one it
        showed, so Send can refuse a list another tab changed since (someone opting in, a mobile
        edited) rather than send to a person or number never shown.

        The same whether Ignore is ticked or not: ticking it is the sender's own change, which
        the screen says ("Send to the N opted-out people as well")."""
        hashed = hashlib.sha256()
        for o in sorted(self.analysis.outcomes, key=lambda o: o.person.id):
            if o.included and not o.overridden:
                mark = "to"
            elif not o.person.sms_consent and o.outcome not in _UNREACHABLE:
                mark = "opted out"
            else:
                continue
            for piece in (str(o.person.id), o.person.mobile_e164 or "", mark):
                data = piece.encode()
                hashed.update(b"%d:%s" % (len(data), data))
        return hashed.hexdigest()[:32]


def analyse_draft(
    session: so.Session,
    draft: ComposeDraft,
    blocked: frozenset[str] | routing.Routes,
    ignore: bool,
    *,
    commercial: bool | None = None,
) -> ComposeState:
    """Who gets the draft's SMS, and whether it is commercial: as `commercial` says (the draft's
    tick when None), and always when a commercial template is in use.

    `blocked` is the gateway's blocked set, or the sender's routing.Routes: each recipient is
    then checked against the account their message goes through."""
    if commercial is None:
        commercial = bool(draft.commercial)
    commercial = commercial or opt_out_line.forced(session, draft)
    everyone = load(session, draft.kind, draft.person_ids)
    removed_ids = set(draft.removed_ids)
    people = [p for p in everyone if p.id not in removed_ids]
    removed = [p for p in everyone if p.id in removed_ids]
    analysis = analyse(people, routing.check(blocked), ignore_opt_out=ignore)
    return ComposeState(
        draft=draft,
        people=people,
        removed=removed,
        analysis=analysis,
        ignore=ignore,
        missing=len(draft.person_ids) - len(everyone),
        counts=analysis.counts(),
        commercial=commercial,
        opt_out_line=opt_out_line.current_line(session) if commercial else None,
    )


def _visible(user: User, kind: str) -> sa.Select[tuple[SmsTemplate]]:
    """Templates this user sees for `kind`, active or not: shared ones and their own."""
    return sa.select(SmsTemplate).where(
        SmsTemplate.seen_by(user.id),
        SmsTemplate.record_type.in_(("both", KINDS.by_segment(kind).singular)),
    )


def visible_templates(session: so.Session, user: User, kind: str) -> list[SmsTemplate]:
    """Active templates this user may pick for `kind`: shared ones and their own."""
    query = (
        _visible(user, kind)
        .where(SmsTemplate.active.is_(True))
        .order_by(SmsTemplate.folder, SmsTemplate.name)
    )
    return list(session.scalars(query))


def restore_template(
    session: so.Session, draft: ComposeDraft, user: User, template_id: int | None, commercial: bool
) -> None:
    """Make `template_id` (None: none) the draft's template again, with its commercial lock: the
    one whose text a screen holds when its Send is refused because another tab put another in
    meanwhile. The refused screen is drawn anew with that text, so its next Send records the
    template the text came from, and a commercial one's opt-out line cannot be unticked away.

    Deactivated since, it is still the one the text came from (as at Send); one this user does
    not see (a crafted post) is not named. `commercial` is the tick the screen posted.
    """
    template = (
        None
        if template_id is None
        else session.scalar(_visible(user, draft.kind).where(SmsTemplate.id == template_id))
    )
    draft.template_id = template.id if template is not None else None
    draft.commercial = commercial or (template is not None and template.commercial)
    draft.updated_at = utcnow()
    session.commit()


def template_for(session: so.Session, user: User, kind: str, template_id: int) -> SmsTemplate:
    for template in visible_templates(session, user, kind):
        if template.id == template_id:
            return template
    raise FieldError("That template is not available for this SMS.", "template")


@dataclass(frozen=True)
class PreviewItem:
    person: PersonRow
    rendered: merge.Rendered
    count: segments.SegmentCount
    overridden: bool


def render_all(state: ComposeState, body: str, sender: User) -> list[PreviewItem]:
    """The message as each included recipient will get it (the opt-out line included when the
    state is commercial: `body` is the typed text)."""
    parsed = merge.parse(state.body(body))
    if not parsed.fields:
        # Everyone gets the same text: render and count it once. The counter asks on each
        # keystroke; for 50,000 recipients this took 0.4 s rendering each, 0.06 s so.
        rendered = merge.render(parsed, None, sender)
        count = segments.count(rendered.text)
        return [
            PreviewItem(o.person, rendered, count, o.overridden) for o in state.analysis.included()
        ]
    return [
        PreviewItem(
            o.person,
            rendered := merge.render(parsed, o.person, sender),
            segments.count(rendered.text),
            o.overridden,
        )
        for o in state.analysis.included()
    ]


def worst_count(items: Sequence[PreviewItem], body: str) -> segments.SegmentCount:
    """The worst case across recipients, or the typed text itself when there is nobody."""
    return segments.worst(item.count for item in items) or segments.count(body)


def longest(items: Sequence[PreviewItem]) -> PreviewItem | None:
    """The recipient whose message has the most characters (None: nobody), the one Send measures
    against MAX_CHARACTERS: not always the one with the most parts (worst_count), as a UCS-2
    message of 1,600 characters takes 24 parts and a GSM-7 one of 1,601 only 11."""
    return max(items, key=lambda item: item.count.characters, default=None)


def empty_fields(rendered: merge.Rendered) -> tuple[list[str], list[str]]:
    """The merge fields empty in `rendered`: (the recipient's, the sender's). A field of the
    sender's ({{sender_mobile}}) is empty on their Profile, for every recipient alike."""
    yours = [name for name in rendered.empty if merge.FIELDS[name].is_sender]
    return [name for name in rendered.empty if name not in yours], yours


def check_message(body: str, items: Sequence[PreviewItem], *, screen: bool = True) -> None:
    """Refuse a message that cannot go as it is; `screen`: on the SMS screen, whose template
    picker and “Insert merge field” the messages may point to (a scheduled batch's Edit text
    has neither)."""
    if is_blank(body):
        raise FieldError(
            "Type a message, or pick a template." if screen else "Type a message.", "message"
        )
    if problem := merge.unknown_problem(body, picker=screen):
        raise FieldError(problem, "message")
    if blank := [item for item in items if is_blank(item.rendered.text)]:
        # A merge field empty for them, and nothing else in the message: they would get nothing.
        empty = blank[0].rendered.empty
        theirs, yours = empty_fields(blank[0].rendered)
        named = theirs or yours
        fields = ", ".join("{{" + name + "}}" for name in named)
        who = blank[0].person.full_name
        if len(blank) > 1:
            others = len(blank) - 1
            who += f" and {others:,} other{'' if others == 1 else 's'}"
        verb = "is" if len(named) == 1 else "are"
        where = "for them" if theirs else "on your Profile"
        why = f"{fields} {verb} empty {where}. " if empty else ""
        fix = "Add text around the merge fields" + (
            ", or take them off this SMS" if screen and theirs else ""
        )
        raise FieldError(f"The message for {who} would be empty: {why}{fix}.", "message")
    broken = next((item for item in items if item.rendered.leftover), None)
    if broken is not None:
        names = ", ".join("{{" + name + "}}" for name in broken.rendered.leftover)
        raise FieldError(
            f"For {broken.person.full_name} the message would contain {names} as "
            "text: check the braces around the merge fields.",
            "message",
        )
    most = longest(items)
    if most is not None and most.count.characters > MAX_CHARACTERS:
        raise FieldError(
            f"The message for {most.person.full_name} is {most.count.characters:,} "
            f"characters; the gateway takes at most {MAX_CHARACTERS:,}.",
            "message",
        )


def message_problem(
    session: so.Session,
    draft: ComposeDraft,
    sender: User,
    body: str,
    blocked: frozenset[str] | routing.Routes,
    *,
    ignore: bool,
    commercial: bool,
) -> FieldError | None:
    """What Send would refuse in `body` for the draft's recipients (check_message), if anything:
    asked when a Send is refused for another field first (its Send at), so that both are said at
    once rather than one after the other."""
    state = analyse_draft(session, draft, blocked, ignore, commercial=commercial)
    try:
        check_message(body, render_all(state, body, sender))
    except FieldError as problem:
        return problem
    return None


def ignore_reason(text: str) -> str:
    """The typed reason for overriding opt-outs, trimmed; refused when blank or too long."""
    reason = text.strip()
    if is_blank(reason):  # spaces, or a zero-width one alone: an empty reason in the log
        raise FieldError(
            "Type the reason for ignoring opt-outs: it goes in the audit log with "
            "the people it lets through.",
            "ignore_reason",
        )
    if len(reason) > MAX_REASON:
        raise FieldError(
            f"The reason is {len(reason):,} characters; shorten it to at most {MAX_REASON:,}.",
            "ignore_reason",
        )
    problem = plain_text_problem("The reason", reason)
    if problem:  # it goes into the audit log, read (and exported) one line per entry
        raise FieldError(problem, "ignore_reason")
    return reason


def check_comment(text: str | None, recipients: int) -> None:
    """Refuse a Comment text too long for one record, or for the whole batch's records together."""
    length = len(text or "")
    if length > MAX_COMMENT:
        raise FieldError(
            f"The comment is {length:,} characters; shorten it to at most {MAX_COMMENT:,}.",
            "comment_text",
        )
    if length * recipients > MAX_COMMENT_TOTAL:
        fits = MAX_COMMENT_TOTAL // recipients
        raise FieldError(
            f"This comment would be copied onto {recipients:,} records, {length * recipients:,} "
            f"characters in all; one SMS may file at most {MAX_COMMENT_TOTAL:,}. Shorten the "
            f"comment to {fits:,} characters or fewer, untick Comment, or send to fewer people "
            "at a time.",
            "comment_text",
        )


def overridden_people(kind: str, people: Sequence[tuple[int, str | None]]) -> dict:
    """The people an Ignore let through, as its audit entry records them: bounded whatever their
    number.

    Up to MAX_AUDIT_PEOPLE each is [id, number] (the audit page names them as their records are
    named now); beyond that, their count and ids as ranges ("3-9,12"): a row for 50,000 people named
    in full would be several MB, while the batch's messages already hold every number sent to.
    """
    if len(people) <= MAX_AUDIT_PEOPLE:
        return {"kind": kind, "people": [[person_id, number] for person_id, number in people]}
    return {"kind": kind, "people_count": len(people), "ids": id_ranges(p for p, _ in people)}


def id_ranges(ids: Iterable[int]) -> str:
    """Ids as sorted comma-separated ranges: [1, 2, 3, 7, 9, 10] -> "1-3,7,9-10"."""
    runs: list[list[int]] = []
    for number in sorted(set(ids)):
        if runs and number == runs[-1][1] + 1:
            runs[-1][1] = number
        else:
            runs.append([number, number])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@dataclass(frozen=True)
class SendRequest:
    body: str
    ignore: bool = False
    ignore_reason: str = ""
    template_id: int | None = None
    comment: bool = False
    comment_type: str | None = None
    comment_text: str | None = None
    # Ticked "Commercial message"; a commercial template in use makes it so regardless.
    commercial: bool = False
    # The digest of the confirmation the sender saw (confirmation.digest), for a big send.
    confirmed: str | None = None
    # Send later: when it is due (aware, UTC; schedule.parse_send_at). None: now.
    send_at: datetime | None = None
    # The opted-out people the screen showed (ComposeState.opted_out_key): Ignore lets through
    # only them. None: not checked (a post without it, whose draft still says who is on it).
    opted_out_shown: str | None = None
    # Who the screen showed it going to (ComposeState.recipients_key). None: not checked (a
    # confirmed Send, whose digest names them; a post without it).
    sent_to_shown: str | None = None


def require_permission(sender: User, ignore: bool) -> None:
    """Refuse (403) a sender who may not send SMS, or may not ignore opt-outs when asking to."""
    if ignore and not sender.can("sms.ignore_opt_out"):
        raise FieldError("You do not have permission to ignore SMS opt-outs.", "ignore", 403)
    if not sender.can("sms.send"):
        raise FieldError("You do not have permission to send SMS.", status=403)


_pause_lock = threading.Lock()
_pauses = 0  # Sends running with the cyclic garbage collector paused
_resume = False  # whether the collector was on when the first of them paused it


@contextmanager
def collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the block runs (reference counting still
    frees everything else); it is back on when the last of the threads pausing it is done.

    A Send of 10,000 makes some 100,000 objects that live until it ends (rows, rendered texts,
    bound values): enough to set off two or three full collections of the whole heap, each
    walking those objects too, a fifth to a quarter of the Send's time. Once the Send is done
    they are gone, and the collection after it has only the usual heap to walk.
    """
    global _pauses, _resume
    with _pause_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


@collection_paused()
def send(
    session: so.Session,
    draft: ComposeDraft,
    sender: User,
    request: SendRequest,
    *,
    provider: str,
    blocked: frozenset[str] | routing.Routes,
    confirm_over: int | None = None,
    limit_settings: limits.LimitSettings | None = None,
    alert_settings: alerts.AlertSettings | None = None,
    quiet: quiet_hours.QuietSettings | None = None,
    zone: tzinfo = UTC,
) -> Batch:
    """Write the Batch, its queued Messages, Comments and audit events in one transaction.

    A message due in its recipient's quiet hours (`quiet`, or the Settings page's window) is
    queued for their end (webapp.sms.quiet_hours); a scheduled batch's get theirs at release.

    A Send that would pass the sender's or the organisation's daily limit is refused whole (429,
    the refusal audited; webapp.sms.limits); one that passes the alert rate or goes to a new
    country raises a volume alert with it (webapp.sms.alerts). Without settings, the stored
    limits still apply (SMS_DAILY_LIMIT does not) and only the country alert is raised.

    A Send to more than `confirm_over` people (None: no limit) is first refused with
    ConfirmationNeeded unless `request.confirmed` is the digest of exactly these messages.

    Each message is queued for the account `blocked` (the sender's routing.Routes) chooses for
    its destination; a bare blocked set sends everything through the default account.

    The draft can become one batch only; sending it again returns that batch, or refuses other
    text (see already_sent), naming times in `zone` (the sender's).
    """
    # Hold SQLite's write lock from the check for an existing batch to the insert, so a double
    # click waits here and then finds the first click's batch.
    begin_write(session)
    existing = batch_for(session, draft)
    if existing is not None:
        return already_sent(existing, request, zone)
    require_permission(sender, request.ignore)
    if request.template_id is not None and request.template_id != draft.template_id:
        template_for(session, sender, draft.kind, request.template_id)  # one they may not use
    # The draft's own was checked when its text was put in: deactivated or unshared since, that
    # text is still the sender's to send (and a commercial one's opt-out line still goes).
    # Commercial as ticked, or by its template: never dropped on the client's word.
    state = analyse_draft(
        session,
        draft,
        blocked,
        request.ignore,
        commercial=request.commercial or opt_out_line.forced(session, draft, request.template_id),
    )
    if state.missing:
        draft.person_ids = [p.id for p in state.people + state.removed]
        session.commit()
        raise FieldError(
            f"{state.missing:,} of the chosen people no longer exist and have been "
            "taken off this SMS. Check the list and send again.",
            "recipients",
            409,
        )
    if (
        request.ignore
        and request.opted_out_shown is not None
        and request.opted_out_shown != state.opted_out_key
    ):
        # Ignore was ticked over the opted-out people the screen named: it never covers
        # someone who opted out since.
        raise FieldError(
            "Who has opted out of SMS on this list has changed since this screen was shown (on "
            "a record, or by a STOP reply), and Ignore sends only to the opted-out people it "
            "showed. Check the list, then press Send again.",
            "recipients",
            409,
        )
    if request.sent_to_shown is not None and request.sent_to_shown != state.recipients_key:
        raise FieldError(
            "Who gets this SMS has changed since this screen was shown (someone opted in or out, "
            "or a mobile number was edited, in another tab or window): check the list, then "
            "press Send again.",
            "recipients",
            409,
        )
    items = render_all(state, request.body, sender)
    check_message(request.body, items)
    if not items:
        raise FieldError(
            "Nobody on this SMS can receive it: see the reasons listed for each person.",
            "recipients",
        )
    overridden = [item.person for item in items if item.overridden]
    # Required whenever Ignore is ticked, even when it turns out to let nobody through (everyone
    # opted out was blocked, invalid or taken off): whoever ticks it must say why, every time.
    reason = ignore_reason(request.ignore_reason) if request.ignore else ""
    if request.comment:
        check_comment(request.comment_text, len(items))
    # Counted and written under one lock: two Sends at once cannot both pass a limit. A scheduled
    # Send is counted at its release (webapp.sms.schedule), against the 24 hours before it.
    limits.check(
        session,
        sender,
        len(items),
        limit_settings or limits.LimitSettings(),
        zone=zone,
        scheduled=request.send_at is not None,
    )
    # Last of the checks: a confirmation is asked for only of a Send that would go.
    confirmation.require(items, confirm_over, request.confirmed)

    batch = Batch(
        draft_id=draft.id,
        sender_id=sender.id,
        kind=draft.kind,
        template_id=request.template_id,
        # Kept with the batch: renaming the template later does not rename what was sent.
        template_name=session.scalar(
            sa.select(SmsTemplate.name).where(SmsTemplate.id == request.template_id)
        )
        if request.template_id is not None
        else None,
        body=state.body(request.body),
        ignore_opt_out=bool(overridden),
        # The line is recorded whenever the batch is commercial, also when the typed text
        # already held it: every message carried it either way.
        commercial=state.commercial,
        opt_out_line=state.opt_out_line,
        comment_type=request.comment_type if request.comment else None,
        comment_text=request.comment_text if request.comment else None,
        provider=provider,
        message_count=len(items),
        outcome_counts=state.counts | {"removed": len(state.removed)},
        send_at=request.send_at,
    )
    session.add(batch)
    try:
        session.flush()
    except sqlalchemy.exc.IntegrityError:
        # Another request (a double click) turned this draft into a batch first.
        session.rollback()
        existing = batch_for(session, draft)
        if existing is None:
            raise
        return already_sent(existing, request, zone)
    routes = routing.as_routes(blocked, provider)
    enqueue(
        session,
        batch,
        [
            Outgoing(
                item.person,
                item.rendered.text,
                item.count.segments,
                item.count.encoding,
                item.overridden,
                (account := routes.choose(item.person.mobile_region)).id,
                account.provider,
            )
            for item in items
        ],
        # Send later: held until the worker releases the batch (webapp.sms.schedule).
        hold=request.send_at is not None,
        quiet=None if request.send_at is not None else quiet_hours.planner(session, sender, quiet),
    )
    # A scheduled batch's Comments are written at its release, with the text as it goes then.
    if request.comment and request.send_at is None:
        _add_comments(session, batch)
    if overridden:
        audit(
            session,
            sender,
            "sms.ignore_opt_out",
            batch,
            reason=reason,
            **overridden_people(draft.kind, [(p.id, p.mobile_e164) for p in overridden]),
        )
    scheduled = {} if request.send_at is None else {"send_at": request.send_at.isoformat()}
    audit(
        session,
        sender,
        "sms.scheduled" if scheduled else "sms.sent",
        batch,
        messages=len(items),
        kind=draft.kind,
        counts=batch.outcome_counts,
        **scheduled,
    )
    alerts.after_send(
        session,
        sender,
        batch,
        (item.person.mobile_region for item in items),
        alert_settings or alerts.AlertSettings(),
        started=batch.created_at,
    )
    session.commit()
    return batch


def already_sent(batch: Batch, request: SendRequest, zone: tzinfo = UTC) -> Batch:
    """The draft's `batch` for a Send of its text again (a double click, Back and Send); a Send
    of other text, or for another time (now rather than later, or later rather than now), from
    the screen open in a second tab, is refused (409), never dropped unsaid; times are named in
    `zone`."""
    same_text = batch.body in (
        request.body,
        opt_out_line.with_line(request.body, True, batch.opt_out_line),
    )
    if same_text and batch.send_at == request.send_at:
        return batch
    if same_text:
        raise FieldError(_other_time(batch, request, zone), "send_at", 409)
    if batch.scheduled:
        # Nothing has gone yet: "sent" would have the sender believe it had.
        raise FieldError(
            f"This SMS was already scheduled, from another tab or window, as batch {batch.id} "
            "with other text: the text here was not sent. To send it instead, cancel that "
            "scheduled send on the Sent page, then send this again.",
            "message",
            409,
        )
    raise FieldError(
        f"This SMS was already sent, from another tab or window, as batch {batch.id} with other "
        "text: the text here was not sent. Copy it, then open the SMS screen again to send it.",
        "message",
        409,
    )


def _other_time(batch: Batch, request: SendRequest, zone: tzinfo) -> str:
    """Why the same text for another time was not sent: the draft's batch went (or waits) at
    its own time, which this Send does not change."""
    if batch.send_at is None:
        return (
            f"This SMS was already sent, from another tab or window, as batch {batch.id}: it was "
            "not scheduled again."
        )
    if batch.released_at is not None:
        # Gone at its time: nothing waits to be cancelled, and the batch says how it went.
        again = "sent again" if request.send_at is None else "scheduled again"
        return (
            f"This SMS was already sent as batch {batch.id}: it went at "
            f"{times.when(batch.released_at, zone)}, and it was not {again}. Sent lists it, "
            "with how it went."
        )
    then = "sent now" if request.send_at is None else "scheduled for the time here"
    return (
        f"This SMS was already scheduled, from another tab or window, as batch {batch.id} for "
        f"another time: it was not {then}. To change its time, cancel that scheduled send on "
        "the Sent page, then send this again."
    )


def _add_comments(session: so.Session, batch: Batch) -> None:
    """A Comment on each recipient's record, made from the batch's messages just queued: one
    INSERT … SELECT, with no text sent to the database a second time."""
    messages = Message.__table__
    column = KINDS.by_segment(batch.kind).person_column
    comments = Comment.__table__
    session.execute(
        comments.insert().from_select(
            [column, "author_id", "type", "text", "created_at"],
            sa.select(
                messages.c[column],
                sa.bindparam("author_id", batch.sender_id, comments.c.author_id.type),
                sa.bindparam("type", batch.comment_type, comments.c.type.type),
                # Without typed text, each record gets the message as that person received it.
                sa.bindparam("text", batch.comment_text, comments.c.text.type)
                if batch.comment_text
                else messages.c.body,
                sa.bindparam("created_at", utcnow(), comments.c.created_at.type),
            )
            .where(messages.c.batch_id == batch.id)
            .order_by(messages.c.id),
        )
    )
