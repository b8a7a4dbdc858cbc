"""Record pages: show a person with their conversation, edit their Privacy inline, send a Quick
reply, add and edit people."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp import form_tokens, worker
from webapp.database import reread_for_update
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models.people import PRIVACY_FIELDS
from webapp.people import records
from webapp.people.kinds import KINDS
from webapp.people.records import PersonData
from webapp.records import bp
from webapp.records.forms import (
    AddCandidateForm,
    AddContactForm,
    CandidateForm,
    ContactForm,
    EditCandidateForm,
    EditContactForm,
    PrivacyForm,
    QuickReplyForm,
)
from webapp.sms import compose, history, quick_reply, segments
from webapp.sms.alerts import AlertSettings
from webapp.sms.compose import MAX_CHARACTERS, MAX_REASON
from webapp.sms.limits import LimitSettings
from webapp.sms.quiet_hours import QuietSettings, waiting_in_batch
from webapp.users import offices
from webapp.web import edit_merge, phone_numbers
from webapp.web.access import permission_required
from webapp.web.forms import field_error, showing
from webapp.web.notices import back_to_section
from webapp.web.rendering import render, wants_fragment
from webapp.web.sms_routes import blocked, region_names
from webapp.web.times import when

KIND = f"<any({', '.join(KINDS.segments)}):kind>"


def person_or_404(kind: str, person_id: int):
    """The person, or 404: the one place that decides whether a record exists."""
    person = records.get_person(db.session, kind, person_id)
    if person is None:
        abort(404, description="There is no such record; it may have been removed.")
    return person


@bp.route(f"/{KIND}/<id:person_id>")
@login_required
def show(kind: str, person_id: int):
    """Show a person's details, Privacy, Comments and Communications History (the conversation,
    or one side of it), with the Quick reply under it for those who may send."""
    person = person_or_404(kind, person_id)
    tab = _tab(request.args.get("tab"))
    # The thread alone: what htmx polls while a message shown is still on its way.
    block = "thread" if request.args.get("part") == "thread" else "history"
    return _record_page(kind, person, block, tab=tab)


def _tab(value: str | None) -> str:
    return value if value in history.TABS else history.ALL


@dataclass
class QuickReply:
    """What the Quick reply form shows: the form as typed, whether the SMS would reach the person
    (and if not, why), the live counter, and what the last post did."""

    form: QuickReplyForm
    reach: quick_reply.Reach
    notice: str | None
    count: segments.SegmentCount
    can_ignore: bool
    errors: dict[str, str] = field(default_factory=dict)
    sent: str | None = None
    # Enter pressed in the reason without JavaScript: the form back as typed, nothing sent.
    held: bool = False
    focus: bool = False
    max_characters: int = MAX_CHARACTERS
    max_reason: int = MAX_REASON

    @property
    def open(self) -> bool:
        """Whether the box is offered: the SMS can go (past an opt-out only for a user who may
        Ignore), or it holds text typed before the person became unreachable (kept, not lost)."""
        return (
            self.reach.ok
            or (self.reach.opted_out and self.can_ignore)
            or bool(self.form.message.data)
        )


def _quick_reply(kind: str, person, withdrawal, form: QuickReplyForm | None = None, **flags):
    """The Quick reply for this user, or None for one who may not send SMS."""
    if not current_user.can("sms.send"):
        return None
    found = quick_reply.reach(db.session, kind, person.id, blocked())
    if found is None:
        return None
    if form is None:
        form = QuickReplyForm(formdata=None)
    if not form.reply_token.data:
        # The form's one SMS, however often it is posted.
        form.reply_token.data = form_tokens.new()
    can_ignore = current_user.can("sms.ignore_opt_out")
    notice = None
    if not found.ok:
        region = found.person.mobile_region or ""
        notice = quick_reply.refusal(
            found,
            can_ignore=can_ignore,
            self_withdrawn=withdrawal is not None,
            region_name=region_names().get(region) if region else None,
            blocked_by=blocked().refusal(region),
        )
    if flags.pop("ignore_refused", False):
        # The last post asked to Ignore, and its user may no longer: said where the form's own
        # errors go (focused, above the box), drawn as for a user who may not Ignore.
        flags["errors"] = {
            "form": quick_reply.ignore_refused(
                found, self_withdrawn=withdrawal is not None, notice=notice
            )
        }
    return QuickReply(
        form=form,
        reach=found,
        notice=notice,
        count=quick_reply.count(found.person, form.message.data or "", current_user),
        can_ignore=can_ignore,
        **flags,
    )


def _record_page(
    kind: str,
    person,
    block: str,
    *,
    tab: str = history.ALL,
    status: int = 200,
    privacy_form: PrivacyForm | None = None,
    reply_form: QuickReplyForm | None = None,
    reply: dict | None = None,
    **privacy,
):
    """The record page, or just `block` of it (history, thread, privacy) for an htmx request.

    `reply_form` and `reply` (QuickReply's errors, sent, focus) say how the Quick reply was left.
    """
    fragment = wants_fragment()
    withdrawal = records.self_withdrawal(db.session, person)
    context = {"comments": [], "history": None, "quick": None}
    blocks = [block]
    if fragment and block == "privacy" and reply_form is not None:
        # A Privacy save may have opened or closed the Quick reply: it comes too, as typed.
        context["quick"] = _quick_reply(kind, person, withdrawal, reply_form, **(reply or {}))
        if context["quick"] is not None:
            blocks.append("quick_reply")
            context["quick_oob"] = True
    elif not fragment or block in ("history", "thread"):
        context = {
            "comments": [] if fragment else records.comments_for(db.session, person),
            "history": history.for_person(
                db.session, person, current_user, tab, offices.team_of(db.session, current_user)
            ),
            "quick": None
            if fragment and block == "thread"
            else _quick_reply(kind, person, withdrawal, reply_form, **(reply or {})),
        }
    return render(
        "records/person.html",
        blocks=blocks,
        status=status,
        kind=KINDS.by_segment(kind),
        person=person,
        tab=tab,
        privacy_form=privacy_form or PrivacyForm.of(person),
        privacy_fields=PRIVACY_FIELDS,
        withdrawal=withdrawal,
        **context,
        **privacy,
    )


@bp.route(f"/{KIND}/<id:person_id>/privacy", methods=["POST"])
@permission_required("records.edit")
def privacy(kind: str, person_id: int):
    """Save the Privacy boxes the user changed (SMS, Email, Mail, statement read), each audited;
    refuse (409) a change to a box that someone else changed after the form was loaded. Only a
    user who may ignore opt-outs ticks SMS again over the person's own STOP, with a reason."""
    person = person_or_404(kind, person_id)
    form = PrivacyForm()
    if not form.validate_on_submit():
        if form.incomplete or form.csrf_token.errors:
            abort(
                400, description="The Privacy form was incomplete; reload the page and try again."
            )
        return _record_page(kind, person, "privacy", status=400, privacy_form=form)
    try:
        changes = records.change_privacy(
            db.session,
            person,
            current_user,
            form.loaded(),
            form.submitted(),
            restore_reason=form.sms_consent_reason.data or "",
        )
    except (records.OverrideNotAllowed, records.RestoreReasonRequired) as refused:
        # Beside the box or field it is about, every box as the user left it (403: not theirs).
        field_error(form, refused)
        return _record_page(kind, person, "privacy", status=refused.status, privacy_form=form)
    message = _privacy_message(changes, form.loaded(), form.submitted())
    if wants_fragment():
        # The Quick reply as posted beside it (hx-include), drawn again for the consent now.
        reply_form, reply = _reply_beside_privacy(kind, person)
        return _record_page(
            kind, person, "privacy", reply_form=reply_form, reply=reply, privacy_message=message
        )
    flash(message, "info")
    return redirect(url_for("records.show", kind=kind, person_id=person.id))


def _reply_beside_privacy(kind: str, person) -> tuple[QuickReplyForm, dict]:
    """The Quick reply a Privacy save posted beside it, to draw again: as typed, unless its token
    has sent its SMS already (Send reply pressed just before Save Privacy, its answer first):
    then empty, with a token of its own and the sent notice, as Send's own answer drew it. Drawn
    as posted, the sent text came back, and Send reply pressed again repeated the batch unsaid."""
    form = QuickReplyForm()
    sent = _sent_with(kind, person, form.reply_token.data)
    if sent is None:
        return form, {}
    return QuickReplyForm(formdata=None), {"sent": _sent_message(person.full_name, sent.id)}


def _sent_with(kind: str, person, token: str | None):
    """The batch this user's Quick reply on this person sent with `token`, or None."""
    token = form_tokens.ours(token)
    draft = compose.draft_by_token(db.session, token) if token else None
    if (
        draft is None
        or draft.user_id != current_user.id
        or draft.kind != kind
        or draft.person_ids != [person.id]
    ):
        return None
    return compose.batch_for(db.session, draft)


def _privacy_message(changes: dict, loaded: dict[str, bool], submitted: dict[str, bool]) -> str:
    """What a save did: the boxes it changed, then those the user changed that another tab or
    someone else had already set the same way (nothing to write: saved all the same)."""
    asked = [field for field in PRIVACY_FIELDS if submitted[field] != loaded[field]]
    if not asked:
        return "Privacy unchanged."
    parts = [
        f"{PRIVACY_FIELDS[field]} {'' if field in changes else 'already '}"
        f"{'ticked' if submitted[field] else 'unticked'}"
        for field in asked
    ]
    return "Privacy saved: " + ", ".join(parts) + "."


@bp.route(f"/{KIND}/<id:person_id>/reply", methods=["POST"])
@permission_required("sms.send")
def quick_reply_send(kind: str, person_id: int):
    """Send the Quick reply: one SMS to this person through Send's own path, once per form."""
    person = person_or_404(kind, person_id)
    form = QuickReplyForm()
    tab = _tab(form.tab.data)
    if request.form.get("action") == "enter":
        # The form's hidden first button: Enter in its reason, without JavaScript. Send reply is
        # pressed on purpose (past an opt-out, most of all), as on the SMS screen.
        return _record_page(kind, person, "history", tab=tab, reply_form=form, reply={"held": True})
    try:
        sent = quick_reply.send(
            db.session,
            current_user,
            kind,
            person.id,
            quick_reply.ReplyRequest(
                token=form.reply_token.data or "",
                body=form.message.data or "",
                ignore_reason=form.ignore_reason.data or "",
            ),
            provider=current_app.config["SMS_PROVIDER"],
            blocked=blocked(),
            self_withdrawn=records.self_withdrawal(db.session, person) is not None,
            region_names=region_names(),
            limit_settings=LimitSettings.from_config(current_app.config),
            alert_settings=AlertSettings.from_config(current_app.config),
            quiet=QuietSettings.from_config(current_app.config),
        )
    except FieldError as error:
        db.session.rollback()
        reply: dict = {"focus": True}
        if error.status == 403 and error.field == "ignore":
            # Ignore was taken from their role while the form was open: the form again, as they
            # may now use it, with their text (403, not a bare error page that loses it).
            form.ignore_reason.data = ""
            reply["ignore_refused"] = True
        elif error.status == 403:
            abort(403, description=error.message)
        else:
            if error.status == 409:
                form.reply_token.data = ""  # the next press sends with a token of its own
            reply["errors"] = {}
            field_error(reply["errors"], error)
        return _record_page(
            kind,
            person,
            "history",
            tab=tab,
            status=error.status,
            reply_form=form,
            reply=reply,
        )
    if not sent.repeated:
        worker.wake()
    message = _sent_message(person.full_name, sent.batch.id)
    if wants_fragment():
        # A fresh, empty form (a new token) under the thread that now holds the reply.
        return _record_page(
            kind, person, "history", tab=tab, reply={"sent": message, "focus": True}
        )
    # Back on the tab it was sent from (All needs no ?tab=), the form saying it went, focused and
    # so scrolled into view (at the top of the page, out of view, nothing near the form said it).
    # No #quick-reply: a browser focuses no [autofocus] on a page opened at a fragment.
    shown = {} if tab == history.ALL else {"tab": tab}
    return back_to_section(
        "records.show", "quick-reply", message, 303, kind=kind, person_id=person.id, **shown
    )


def _sent_message(name: str, batch_id: int) -> str:
    """The confirmation: said plainly when the reply is held for the person's quiet hours, which
    may be all night, rather than left to look as if it were about to go."""
    held = waiting_in_batch(db.session, batch_id)
    if held is not None:
        return (
            f"Reply to {name} queued: it waits for their quiet hours, until {when(held.last)} "
            "your time, and shows in the conversation as it goes."
        )
    return f"Reply to {name} queued: it shows in the conversation as it goes."


@bp.route(f"/{KIND}/<id:person_id>/reply/counter", methods=["POST"])
@permission_required("sms.send")
def quick_reply_counter(kind: str, person_id: int):
    """The Quick reply's live counter: the message as this person would get it."""
    person = person_or_404(kind, person_id)
    if not wants_fragment():  # only htmx asks; a page without JS counts on Send reply
        return redirect(url_for("records.show", kind=kind, person_id=person.id), 303)
    form = QuickReplyForm()
    found = quick_reply.reach(db.session, kind, person.id, frozenset())
    return render(
        "records/person.html",
        blocks=["reply_counter"],
        count=quick_reply.count(found.person, form.message.data or "", current_user),
        max_characters=MAX_CHARACTERS,
    )


@bp.route(f"/{KIND}/new", methods=["GET", "POST"])
@permission_required("records.edit")
def new(kind: str):
    """Add a candidate or client contact."""
    return _edit(kind, None)


@bp.route(f"/{KIND}/<id:person_id>/edit", methods=["GET", "POST"])
@permission_required("records.edit")
def edit(kind: str, person_id: int):
    """Edit a candidate's or client contact's details."""
    return _edit(kind, person_or_404(kind, person_id))


# The form's fields that are not the record's own columns (the mobile and client are saved apart).
NOT_RECORD_FIELDS = frozenset(
    {"csrf_token", edit_merge.LOADED, "mobile", "client", "add_token", "add_anyway", "save_anyway"}
)


def _edit(segment: str, person):
    kind = KINDS.by_segment(segment)
    region = phone_numbers.default_region()
    if person is not None and showing():
        form = edit_merge.stamp(_stored_form(kind, person, region))
    else:
        stored = (person.mobile_raw or "") if person is not None else None
        posted = _form_class(kind, adding=person is None, posted=True)
        form = posted(default_region=region, stored_mobile=stored)
    if person is None and not form.add_token.data:
        form.add_token.data = form_tokens.new()
    conflict = None
    same: list = []
    saving = form.validate_on_submit()
    if saving and person is not None:
        # A form opened before someone else's save applies only what its user changed.
        reread_for_update(db.session, person)
        conflict = edit_merge.merge(form, _stored_form(kind, person, region))
    if saving and conflict is None:
        values = {
            name: field.data
            for name, field in form._fields.items()
            if name not in NOT_RECORD_FIELDS
        }
        for name in ("email", "job_title", "skills", "location", "position"):
            if name in values:
                values[name] = (values[name] or "").strip() or None
        values["first_name"] = values["first_name"].strip()
        values["last_name"] = values["last_name"].strip()
        data = PersonData(
            values=values,
            mobile=form.mobile.data,
            client_name=form.client.data if kind.has_client else None,
        )
        try:
            return _saved(kind, person, data, form, region)
        except records.AlreadyStored as refused:
            # Refused once, naming them; Add anyway or Save anyway (the same form, confirmed)
            # adds or saves all the same.
            conflict, same = refused.message, refused.people
    status = 409 if conflict else 400 if form.is_submitted() else 200
    return render(
        "records/edit.html",
        status=status,
        kind=kind,
        person=person,
        form=form,
        conflict=conflict,
        same=same,
    )


def _saved(kind, person, data: PersonData, form, region: str):
    """Add the person (`person` None) or save the Edit of `person`, then go to their record."""
    if person is not None:
        saved = records.edit_person(
            db.session,
            kind.segment,
            person,
            data,
            current_user,
            region,
            confirmed=bool(form.save_anyway.data),
        )
        flash(f"{saved.full_name} saved.", "info")
        return redirect(url_for("records.show", **kind.record_args(saved.id)))
    added = records.add_person(
        db.session,
        kind.segment,
        data,
        current_user,
        region,
        token=form.add_token.data or "",
        confirmed=bool(form.add_anyway.data),
    )
    name = added.person.full_name
    if added.repeated:
        flash(f"{name} was already added (the form was sent twice): not added again.", "info")
    else:
        flash(f"{name} added.", "info")
    return redirect(url_for("records.show", **kind.record_args(added.person.id)))


def _form_class(
    kind, adding: bool = False, posted: bool = False
) -> type[CandidateForm] | type[ContactForm]:
    """The Add form, the Edit form as posted (with Save anyway), or the Edit form as stored."""
    if adding:
        return AddContactForm if kind.has_client else AddCandidateForm
    if posted:
        return EditContactForm if kind.has_client else EditCandidateForm
    return ContactForm if kind.has_client else CandidateForm


def _stored_form(kind, person, region: str) -> CandidateForm | ContactForm:
    """The edit form filled from `person` as stored."""
    form = _form_class(kind)(formdata=None, obj=person, default_region=region)
    form.mobile.data = person.mobile_raw
    if kind.has_client:
        form.client.data = person.client.name if person.client else ""
    return form
