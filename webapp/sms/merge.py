"""Fill `{{field}}` merge tags in SMS bodies from a recipient and the sending consultant."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from webapp.text import without_format_characters


@dataclass(frozen=True, slots=True)
class MergeField:
    """One field a message body may refer to, and how to read it."""

    name: str
    label: str
    group: str
    description: str
    read: Callable[[Any, Any], str | None]

    def tag(self) -> str:
        return "{{" + self.name + "}}"

    @property
    def is_sender(self) -> bool:
        """Filled from the sender (their name, mobile…), not the recipient."""
        return self.group == _SENDER


def _full_name(person: Any) -> str:
    return f"{person.first_name or ''} {person.last_name or ''}".strip()


def _job_title(person: Any) -> str | None:
    # Candidates carry `job_title`, client contacts `position`; one tag serves both.
    return getattr(person, "job_title", None) or getattr(person, "position", None)


def _client_name(person: Any) -> str | None:
    client = getattr(person, "client", None)
    return client.name if client is not None else None


def _first_word(text: str | None) -> str | None:
    words = (text or "").split()
    return words[0] if words else None


_RECIPIENT, _CLIENT, _SENDER = "Recipient", "Client", "Sender"

CATALOGUE: tuple[MergeField, ...] = (
    MergeField(
        "first_name",
        "First name",
        _RECIPIENT,
        "The recipient's first name.",
        lambda p, s: p.first_name,
    ),
    MergeField(
        "last_name", "Last name", _RECIPIENT, "The recipient's last name.", lambda p, s: p.last_name
    ),
    MergeField(
        "full_name",
        "Full name",
        _RECIPIENT,
        "The recipient's first and last name.",
        lambda p, s: _full_name(p),
    ),
    # As typed: formatting it would mean parsing every recipient's number again at send time.
    MergeField(
        "mobile",
        "Mobile",
        _RECIPIENT,
        "The recipient's mobile number, as on the record.",
        lambda p, s: p.mobile_raw,
    ),
    MergeField(
        "email", "Email", _RECIPIENT, "The recipient's email address.", lambda p, s: p.email
    ),
    MergeField(
        "job_title",
        "Job title",
        _RECIPIENT,
        "A candidate's job title, or a client contact's position.",
        lambda p, s: _job_title(p),
    ),
    MergeField(
        "location",
        "Location",
        _RECIPIENT,
        "Where the recipient is based.",
        lambda p, s: getattr(p, "location", None),
    ),
    MergeField(
        "client_name",
        "Client name",
        _CLIENT,
        "The client a contact works for.",
        lambda p, s: _client_name(p),
    ),
    MergeField(
        "sender_first_name",
        "Your first name",
        _SENDER,
        "Your first name.",
        lambda p, s: _first_word(s.full_name),
    ),
    MergeField(
        "sender_full_name", "Your full name", _SENDER, "Your full name.", lambda p, s: s.full_name
    ),
    MergeField(
        "sender_mobile", "Your mobile", _SENDER, "Your mobile number.", lambda p, s: s.mobile
    ),
    MergeField("sender_email", "Your email", _SENDER, "Your email address.", lambda p, s: s.email),
    MergeField(
        "sender_office",
        "Your office",
        _SENDER,
        "The office you work from.",
        lambda p, s: s.office_name,
    ),
)

FIELDS: Mapping[str, MergeField] = MappingProxyType({field.name: field for field in CATALOGUE})


def offered(recipient_fields: Collection[str]) -> tuple[MergeField, ...]:
    """What a picker offers, in catalogue order: the recipient fields named (those that mean
    something for the recipients' kind) and every sender field."""
    return tuple(f for f in CATALOGUE if f.is_sender or f.name in recipient_fields)


# One pass finds both escapes and tags, so an escaped brace can never start a tag: `\{{` stands for
# two braces, `\{` for one ("{Email us}" is an unfinished field; "\{Email us}" is sent as
# "{Email us}"), the longer tried first so that `\{{` means what it did before `\{` was one.
# Whatever else is between double braces on one line is a tag too, and unknown unless it names a
# field: "{{First Name}}" or "{{first-name}}" is a typo to report, not text to send as typed.
# Bodies are plain text, never a template language: an unknown tag stays as typed.
_TOKEN = re.compile(r"\\\{\{?|\{\{([^{}\n]*)\}\}")
# Left in the text once the tags are found: a known field's name, in any case, after one brace or
# more, which a whole tag would have taken (a brace missing or one alone, each side, or no end).
# Only from a run's first brace: a match tried at each of a long run's braces took quadratic time.
_UNFINISHED = re.compile(
    r"(?<!\{)\{+\s*(?:" + "|".join(sorted(FIELDS, key=len, reverse=True)) + r")\b\s*\}*",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A known merge field's place in a parsed body."""

    name: str


class Escaped(str):
    """The `{{` or `{` an escape (`\\{{`, `\\{`) stands for: text like any other, but never the
    start of a tag a recipient's values formed (see Rendered.leftover)."""

    __slots__ = ()


ESCAPED = Escaped("{{")
ESCAPED_BRACE = Escaped("{")


@dataclass(frozen=True, slots=True)
class Template:
    """A message body parsed once, so it can be rendered for many recipients cheaply."""

    parts: tuple[str | FieldRef, ...]
    unknown: tuple[str, ...]
    fields: tuple[str, ...]
    # Known fields with a brace too few or too many and tags naming nothing, as typed
    # (unfinished_fields).
    unfinished: tuple[str, ...] = ()


def parse(body: str) -> Template:
    """Split `body` into literal text and known field references.

    Unknown tags are recorded and kept as literal text, so a typo is visible in the preview rather
    than silently vanishing from the message.
    """
    parts: list[str | FieldRef] = []
    unknown: dict[str, None] = {}  # dicts keep first-seen order without duplicates
    fields: dict[str, None] = {}
    unfinished: list[tuple[int, str]] = []  # (where, as typed), sorted by where at the end
    literal: list[str] = []
    run = 0  # where the literal text gathered in `literal` starts

    def close_literal() -> None:
        # Text between known tags and escapes, unknown tags included, as one run: a field's name
        # left in it after a brace or more is unfinished, unless it is a whole tag ("{{First_Name}}"
        # is an unknown one, said as such).
        if text := "".join(literal):
            parts.append(text)
            unfinished.extend(
                (run + m.start(), m.group(0))
                for m in _UNFINISHED.finditer(text)
                if not _TOKEN.fullmatch(m.group(0))
            )
        literal.clear()

    pos = 0
    for match in _TOKEN.finditer(body):
        literal.append(body[pos : match.start()])
        previous_end, pos = pos, match.end()
        name = match.group(1)
        if name is None:
            close_literal()
            parts.append(ESCAPED if match.group(0).endswith("{{") else ESCAPED_BRACE)
            run = pos
            continue
        name = name.strip()  # a no-break space pasted in too: "{{\u00a0first_name}}"
        if name in FIELDS or not name:
            # A known tag or an empty one ("{{}}", which names nothing) with a brace of its own
            # beside it, "{{{first_name}}}", would reach the recipient as braces around a value;
            # an empty one as typed. The brace an escape ends with is not one of them.
            start, end = match.start(), match.end()
            while start > previous_end and body[start - 1] == "{":
                start -= 1
            while end < len(body) and body[end] == "}":
                end += 1
            if not name or (start, end) != match.span():
                unfinished.append((start, body[start:end]))
        if name in FIELDS:
            close_literal()
            parts.append(FieldRef(name))
            fields[name] = None
            run = pos
        else:
            literal.append(match.group(0))
            if name:
                unknown[name] = None
    literal.append(body[pos:])
    close_literal()
    return Template(
        parts=tuple(parts),
        unknown=tuple(unknown),
        fields=tuple(fields),
        unfinished=tuple(dict.fromkeys(typed for _, typed in sorted(unfinished))),
    )


def unknown_fields(body: str) -> tuple[str, ...]:
    """Distinct tag names in `body` that are not in the catalogue, in order of appearance."""
    return parse(body).unknown


def unfinished_fields(body: str | Template) -> tuple[str, ...]:
    """Distinct field names written with a brace too few or too many, or never closed
    ("{{first_name}", "{first_name}", "{{first_name", "{{{first_name}}}"), and tags naming
    nothing ("{{}}"), as typed, in order of appearance: sent as they are, they would reach the
    recipient as braces and a name."""
    return (parse(body) if isinstance(body, str) else body).unfinished


def unknown_problem(body: str, *, picker: bool = True) -> str | None:
    """What to say of the unknown or unfinished merge fields in `body`, or None when it has
    none; `picker` when the box has “Insert merge field” beside it to pick one from."""
    template = parse(body)
    unknown, unfinished = template.unknown, unfinished_fields(template)
    if not unknown and not unfinished:
        return None
    said = []
    if unknown:
        names = ", ".join("{{" + name + "}}" for name in unknown)
        fix = (
            "Use “Insert merge field” to pick one"
            if picker
            else "Correct the name (merge fields are like {{first_name}})"
        )
        said.append(f"Unknown merge field(s): {names}. {fix}, or write \\{{{{ for literal braces.")
    if unfinished:
        said.append(
            f"Unfinished merge field(s): {', '.join(unfinished)}. A merge field has two braces "
            "each side, like {{first_name}}; write \\{ for one literal brace, \\{{ for two."
        )
    return " ".join(said)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message as one recipient will get it, and what could not be filled in."""

    text: str
    empty: tuple[str, ...]
    unknown: tuple[str, ...]
    # Known tags the filled-in text still contains, formed across a field ("{{fir{{x}}st_name}}"
    # with x empty): such a message must not be sent as it is.
    leftover: tuple[str, ...] = ()


def render(template: Template, person: Any, sender: Any) -> Rendered:
    """Fill `template` for one recipient; missing or blank values become "" and are reported.

    A value's invisible format characters are left out (webapp.text.without_format_characters):
    a right-to-left override stored before forms refused it would show the rest of the message in
    another order, and a zero-width space or a soft hyphen in a name stored before names were
    cleaned (an office's, a sender's, a candidate's) shows nothing; each makes it a Unicode SMS,
    about twice the parts."""
    values: dict[str, str] = {}
    empty: list[str] = []
    for name in template.fields:
        value = without_format_characters(FIELDS[name].read(person, sender) or "").strip()
        values[name] = value
        if not value:
            empty.append(name)
    filled = [p if isinstance(p, str) else values[p.name] for p in template.parts]
    text = "".join(filled)
    leftover = ()
    if "{{" in text and template.fields:
        # Read with each escape's braces left out: "\\{{first_name}}" is text as typed.
        scanned = "".join("" if isinstance(p, Escaped) else p for p in filled)
        leftover = tuple(
            dict.fromkeys(
                name
                for m in _TOKEN.finditer(scanned)
                if (name := (m.group(1) or "").strip()) in FIELDS
            )
        )
    return Rendered(text=text, empty=tuple(empty), unknown=template.unknown, leftover=leftover)
