"""What the SMS screen (compose.html) shows, computed once per request from the draft and form."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from flask import current_app
from flask_login import current_user

from webapp.compose.forms import ComposeForm, typed_moment
from webapp.extensions import db
from webapp.models import ComposeDraft, SmsTemplate
from webapp.models.base import utcnow
from webapp.people.kinds import KINDS, Kind
from webapp.sms import compose as sms_compose
from webapp.sms import confirmation, merge, opt_out_line, quiet_hours, recipients, schedule
from webapp.sms import settings as sms_settings
from webapp.sms.compose import ComposeState, PreviewItem
from webapp.sms.segments import SegmentCount
from webapp.web.sms_routes import blocked, region_names
from webapp.web.times import user_zone

INLINE_RECIPIENTS = 50
OUTCOME_LABELS = {
    recipients.OK: "Will be sent",
    recipients.OPTED_OUT: "Opted out (SMS not ticked)",
    recipients.BLOCKED_COUNTRY: "Country the gateway will not serve",
    recipients.INVALID_NUMBER: "Invalid mobile number",
    recipients.NO_MOBILE: "No mobile number",
    recipients.DUPLICATE: "Same number as another recipient (sent once)",
}


def _confirmation(items: list[PreviewItem]) -> confirmation.Confirmation:
    """What the confirmation of a big send shows, priced as the admin Settings page says."""
    return confirmation.confirmation(
        items,
        confirmation.prices_per_part(db.session),
        confirmation.currency_label(db.session),
    )


def _going_at(draft: ComposeDraft) -> datetime:
    """When a Send of `draft` would go: its Send at while still ahead, else now. A Send at
    beyond what may be scheduled (kept on the draft, refused at Send) is not a time to plan for.
    Read as Send will read it, in the user's zone now."""
    now = utcnow()
    going = typed_moment(draft.send_at_typed, user_zone()) if draft.send_at_typed else draft.send_at
    if going is None or going > now + schedule.MAX_AHEAD:
        return now
    return max(going, now)


@dataclass(frozen=True)
class ComposeScreen:
    """Everything compose.html reads, by the names it reads them."""

    draft: ComposeDraft
    kind: Kind
    form: ComposeForm
    state: ComposeState
    items: list[PreviewItem]
    worst: SegmentCount
    # The recipient with the most characters, whom Send measures (None: nobody): the counter's
    # "too long" names them, as worst (the most parts) may be another, shorter message.
    longest: PreviewItem | None
    parsed: merge.Template
    templates: list[SmsTemplate]
    sms: sms_settings.SmsSettings
    region_names: dict[str, str]
    can_ignore: bool
    # "N messages · M SMS parts" beside Send: M sums each recipient's own parts.
    totals: confirmation.Totals
    # The accounts the messages go through, as (label, messages), most first; empty without
    # accounts (webapp.sms.routing).
    through: list[tuple[str, int]]
    # Messages that would wait for quiet hours, at the draft's Send at or now (None: none).
    quiet: quiet_hours.Forecast | None = None
    # Send asked for a confirmation first: what it shows (None: the screen as usual).
    confirm: confirmation.Confirmation | None = None
    # The totals and the quiet-hours note ride out of band on the counter's and the preview's
    # responses.
    totals_oob: bool = False
    errors: dict[str, str] = field(default_factory=dict)
    focus: str | None = None
    preview: bool = False
    preview_index: int = 0
    # The preview and the counter are drawn out of band in the counter's and the preview's
    # responses (compose.js weighs each against answers that crossed it).
    preview_oob: bool = False
    counter_oob: bool = False
    # Without JavaScript: what a step put into the Message ("template", "merge_field"), said
    # beside its picker, which has the focus.
    added: str | None = None
    # Without JavaScript, Enter pressed in a one-line field, which sends nothing: the field
    # ("send_at", "ignore_reason"), or "notice" when it is not known; the screen says so there.
    enter_held: str | None = None
    # A template chosen over typed text, waiting for Replace or Keep.
    asking: SmsTemplate | None = None
    # A confirmation: the opted-out people the screen before it showed (its posted
    # opted_out_shown), carried on rather than read afresh.
    opted_out: str | None = None
    # A commercial template is in use: "Commercial message" is ticked and cannot be unticked.
    commercial_forced: bool = False
    # The opt-out line rides out of band on the counter's response (it may now be in the text).
    line_oob: bool = False
    outcome_labels: dict[str, str] = field(default_factory=lambda: OUTCOME_LABELS)
    inline: int = INLINE_RECIPIENTS
    max_characters: int = sms_compose.MAX_CHARACTERS
    max_reason: int = sms_compose.MAX_REASON
    max_comment: int = sms_compose.MAX_COMMENT

    @property
    def scheduled_for(self) -> datetime | None:
        """When Send would schedule it, as the confirmation says: the Send at shown, read as Send
        reads it, in the user's zone now (None: now, or no time it can read)."""
        return typed_moment(self.form.send_at.data, user_zone())

    @property
    def send_at_unreadable(self) -> bool:
        """A Send at typed that names no time (where the browser has no date-time field): a
        date-time field would show it empty, and post it empty, which sends now; a text field
        shows it as typed, for Send to refuse."""
        typed = self.form.send_at.data
        return bool(typed) and schedule.read_local(typed) is None

    @property
    def recipients_shown(self) -> str:
        """Who this screen shows as taken off, for Send to refuse a list changed since."""
        return sms_compose.removed_key(self.draft)

    @property
    def opted_out_shown(self) -> str:
        """Who this screen shows as opted out, for a Send with Ignore to refuse a change since; a
        confirmation carries on the one the screen before it posted (`opted_out`)."""
        return self.opted_out or self.state.opted_out_key

    @property
    def catalogue(self) -> tuple[merge.MergeField, ...]:
        """The merge fields that mean something for these recipients, and the sender's."""
        return merge.offered(self.kind.merge_fields)

    @property
    def preview_empty(self) -> tuple[list[str], list[str]]:
        """The merge fields empty in the message previewed: (the recipient's, the sender's, which
        are empty on their Profile)."""
        if not self.preview or not self.items:
            return [], []
        return sms_compose.empty_fields(self.items[self.preview_index].rendered)

    @property
    def with_empty(self) -> int:
        """How many recipients the preview says have a merge field of theirs empty (0 while it is
        closed): a field of the sender's is empty on their Profile, said once, not per person."""
        if not self.preview:
            return 0
        return sum(1 for item in self.items if sms_compose.empty_fields(item.rendered)[0])

    @property
    def line_in_text(self) -> bool:
        """The typed Message already holds the opt-out line, so it is not added again."""
        line = self.state.opt_out_line
        return bool(line) and opt_out_line.holds(self.form.message.data or "", line)

    @classmethod
    def build(
        cls,
        draft: ComposeDraft,
        form: ComposeForm,
        *,
        preview_index: int | None = None,
        confirming: bool = False,
        **flags: Any,
    ) -> ComposeScreen:
        """Analyse the draft's recipients and render the message for each, once.

        `flags` are the remaining fields as the view sets them: errors, focus, preview, counter_oob,
        asking. The recipient previewed is the form's unless `preview_index` says; `confirming`
        shows the confirmation of a big send instead of the form.
        """
        if preview_index is None:
            preview_index = form.preview_index.data
        message = form.message.data
        forced = opt_out_line.forced(db.session, draft)
        routes = blocked()
        state = sms_compose.analyse_draft(
            db.session,
            draft,
            routes,
            form.ignore.data,
            commercial=bool(form.commercial.data) or forced,
        )
        items = sms_compose.render_all(state, message, current_user)
        # Only once an account exists: without, the screen is as it always was.
        through = (
            [(a.label, n) for a, n in routes.usage(i.person.mobile_region for i in items)]
            if routes.has_accounts
            else []
        )
        return cls(
            draft=draft,
            kind=KINDS.by_segment(draft.kind),
            form=form,
            state=state,
            items=items,
            worst=sms_compose.worst_count(items, state.body(message)),
            longest=sms_compose.longest(items),
            parsed=merge.parse(message),
            templates=sms_compose.visible_templates(db.session, current_user, draft.kind),
            sms=sms_settings.load(db.session, current_app.config),
            region_names=region_names(),
            can_ignore=current_user.can("sms.ignore_opt_out"),
            totals=confirmation.totals(items),
            through=through,
            quiet=quiet_hours.forecast(
                db.session,
                current_user,
                quiet_hours.QuietSettings.from_config(current_app.config),
                (item.person.mobile_e164 for item in items),
                _going_at(draft),
            ),
            confirm=_confirmation(items) if confirming and items else None,
            commercial_forced=forced,
            preview_index=min(preview_index, max(len(items) - 1, 0)),
            **flags,
        )

    def context(self) -> dict[str, Any]:
        """The template's variables."""
        return {f.name: getattr(self, f.name) for f in fields(self)} | {
            "catalogue": self.catalogue,
            "recipients_shown": self.recipients_shown,
            "opted_out_shown": self.opted_out_shown,
            "line_in_text": self.line_in_text,
            "preview_empty": self.preview_empty,
            "with_empty": self.with_empty,
            "scheduled_for": self.scheduled_for,
            "send_at_unreadable": self.send_at_unreadable,
        }
