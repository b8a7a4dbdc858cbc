"""Webhook views: check the caller is the gateway, then hand the push to the domain."""

from __future__ import annotations

import logging
from dataclasses import replace

from flask import Response, abort, current_app, request

from webapp.database import begin_write
from webapp.extensions import csrf, db
from webapp.sms import outbox, replies
from webapp.sms.providers import smscentral, twilio
from webapp.sms.settings import reply_settings
from webapp.text import clean_multiline, one_line
from webapp.webhooks import bp

log = logging.getLogger(__name__)
# Gateways authenticate with credentials or signatures, not with our session's CSRF token.
csrf.exempt(bp)

SMSCENTRAL_OK = "0"  # what SMS Central must read, or it pushes again (up to ten times)
MESSAGE_FIELDS = frozenset(
    {"MESSAGE_TEXT", "Body"}
)  # the reply's text, which keeps its line breaks


def _plain(text: str, status: int = 200) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def _cleaned(values) -> dict[str, str]:
    """The pushed fields without control characters: a NUL, which PostgreSQL refuses in text, would
    otherwise lose the reply or receipt (and the gateway would push it again, in vain)."""
    return {
        key: clean_multiline(value) if key in MESSAGE_FIELDS else one_line(value)
        for key, value in values.items()
    }


def _smscentral_params() -> dict[str, str]:
    """SMS Central pushes with GET; some setups POST the same fields as a form."""
    if not current_app.config.get("SMSCENTRAL_WEBHOOK_USERNAME"):
        abort(404)
    begin_write(db.session)  # pushes come as GET too, and each one reads then writes
    params = request.values.to_dict()
    if not smscentral.check_webhook_credentials(
        params,
        current_app.config["SMSCENTRAL_WEBHOOK_USERNAME"],
        current_app.config["SMSCENTRAL_WEBHOOK_PASSWORD"],
    ):
        log.warning("SMS Central webhook refused: wrong credentials from %s", request.remote_addr)
        abort(_plain("wrong credentials", 403))
    return _cleaned(params)


@bp.route("/smscentral/receipt", methods=["GET", "POST"])
def smscentral_receipt():
    """Apply an SMS Central delivery receipt (per message part; repeats change nothing)."""
    params = _smscentral_params()
    try:
        receipt = smscentral.parse_receipt(params)
    except ValueError as error:
        # Answering anything but 0 makes SMS Central retry a receipt we will never understand.
        log.warning("SMS Central receipt ignored: %s (%s)", error, params.get("REFERENCE"))
        return _plain(SMSCENTRAL_OK)
    message = outbox.find_for_receipt(db.session, "smscentral", receipt)
    if message is None:
        log.info("SMS Central receipt for an unknown message: %s", receipt.reference)
        return _plain(SMSCENTRAL_OK)
    outbox.apply_receipt(db.session, message, receipt)
    return _plain(SMSCENTRAL_OK)


def twilio_verified_form() -> dict[str, str]:
    """The POSTed form (cleaned), if X-Twilio-Signature matches our public URL; else 403."""
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token:
        abort(404)
    base = current_app.config.get("PUBLIC_BASE_URL")
    # Behind a proxy the URL Twilio signed is the public one, not the one we were reached on.
    url = f"{base}{request.full_path.rstrip('?')}" if base else request.url
    if not twilio.valid_signature(
        token, url, request.form, request.headers.get("X-Twilio-Signature")
    ):
        log.warning(
            "Twilio webhook refused: bad signature for %s from %s", url, request.remote_addr
        )
        abort(_plain("bad signature", 403))
    return _cleaned(request.form.to_dict())


@bp.route("/twilio/status", methods=["POST"])
def twilio_status():
    """Apply a Twilio status callback; our message uuid travels in the callback URL (?m=)."""
    form = twilio_verified_form()
    try:
        receipt = twilio.parse_status_callback(
            form, reference=one_line(request.args.get("m")) or None
        )
    except ValueError as error:
        log.warning("Twilio status ignored: %s", error)
        return _plain("", 204)
    if receipt is not None:
        message = outbox.find_for_receipt(db.session, "twilio", receipt)
        if message is not None:
            outbox.apply_receipt(db.session, message, receipt)
    return _plain("", 204)


def _receive(inbound: replies.InboundSms) -> None:
    """File an inbound SMS with the reply settings now in force."""
    replies.receive(db.session, inbound, reply_settings(db.session, current_app.config))


@bp.route("/smscentral/inbound", methods=["GET", "POST"])
def smscentral_inbound():
    """Store a reply pushed by SMS Central (long ones arrive in parts, reassembled here)."""
    params = _smscentral_params()
    originator = (params.get("ORIGINATOR") or "").strip()
    message_id = (params.get("ID") or "").strip()
    if not originator or not message_id:
        return _plain("ORIGINATOR and ID are required", 400)
    reference = (params.get("REFERENCE") or "").strip() or None
    text = params.get("MESSAGE_TEXT")
    if text is None and params.get("BINARY"):
        text = replies.decode_binary(params["BINARY"])
    part = replies.parse_udh(params["UDH"]) if params.get("UDH") else None
    if part is not None and part.total > 1:
        inbound, part_ids = replies.assemble(
            db.session, "smscentral", originator, part, text or "", message_id, reference
        )
        if inbound is None:
            return _plain(SMSCENTRAL_OK)
        _receive(replace(inbound, to_number=params.get("RECIPIENT")))
        replies.mark_parts_used(db.session, part_ids)
        return _plain(SMSCENTRAL_OK)
    _receive(
        replies.InboundSms(
            provider="smscentral",
            provider_message_id=message_id,
            from_number=originator,
            to_number=params.get("RECIPIENT"),
            body=text or "",
            reference=reference,
        )
    )
    return _plain(SMSCENTRAL_OK)


@bp.route("/twilio/inbound", methods=["POST"])
def twilio_inbound():
    """Store a reply Twilio forwarded; answer an empty TwiML so Twilio sends nothing back."""
    form = twilio_verified_form()
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    sender = (form.get("From") or "").strip()
    if not sid or not sender:
        return _plain("MessageSid and From are required", 400)
    _receive(
        replies.InboundSms(
            provider="twilio",
            provider_message_id=sid,
            from_number=sender,
            to_number=form.get("To"),
            body=form.get("Body") or "",
        )
    )
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', mimetype="text/xml"
    )
