"""The SMS screen's views: thin wrappers that read the form, call webapp.sms.compose, and render.

Every POST keeps what the screen holds on its draft first, so closing, Back or a reload lose
nothing; without JavaScript each step that succeeds then redirects to a GET of the screen (or of
the list it asked for), so Back never offers to resubmit a form.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from webapp import worker
from webapp.compose import bp, selection
from webapp.compose.forms import ComposeForm, as_shown
from webapp.compose.screen import OUTCOME_LABELS, ComposeScreen
from webapp.errors import FieldError, FieldErrors
from webapp.extensions import db
from webapp.ids import as_id
from webapp.models import ComposeDraft, SmsTemplate
from webapp.people import search as people_search
from webapp.people.kinds import CANDIDATES, KINDS
from webapp.sms import compose as sms_compose
from webapp.sms import confirmation, merge, opt_out_line, recipients, schedule
from webapp.sms import settings as sms_settings
from webapp.sms.alerts import AlertSettings
from webapp.sms.compose import SendRequest
from webapp.sms.limits import LimitSettings
from webapp.sms.quiet_hours import QuietSettings
from webapp.web import phone_numbers
from webapp.web.access import permission_required
from webapp.web.forms import field_error, showing
from webapp.web.rendering import render, wants_fragment
from webapp.web.sms_routes import blocked, region_names
from webapp.web.times import user_zone

# What a redirect back to the screen may put the focus on (?focus=), by the template's names.
FOCUS = frozenset(
    {"template", "message", "merge_field", "recipients", "ignore", "preview", "commercial"}
)
# What a redirect back to the screen may say was put in the Message (?added=), beside its picker.
ADDED = frozenset({"template", "merge_field"})
# Enter pressed in a one-line field without JavaScript (?enter=): the fields it can be told
# apart in, which get the focus back; any other value puts it on the screen's word that Enter
# sent nothing (compose.html, #enter-held).
ENTERED = frozenset({"send_at", "ignore_reason"})
LISTS = frozenset(recipients.OUTCOMES) | {"removed"}
# The digest of the text a template put into the Message (sms_compose.text_digest), as the screen
# posts it (a hidden field) and a redirect without JavaScript carries it (?text_put_in=); "": none.
PUT_IN = "text_put_in"
PUT_IN_VALUE = re.compile(r"(?:[0-9a-f]{32})?")
# The search each of the last few SMS screens opened came from, for Cancel (_remember_search).
SEARCHES = "compose_searches"
KEEP_SEARCHES = 3
# The session is a cookie, which browsers drop whole past 4 KB (and with it anything else it
# carries, such as new recovery codes waiting to be shown): a longer search is not remembered,
# and its Cancel goes to the bare search.
SEARCH_KEPT_MAX = 300  # characters of the search's arguments, as the cookie's JSON writes them


@bp.route("/compose", methods=["GET", "POST"])
@permission_required("sms.send")
def compose():
    """Open the SMS screen for one person (GET ?candidate= / ?contact=) or a search
    selection (POST); the same selection's unsent draft of today comes back as it was left."""
    try:
        # HEAD is a GET without the body (a link checker): its selection is in the link too.
        if showing():
            kind, ids = selection.from_link(request.args)
        else:
            kind, ids = selection.from_form(
                request.form,
                db.session,
                phone_numbers.default_region(),
            )
        draft = sms_compose.open_draft(db.session, current_user, kind, ids, zone=user_zone())
        _remember_search(draft)
    except FieldError as error:
        return render(
            "compose/compose.html",
            blocks=["compose"],
            status=error.status,
            problem=error.message,
            back=_back_url(),
            is_the_page=_is_the_page(),
        )
    if request.method == "POST" and not wants_fragment():
        return _back_to_screen(draft)
    return _screen(draft, _form(draft, posted=False), focus="template")


def _back_url() -> str:
    """The search the SMS screen was opened from: the form's kind and the search its list was
    made by, or the kind a link names and the search of the row it was on."""
    named = request.values.get("kind") or next(
        (kind.segment for kind in KINDS if kind.singular in request.args), ""
    )
    kind = KINDS.by_segment(named) if named in KINDS.segments else CANDIDATES
    return _search_url(kind.segment, selection.shown_search(request.values))


def _search_url(kind: str, args) -> str:
    """The search page of `kind` for these query arguments, at the page of results they name."""
    return url_for(KINDS.by_segment(kind).search_endpoint, **_search_args(kind, args))


def _search_args(kind: str, args) -> dict[str, str]:
    """The search's query arguments read as the search page reads them, so a value it would drop
    is not carried back, with the page of results the ticks were made on (after the first)."""
    criteria, page, _errors = people_search.parse(kind, args, user_zone())
    return criteria.params() | ({"page": str(page)} if page > 1 else {})


def _remember_search(draft: ComposeDraft) -> None:
    """Note the search the screen's people were ticked on, or whose row's mobile number was
    followed (its link carries the search as the Bulk SMS form does), for its Cancel (none: a
    record's link).

    The draft keeps only who was chosen, and without JavaScript the screen's own address carries
    no search, so it rides in the session: the last few screens opened, as [token, arguments]
    pairs (a list: the cookie's JSON sorts an object's keys)."""
    shown = selection.shown_search(request.values)
    kept = [pair for pair in session.get(SEARCHES, []) if pair[0] != draft.token]
    args = _search_args(draft.kind, shown)
    if args and len(json.dumps(args)) <= SEARCH_KEPT_MAX:
        kept.append([draft.token, args])
    kept = kept[-KEEP_SEARCHES:]
    if kept != session.get(SEARCHES, []):
        session[SEARCHES] = kept


def _remembered_search(draft: ComposeDraft) -> dict[str, str]:
    return next((args for token, args in session.get(SEARCHES, []) if token == draft.token), {})


def _draft(token: str) -> ComposeDraft:
    try:
        return sms_compose.get_draft(db.session, token, current_user)
    except FieldError as error:
        abort(error.status, description=error.message)


def _require_ignore_permission(form: ComposeForm) -> None:
    """Ignore set by someone without the permission: 403 before anything changes."""
    if form.ignore.data and not current_user.can("sms.ignore_opt_out"):
        abort(403, description="You do not have permission to ignore SMS opt-outs.")


def _form(draft: ComposeDraft, *, posted: bool = True) -> ComposeForm:
    return ComposeForm.over(draft, posted=posted, can_ignore=current_user.can("sms.ignore_opt_out"))


def _keep(draft: ComposeDraft, form: ComposeForm) -> None:
    """Keep what the form holds on the draft (refused first when it carries a forbidden Ignore)."""
    _require_ignore_permission(form)
    sms = sms_settings.load(db.session, current_app.config)
    sms_compose.save_input(db.session, draft, form.typed(sms.comment_types))


def _posted(draft: ComposeDraft) -> ComposeForm:
    """The posted form over the draft, kept on it."""
    form = _form(draft)
    _keep(draft, form)
    return form


def _screen(draft, form: ComposeForm, *, status: int = 200, blocks=("compose",), **flags):
    """The SMS screen (or the named blocks of it); `flags` as ComposeScreen takes them."""
    _require_ignore_permission(form)
    put_in = flags.pop("put_in", None)
    if put_in is None:
        put_in = _put_in()
    screen = ComposeScreen.build(draft, form, **flags)
    return render(
        "compose/compose.html",
        blocks=list(blocks),
        status=status,
        is_the_page=_is_the_page(),
        # Carried from post to post: the draft keeps the template put in, not its text then.
        text_put_in=put_in if put_in is not None else sms_compose.put_in_key(db.session, draft),
        **screen.context(),
    )


def _is_the_page() -> bool:
    """Whether the screen is the page, headed by its h1: drawn whole, or redrawn by htmx at its own
    address (a record's mobile link, a reload). In the search page's panel it is a section under
    that page's h1, and its heading an h2."""
    if not wants_fragment():
        return True
    here = urlsplit(request.headers.get("HX-Current-URL", "")).path
    return here.startswith(url_for("compose.compose"))


def _back_to_screen(draft: ComposeDraft, *, put_in: str | None = None, **args):
    """303 to the screen as the draft now holds it: post/redirect/get without JavaScript.

    The digest of the text a template put in (`put_in`) rides along when the draft alone would
    not tell it (the template edited since): the screen's hidden field is not in a GET's link."""
    if put_in is not None and put_in != sms_compose.put_in_key(db.session, draft):
        args[PUT_IN] = put_in
    return redirect(url_for("compose.show", token=draft.token, **args), 303)


def _put_in() -> str | None:
    """The digest of the text the screen says a template put into its Message (posted, or in the
    link of a redirect without JavaScript); None when it says nothing of it."""
    value = (request.form if request.method == "POST" else request.args).get(PUT_IN)
    return value if value is not None and PUT_IN_VALUE.fullmatch(value) else None


@bp.route("/compose/<token>", methods=["GET"])
@permission_required("sms.send")
def show(token: str):
    """Show an SMS screen as its draft holds it (after a step without JavaScript, Back, a reload,
    or a bookmark within the day); ?focus=, ?ask=, ?preview=, ?confirm= and ?enter= say what the
    step left open."""
    draft = _draft(token)
    batch = sms_compose.batch_for(db.session, draft)
    if batch is not None:
        return redirect(url_for("batches.show", batch_id=batch.id))
    form = _form(draft, posted=False)
    focus = request.args.get("focus")
    flags = {"focus": focus if focus in FOCUS else "template"}
    if (asked := as_id(request.args.get("ask"))) is not None:
        try:
            flags["asking"] = sms_compose.template_for(db.session, current_user, draft.kind, asked)
            form.template_id.data = str(asked)
            flags["focus"] = "replace"
        except FieldError:
            pass  # a template gone since: nothing to ask about
    if (shown := as_id(request.args.get("preview")) or 0) or "preview" in request.args:
        flags |= {"preview": True, "preview_index": shown, "focus": "preview"}
    if "confirm" in request.args:  # Send without JavaScript, for more people than confirm_over
        # The opted-out people the screen showed ride along: a confirmation drawn (or reloaded)
        # after someone opted out must not let its Ignore cover them.
        flags |= {
            "confirming": True,
            "focus": "confirm",
            "opted_out": request.args.get("opted_out"),
        }
    if (added := request.args.get("added")) in ADDED:
        flags["added"] = added
    if (entered := request.args.get("enter")) is not None:
        flags |= _enter_held(entered)
    return _screen(draft, form, **flags)


def _entered_in(draft: ComposeDraft, form: ComposeForm) -> str:
    """The one-line field Enter was pressed in, as far as a plain post tells: Send at or the
    Ignore reason, when it is the one of them typed in since the screen was drawn (its draft
    holds what it showed); "" when neither or both were."""
    shown = sms_compose.draft_input(draft)
    typed = [
        name
        for name, now, before in (
            ("send_at", (form.send_at.data or "").strip(), shown.send_at_typed),
            ("ignore_reason", form.ignore_reason.data or "", shown.ignore_reason),
        )
        if now != before
    ]
    return typed[0] if len(typed) == 1 else ""


def _enter_held(entered: str) -> dict[str, str]:
    """The screen after Enter in a one-line field, which sends nothing (Send is pressed on
    purpose): its word saying so, and the focus back in that field, or on the word itself when
    the field is not known (never the screen's first field: the page would seem to start over)."""
    field = entered if entered in ENTERED else ""
    return {"enter_held": field or "notice", "focus": field or "enter_held"}


@bp.route("/compose/<token>/update", methods=["POST"])
@permission_required("sms.send")
def update(token: str):
    """Apply one change to the screen: remove or restore a person, Ignore, template (asking before
    it replaces typed text), merge field, or open a list; and keep what was typed."""
    draft = _draft(token)
    form = _form(draft)
    _require_ignore_permission(form)
    errors: dict[str, str] = {}
    focus = None
    asking = None
    # Without JavaScript, what goes into the Message (a template, a merge field) leaves the focus
    # on its picker, which says so: focused on load, the Message has its caret at its start, and
    # what is typed next would go before the text. (compose.js puts the caret at the end.)
    put_in = "message" if wants_fragment() else None
    added = None
    # The text a template put in: what the Message is measured against before another replaces it.
    text_put_in = _put_in()
    entered = None
    try:
        if request.form.get("action") == "enter":
            # The form's hidden first button: Enter in a one-line field (Send at, the Ignore
            # reason) without JavaScript, which compose.js stops when it runs. It keeps what was
            # typed and says that Enter sends nothing, the focus back where it was if known.
            entered = _entered_in(draft, form)
        elif as_id(request.form.get("remove")):
            sms_compose.set_removed(db.session, draft, as_id(request.form["remove"]), True)
            focus = "recipients"
        elif as_id(request.form.get("restore")):
            sms_compose.set_removed(db.session, draft, as_id(request.form["restore"]), False)
            focus = "recipients"
        elif request.form.get("replace_template"):
            template = _use_template(draft, form, as_id(request.form["replace_template"]))
            text_put_in = sms_compose.text_digest(template.body) if template else text_put_in
            focus, added = put_in or "template", "template"
        elif request.form.get("action") == "use_template":
            chosen = as_id(form.template_id.data)
            if chosen is not None and sms_compose.would_lose_text(
                db.session, draft, form.message.data, text_put_in
            ):
                asking = sms_compose.template_for(db.session, current_user, draft.kind, chosen)
                focus = "replace"
            else:
                template = _use_template(draft, form, chosen)
                focus = put_in or "template"
                if template is not None:
                    added = "template"
                    text_put_in = sms_compose.text_digest(template.body)
        elif request.form.get("action") == "commercial":
            # "Commercial message" ticked or unticked: the screen shows (or drops) the line.
            focus = "commercial"
        elif request.form.get("action") == "keep_message":
            form.template_id.data = str(draft.template_id or "")
            focus = "template"
        elif request.form.get("action") == "insert_field":
            # Without JavaScript the tag goes at the end; compose.js puts it at the cursor.
            offered = {
                field.name for field in merge.offered(KINDS.by_segment(draft.kind).merge_fields)
            }
            if form.merge_field.data in offered:
                form.message.data += merge.FIELDS[form.merge_field.data].tag()
                added = "merge_field"
            form.merge_field.data = ""
            focus = put_in or "merge_field"
        elif request.form.get("show_list") in LISTS:
            _keep(draft, form)
            return redirect(_list_url(draft, request.form["show_list"], form.ignore.data), 303)
        else:
            # Ignore ticked or unticked (htmx names it in HX-Trigger; an untick posts no
            # "ignore"), or Update recipients without JavaScript: the focus stays on Ignore, or
            # goes to the recipients when the untick takes its box away (compose.html).
            by_ignore = (
                "ignore" in request.form
                or request.headers.get("HX-Trigger") == "ignore"
                or request.form.get("action") == "refresh"
            )
            focus = "ignore" if by_ignore else None
    except FieldError as error:
        field_error(errors, error)
        # On the field refused (a template gone since, asked about or chosen), not the page.
        focus = error.field if error.field in FOCUS else focus
    _keep(draft, form)
    if errors:
        return _screen(draft, form, errors=errors, focus=focus, status=400, put_in=text_put_in)
    if entered is not None:
        if not wants_fragment():
            return _back_to_screen(draft, enter=entered or "1", put_in=text_put_in)
        return _screen(draft, form, **_enter_held(entered), put_in=text_put_in)
    if not wants_fragment():
        return _back_to_screen(
            draft,
            focus=None if asking else focus,
            ask=asking.id if asking else None,
            added=added,
            put_in=text_put_in,
        )
    return _screen(draft, form, focus=focus, asking=asking, put_in=text_put_in)


def _use_template(
    draft: ComposeDraft, form: ComposeForm, template_id: int | None
) -> SmsTemplate | None:
    template = sms_compose.use_template(db.session, draft, current_user, template_id)
    form.template_id.data = str(draft.template_id or "")
    if template is not None:
        form.message.data = template.body
        form.commercial.data = draft.commercial  # the posted tick may be the last template's
    return template


def _list_url(draft: ComposeDraft, outcome: str, ignore: bool) -> str:
    return url_for(
        "compose.outcome_list", token=draft.token, outcome=outcome, ignore="1" if ignore else None
    )


@bp.route("/compose/<token>/save", methods=["POST"])
@permission_required("sms.send")
def save(token: str):
    """Keep what the screen holds on its draft (compose.js: a field changed, or the screen is
    closing); nothing to show."""
    _posted(_draft(token))
    return "", 204


@bp.route("/compose/<token>/cancel", methods=["POST"])
@permission_required("sms.send")
def cancel(token: str):
    """Cancel: keep what the screen holds on its draft (Bulk SMS for the same people brings it
    back), then go back to the search the selection came from. With JavaScript in the search
    page's panel, Cancel and Esc close the panel instead (shortcuts.js) and never post here."""
    draft = _draft(token)
    _posted(draft)
    target = _search_url(draft.kind, _remembered_search(draft))
    if wants_fragment():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@bp.route("/compose/<token>/counter", methods=["POST"])
@permission_required("sms.send")
def counter(token: str):
    """The live counter: characters, segments and encoding of the worst-case recipient; the
    message typed so far is kept on the draft."""
    draft = _draft(token)
    # All of it is drawn out of band (the request swaps nothing itself: compose.js weighs each
    # part against answers that crossed this one). The opt-out line rides along: typing it into
    # the text stops it being added. So do the totals beside Send (N messages · M SMS parts) and
    # the quiet-hours note, worked out for the Send at posted with it; and an open preview (it
    # posts the recipient it shows), so it never shows text no longer typed. The focus stays
    # where it is: in the Message.
    blocks = ("counter", "opt_out_line", "send_totals", "quiet_note")
    previewing = request.form.get("previewing")
    preview = {}
    if previewing is not None:
        blocks += ("preview",)
        preview = {"preview": True, "preview_index": as_id(previewing) or 0, "preview_oob": True}
    oob = {"line_oob": True, "totals_oob": True, "counter_oob": True}
    return _screen(draft, _posted(draft), blocks=blocks, **oob, **preview)


@bp.route("/compose/<token>/preview", methods=["POST"])
@permission_required("sms.send")
def preview(token: str):
    """The message as each recipient will get it, stepping through them."""
    draft = _draft(token)
    form = _posted(draft)
    if not wants_fragment():
        return _back_to_screen(
            draft, preview=form.preview_index.data, _anchor="preview", put_in=_put_in()
        )
    # All of it is drawn out of band, as the counter's answer is: the two cross on the way back.
    return _screen(
        draft,
        form,
        blocks=("preview", "counter", "send_totals", "quiet_note"),
        preview=True,
        focus="preview",
        preview_oob=True,
        counter_oob=True,
        totals_oob=True,
    )


@bp.route("/compose/<token>/list/<outcome>")
@permission_required("sms.send")
def outcome_list(token: str, outcome: str):
    """Who got one outcome (e.g. the Opt Out Recipient List), as a fragment or a page."""
    if outcome not in LISTS:
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
        # An SMS account's block names the account ("Sent through NZ SMS, which …").
        blocked_by=blocked().refusal,
    )


def _refuse_what_was_not_shown(draft: ComposeDraft, form: ComposeForm, *, sent: bool) -> None:
    """Refuse (409) a Send whose screen showed another template in use, showed no opt-out line
    where the template in use has been made commercial since, or showed other people taken off
    (Remove or Put back in another tab on the same draft): it would send what it never showed, or
    to people it never showed. A post without these fields (a crafted one) is not refused: the
    line is added all the same, and the draft says who gets it. (Someone opting in or out since,
    or a mobile edited, sms_compose.send refuses against `sent_to_shown`: it analyses them.)

    Another template put in: the screen is redrawn with its own text, so the template that text
    came from is the draft's again (with its commercial lock), for the next Send to record."""
    used = request.form.get("template_used")
    if used is not None and as_id(used) != draft.template_id:
        template = draft.template_id and db.session.get(SmsTemplate, draft.template_id)
        now = f"“{template.name}”" if template else "no template"
        sms_compose.restore_template(
            db.session, draft, current_user, as_id(used), bool(form.commercial.data)
        )
        raise FieldError(
            f"Another tab or window put {now} in this SMS meanwhile: check the message, then "
            "press Send again.",
            "message",
            409,
        )
    if (
        request.form.get("line_shown") == "0"
        and not form.commercial.data
        and opt_out_line.forced(db.session, draft)
    ):
        raise FieldError(
            "The template in use has been made commercial since this screen was shown: the "
            "opt-out line below is added to the message. Check it, then press Send again.",
            "message",
            409,
        )
    shown = request.form.get("recipients_shown")
    # Sent already (`sent`): the Send finds that batch, or says it went, whoever this screen showed.
    if not sent and shown is not None and shown != sms_compose.removed_key(draft):
        # The refused screen is drawn with the list as it is now, and its key: checked, it sends.
        raise FieldError(
            "Another tab or window changed who gets this SMS; check the list, then press Send "
            "again.",
            "recipients",
            409,
        )


@bp.route("/compose/<token>/send", methods=["POST"])
@permission_required("sms.send")
def send(token: str):
    """Send: write the batch and its queued messages once, then show the batch's progress; a big
    send shows its confirmation first, whose "Send N messages" comes back here."""
    draft = _draft(token)
    # The confirmation posts only its digest: what goes is the draft as Send kept it, and only
    # while it is still what the confirmation showed (webapp.sms.confirmation).
    confirmed = request.form.get("confirmed")
    form = _form(draft, posted=confirmed is None)
    _require_ignore_permission(form)
    made = sms_compose.batch_for(db.session, draft)  # sent before: a double click, Back and Send
    if confirmed is None and made is None:
        _keep(draft, form)  # a refused Send keeps what was typed for the next try
    sms = sms_settings.load(db.session, current_app.config)
    comment_type = form.comment_type.data
    if comment_type not in sms.comment_types:
        comment_type = sms.comment_types[0]
    # "Send at" as the sender saw it: typed, or as the confirmation showed it (its hidden field).
    send_at_text = request.form.get("send_at", "") if confirmed is not None else form.send_at.data
    send_request = SendRequest(
        body=form.message.data,
        ignore=form.ignore.data,
        ignore_reason=form.ignore_reason.data,
        # The template put into the Message, never the one only highlighted in the list: arrowing
        # through it changes nothing, so it must not make the SMS commercial or be recorded.
        template_id=draft.template_id,
        comment=form.comment.data and not sms.suppress_add_comment,
        comment_type=comment_type,
        comment_text=form.comment_text.data.strip() or None,
        commercial=form.commercial.data,
        confirmed=confirmed,
        # The opted-out people the screen (or the confirmation) showed, for Ignore to cover no
        # one else.
        opted_out_shown=request.form.get("opted_out_shown"),
        # Who the screen showed it going to, at which numbers (a confirmation's digest says it).
        sent_to_shown=request.form.get("sent_to_shown"),
    )
    try:
        if confirmed is None:
            _refuse_what_was_not_shown(draft, form, sent=made is not None)
        if confirmed is not None and as_shown(send_at_text) != as_shown(form.send_at.data):
            # Another tab changed the time after the confirmation was shown: confirm it anew.
            raise confirmation.ConfirmationNeeded(changed=True)
        # Sent before, the time is only compared with the batch's: its own, passed since it
        # went, finds that batch rather than "has passed" (which says nothing went).
        try:
            send_at = schedule.parse_send_at(
                send_at_text, user_zone(), compare_only=made is not None
            )
        except FieldError as late:
            # A message that cannot go either is said with it, not only once the time is right.
            problem = made is None and sms_compose.message_problem(
                db.session,
                draft,
                current_user,
                send_request.body,
                blocked(),
                ignore=send_request.ignore,
                commercial=bool(send_request.commercial),
            )
            if problem:
                raise FieldErrors([problem, late]) from None
            raise
        send_request = replace(send_request, send_at=send_at)
        batch = sms_compose.send(
            db.session,
            draft,
            current_user,
            send_request,
            provider=current_app.config["SMS_PROVIDER"],
            blocked=blocked(),
            limit_settings=LimitSettings.from_config(current_app.config),
            alert_settings=AlertSettings.from_config(current_app.config),
            confirm_over=confirmation.threshold(db.session, current_app.config),
            quiet=QuietSettings.from_config(current_app.config),
            zone=user_zone(),
        )
    except confirmation.ConfirmationNeeded as needed:
        db.session.rollback()
        # Only Ignore needs them (and only then is the confirmation's address longer).
        shown = request.form.get("opted_out_shown") if send_request.ignore else None
        if not needed.changed and not wants_fragment():
            return _back_to_screen(draft, confirm=1, opted_out=shown, put_in=_put_in())
        errors = {"confirm": needed.message} if needed.changed else {}
        return _screen(
            draft, form, status=needed.status, errors=errors, confirming=True, opted_out=shown
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
