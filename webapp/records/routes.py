"""Record pages: show a person, edit their Privacy inline, add and edit people."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.models.people import PRIVACY_FIELDS
from webapp.people import records
from webapp.people.kinds import KINDS
from webapp.people.records import PersonData
from webapp.records import bp
from webapp.records.forms import CandidateForm, ContactForm, PrivacyForm
from webapp.sms import history
from webapp.sms import settings as sms_settings
from webapp.web.access import permission_required
from webapp.web.forms import field_error
from webapp.web.rendering import render, wants_fragment

KIND = f"<any({', '.join(KINDS.segments)}):kind>"
HISTORY_TABS = ("sent", "received")


def person_or_404(kind: str, person_id: int):
    """The person, or 404: the one place that decides whether a record exists."""
    person = records.get_person(db.session, kind, person_id)
    if person is None:
        abort(404, description="There is no such record; it may have been removed.")
    return person


@bp.route(f"/{KIND}/<id:person_id>")
@login_required
def show(kind: str, person_id: int):
    """Show a person's details, Privacy, Comments and Communications History."""
    person = person_or_404(kind, person_id)
    tab = request.args.get("tab", "sent")
    if tab not in HISTORY_TABS:
        tab = "sent"
    return _record_page(kind, person, "history", tab=tab)


def _record_page(
    kind: str,
    person,
    block: str,
    *,
    tab: str = "sent",
    status: int = 200,
    privacy_form: PrivacyForm | None = None,
    **privacy,
):
    """The record page, or just `block` of it (history, privacy) for an htmx request."""
    context = {"comments": [], "history": None}
    if not wants_fragment() or block == "history":
        context = {
            "comments": records.comments_for(db.session, person),
            "history": history.for_person(db.session, person),
        }
    return render(
        "records/person.html",
        blocks=[block],
        status=status,
        kind=KINDS.by_segment(kind),
        person=person,
        tab=tab,
        privacy_form=privacy_form or PrivacyForm.of(person),
        privacy_fields=PRIVACY_FIELDS,
        withdrawal=records.self_withdrawal(db.session, person),
        **context,
        **privacy,
    )


@bp.route(f"/{KIND}/<id:person_id>/privacy", methods=["POST"])
@permission_required("records.edit")
def privacy(kind: str, person_id: int):
    """Save the Privacy boxes the user changed (SMS, Email, Mail, statement read), each audited;
    refuse (409) a change to a box that someone else changed after the form was loaded."""
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
    except records.PrivacyConflict as conflict:
        # The form is drawn afresh, showing the boxes as they are now.
        return _record_page(
            kind, person, "privacy", status=conflict.status, privacy_conflict=conflict.message
        )
    except records.RestoreReasonRequired as refused:
        field_error(form, refused)
        return _record_page(kind, person, "privacy", status=refused.status, privacy_form=form)
    message = _privacy_message(changes)
    if wants_fragment():
        return _record_page(kind, person, "privacy", privacy_message=message)
    flash(message, "info")
    return redirect(url_for("records.show", kind=kind, person_id=person.id))


def _privacy_message(changes: dict) -> str:
    if not changes:
        return "Privacy unchanged."
    parts = [
        f"{PRIVACY_FIELDS[field]} {'ticked' if new else 'unticked'}"
        for field, (_old, new) in changes.items()
    ]
    return "Privacy saved: " + ", ".join(parts) + "."


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


def _edit(segment: str, person):
    kind = KINDS.by_segment(segment)
    region = sms_settings.default_region(db.session, current_app.config)
    form_class = ContactForm if kind.has_client else CandidateForm
    if person is not None and request.method == "GET":
        form = form_class(obj=person, default_region=region)
        form.mobile.data = person.mobile_raw
        if kind.has_client:
            form.client.data = person.client.name if person.client else ""
    else:
        form = form_class(default_region=region)
    if form.validate_on_submit():
        values = {
            name: field.data
            for name, field in form._fields.items()
            if name not in {"csrf_token", "mobile", "client"}
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
        saved = records.save_person(db.session, segment, person, data, current_user, region)
        flash(f"{saved.full_name} {'added' if person is None else 'saved'}.", "info")
        return redirect(url_for("records.show", **kind.record_args(saved.id)))
    status = 400 if form.is_submitted() else 200
    return render("records/edit.html", status=status, kind=kind, person=person, form=form)
