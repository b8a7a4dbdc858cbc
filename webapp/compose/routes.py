"""The SMS screen's views: thin wrappers that read the form, call webapp.sms.compose, and render."""

from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from webapp import worker
from webapp.compose import bp, selection
from webapp.extensions import db
from webapp.ids import as_id
from webapp.sms import compose as sms_compose
from webapp.sms import merge, recipients
from webapp.sms import settings as sms_settings
from webapp.sms.compose import ComposeError, SendRequest
from webapp.text import clean_multiline
from webapp.web.access import permission_required
from webapp.web.rendering import render, wants_fragment

INLINE_RECIPIENTS = 50
OUTCOME_LABELS = {
    recipients.OK: "Will be sent",
    recipients.OPTED_OUT: "Opted out (SMS not ticked)",
    recipients.BLOCKED_COUNTRY: "Country the gateway will not serve",
    recipients.INVALID_NUMBER: "Invalid mobile number",
    recipients.NO_MOBILE: "No mobile number",
    recipients.DUPLICATE: "Same number as someone above (sent once)",
}


def _config(name: str):
    return current_app.config[name]


def _blocked() -> frozenset[str]:
    return sms_settings.blocked_regions(db.session, _config("SMS_PROVIDER"))


@bp.route("/compose", methods=["GET", "POST"])
@permission_required("sms.send")
def compose():
    """Open the SMS screen for one person (GET ?candidate= / ?contact=) or a search selection (POST)."""
    try:
        if request.method == "GET":
            kind, ids = selection.from_link(request.args)
        else:
            kind, ids = selection.from_form(
                request.form, db.session, sms_settings.default_region(db.session, current_app.config))
        draft = sms_compose.create_draft(db.session, current_user, kind, ids)
    except ComposeError as error:
        return render("compose/compose.html", blocks=["compose"], status=error.status,
                      problem=error.message, back=_back_url())
    return _screen(draft, _Form.blank(), focus="template")



def _back_url() -> str:
    kind = request.values.get("kind") or ("contacts" if "contact" in request.args else "candidates")
    return url_for("search.contacts" if kind == "contacts" else "search.candidates")


class _Form:
    """The compose form's values as posted (nothing here is trusted about recipients)."""

    def __init__(self, values):
        # The message and the comment keep their line breaks ("\r\n" as "\n"); any other control
        # character goes: a stray escape or tab pasted from elsewhere is never meant to be sent.
        self.message = clean_multiline(values.get("message", ""))
        self.template_id = values.get("template_id", "")
        self.merge_field = values.get("merge_field", "")
        self.ignore = values.get("ignore") == "1"
        # Never cut here: a reason over the limit is refused with a message, not silently shortened.
        self.ignore_reason = values.get("ignore_reason", "")
        self.comment = values.get("comment") == "1"
        self.comment_type = values.get("comment_type", "")
        self.comment_text = clean_multiline(values.get("comment_text", ""))
        self.preview_index = as_id(values.get("preview_index")) or 0

    @classmethod
    def blank(cls) -> "_Form":
        return cls({})


def _draft(token: str):
    try:
        return sms_compose.get_draft(db.session, token, current_user)
    except ComposeError as error:
        abort(error.status, description=error.message)


def _require_ignore_permission(form: _Form) -> None:
    """Ignore set by someone without the permission: 403 before anything changes."""
    if form.ignore and not current_user.can("sms.ignore_opt_out"):
        abort(403, description="You do not have permission to ignore SMS opt-outs.")


def _screen(draft, form: _Form, *, status: int = 200, errors: dict | None = None,
            blocks=("compose",), focus: str | None = None, preview: bool = False,
            counter_oob: bool = False):
    _require_ignore_permission(form)
    sms = sms_settings.load(db.session, current_app.config)
    state = sms_compose.analyse_draft(db.session, draft, _blocked(), form.ignore)
    items = sms_compose.render_all(state, form.message, current_user)
    worst = sms_compose.worst_count(items, form.message)
    parsed = merge.parse(form.message)
    index = min(form.preview_index, max(len(items) - 1, 0))
    return render(
        "compose/compose.html", blocks=list(blocks), status=status, draft=draft, state=state,
        form=form, errors=errors or {}, sms=sms, worst=worst, items=items, parsed=parsed,
        preview=preview, preview_index=index, focus=focus, counter_oob=counter_oob,
        templates=sms_compose.visible_templates(db.session, current_user, draft.kind),
        catalogue=merge.CATALOGUE, outcome_labels=OUTCOME_LABELS, inline=INLINE_RECIPIENTS,
        region_names=sms_settings.blocked_region_names(db.session, _config("SMS_PROVIDER")),
        can_ignore=current_user.can("sms.ignore_opt_out"), max_characters=sms_compose.MAX_CHARACTERS,
        max_reason=sms_compose.MAX_REASON, max_comment=sms_compose.MAX_COMMENT,
    )


@bp.route("/compose/<token>", methods=["GET"])
@permission_required("sms.send")
def show(token: str):
    """Show an SMS screen again (after Cancel, or a bookmark within the day)."""
    draft = _draft(token)
    batch = sms_compose.batch_for(db.session, draft)
    if batch is not None:
        return redirect(url_for("batches.show", batch_id=batch.id))
    return _screen(draft, _Form.blank())


@bp.route("/compose/<token>/update", methods=["POST"])
@permission_required("sms.send")
def update(token: str):
    """Apply one change to the screen: remove or restore a person, Ignore, template, merge field."""
    draft = _draft(token)
    form = _Form(request.form)
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
        elif request.form.get("action") == "use_template" or request.headers.get("HX-Trigger-Name") == "template_id":
            if as_id(form.template_id):
                template = sms_compose.template_for(db.session, current_user, draft.kind,
                                                    as_id(form.template_id))
                form.message = template.body
            if wants_fragment() and request.headers.get("HX-Trigger-Name") == "template_id":
                # Picking from the list swaps only the Message; focus stays on the list.
                return _screen(draft, form, blocks=("message_field", "counter"), counter_oob=True)
            focus = "message"
        elif request.form.get("action") == "insert_field":
            if form.merge_field in merge.FIELDS:
                form.message = form.message + merge.FIELDS[form.merge_field].tag()
            form.merge_field = ""
            focus = "message"
        else:
            focus = "ignore" if "ignore" in request.form or request.form.get("action") == "refresh" else None
    except ComposeError as error:
        errors[error.field] = error.message
    return _screen(draft, form, errors=errors, focus=focus, status=400 if errors else 200)


@bp.route("/compose/<token>/counter", methods=["POST"])
@permission_required("sms.send")
def counter(token: str):
    """The live counter: characters, segments and encoding of the worst-case recipient."""
    return _screen(_draft(token), _Form(request.form), blocks=("counter",))


@bp.route("/compose/<token>/preview", methods=["POST"])
@permission_required("sms.send")
def preview(token: str):
    """The message as each recipient will get it, stepping through them."""
    # The counter rides along out of band: the swap itself replaces only #preview.
    return _screen(_draft(token), _Form(request.form), blocks=("preview", "counter"), preview=True,
                   focus="preview", counter_oob=True)


@bp.route("/compose/<token>/list/<outcome>")
@permission_required("sms.send")
def outcome_list(token: str, outcome: str):
    """Who got one outcome (e.g. the Opt Out Recipient List), as a fragment or a page."""
    if outcome not in recipients.OUTCOMES and outcome != "removed":
        abort(404, description="There is no such list.")
    draft = _draft(token)
    form = _Form(request.args)
    _require_ignore_permission(form)
    state = sms_compose.analyse_draft(db.session, draft, _blocked(), form.ignore)
    if outcome == "removed":
        people = [(person, False) for person in state.removed]
    elif outcome == recipients.OPTED_OUT:
        # Opted out whether or not Ignore now includes them: the list FastTrack360 users know.
        people = [(o.person, o.overridden) for o in state.analysis.outcomes
                  if o.outcome == recipients.OPTED_OUT or o.overridden]
    else:
        people = [(o.person, o.overridden) for o in state.analysis.of(outcome)]
    return render("compose/outcome_list.html", blocks=["outcome_list"], draft=draft,
                  outcome=outcome, label=OUTCOME_LABELS.get(outcome, "Taken off this SMS"),
                  people=people,
                  region_names=sms_settings.blocked_region_names(db.session, _config("SMS_PROVIDER")))


@bp.route("/compose/<token>/send", methods=["POST"])
@permission_required("sms.send")
def send(token: str):
    """Send: write the batch and its queued messages once, then show the batch's progress."""
    draft = _draft(token)
    form = _Form(request.form)
    _require_ignore_permission(form)
    sms = sms_settings.load(db.session, current_app.config)
    comment_type = form.comment_type if form.comment_type in sms.comment_types else sms.comment_types[0]
    send_request = SendRequest(
        body=form.message, ignore=form.ignore, ignore_reason=form.ignore_reason,
        template_id=as_id(form.template_id),
        comment=form.comment and not sms.suppress_add_comment, comment_type=comment_type,
        comment_text=form.comment_text.strip() or None,
    )
    try:
        batch = sms_compose.send(db.session, draft, current_user, send_request,
                             provider=_config("SMS_PROVIDER"), blocked=_blocked())
    except ComposeError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403, description=error.message)
        return _screen(draft, form, status=error.status, errors={error.field: error.message},
                       focus=error.field)
    worker.wake()
    target = url_for("batches.show", batch_id=batch.id)
    if wants_fragment():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)

