"""/sandbox: the messages the sandbox gateway took, and a form to reply as their recipient."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import login_required

from webapp.extensions import db
from webapp.ids import as_id
from webapp.models import Message
from webapp.sandbox import bp
from webapp.sms import replies
from webapp.sms.settings import reply_settings
from webapp.web.rendering import render

SHOWN = 100


@bp.before_request
def only_with_the_sandbox_gateway():
    if current_app.config["SMS_PROVIDER"] != "sandbox":
        abort(404)


@bp.route("/sandbox")
@login_required
def index():
    """List what the sandbox gateway sent, newest first."""
    sent = list(db.session.scalars(
        sa.select(Message).where(Message.provider == "sandbox", Message.direction == "out",
                                 Message.state.not_in(("queued", "rejected")))
        .order_by(Message.id.desc()).limit(SHOWN)))
    return render("sandbox/index.html", sent=sent, shown=SHOWN)


@bp.route("/sandbox/reply", methods=["POST"])
@login_required
def reply():
    """Reply as the recipient of a sent message, through the same pipeline as a real gateway's push."""
    message_id = as_id(request.form.get("message_id"))
    original = db.session.get(Message, message_id) if message_id else None
    text = request.form.get("text", "").strip()
    if original is None or original.provider != "sandbox" or original.direction != "out":
        abort(404, description="There is no such sandbox message.")
    if not text:
        flash("Type the reply text first.", "error")
        return redirect(url_for("sandbox.index"), 303)
    replies.receive(db.session, replies.InboundSms(
        provider="sandbox", provider_message_id=f"sandbox-in-{uuid.uuid4()}",
        from_number=original.to_e164, to_number=None, body=text[:1600], reference=original.uuid),
        reply_settings(db.session, current_app.config))
    flash(f"Reply from {original.to_e164} received.", "info")
    return redirect(url_for("sandbox.index"), 303)
