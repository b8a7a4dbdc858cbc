"""Webhook views: check the caller is the gateway, then hand the push to the domain.

The URLs without a slug serve the default account (the gateway configured in the environment);
/webhooks/<gateway>/<slug>/… serve one SMS account, checked with that account's credentials, and
touch only that account's messages."""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import parse_qsl

from flask import Response, abort, current_app, request

from webapp.database import begin_write
from webapp.extensions import csrf, db
from webapp.models import Message, SmsAccount
from webapp.sms import account_providers, outbox, replies
from webapp.sms.account_secrets import SecretsUnreadable, key_material, unseal
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


def _decoded(raw: str) -> str:
    """A pushed value, its bytes as Latin-1 code points (see _pushed_fields): UTF-8 if they are,
    else Windows-1252, which gateways send for Latin-1 text ("caf%E9")."""
    data = raw.encode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _pushed_fields() -> dict[str, str]:
    """The fields of an SMS Central push: the query string's, then a POSTed form's (the first
    value of each name wins, as in request.values), each value decoded as UTF-8, or as
    Windows-1252 where it is not UTF-8. Werkzeug would keep "%E9" of Latin-1 text as those three
    characters, and the reply was stored so."""
    sources = [request.query_string]
    form: list[tuple[str, str]] = []
    if request.method != "GET":
        if request.mimetype == "application/x-www-form-urlencoded":
            sources.append(request.get_data(cache=True))
        else:
            form = list(request.form.items(multi=True))
    fields: dict[str, str] = {}
    for source in sources:
        # Latin-1 maps each byte to one character, so no byte is lost before _decoded.
        text = source.decode("latin-1")
        for key, value in parse_qsl(text, keep_blank_values=True, encoding="latin-1"):
            fields.setdefault(_decoded(key), _decoded(value))
    for key, value in form:
        fields.setdefault(key, value)
    return fields


def _account(gateway: str, slug: str | None) -> tuple[SmsAccount | None, dict[str, str]]:
    """The SMS account a URL's slug names (404 when none is active) and its secrets; for a URL
    without a slug, the default account: (None, {})."""
    if slug is None:
        return None, {}
    account = account_providers.for_webhook(db.session, gateway, slug)
    if account is None:
        abort(404)
    try:
        secrets = unseal(key_material(current_app.config), account.secrets)
    except (SecretsUnreadable, ValueError) as error:
        # Not the caller's fault: 503, so the gateway pushes again once the secrets are re-entered.
        log.error("SMS account %s cannot check its webhooks: %s", account.name, error)
        abort(_plain("this account's webhook secrets cannot be read", 503))
    return account, secrets


def _smscentral_params(slug: str | None = None) -> tuple[dict[str, str], int | None]:
    """SMS Central pushes with GET; some setups POST the same fields as a form. Returns them
    with the SMS account they came for (None: the default)."""
    # Each push reads, then writes: db.session begins every transaction of a webhook as a writer
    # (BEGIN IMMEDIATE on SQLite), GET or POST, since a long reply's parts commit as they come.
    account, secrets = _account("smscentral", slug)
    if account is None:
        username = current_app.config.get("SMSCENTRAL_WEBHOOK_USERNAME")
        password = current_app.config.get("SMSCENTRAL_WEBHOOK_PASSWORD")
    else:
        username, password = account.webhook_username, secrets.get("webhook_password")
    if not username:
        abort(404)
    params = _pushed_fields()
    if not smscentral.check_webhook_credentials(params, username, password or ""):
        log.warning("SMS Central webhook refused: wrong credentials from %s", request.remote_addr)
        abort(_plain("wrong credentials", 403))
    return _cleaned(params), account.id if account else None


def _ours(message: Message | None, account_id: int | None) -> Message | None:
    """The message, if it went through the account whose URL the receipt came to."""
    return message if message is not None and message.account_id == account_id else None


@bp.route("/smscentral/receipt", methods=["GET", "POST"])
@bp.route(
    "/smscentral/<slug>/receipt", methods=["GET", "POST"], endpoint="account_smscentral_receipt"
)
def smscentral_receipt(slug: str | None = None):
    """Apply an SMS Central delivery receipt (per message part; repeats change nothing)."""
    params, account_id = _smscentral_params(slug)
    try:
        receipt = smscentral.parse_receipt(params)
    except ValueError as error:
        # Answering anything but 0 makes SMS Central retry a receipt we will never understand.
        log.warning("SMS Central receipt ignored: %s (%s)", error, params.get("REFERENCE"))
        return _plain(SMSCENTRAL_OK)
    message = _ours(outbox.find_for_receipt(db.session, "smscentral", receipt), account_id)
    if message is None:
        log.info("SMS Central receipt for an unknown message: %s", receipt.reference)
        return _plain(SMSCENTRAL_OK)
    # A long message's receipts come one per part, each with the part's UDH.
    part = replies.parse_udh(params["UDH"]) if params.get("UDH") else None
    outbox.apply_receipt(db.session, message, receipt, one_part=part is not None and part.total > 1)
    return _plain(SMSCENTRAL_OK)


def twilio_verified_form(slug: str | None = None) -> tuple[dict[str, str], int | None]:
    """The POSTed form (cleaned), if X-Twilio-Signature matches our public URL, with the SMS
    account it came for (None: the default); else 403."""
    account, secrets = _account("twilio", slug)
    token = secrets.get("auth_token") if account else current_app.config.get("TWILIO_AUTH_TOKEN")
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
    return _cleaned(request.form.to_dict()), account.id if account else None


@bp.route("/twilio/status", methods=["POST"])
@bp.route("/twilio/<slug>/status", methods=["POST"], endpoint="account_twilio_status")
def twilio_status(slug: str | None = None):
    """Apply a Twilio status callback; our message uuid travels in the callback URL (?m=)."""
    form, account_id = twilio_verified_form(slug)
    try:
        receipt = twilio.parse_status_callback(
            form, reference=one_line(request.args.get("m")) or None
        )
    except ValueError as error:
        log.warning("Twilio status ignored: %s", error)
        return _plain("", 204)
    if receipt is not None:
        begin_write(db.session)  # it reads, then writes the receipt (and perhaps consent)
        message = _ours(outbox.find_for_receipt(db.session, "twilio", receipt), account_id)
        if message is not None:
            outbox.apply_receipt(
                db.session, message, receipt, opted_out=twilio.means_opted_out(receipt.error_code)
            )
    return _plain("", 204)


def _receive(inbound: replies.InboundSms) -> None:
    """File an inbound SMS with the reply settings now in force."""
    replies.receive(db.session, inbound, reply_settings(db.session, current_app.config))


@bp.route("/smscentral/inbound", methods=["GET", "POST"])
@bp.route(
    "/smscentral/<slug>/inbound", methods=["GET", "POST"], endpoint="account_smscentral_inbound"
)
def smscentral_inbound(slug: str | None = None):
    """Store a reply pushed by SMS Central (long ones arrive in parts, reassembled here)."""
    params, account_id = _smscentral_params(slug)
    originator = (params.get("ORIGINATOR") or "").strip()
    message_id = (params.get("ID") or "").strip()
    if not originator or not message_id:
        return _plain("ORIGINATOR and ID are required", 400)
    reference = (params.get("REFERENCE") or "").strip() or None
    text = params.get("MESSAGE_TEXT")
    # An empty MESSAGE_TEXT beside BINARY is no text: the body is in BINARY (it was stored empty).
    if not text and params.get("BINARY"):
        text = replies.decode_binary(params["BINARY"])
    part = replies.parse_udh(params["UDH"]) if params.get("UDH") else None
    if part is not None and part.total > 1:
        inbound, part_ids = replies.assemble(
            db.session,
            "smscentral",
            originator,
            part,
            text or "",
            message_id,
            reference,
            account_id=account_id,
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
            body=replies.joined([text or ""]),
            reference=reference,
            account_id=account_id,
        )
    )
    return _plain(SMSCENTRAL_OK)


@bp.route("/twilio/inbound", methods=["POST"])
@bp.route("/twilio/<slug>/inbound", methods=["POST"], endpoint="account_twilio_inbound")
def twilio_inbound(slug: str | None = None):
    """Store a reply Twilio forwarded; answer an empty TwiML so Twilio sends nothing back."""
    form, account_id = twilio_verified_form(slug)
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
            account_id=account_id,
            # Twilio blocks the number after its opt-out keywords, ours or not ("ARRET").
            opt_out_type=form.get("OptOutType"),
        )
    )
    return Response(
        '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', mimetype="text/xml"
    )
