"""The SMS screen's views: thin wrappers that read the form, call webapp.sms.compose, and render."""

from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from webapp import worker
from webapp.compose import bp, selection
from webapp.compose.forms import ComposeForm
from webapp.compose.screen import OUTCOME_LABELS, ComposeScreen, blocked, region_names
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.ids import as_id
from webapp.people.kinds import CANDIDATES, KINDS
from webapp.sms import compose as sms_compose
from webapp.sms import merge, recipients
from webapp.sms import settings as sms_settings
from webapp.sms.compose import SendRequest
from webapp.web.access import permission_required
from webapp.web.forms import field_error
from webapp.web.rendering import render, wants_fragment


@bp.route("/compose", methods=["GET", "POST"])
@permission_required("sms.send")
def compose():
    """Open the SMS screen for one person (GET ?candidate= / ?contact=) or a search
    selection (POST)."""
    try:
        if request.method == "GET":
            kind, ids = selection.from_link(request.args)
        else:
            kind, ids = selection.from_form(
                request.form,
                db.session,
                sms_settings.default_region(db.session, current_app.config),
            )
        draft = sms_compose.create_draft(db.session, current_user, kind, ids)
    except FieldError as error:
        return render(
            "compose/compose.html",
            blocks=["compose"],
            status=error.status,
            problem=error.message,
            back=_back_url(),
        )
    return _screen(draft, ComposeForm(formdata=None), focus="template")


def _back_url() -> str:
    """The search the SMS screen was opened from: the form's kind, or the one a record link
    names."""
    named = request.values.get("kind") or next(
        (kind.segment for kind in KINDS if kind.singular in request.args), ""
    )
    kind = KINDS.by_segment(named) if named in KINDS.segments else CANDIDATES
    return url_for(kind.search_endpoint)


def _draft(token: str):
    try:
        return sms_compose.get_draft(db.session, token, current_user)
    except FieldError as error:
        abort(error.status, description=error.message)


def _require_ignore_permission(form: ComposeForm) -> None:
    """Ignore set by someone without the permission: 403 before anything changes."""
    if form.ignore.data and not current_user.can("sms.ignore_opt_out"):
        abort(403, description="You do not have permission to ignore SMS opt-outs.")


def _screen(draft, form: ComposeForm, *, status: int = 200, blocks=("compose",), **flags):
    """The SMS screen (or the named blocks of it); `flags` as ComposeScreen takes them."""
    _require_ignore_permission(form)
    screen = ComposeScreen.build(draft, form, **flags)
    return render("compose/compose.html", blocks=list(blocks), status=status, **screen.context())


@bp.route("/compose/<token>", methods=["GET"])
@permission_required("sms.send")
def show(token: str):
    """Show an SMS screen again (after Cancel, or a bookmark within the day)."""
    draft = _draft(token)
    batch = sms_compose.batch_for(db.session, draft)
    if batch is not None:
        return redirect(url_for("batches.show", batch_id=batch.id))
    return _screen(draft, ComposeForm(formdata=None))


@bp.route("/compose/<token>/update", methods=["POST"])
@permission_required("sms.send")
def update(token: str):
    """Apply one change to the screen: remove or restore a person, Ignore, template, merge field."""
    draft = _draft(token)
    form = ComposeForm()
    _require_ignore_permission(form)
    errors: dict[str, str] = {}
    focus = None
    try:
        if as_id(request.form.get("remove")):
            sms_compose.set_removed(db.session, draft, as_id(request.form["remove"]), True)
            focus = "recipients"
        elif as_id(request.form.get("restore")):
            sms_compose.set_removed(db.session, draft, as_id(request.form["restore"]), False)
            focus = "recipients"
        elif (
            request.form.get("action") == "use_template"
            or request.headers.get("HX-Trigger-Name") == "template_id"
        ):
            if as_id(form.template_id.data):
                template = sms_compose.template_for(
                    db.session, current_user, draft.kind, as_id(form.template_id.data)
                )
                form.message.data = template.body
            if wants_fragment() and request.headers.get("HX-Trigger-Name") == "template_id":
                # Picking from the list swaps only the Message; focus stays on the list.
                return _screen(draft, form, blocks=("message_field", "counter"), counter_oob=True)
            focus = "message"
        elif request.form.get("action") == "insert_field":
            if form.merge_field.data in merge.FIELDS:
                form.message.data += merge.FIELDS[form.merge_field.data].tag()
            form.merge_field.data = ""
            focus = "message"
        else:
            focus = (
                "ignore"
                if "ignore" in request.form or request.form.get("action") == "refresh"
                else None
            )
    except FieldError as error:
        field_error(errors, error)
    return _screen(draft, form, errors=errors, focus=focus, status=400 if errors else 200)


@bp.route("/compose/<token>/counter", methods=["POST"])
@permission_required("sms.send")
def counter(token: str):
    """The live counter: characters, segments and encoding of the worst-case recipient."""
    return _screen(_draft(token), ComposeForm(), blocks=("counter",))


@bp.route("/compose/<token>/preview", methods=["POST"])
@permission_required("sms.send")
def preview(token: str):
    """The message as each recipient will get it, stepping through them."""
    # The counter rides along out of band: the swap itself replaces only #preview.
    return _screen(
        _draft(token),
        ComposeForm(),
        blocks=("preview", "counter"),
        preview=True,
        focus="preview",
        counter_oob=True,
    )


@bp.route("/compose/<token>/list/<outcome>")
@permission_required("sms.send")
def outcome_list(token: str, outcome: str):
    """Who got one outcome (e.g. the Opt Out Recipient List), as a fragment or a page."""
    if outcome not in recipients.OUTCOMES and outcome != "removed":
        abort(404, description="There is no such list.")
    draft = _draft(token)
    form = ComposeForm(formdata=request.args)
    _require_ignore_permission(form)
    state = sms_compose.analyse_draft(db.session, draft, blocked(), form.ignore.data)
    if outcome == "removed":
        people = [(person, False) for person in state.removed]
    elif outcome == recipients.OPTED_OUT:
        # Opted out whether or not Ignore now includes them: the list FastTrack360 users know.
        people = [
            (o.person, o.overridden)
            for o in state.analysis.outcomes
            if o.outcome == recipients.OPTED_OUT or o.overridden
        ]
    else:
        people = [(o.person, o.overridden) for o in state.analysis.of(outcome)]
    return render(
        "compose/outcome_list.html",
        blocks=["outcome_list"],
        draft=draft,
        outcome=outcome,
        label=OUTCOME_LABELS.get(outcome, "Taken off this SMS"),
        people=people,
        region_names=region_names(),
    )


@bp.route("/compose/<token>/send", methods=["POST"])
@permission_required("sms.send")
def send(token: str):
    """Send: write the batch and its queued messages once, then show the batch's progress."""
    draft = _draft(token)
    form = ComposeForm()
    _require_ignore_permission(form)
    sms = sms_settings.load(db.session, current_app.config)
    comment_type = form.comment_type.data
    if comment_type not in sms.comment_types:
        comment_type = sms.comment_types[0]
    send_request = SendRequest(
        body=form.message.data,
        ignore=form.ignore.data,
        ignore_reason=form.ignore_reason.data,
        template_id=as_id(form.template_id.data),
        comment=form.comment.data and not sms.suppress_add_comment,
        comment_type=comment_type,
        comment_text=form.comment_text.data.strip() or None,
    )
    try:
        batch = sms_compose.send(
            db.session,
            draft,
            current_user,
            send_request,
            provider=current_app.config["SMS_PROVIDER"],
            blocked=blocked(),
        )
    except FieldError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403, description=error.message)
        errors: dict[str, str] = {}
        field_error(errors, error)
        return _screen(draft, form, status=error.status, errors=errors, focus=error.field)
    worker.wake()
    target = url_for("batches.show", batch_id=batch.id)
    if wants_fragment():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)
