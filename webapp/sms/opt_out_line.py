"""The opt-out line a commercial SMS carries (Australia's Spam Act): the organisation's setting, its
rules, and the one function that puts it after the typed text."""

from __future__ import annotations

import re

import sqlalchemy.orm as so

from webapp.errors import FieldError
from webapp.models import ComposeDraft, Setting, SmsTemplate
from webapp.sms import keywords, segments
from webapp.text import plain_text_problem

SETTING_KEY = "opt_out_line"
DEFAULT_LINE = "Reply STOP to opt out"
# Short enough to leave a one-part message room for its text: 160 - 60 = 100 characters.
MAX_LINE = 60
# What tells a reader which reply to send: "Reply STOP", "Text QUIT", "Send: OPT OUT", "SMS END".
_ASKS = re.compile(r"\b(?:reply|respond|send|text|txt|sms)\b(?:\s+with\b)?[\s:]*", re.IGNORECASE)
# Where a line with none of those names its reply: at its start, or after punctuation ("STOP to
# end", "Opt out: STOP").
_CLAUSES = re.compile(r"(?:\A|[.,;:!?(])\s*")
# The reply named there, perhaps in quotes: a word, or up to three joined by spaces or hyphens, as
# the keyword may be spelt ("STOP ALL", "OPT-OUT").
_NAMED = re.compile(r"""["']?([A-Za-z]+(?:[ -]+[A-Za-z]+){0,2})""")


def check_line(text: str | None) -> str:
    """The opt-out line as it will be stored: one line of GSM-7 letters, at most MAX_LINE
    characters, holding a keyword that webapp.sms.keywords honours; "" (the default) when blank.

    Only the default alphabet: `{ } \\ [ ] ~ | ^ €` cost two characters each and braces would be
    read as merge fields; any other character would make every commercial message UCS-2 (70 per
    part instead of 160).
    """
    problem = plain_text_problem("The opt-out line", text)
    if problem:
        raise FieldError(problem, SETTING_KEY)
    line = " ".join((text or "").split())
    if not line:
        return ""
    if len(line) > MAX_LINE:
        raise FieldError(
            f"The opt-out line is {len(line)} characters; keep it to at most {MAX_LINE}.",
            SETTING_KEY,
        )
    outside = sorted(set(line) - segments.GSM_BASIC)
    if outside:
        raise FieldError(
            "The opt-out line must use plain letters, digits and punctuation an SMS carries at "
            f"one character each: remove {' '.join(outside)}.",
            SETTING_KEY,
        )
    opts_out, told = _names_an_opt_out(line)
    if not opts_out:
        wrong = f"Replying “{told}” opts nobody out. " if told else ""
        raise FieldError(
            f"{wrong}The opt-out line must name a reply that opts out, such as "
            f"{', '.join(sorted(keywords.OPT_OUT)[:4])}… — for example “{DEFAULT_LINE}”.",
            SETTING_KEY,
        )
    return line


def _names_an_opt_out(line: str) -> tuple[bool, str | None]:
    """Whether the reply the line tells people to send opts them out (webapp.sms.keywords reads it
    as an opt-out keyword), and the first word it tells them to reply (None: no Reply, Text…).

    Read where the line asks for a reply (after Reply, Text, Txt, Send, SMS, Respond) and after
    punctuation that follows the ask ("Reply YES for roles, STOP to opt out"), or, in a line
    without one, at its start and after punctuation: "Unsubscribe: reply HALT" names HALT, however
    many keywords stand elsewhere. The named reply is the keyword with the words it runs into
    ("Reply STOP ALL", "Reply OPT OUT": replies honour them, spaces and hyphens aside), or the
    first word alone ("Reply STOP now")."""
    asked = [match.end() for match in _ASKS.finditer(line)]
    clauses = [match.end() for match in _CLAUSES.finditer(line)]
    told = None
    places = asked + [at for at in clauses if at > asked[0]] if asked else clauses
    for start in places:
        named = _NAMED.match(line, start)
        if named is None:
            continue
        words = re.split(r"[ -]+", named.group(1))
        if start in asked and told is None:
            told = words[0]
        if any(
            keywords.consent_change(" ".join(words[:count])) is False
            for count in range(1, len(words) + 1)
        ):
            return True, told
    return False, told


def current_line(session: so.Session) -> str:
    """The organisation's opt-out line: the administrator's setting, else DEFAULT_LINE."""
    row = session.get(Setting, SETTING_KEY)
    return (row.value if row is not None and row.value else None) or DEFAULT_LINE


# What may follow the line at the very end of a message: full stops, "!", closing brackets…
_TRAILING = ".!?;:,)]'\"’”"


def holds(text: str, line: str) -> bool:
    """True when `text` ends with `line` (case, spacing and closing punctuation aside), after the
    start, a line break or punctuation.

    Only at the end, and never straight after a word: "Do not reply STOP to opt out of
    anything." holds the words, and "Do not reply STOP to opt out" ends with them, but neither is
    a way to unsubscribe.
    """
    words = line.strip().rstrip(_TRAILING).split()
    if not words:
        return False
    ending = re.compile(
        r"(?:\A|\n|[^\w\s])\s*"
        + r"\s+".join(map(re.escape, words))
        + f"[{re.escape(_TRAILING)}\\s]*\\Z",
        re.IGNORECASE,
    )
    return ending.search(text) is not None


def with_line(text: str, commercial: bool, line: str | None) -> str:
    """The message as it is sent: the typed `text` and, when it is `commercial`, the opt-out
    `line` on a line of its own after it, unless the text already holds it.

    The one place the line is added: the counter, the preview, compose.render_all (and so the
    confirmation's sum of parts) and Send all go through it.
    """
    if not commercial or not line or holds(text, line):
        return text
    typed = text.rstrip()
    return f"{typed}\n{line}" if typed else line


def without_line(text: str, commercial: bool, line: str | None) -> str:
    """The text as its sender typed it: a sent `text` without the opt-out `line` that with_line
    put on a line of its own after it (a scheduled batch's text, edited before it goes)."""
    if commercial and line and text.endswith("\n" + line):
        return text[: -len(line) - 1]
    return text


def template_is_commercial(session: so.Session, template_id: int | None) -> bool:
    template = session.get(SmsTemplate, template_id) if template_id is not None else None
    return template is not None and template.commercial


def forced(session: so.Session, draft: ComposeDraft, template_id: int | None = None) -> bool:
    """True when a commercial template is in use on the draft (put into its Message, or named by
    the Send): the message is then commercial whatever the tick box says."""
    return template_is_commercial(session, draft.template_id) or (
        template_id != draft.template_id and template_is_commercial(session, template_id)
    )
