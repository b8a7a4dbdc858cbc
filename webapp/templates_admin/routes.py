"""Template pages: the list by folder, the add/edit form with preview and counter,
(de)activation."""

from __future__ import annotations

from collections.abc import Sequence

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from webapp.database import reread_for_update
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.ids import as_id
from webapp.models import SmsTemplate, User
from webapp.models.messaging import RECORD_TYPES
from webapp.people.kinds import CANDIDATES, KINDS, Kind
from webapp.sms import merge, people, segments
from webapp.sms import templates as sms_templates
from webapp.templates_admin import bp
from webapp.templates_admin.forms import ListingForm, TemplateForm
from webapp.web import edit_merge
from webapp.web.access import permission_required
from webapp.web.forms import field_error, showing
from webapp.web.notices import back_to_section
from webapp.web.rendering import render, render_list

INDEX = "templates_admin.index"
PREVIEW_KINDS = {kind.singular: kind.label for kind in KINDS}


def template_or_404(template_id: int) -> SmsTemplate:
    """The template if this user may see it: another user's personal template does not exist for
    them."""
    template = sms_templates.get_visible(db.session, current_user, template_id)
    if template is None:
        abort(404, description="There is no such template, or it is someone else's personal one.")
    return template


@bp.route("/templates")
@permission_required("sms.send")
def index():
    """List the shared templates and this user's own, by folder, with search and filters."""
    form = ListingForm.read(request.args)
    wanted = form.filters
    folders = sms_templates.folders(db.session, current_user)
    if wanted.folder and wanted.folder not in folders:
        # A folder asked for stays chosen in the filter, though no template is in it.
        folders.append(wanted.folder)
    return render_list(
        "templates_admin/index.html",
        form,
        wanted=wanted,
        templates=sms_templates.listing(db.session, current_user, wanted),
        folders=folders,
        record_types=RECORD_TYPES,
        may_change=lambda template: sms_templates.may_change(current_user, template),
    )


@bp.route("/templates/new", methods=["GET", "POST"])
@permission_required("sms.send")
def new():
    """Add a template: personal, or shared for those who manage templates."""
    return _form(None)


@bp.route("/templates/<id:template_id>", methods=["GET", "POST"])
@permission_required("sms.send")
def edit(template_id: int):
    """Edit a template this user may change; anyone else sees it read-only."""
    if request.method == "POST" and (
        by := sms_templates.made_personal_by(db.session, current_user, template_id)
    ):
        # Made personal by another manager since this form was opened: refused by name, the form
        # kept as typed (as a new template's, so nothing of the template as it is now is shown).
        return _form(None, refusal=_made_personal(by))
    template = template_or_404(template_id)
    may_change = sms_templates.may_change(current_user, template)
    if request.method == "POST" and not may_change:
        abort(403, description="Only users who manage templates can change a shared template.")
    if not may_change:
        line = sms_templates.line_for(db.session, template.commercial)
        count = sms_templates.counted(template.body, line)
        return _editor(template, count, readonly=True, with_line=template.commercial)
    return _form(template)


def _made_personal(by: User | None) -> str:
    who = by.full_name if by is not None and by.full_name.strip() else "Another user"
    return (
        f"{who} made this template personal after you opened it, so you can no longer change "
        "it. Your changes were not saved: they are still below, to copy, or to add as a new "
        "template."
    )


def _form(template: SmsTemplate | None, refusal: str | None = None) -> Response:
    """The add or edit form's answer to a GET or a POST; `refusal`: why a save is refused whatever
    the form holds (the template it was opened for is out of this user's reach now)."""
    if showing():
        return _page(edit_merge.stamp(TemplateForm(obj=template)), template)
    form = TemplateForm()
    if form.shared.data and not sms_templates.may_share(current_user):
        abort(403, description="Only users who manage templates can make a template shared.")
    action = request.form.get("action", "save")
    if action == "enter":
        # Enter in a one-line field without JavaScript (the form's hidden first button): Preview
        # when a record id to preview for is typed, else Save. Erring to Preview loses nothing;
        # erring to Save would add a template its user only meant to try. (compose.js tells the
        # fields apart when it runs.)
        action = "preview" if (request.form.get("preview_id") or "").strip() else "save"
    if action == "counter":
        # A preview on show follows the text too (it posts `previewing`): else it showed text no
        # longer typed, while the counter beside it counted the new text for the same person.
        if request.form.get("previewing"):
            return _page(
                form, template, blocks=["counter", "preview_result"], preview=True, redraw=True
            )
        return _page(form, template, blocks=["counter"])
    if action == "picker":
        # For changed (with JavaScript): the merge fields the people now chosen have.
        return _page(form, template, blocks=["picker"])
    if action == "preview":
        return _page(form, template, blocks=["preview", "counter"], preview=True)
    if action == "insert_field":
        # Without JavaScript the picker appends its tag; with it, compose.js inserts at the cursor.
        field = merge.FIELDS.get(request.form.get("merge_field", ""))
        # Back on the picker after an insert, not in the Message box: there the caret starts at
        # the top, and text typed went in before the field; from the picker another field goes in.
        focus = "merge_field"
        if field in _offered(form):
            form.body.data = (form.body.data or "") + field.tag()
        elif field is not None:
            focus = "body"  # beside the message that says why
            # The picker was drawn for the type chosen before: say why nothing went in.
            form.body.errors = [
                f"{field.tag()} was not put in: it is empty for the "
                f"{RECORD_TYPES.get(form.record_type.data, 'people').lower()} this template is "
                "for. The picker offers the fields they have."
            ]
        return _page(form, template, focus=focus)
    if refusal is not None:
        return _page(form, None, status=409, form_error=refusal)
    if form.validate_on_submit():
        if template is not None:
            # A form opened before someone else's save (or Deactivate) applies only what its
            # user changed.
            reread_for_update(db.session, template)
            conflict = edit_merge.merge(form, TemplateForm(formdata=None, obj=template))
            if conflict:
                return _page(form, template, status=409, form_error=conflict)
        try:
            if template is None:
                saved = sms_templates.create(db.session, current_user, form.data_for_save())
                message = f"Template “{saved.name}” added."
            else:
                sms_templates.update(db.session, current_user, template, form.data_for_save())
                saved = template
                message = f"Template “{saved.name}” saved."
        except FieldError as error:
            db.session.rollback()
            if error.status == 403:
                abort(403, description=error.message)
            return _page(
                form,
                template,
                status=error.status,
                form_error=field_error(form, error),
                save_refused=True,
            )
        flash(message, "info")
        # To its folder, with the inactive ones shown when it is one: else the list it lands on
        # hides the template just saved ("0 templates").
        landing = sms_templates.Listing(folder=saved.folder, inactive=not saved.active)
        return redirect(url_for("templates_admin.index", **landing.params()), 303)
    return _page(form, template, status=400, save_refused=True)


def _offered(form: TemplateForm) -> tuple[merge.MergeField, ...]:
    """The merge fields for the template's record type (every kind's when it is for both)."""
    return merge.offered(KINDS.merge_fields(form.record_type.data))


def _preview_choice(form: TemplateForm) -> tuple[Kind, str]:
    named = request.form.get("preview_kind", "")
    if named not in KINDS.singulars:
        # Unchosen (the form just opened): the people the template is for, when one kind is.
        named = form.record_type.data
    kind = KINDS.by_singular(named) if named in KINDS.singulars else CANDIDATES
    # Whole: a long id cut short was answered for the number it was cut to.
    return kind, request.form.get("preview_id", "").strip()


def _as_typed(raw: str, most: int = 40) -> str:
    """What was typed, shortened for a message only (a pasted page is not said back whole)."""
    return raw if len(raw) <= most else raw[: most - 1] + "…"


def _page(
    form: TemplateForm,
    template: SmsTemplate | None,
    *,
    status: int = 200,
    blocks: Sequence[str] = (),
    preview: bool = False,
    focus: str | None = None,
    form_error: str | None = None,
    save_refused: bool = False,
    redraw: bool = False,
) -> Response:
    """The form as posted; `save_refused`: a Save its fields refused (the summary says so);
    `redraw`: the preview drawn again for the counter, out of band, as the user types."""
    body = form.body.data or ""
    kind, raw_id = _preview_choice(form)
    person, preview_errors = None, {}
    if raw_id or preview:
        person_id = as_id(raw_id)
        found = people.load(db.session, kind.segment, [person_id]) if person_id else []
        if found:
            person = found[0]
        elif not raw_id:
            preview_errors["preview_id"] = (
                "Give the id of a candidate or client contact to preview for."
            )
        elif person_id is None and not (raw_id.isascii() and raw_id.isdigit()):
            preview_errors["preview_id"] = (
                f"Record id must be a whole number like 42, not “{_as_typed(raw_id)}”."
            )
        else:  # 0, or past any id there can be, is a whole number too: just nobody's
            preview_errors["preview_id"] = f"There is no {kind.noun} with id {_as_typed(raw_id)}."
    line = sms_templates.line_for(db.session, form.commercial.data)
    shown = sms_templates.preview(body, person, current_user, line) if person else None
    count = shown.count if shown is not None else sms_templates.counted(body, line)
    if redraw:
        # An id no longer right is for Preview to refuse: not as the user types in Message, where
        # its autofocus would take them away.
        preview_errors = {}
    if preview and preview_errors:
        status = 400
    return _editor(
        template,
        count,
        readonly=False,
        blocks=blocks,
        status=status,
        form=form,
        form_error=form_error,
        folders=sms_templates.folders(db.session, current_user),
        catalogue=_offered(form),
        can_share=sms_templates.may_share(current_user),
        unknown=merge.unknown_fields(body),
        unfinished=merge.unfinished_fields(body),
        counted_for=person,
        with_line=line is not None,
        preview=preview,
        person=person,
        shown=shown,
        preview_kind=kind.singular,
        preview_id=raw_id,
        preview_kinds=PREVIEW_KINDS,
        preview_errors=preview_errors if preview else {},
        # The counter is drawn out of band wherever it is sent alone or with the preview: its
        # requests swap nothing themselves (compose.js weighs answers that crossed).
        counter_oob="counter" in blocks,
        preview_oob=redraw,
        focus=focus,
        save_refused=save_refused,
        form_url=url_for("templates_admin.edit", template_id=template.id)
        if template
        else url_for("templates_admin.new"),
    )


def _editor(
    template: SmsTemplate | None,
    count: segments.SegmentCount,
    *,
    readonly: bool,
    blocks: Sequence[str] = (),
    status: int = 200,
    **context,
) -> Response:
    """The template page, read-only or as the form, with the segment count of its text."""
    return render(
        "templates_admin/edit.html",
        blocks=list(blocks),
        status=status,
        sms_template=template,
        readonly=readonly,
        record_types=RECORD_TYPES,
        count=count,
        max_characters=sms_templates.MAX_BODY,
        **context,
    )


@bp.route("/templates/<id:template_id>/deactivate", methods=["POST"])
@permission_required("sms.send")
def deactivate(template_id: int):
    """Take a template off the SMS screen's picker (it stays listed under Show inactive)."""
    return _set_active(template_id, False)


@bp.route("/templates/<id:template_id>/reactivate", methods=["POST"])
@permission_required("sms.send")
def reactivate(template_id: int):
    """Offer a deactivated template on the SMS screen again."""
    return _set_active(template_id, True)


def _set_active(template_id: int, active: bool) -> Response:
    template = template_or_404(template_id)
    # Back to the list as it was filtered (a filter left out there is left out here too), saying
    # what happened above the results with the focus on it: the button pressed is no longer there
    # to keep it (the list is a new page), and it fell to the page's start.
    filters = ListingForm.read(request.form).filters.params()
    try:
        changed = sms_templates.set_active(db.session, current_user, template, active)
    except FieldError as error:
        db.session.rollback()
        if error.status == 403:
            abort(error.status, description=error.message)
        return back_to_section(INDEX, "results-refused", error.message, 303, **filters)
    state = "reactivated" if active else "deactivated"
    said = (
        f"Template “{template.name}” {state}."
        if changed
        else f"Template “{template.name}” was already {state}."
    )
    return back_to_section(INDEX, "results", said, 303, **filters)
