"""Inbound SMS: store each reply once, match it to a person, act on STOP/START, email the sender."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
import sqlalchemy.exc
import sqlalchemy.orm as so

from webapp.models import Candidate, ClientContact, Email, InboundPart, Message, User, audit
from webapp.models.base import utcnow
from webapp.models.messaging import RECEIVED
from webapp.people import records
from webapp.people.kinds import KINDS
from webapp.phones import ParsedNumber, normalise
from webapp.sms import consent, keywords, outbox, segments
from webapp.text import clean_multiline, one_line, without_reordering
from webapp.times import DEFAULT_ZONE, user_zone, when

PART_LIFETIME = timedelta(days=1)
KEPT_EMAIL = "kept"  # an Email state beside queued/sent/failed: no mail server, so not sent
CONVERSATION_LINK = "Conversation: "
# Where the reply email's conversation link goes for the consultant it is for (the inbox's Open),
# with the key (open_key) that lets a GET of it mark the reply read.
OPEN_PATH = "/sms/replies/{}/open?key={}"
RECORD_LINK = "Record: "  # how emails queued before the conversation link named it
UNMATCHED_LINK = "No record matched this number; see the unmatched replies: "
SHARED_LINK = "More than one record has this number; file the reply on the right one: "
GATEWAY_START = (
    "Twilio took the reply as START and sends to this number again. SMS consent was not changed: "
    "tick SMS in their Privacy section if they asked to hear from us."
)
# A name in the Subject is cut to this many characters: the number after it must stay in view.
SUBJECT_NAME_MAX = 60
# Bidirectional controls: invisible, yet one (U+202E) shows the rest of a Subject reversed.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Half of a UTF-16 character, and the private-use stand-in a part keeps for it (a lone half cannot
# be stored: neither database's UTF-8 takes one). Nobody types characters from that far corner.
_LONE_HALF = re.compile("[\ud800-\udfff]")
_STAND_IN_SHIFT = 0x10F000 - 0xD800
_STAND_IN = re.compile("[\U0010f000-\U0010f7ff]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class InboundSms:
    """A reply as a gateway pushed it, before we know who it is from."""

    provider: str
    provider_message_id: str
    from_number: str
    to_number: str | None
    body: str
    reference: str | None = None  # the uuid of our message it answers, when the gateway says
    account_id: int | None = None  # the SMS account it came in through; None: the default
    # What the gateway itself took the reply for: Twilio's OptOutType (STOP, START or HELP) where
    # its Advanced Opt-Out is on, upper case; None when it says nothing.
    opt_out_type: str | None = None

    def __post_init__(self):
        # Whatever a gateway pushes is kept: PostgreSQL refuses a NUL in text, so a reply holding
        # one would be lost (and retried in vain), and a line break in the sender would split the
        # email's Subject. Control characters go; the body keeps its line breaks, but not the
        # controls that would show its text in another order than it was typed.
        for name in ("provider_message_id", "from_number", "to_number", "reference"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, one_line(value))
        # The controls that reorder what follows them go (a reply "Call me on <U+202E>0000 123
        # 4140" would show a number the sender never typed); the marks (U+200E, U+200F, U+061C)
        # stay: right-to-left writing needs them, and they only steer the punctuation beside them.
        object.__setattr__(self, "body", without_reordering(clean_multiline(self.body)))
        kind = one_line(self.opt_out_type).strip().upper()[:20] or None
        object.__setattr__(self, "opt_out_type", kind)


@dataclass(frozen=True)
class ReplySettings:
    default_region: str
    public_base_url: str
    unmatched_reply_address: str
    keep_emails: bool = False  # a demo without a mail server: kept (listed on /sandbox), never sent
    timezone: str = DEFAULT_ZONE  # the organisation's: times in an email to someone without one
    secret: str = ""  # the app's SECRET_KEY: signs the email's link (open_key)


def open_key(reply_id: int, sender_id: int | None, secret: str) -> str:
    """What the reply email's link carries so that opening it (a GET) may mark the reply read: a
    link another site sends a signed-in consultant to, guessing reply ids, has none, and only
    opens the reply."""
    message = f"open-reply:{reply_id}:{sender_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def answer_to(message: Message, body: str, provider_message_id: str) -> InboundSms:
    """A reply to `message` as its gateway pushes one: from its recipient, naming it."""
    return InboundSms(
        provider=message.provider,
        provider_message_id=provider_message_id,
        from_number=message.to_e164,
        to_number=None,
        body=body,
        reference=message.uuid,
        account_id=message.account_id,
    )


@dataclass(frozen=True)
class Part:
    """One piece of a long SMS, from its User Data Header."""

    concat_ref: int
    total: int
    seq: int


def decode_binary(binary_hex: str) -> str:
    """The text of a part sent as hex bytes: UCS-2 (UTF-16BE) when it decodes so, else UTF-8.

    A phone may split a message between the two halves of a character (an emoji): each half at
    the part's edge is kept as a stand-in, which `joined` makes whole again with its other half."""
    try:
        data = bytes.fromhex(binary_hex.strip())
    except ValueError:
        return ""
    if len(data) % 2 == 0:
        # A lone half is the only thing "surrogatepass" lets through that "strict" would refuse.
        text = data.decode("utf-16-be", errors="surrogatepass")
        halves = [i for i, ch in enumerate(text) if _LONE_HALF.match(ch)]
        if not halves:
            return text
        # Halves only where a split leaves them: a second half first, a first half last. UTF-8
        # (Arabic, say) reads as UTF-16 with halves too, but also as plain UTF-8, which UCS-2
        # does not (_reads_as_utf8).
        edges = all(
            (i == 0 and text[i] >= "\udc00") or (i == len(text) - 1 and text[i] < "\udc00")
            for i in halves
        )
        if edges and not _reads_as_utf8(data):
            return _LONE_HALF.sub(lambda half: chr(ord(half[0]) + _STAND_IN_SHIFT), text)
    return data.decode("utf-8", errors="replace")


def _reads_as_utf8(data: bytes) -> bool:
    """Whether `data` is plainly UTF-8: it decodes, holds a letter beyond ASCII, and no control
    character but line breaks and tabs. UCS-2 of Latin letters has NULs, of Arabic or Cyrillic
    its page's byte (06, 04) before each letter: both are controls read as UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not text.isascii() and not _CONTROL_BUT_LINES.search(text)


def joined(texts: list[str]) -> str:
    """Parts' texts as one: a character split between two parts whole again, and a half whose
    other half never came as "\ufffd"."""
    text = _STAND_IN.sub(lambda half: chr(ord(half[0]) - _STAND_IN_SHIFT), "".join(texts))
    return text.encode("utf-16-be", errors="surrogatepass").decode("utf-16-be", errors="replace")


def parse_udh(udh_hex: str) -> Part | None:
    """Read the concatenation element of a hex User Data Header (IEI 00: 8-bit ref, 08: 16-bit)."""
    try:
        data = bytes.fromhex(udh_hex.strip())
    except ValueError:
        return None
    if not data or data[0] + 1 != len(data):
        return None
    pos = 1
    while pos + 2 <= len(data):
        iei, length = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if iei == 0x00 and length == 3 and len(value) == 3:
            return _part(value[0], value[1], value[2])
        if iei == 0x08 and length == 4 and len(value) == 4:
            return _part(value[0] << 8 | value[1], value[2], value[3])
        pos += 2 + length
    return None


def _part(ref: int, total: int, seq: int) -> Part | None:
    return Part(ref, total, seq) if 1 <= seq <= total else None


def assemble(
    session: so.Session,
    provider: str,
    originator: str,
    part: Part,
    text: str,
    provider_message_id: str,
    reference: str | None,
    account_id: int | None = None,
) -> tuple[InboundSms | None, list[int]]:
    """Keep one part; once all have arrived, return the whole message and the parts' row ids
    (to delete after the message is stored). Returns (None, []) while parts are missing.

    Parts join only with parts that came through the same SMS account (`account_id`; None: the
    default): two accounts may hear from one phone with the same 8-bit reference."""
    # Kept as InboundSms keeps a whole reply: without the control characters a database refuses.
    # ...and cut to its columns, as receive() cuts a whole reply's: PostgreSQL refuses a longer
    # value, and the part would be pushed again in vain. (Nothing real is that long: a number,
    # a gateway id, our uuid.)
    originator = one_line(originator)[:20]
    provider_message_id = one_line(provider_message_id)[:64]
    text, reference = clean_multiline(text), one_line(reference)[:100] or None
    session.add(
        InboundPart(
            **asdict(part),
            provider=provider,
            account_id=account_id,
            originator=originator,
            text=text,
            provider_message_id=provider_message_id,
            reference=reference,
        )
    )
    try:
        session.commit()
    except sqlalchemy.exc.IntegrityError:
        # This part (by its gateway id) was pushed before. Still look for the whole: the push
        # that stored it may have failed before the reply was filed (a 500, a killed process),
        # and this retry is then its only chance. Once filed, its parts are used and not found.
        session.rollback()
    # Phones recycle the 8-bit reference, so only fresh parts not yet used for a message count.
    parts = list(
        session.scalars(
            sa.select(InboundPart)
            .where(
                InboundPart.provider == provider,
                InboundPart.account_id.is_(None)
                if account_id is None
                else InboundPart.account_id == account_id,
                InboundPart.originator == originator,
                InboundPart.concat_ref == part.concat_ref,
                InboundPart.total == part.total,
                InboundPart.used.is_(False),
                InboundPart.received_at > utcnow() - PART_LIFETIME,
            )
            .order_by(InboundPart.seq, InboundPart.id.desc())
        )
    )
    latest = {p.seq: p for p in reversed(parts)}  # newest part for each position
    parts = [latest[seq] for seq in sorted(latest)]
    if len(parts) < part.total:
        return None, []
    # The parts' own gateway ids name the whole: unique even when the 8-bit reference recycles.
    whole_id = hashlib.sha1(
        "+".join(p.provider_message_id or "" for p in parts).encode()
    ).hexdigest()
    inbound = InboundSms(
        provider=provider,
        provider_message_id=f"parts-{whole_id}",
        from_number=originator,
        to_number=None,
        body=joined([p.text for p in parts]),
        reference=next((p.reference for p in parts if p.reference), None),
        account_id=account_id,
    )
    return inbound, [p.id for p in parts]


def mark_parts_used(session: so.Session, part_ids: list[int]) -> None:
    """Keep the parts (a late repeat is then recognised by its id) but never join them again."""
    if part_ids:
        session.execute(
            sa.update(InboundPart).where(InboundPart.id.in_(part_ids)).values(used=True)
        )
        session.commit()


@dataclass
class Match:
    person: Candidate | ClientContact | None
    answers: Message | None
    shared: bool = False  # unmatched because more than one record has the number


def match(
    session: so.Session,
    from_e164: str | None,
    reference: str | None,
    account_id: int | None = None,
) -> Match:
    """Who sent this reply: by our reference, else our latest message to the number, else the
    only person with that number; otherwise nobody (the unmatched inbox).

    Only messages of the SMS account the reply came in through (`account_id`; None: the default
    account) can be what it answers: the person replied to that account's sender ID."""
    same_account = through(account_id)
    if reference:
        # A resent copy goes with its original's reference: the reply answers the copy.
        answered = outbox.find_by_reference(session, reference, same_account)
        if answered is not None:
            return Match(person_of(session, answered), answered)
    if not from_e164:
        return Match(None, None)
    # Only messages that left us can have been answered; one still queued cannot.
    answered = session.scalar(
        sa.select(Message)
        .where(
            Message.direction == "out",
            Message.to_e164 == from_e164,
            Message.sent_at.is_not(None),
            same_account,
        )
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
    )
    if answered is not None:
        return Match(person_of(session, answered), answered)
    people = [
        person
        for kind in KINDS
        for person in session.scalars(
            sa.select(kind.model).where(kind.model.mobile_e164 == from_e164).limit(2)
        )
    ]
    return Match(people[0] if len(people) == 1 else None, None, shared=len(people) > 1)


def through(account_id: int | None) -> sa.ColumnElement[bool]:
    """Messages sent through the SMS account `account_id` (None: the default account)."""
    return Message.account_id.is_(None) if account_id is None else Message.account_id == account_id


def person_of(session: so.Session, message: Message) -> Candidate | ClientContact | None:
    """The candidate or contact a message is about, if any (and still there)."""
    for kind in KINDS:
        if person_id := getattr(message, kind.person_column):
            return session.get(kind.model, person_id)
    return None


def receive(
    session: so.Session,
    inbound: InboundSms,
    settings: ReplySettings,
    now: datetime | None = None,
    *,
    actor: User | None = None,
    source: str = "reply",
) -> Message:
    """Store a reply once (a repeated push returns the stored one) with everything it causes:
    the consent change for STOP/START, its audit entries, and the email to the consultant.

    `actor` and `source` name who caused a consent change: nobody and "reply" for a gateway's
    push; the signed-in user and "sandbox" for a reply typed on /sandbox."""
    existing = _stored(session, inbound)
    if existing is not None:
        return existing
    now = now or utcnow()
    sender_number = _sender(inbound.from_number, settings.default_region)
    # Any real number: a reply from a landline (a carrier's landline SMS) still finds its person.
    from_e164 = sender_number.e164 if sender_number.real else None
    found = match(session, from_e164, inbound.reference, inbound.account_id)
    owner, read_at = _owner(found.answers), None
    if found.person is not None and found.answers is None:
        # Matched by the number alone: owned as a reply filed by hand is (attach), else it was in
        # nobody's Replies, unread in Everyone's forever, and out of sight of office teams.
        owner = addressee(session, found.person, now, through(inbound.account_id))
        read_at = now if owner is None else None
    count = segments.count(inbound.body)
    reply = Message(
        direction="in",
        state=RECEIVED,
        provider=inbound.provider,
        account_id=inbound.account_id,
        provider_message_id=inbound.provider_message_id[:64],
        from_e164=from_e164 or inbound.from_number[:20],
        to_e164=(inbound.to_number or "")[:20],
        body=inbound.body,
        segments=max(count.segments, 1),
        encoding=count.encoding,
        **KINDS.person_columns(found.person),
        in_reply_to_id=found.answers.id if found.answers else None,
        sender_id=owner,
        read_at=read_at,
        created_at=now,
        sent_at=now,
        updated_at=now,
    )
    session.add(reply)
    try:
        session.flush()
    except sqlalchemy.exc.IntegrityError:
        session.rollback()  # the same push arrived twice at once; the other request stored it
        return _stored(session, inbound)
    typed = keywords.consent_change(inbound.body)
    wanted = consent_wanted(inbound)
    moved = None
    if wanted is not None:
        cause = {"source": source, "reply_id": reply.id, "text": inbound.body[:160]}
        by_gateway = wanted != typed  # an opt-out only the gateway's keywords knew
        if by_gateway:
            cause["opt_out_type"] = inbound.opt_out_type
        people = consent.targets(session, from_e164, wanted, found.person)
        changed = consent.set_for(
            session, people, wanted, number=from_e164, actor=actor, cause=cause
        )
        moved = ConsentMoved(
            wanted, people, changed, number_read=from_e164 is not None, by_gateway=by_gateway
        )
    # The gateway sends to the number again, but that is no consent here: say so, not silently.
    note = GATEWAY_START if inbound.opt_out_type == "START" and wanted is not True else None
    _queue_email(session, reply, found, settings, moved, note)
    session.commit()
    return reply


def consent_wanted(inbound: InboundSms) -> bool | None:
    """What a reply does to SMS consent: False withdraws it, True gives it, None leaves it.

    A STOP the gateway recognised (Twilio's OptOutType, for the opt-out keywords set up in its
    Advanced Opt-Out, "ARRET" say) withdraws consent whatever the words: the gateway blocks the
    number from then on. The gateway's START gives none unless the words are START or UNSTOP, as
    for any reply: Twilio counts YES as START, and YES answers "Reply YES if you're interested"."""
    if inbound.opt_out_type == "STOP":
        return False
    return keywords.consent_change(inbound.body)


def _stored(session: so.Session, inbound: InboundSms) -> Message | None:
    return session.scalar(
        sa.select(Message).where(
            Message.provider == inbound.provider,
            Message.direction == "in",  # a sent message may hold the same id (migration 0026)
            Message.provider_message_id == inbound.provider_message_id[:64],
        )
    )


def _sender(number: str, default_region: str) -> ParsedNumber:
    """The number a reply came from. SMS Central gives international digits without the plus
    ("61412345678"), or after the international prefix 00 ("0061412345678"); a national number
    may come without its leading 0 ("412345678"). Bare digits that are a real number of
    `default_region` are read there first: "431234567" (0431 234 567) is also an Austrian number
    with a plus before it, and "298765432" (02 9876 5432) one of the Faroe Islands."""
    number = number.strip()
    if number.isdigit() and number.startswith("00"):
        number = f"+{number[2:]}"
    elif number.isdigit() and not number.startswith("0"):
        national = normalise(number, default_region)
        # A short code ("1234") is no international number either: kept as it came.
        if national.real or len(number) <= 8:
            return national
        return normalise(f"+{number}", default_region)
    return normalise(number, default_region)


@dataclass(frozen=True)
class ConsentMoved:
    """What a STOP or START did: whose box it was for, and whose it changed."""

    consent: bool
    people: list[Candidate | ClientContact]
    changed: list[Candidate | ClientContact]
    number_read: bool
    by_gateway: bool = False  # an opt-out keyword set up at the gateway, not one of ours

    def line(self, person: Candidate | ClientContact | None) -> str:
        """As the email says it, true to what happened: never that a box moved when none did."""
        done = "ticked again (START)" if self.consent else "withdrawn (STOP)"
        if self.by_gateway:
            done = "withdrawn (Twilio took the reply as STOP)"
        if self.changed == [person]:
            return f"SMS consent was {done}."
        if self.changed:
            names = ", ".join(p.full_name for p in self.changed)
            return f"SMS consent was {done} on: {names}."
        if self.people:
            already = "given" if self.consent else "withdrawn"
            return f"SMS consent was not changed: it was {already} already."
        if not self.number_read:
            return "SMS consent was not changed: the number it came from could not be read."
        return "SMS consent was not changed: no record has this number now."


def _owner(answers: Message | None) -> int | None:
    """Whose a reply is: the sender of the batch the message it answers went in. A copy a team
    leader resent has the leader's sender_id (their daily limit counts it), but the batch, and
    the conversation, stay its sender's, as on Sent and the dashboard."""
    if answers is None:
        return None
    if answers.resend_of_id is not None and answers.batch is not None:
        return answers.batch.sender_id
    return answers.sender_id


def unreachable(consultant: User) -> str:
    """Why a reply email cannot go to the consultant whose message it answers."""
    return "is deactivated" if not consultant.active else "has no email address"


def readdressed_note(consultant: User, in_conversation: bool, answers: bool = True) -> str:
    """The paragraph that opens a reply email sent to the unmatched address instead of to its
    consultant (unreachable): whose reply it is (one that `answers` no message of theirs was
    found by the number alone, and is theirs as they texted the person last), and where it is
    filed all the same."""
    name = consultant.full_name
    filed = "on Replies (Everyone's)" + (
        " and in the record's conversation" if in_conversation else ""
    )
    whose = f"answers {name}'s message" if answers else f"is {name}'s, who texted them last"
    return (
        f"This reply {whose}. {name} {unreachable(consultant)} in SMS Desk, so it comes to the "
        f"address for unmatched replies instead. It is filed as usual: {filed}."
    )


def _queue_email(
    session: so.Session,
    reply: Message,
    found: Match,
    settings: ReplySettings,
    moved: ConsentMoved | None,
    note: str | None = None,
) -> None:
    # Whose the reply is (receive), so the email goes to the consultant whose Replies hold it.
    owner = reply.sender_id
    consultant = session.get(User, owner) if owner is not None else None
    # A deactivated user's mailbox may be read by nobody now, or by whoever has the address
    # next: their replies go where unmatched ones go, saying whose they were.
    theirs = consultant is not None and consultant.active and bool(consultant.email)
    to_address = consultant.email if theirs else settings.unmatched_reply_address
    if not to_address:
        return
    person = found.person
    who = f"{person.full_name} ({reply.from_e164})" if person else reply.from_e164
    # In the zone of the consultant it goes to (the organisation's for the unmatched inbox).
    shown_in = user_zone(consultant if theirs else None, settings.timezone)
    lines: list[str] = []
    if consultant is not None and not theirs:
        lines += [readdressed_note(consultant, person is not None, found.answers is not None), ""]
    lines += [f"{who} replied by SMS on {when(reply.created_at, shown_in)}:", "", reply.body, ""]
    if found.answers is not None:
        whose = "your" if theirs else f"{consultant.full_name}'s" if consultant else "our"
        lines += [f"In reply to {whose} message:", "", found.answers.body, ""]
    if person is not None and theirs:
        # The inbox's Open (/sms/replies/<id>/open, GET too, its key saying the link is this
        # email's): read for them, then the conversation on the record at this reply.
        key = open_key(reply.id, reply.sender_id, settings.secret)
        lines.append(
            f"{CONVERSATION_LINK}{settings.public_base_url}{OPEN_PATH.format(reply.id, key)}"
        )
    elif person is not None:
        # Not for whoever reads the unmatched address: nobody opens it as theirs, and Open would
        # refuse a team leader of another office. The record's page is the conversation; the
        # anchor is this reply in its thread.
        kind = KINDS.of(person).segment
        lines.append(
            f"{CONVERSATION_LINK}{settings.public_base_url}/{kind}/{person.id}#message-{reply.id}"
        )
    else:
        start = SHARED_LINK if found.shared else UNMATCHED_LINK
        lines.append(f"{start}{settings.public_base_url}/replies/unmatched")
    if moved is not None:
        lines += ["", moved.line(person)]
    if note is not None:
        lines += ["", note]
    session.add(
        Email(
            to_address=to_address,
            subject=reply_subject(person.full_name if person else None, reply.from_e164 or ""),
            body="\n".join(lines),
            message_id=reply.id,
            state=KEPT_EMAIL if settings.keep_emails else "queued",
        )
    )


def subject_name(name: str) -> str:
    """A name as a Subject may hold it: on one line (no control character), without bidirectional
    controls, and cut to SUBJECT_NAME_MAX characters (an ellipsis says so)."""
    name = " ".join(_BIDI_CONTROLS.sub("", one_line(name)).split())
    if len(name) > SUBJECT_NAME_MAX:
        name = name[: SUBJECT_NAME_MAX - 1].rstrip() + "…"
    return name


def reply_subject(name: str | None, number: str) -> str:
    """The reply email's Subject: who replied (by name when a record matched) and from which
    number. Names come from records and numbers from the gateway: a line break in either would
    split the header (and stop the email), so neither reaches it as it is."""
    number = subject_name(number)[:20]
    shown = subject_name(name or "")
    who = f"{shown} ({number})" if shown else number
    return f"SMS reply from {who}"[:300]


def email_link(body: str) -> str | None:
    """The conversation (or unmatched replies) link a reply email carries, as _queue_email wrote
    it.

    Read from the last line that starts like ours: the reply's own text comes before that line,
    so an SMS holding "Record: http://elsewhere" is never taken for it.
    """
    for line in reversed(body.splitlines()):
        for start in (CONVERSATION_LINK, RECORD_LINK, UNMATCHED_LINK, SHARED_LINK):
            if line.startswith(start):
                return line.removeprefix(start).strip() or None
    return None


# What filing a reply did to the person's SMS box (see attach).
WITHDRAWN = "withdrawn"  # a STOP: unticked
ALREADY_OFF = "already off"  # a STOP: unticked already, nothing to do
CHANGED_SINCE = "changed since"  # a STOP older than the box's last change: left as it is
START_LEFT = "start left"  # a START, SMS unticked: not taken as consent


def attach(
    session: so.Session, reply: Message, person: Candidate | ClientContact, actor: User
) -> str | None:
    """File an unmatched reply on a person's record (audited); returns what its keyword did to
    their SMS box (one of the names above), or None for a reply that is no keyword.

    A STOP filed on someone is theirs, as if it had matched their number: their SMS box is
    unticked, audited as their own withdrawal (ticking it again then needs a reason), unless the
    box changed after the reply came (they opted in again since: a STOP filed months late must not
    undo that). A START is not taken as their consent: it came from a number not on their record,
    so whoever files it ticks SMS on the record themselves if the person asked.

    The reply is given to whoever sent the person's latest SMS (see addressee), unread for them,
    as if it had answered it; read when that is the filer. With no SMS to them it is nobody's: the
    filer has read it. Left as it came (nobody's, unread), it was unread in Everyone's forever and
    in no one's Replies."""
    for column, person_id in KINDS.person_columns(person).items():
        setattr(reply, column, person_id)
    # Kept to the SMS account it came in by, as when it matches by number (receive): a reply to
    # one office's sender ID is not another office's consultant's.
    reply.sender_id = addressee(session, person, reply.created_at, through(reply.account_id))
    # Read already when it is nobody's or the filer's; unread for anyone else, even if someone
    # marked it read on Unmatched replies before filing it.
    reply.read_at = utcnow() if reply.sender_id in (None, actor.id) else None
    audit(session, actor, "reply.attached", person, reply_id=reply.id, number=reply.from_e164)
    outcome = _consent_on_filing(session, reply, person, actor)
    session.commit()
    return outcome


def addressee(
    session: so.Session,
    person: Candidate | ClientContact,
    came: datetime,
    sent_through: sa.ColumnElement[bool] | None = None,
) -> int | None:
    """Whose a reply filed on `person` by hand (attach), or matched to them by their number alone
    (receive), is: the sender of the latest SMS that had left us for them when it `came` (as
    _owner reads it; one queued, refused or sent since answers nothing), or None when there is
    none, or its sender is switched off (their Replies are read by nobody).

    `sent_through` (through()) keeps to the SMS account the reply came in by, as match does: a
    reply to one office's sender ID is not another office's consultant's."""
    column = getattr(Message, KINDS.of(person).person_column)
    latest = session.scalar(
        sa.select(Message)
        .where(
            Message.direction == "out",
            column == person.id,
            Message.sent_at.is_not(None),
            Message.sent_at <= came,
            sent_through if sent_through is not None else sa.true(),
        )
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
    )
    owner = _owner(latest)
    if owner is None or not session.scalar(sa.select(User.active).where(User.id == owner)):
        return None
    return owner


def _consent_on_filing(
    session: so.Session, reply: Message, person: Candidate | ClientContact, actor: User
) -> str | None:
    change = keywords.consent_change(reply.body)
    if change is None:
        return None
    if change:
        return START_LEFT if not person.sms_consent else None
    # Their STOP outranks an Ignore given before it came, as when it is received (consent.set_for).
    ended = consent.end_ignore(session, person, queued_before=reply.created_at)
    changed = records.consent_changed_at(session, person)
    if not person.sms_consent:
        if (changed is None or changed <= reply.created_at) and records.self_withdrawal(
            session, person
        ) is None:
            # Unticked by a user: the STOP is still their own word (consent.set_for), so ticking
            # SMS again needs the authority to override it.
            _withdrawn(session, actor, person, reply, already=True, ended=ended)
        return ALREADY_OFF
    if changed is not None and changed > reply.created_at:
        return CHANGED_SINCE
    person.sms_consent = False
    _withdrawn(session, actor, person, reply, already=False, ended=ended)
    return WITHDRAWN


def _withdrawn(
    session: so.Session,
    actor: User,
    person: Candidate | ClientContact,
    reply: Message,
    *,
    already: bool,
    ended: int = 0,
) -> None:
    audit(
        session,
        actor,
        "consent.sms_withdrawn",
        person,
        changes={"sms_consent": [not already, False]},
        number=reply.from_e164,
        source="reply",
        reply_id=reply.id,
        text=reply.body[:160],
        **({"ignore_withdrawn": ended} if ended else {}),
    )


UNMATCHED_PAGE_SIZE = 50


@dataclass(frozen=True)
class UnmatchedPage:
    """One page of the replies no record matched, newest first, and how many there are."""

    rows: list[Message]
    page: int
    has_next: bool
    total: int


_NOBODY = (
    Message.direction == "in",
    Message.candidate_id.is_(None),
    Message.contact_id.is_(None),
)


def unmatched_page_of(session: so.Session, reply_id: int) -> int:
    """The page of unmatched() that shows the unmatched reply `reply_id` now (newer replies push
    it onto later pages)."""
    newer = session.scalar(
        sa.select(sa.func.count()).select_from(Message).where(*_NOBODY, Message.id > reply_id)
    )
    return (newer or 0) // UNMATCHED_PAGE_SIZE + 1


def unmatched(session: so.Session, page: int = 1) -> UnmatchedPage:
    """Page `page` of the replies nobody could be matched to (every one reachable: the page once
    stopped at 200, the rest out of sight until newer ones were filed)."""
    rows = list(
        session.scalars(
            sa.select(Message)
            .where(*_NOBODY)
            .order_by(Message.id.desc())
            .offset((page - 1) * UNMATCHED_PAGE_SIZE)
            .limit(UNMATCHED_PAGE_SIZE + 1)
        )
    )
    total = session.scalar(sa.select(sa.func.count()).select_from(Message).where(*_NOBODY))
    return UnmatchedPage(
        rows[:UNMATCHED_PAGE_SIZE], page, len(rows) > UNMATCHED_PAGE_SIZE, total or 0
    )
