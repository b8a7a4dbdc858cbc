"""/sandbox: the messages the sandbox gateway took, a form to reply as their recipient, and the
reply emails those replies caused (a demo without a mail server keeps them here, unsent)."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from webapp import form_tokens
from webapp.config import sandbox_enabled
from webapp.extensions import db
from webapp.ids import as_id
from webapp.models import Email, Message
from webapp.models.messaging import FAILED, QUEUED, REJECTED, UNDELIVERED
from webapp.sandbox import bp
from webapp.sms import replies
from webapp.sms.providers import sandbox
from webapp.sms.settings import reply_settings
from webapp.text import clean_multiline, is_blank
from webapp.web.access import local_path
from webapp.web.rendering import render

SHOWN = 100
# The sandbox's messages: the default gateway's by its name; an SMS account's, which a demo sends
# through the sandbox too but stores under the account's gateway (`smscentral`), by the id the
# sandbox gave it. The pages list the newest first, walking the primary key: no other index needed.
SANDBOXED = sa.or_(
    Message.provider == "sandbox",
    Message.provider_message_id.startswith(sandbox.ID_PREFIX, autoescape=True),
)
MAX_REPLY = 1_600  # what one SMS can carry (a gateway joins the parts up to this)
# A message in one of these states never reached a phone: nobody could have replied to it.
NEVER_RECEIVED = frozenset({QUEUED, REJECTED, FAILED, UNDELIVERED})


@bp.before_request
def only_where_meant():
    """No such page unless the sandbox gateway is in use and a demo or SANDBOX=1 asks for it."""
    if not sandbox_enabled(current_app.config):
        abort(404)


@bp.route("/sandbox")
@login_required
def index():
    """List what the sandbox gateway sent, newest first; `replied`: the message just replied to,
    whose field takes the focus (a keyboard user replies again, or Tabs on, from there)."""
    return _page(replied=as_id(request.args.get("replied")))


def _page(
    errors: dict[int, str] | None = None,
    typed: dict[int, str] | None = None,
    status: int = 200,
    replied: int | None = None,
):
    """The page; `errors` and `typed` by message id, for a reply refused beside its field."""
    sent = list(
        db.session.scalars(
            sa.select(Message)
            .where(
                SANDBOXED,
                Message.direction == "out",
                Message.state.not_in((QUEUED, REJECTED)),
            )
            .order_by(Message.id.desc())
            .limit(SHOWN)
        )
    )
    emails = list(
        db.session.scalars(
            sa.select(Email)
            .join(Message, Email.message_id == Message.id)
            .where(SANDBOXED)
            .order_by(Email.id.desc())
            .limit(SHOWN)
        )
    )
    email_links = {email.id: _link(email) for email in emails}
    return render(
        "sandbox/index.html",
        sent=sent,
        shown=SHOWN,
        emails=emails,
        email_links=email_links,
        mail_kept=bool(current_app.config.get("MAIL_KEEP")),
        errors=errors or {},
        typed=typed or {},
        replied=replied,
        never_received=NEVER_RECEIVED,
        # One per page: each form's reply is named by it and by its message (_reply_id).
        token=form_tokens.new(),
        status=status,
    )


def _link(email: Email) -> tuple[str, str] | None:
    """The email's link as written, and its path on this server (the page may be open under
    another host name than PUBLIC_BASE_URL's, where the session cookie would not go)."""
    url = replies.email_link(email.body)
    if url is None:
        return None
    parts = urlsplit(url)
    # Its path on this server, checked as every local link is ("//host/…" or "/\\host" would
    # leave it), whatever host the email names.
    path = local_path(urlunsplit(("", "", parts.path, parts.query, "")))
    if path is None:
        return None
    # With its #message-<id>, as the email has it: the record opens on the reply in its thread.
    return url, path + (f"#{parts.fragment}" if parts.fragment else "")


def _sandboxed(message: Message) -> bool:
    """Whether the sandbox sent `message` (SANDBOXED, for one message in hand)."""
    return message.provider == "sandbox" or (message.provider_message_id or "").startswith(
        sandbox.ID_PREFIX
    )


def _reply_id(original: Message, token: str) -> str:
    """The gateway id of the reply a form posts: from its one-time token and the message it
    answers, so a form posted twice (a double click, Enter pressed again on a slow network) stores
    one reply, as a gateway's push repeated does. A post without our token (made by hand) is a new
    reply each time."""
    if not token:
        return f"{sandbox.ID_PREFIX}in-{uuid.uuid4()}"
    return f"{sandbox.ID_PREFIX}in-{original.id}-{token}"


@bp.route("/sandbox/reply", methods=["POST"])
@login_required
def reply():
    """Reply as the recipient of a sent message, through the same pipeline as a real gateway's
    push."""
    message_id = as_id(request.form.get("message_id"))
    original = db.session.get(Message, message_id) if message_id else None
    # As the reply will be stored: control characters dropped, so "\x01" is as empty as " ".
    text = clean_multiline(request.form.get("text", "")).strip()
    if original is None or not _sandboxed(original) or original.direction != "out":
        abort(404, description="There is no such sandbox message.")
    if original.state in NEVER_RECEIVED:
        abort(409, description="That message never reached its recipient, so nobody can reply.")
    if is_blank(text):
        # Beside its field, as a reply too long is: a flash at the top of the page left the
        # focus on the page and the field unmarked.
        return _page(errors={original.id: "Type the reply text first."}, status=400)
    if len(text) > MAX_REPLY:
        # Refused, not cut: a shortened reply would be a different one (a STOP at its end, lost).
        return _page(
            errors={
                original.id: f"The reply is {len(text):,} characters; an SMS carries at "
                f"most {MAX_REPLY:,}. Shorten it and reply again."
            },
            typed={original.id: text},
            status=400,
        )
    inbound = replies.answer_to(
        original, text, _reply_id(original, form_tokens.ours(request.form.get("token")))
    )
    stored = replies.receive(
        db.session,
        inbound,
        reply_settings(db.session, current_app.config),
        actor=current_user,
        source="sandbox",
    )
    if stored.body != inbound.body:
        # Back to a page already replied from, its text edited: never drop the new text unsaid.
        # The page again has a fresh token, so Reply sends it as another SMS.
        return _page(
            errors={
                original.id: "This form has sent its reply already, so this text was not "
                "sent. Press Reply again to send it as another SMS."
            },
            typed={original.id: text},
            status=409,
        )
    flash(f"Reply from {original.to_e164} received.", "info")
    # Back to the row replied from, not the top of a page of up to SHOWN rows.
    return redirect(
        url_for("sandbox.index", replied=original.id, _anchor=f"reply-{original.id}"), 303
    )
