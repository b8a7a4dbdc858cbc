"""The SMS screen's form: what the consultant typed and ticked (nothing here is trusted about who
receives it: the recipients come from the draft)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, tzinfo

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

from webapp.ids import as_id
from webapp.models import ComposeDraft
from webapp.sms import schedule
from webapp.sms.compose import DraftInput, draft_input
from webapp.text import clean_multiline
from webapp.web.forms import TickField
from webapp.web.times import user_zone


def _page_index(value) -> int:
    return as_id(value) or 0


def local_text(moment: datetime | None, zone: tzinfo) -> str:
    """`moment` as a datetime-local field shows it in `zone`: minutes, no zone (the user's zone is
    said beside it), "2026-12-03T09:30"; "" for none.

    A moment kept as typed at the calendar's ends (year 1 or 9999) in another zone may have no
    local time in this one: it shows as the nearest the calendar has, which Send still refuses
    with the reason, where an empty field would send at once. (isoformat, not strftime: glibc's
    %Y writes year 1 as "1", which the field does not take.)"""
    if moment is None:
        return ""
    try:
        local = moment.astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        local = datetime.max if moment.year > 1 else datetime.min
    return local.isoformat(timespec="minutes")


def typed_moment(text: str | None, zone: tzinfo) -> datetime | None:
    """The UTC moment a "Send at" as typed names in `zone`, read as Send reads it but leniently,
    for planning: a time in the past, too far ahead or in a clock change still names one (Send
    refuses it with the reason, through schedule.parse_send_at); None when it names none."""
    local = schedule.read_local(text)
    try:
        return None if local is None else local.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def as_shown(text: str | None) -> str:
    """A "Send at" as typed, as the field shows it back: a time Send can read in the form a
    datetime-local field takes ("2026-12-07 9:30" as "2026-12-07T09:30"; the field would empty any
    other form of it, and an empty Send at sends now), anything else as it was typed."""
    local = schedule.read_local(text)
    return (text or "").strip() if local is None else local.isoformat(timespec="minutes")


class ComposeForm(FlaskForm):
    """The field names are the contract with compose.html, compose.js and the tests.

    The domain (webapp.sms.compose) judges the values and raises a FieldError naming the field;
    this form only reads them, so it is never `validate()`d (CSRFProtect checks every POST).
    """

    # The message and the comment keep their line breaks ("\r\n" as "\n"); any other control
    # character goes: a stray escape or tab pasted from elsewhere is never meant to be sent.
    message = TextAreaField("Message", default="", filters=[clean_multiline])
    # The template highlighted in the list; the one put into the Message is the draft's.
    template_id = StringField("Template", default="")
    merge_field = StringField("Insert merge field", default="")
    ignore = TickField("Ignore")
    # Never cut here: a reason over the limit is refused with a message, not silently shortened.
    ignore_reason = StringField("Reason for ignoring opt-outs", default="")
    comment = TickField("Comment")
    comment_type = StringField("Comment type", default="")
    comment_text = TextAreaField("Comment text", default="", filters=[clean_multiline])
    # Adds the opt-out line; the server ticks it whatever is posted while a commercial template
    # is in use.
    commercial = TickField("Commercial message")
    # Send later: a datetime-local value read in the user's zone; empty sends now.
    send_at = StringField("Send at", default="")
    preview_index = HiddenField(default=0, filters=[_page_index])

    @classmethod
    def over(cls, draft: ComposeDraft, *, posted: bool, can_ignore: bool) -> ComposeForm:
        """The form as posted, over what the draft remembers (all of it when nothing is posted).

        A tick box missing from a post is unticked; a text field missing keeps the draft's text.
        Ignore remembered for someone no longer allowed it comes back unticked.
        """
        typed = draft_input(draft)
        kept = asdict(typed) | {
            "ignore": typed.ignore and can_ignore,
            "comment_type": typed.comment_type or "",
            "template_id": str(draft.template_id or ""),
            # As typed; a draft from before that was kept shows its moment.
            "send_at": as_shown(typed.send_at_typed)
            if typed.send_at_typed
            else local_text(typed.send_at, user_zone()),
        }
        return cls(data=kept) if posted else cls(formdata=None, data=kept)

    def typed(self, comment_types: tuple[str, ...] | list[str]) -> DraftInput:
        """What the draft keeps of this form; a comment type not on offer is not kept."""
        return DraftInput(
            message=self.message.data or "",
            ignore=bool(self.ignore.data),
            ignore_reason=self.ignore_reason.data or "",
            comment=bool(self.comment.data),
            comment_type=self.comment_type.data
            if self.comment_type.data in comment_types
            else None,
            comment_text=self.comment_text.data or "",
            commercial=bool(self.commercial.data),
            send_at_typed=(self.send_at.data or "").strip(),
            send_at=typed_moment(self.send_at.data, user_zone()),
        )
