"""The SMS accounts pages: the list (with the default account from the environment), and the form
that adds or changes one account, its secrets never shown again once saved."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import Length

from webapp import form_tokens
from webapp.admin import bp
from webapp.database import reread_for_update
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.ids import as_id
from webapp.models import Office, SmsAccount
from webapp.sms import account_secrets, accounts, routing
from webapp.sms.providers.factory import DEFAULT_SMSCENTRAL_API_URL
from webapp.users.offices import all_offices
from webapp.web import edit_merge
from webapp.web.access import permission_required
from webapp.web.edit_merge import loaded_field
from webapp.web.forms import field_error
from webapp.web.rendering import render
from webapp.web.validators import PlainText


def retype_secret(name: str) -> str:
    """What a secret's box says when the form was refused with it typed (the box is empty)."""
    label = accounts.SECRET_LABELS[name]
    # "auth token", but "API password": an abbreviation keeps its capitals.
    label = label[0].lower() + label[1:] if label[1:2].islower() else label
    return f"Type the {label} again: it is not kept when the form is refused."


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label: str, limit: int) -> StringField:
    return StringField(label, filters=[_strip], validators=[Length(max=limit), PlainText()])


def _secret(label: str) -> PasswordField:
    # A PasswordField never writes its value back into the page: a saved secret is not shown.
    return PasswordField(label, validators=[Length(max=accounts.MAX_SECRET)])


class SmsAccountForm(FlaskForm):
    """One SMS account; the domain (webapp.sms.accounts) judges the values and names the field."""

    name = _text("Name", accounts.MAX_NAME)
    # Plain values: the template writes the options with the gateways' names.
    provider = SelectField("Gateway", choices=list(accounts.PROVIDERS))
    api_url = _text("API URL", 300)
    username = _text("Username", 120)
    password = _secret("API password")
    originator = _text("Sender ID (originator)", 20)
    webhook_username = _text("Webhook username", 120)
    webhook_password = _secret("Webhook password")
    account_sid = _text("Account SID", 64)
    auth_token = _secret("Auth token")
    from_number = _text("From number", 20)
    messaging_service_sid = _text("Messaging Service SID", 64)
    rate_per_second = _text("Rate limit (messages per second)", 20)
    active = BooleanField("Active", default=True)
    offices = SelectMultipleField("Offices it serves", validate_choice=False)
    countries = _text("Destination countries it serves", 400)
    blocked = _text("Blocked countries", 1_000)
    loaded = loaded_field()  # the values the form was opened with (webapp.web.edit_merge)
    write_only = ("password", "webhook_password", "auth_token")  # never merged: see edit_merge

    def details(self, provider: str, *, new: bool = False) -> accounts.AccountDetails:
        """The values typed; on a new account an empty Blocked countries means the gateway's
        default list (SMS Central's for SMS Central, none for Twilio)."""
        return accounts.AccountDetails(
            name=self.name.data or "",
            provider=provider,
            api_url=self.api_url.data or "",
            username=self.username.data or "",
            originator=self.originator.data or "",
            account_sid=self.account_sid.data or "",
            from_number=self.from_number.data or "",
            messaging_service_sid=self.messaging_service_sid.data or "",
            webhook_username=self.webhook_username.data or "",
            rate_per_second=self.rate_per_second.data or "",
            active=bool(self.active.data),
            offices=tuple(_office_names(self.offices.data or ())),
            countries=self.countries.data or "",
            blocked=(self.blocked.data or None) if new else (self.blocked.data or ""),
            secrets={
                name: self[name].data or "" for name in accounts.SECRET_NAMES.get(provider, ())
            },
        )


class NewSmsAccountForm(SmsAccountForm):
    # A repeat of the same submission (a second Enter on a slow network) adds no account again.
    add_token = HiddenField(default="")


def _office_names(ids) -> list[str]:
    """The names of the offices ticked (by id); an id that is no office is named as such."""
    names = []
    for value in ids:
        office_id = as_id(str(value))
        office = db.session.get(Office, office_id) if office_id is not None else None
        if office is None:
            raise FieldError("There is no such office; tick one from the list.", "offices")
        names.append(office.name)
    return names


def account_or_404(account_id: int) -> SmsAccount:
    """The account, or 404: the one place that decides whether an account exists."""
    account = db.session.get(SmsAccount, account_id)
    if account is None:
        abort(404, description="There is no such SMS account.")
    return account


def _material() -> str:
    return account_secrets.key_material(current_app.config)


@bp.route("/sms-accounts")
@permission_required("settings.manage")
def sms_accounts():
    """List the SMS accounts, the default one (from the environment) first."""
    base = current_app.config.get("PUBLIC_BASE_URL", "")
    rows = accounts.all_accounts(db.session)
    return render(
        "admin/sms_accounts.html",
        accounts=rows,
        webhooks={account.id: accounts.webhook_urls(account, base) for account in rows},
        default=_default_account(),
        providers=accounts.PROVIDERS,
        sender=accounts.sender,
    )


@bp.route("/sms-accounts/new", methods=["GET", "POST"])
@permission_required("settings.manage")
def new_sms_account():
    """Add an SMS account: its gateway, credentials, sender, and what it serves (audited)."""
    form = NewSmsAccountForm()
    token = form.add_token.data  # none on a post from no page of ours: added as before
    form.add_token.data = token or form_tokens.new()  # what the page shown carries
    if not form.is_submitted():
        form.api_url.data = _default_api_url()
        return _account_page(form, None)
    problem, status = None, 400
    if form.validate_on_submit():
        try:
            added = accounts.add_account_once(
                db.session,
                current_user,
                form.details(form.provider.data, new=True),
                _material(),
                default_api_url=_default_api_url(),
                token=token,
            )
        except FieldError as error:
            problem, status = field_error(form, error), error.status
        else:
            account = added.account
            if added.repeated:
                flash(
                    f"{account.name} was already added (the form was sent twice): not added again.",
                    "info",
                )
            else:
                flash(f"{account.name} added. Set its webhook addresses at the gateway.", "info")
            return redirect(url_for("admin.edit_sms_account", account_id=account.id))
    return _account_page(form, None, problem=problem, status=status)


@bp.route("/sms-accounts/<id:account_id>/edit", methods=["GET", "POST"])
@permission_required("settings.manage")
def edit_sms_account(account_id: int):
    """Change an SMS account; a secret left empty keeps the saved one (audited)."""
    account = account_or_404(account_id)
    if request.method != "POST":
        return _account_page(edit_merge.stamp(_filled_form(account)), account)
    # The page has no Gateway field once the account exists (it cannot change): without this
    # every save from the page was refused, "Please correct the fields marked below", none marked.
    form = SmsAccountForm(data={"provider": account.provider})
    problem, status = None, 400
    if form.validate_on_submit():
        # A form opened before someone else's save applies only what its user changed.
        reread_for_update(db.session, account)
        problem = edit_merge.merge(
            form, _filled_form(account), {"rate_per_second": accounts.parse_rate}
        )
        if problem:
            return _account_page(form, account, problem=problem, status=409)
        try:
            changes = accounts.edit_account(
                db.session,
                current_user,
                account,
                form.details(account.provider),
                _material(),
                default_api_url=_default_api_url(),
            )
        except FieldError as error:
            problem, status = field_error(form, error), error.status
        else:
            flash(
                f"{account.name} saved." if changes else f"{account.name}: nothing changed.", "info"
            )
            return redirect(url_for("admin.edit_sms_account", account_id=account.id))
    return _account_page(form, account, problem=problem, status=status)


def _filled_form(account: SmsAccount) -> SmsAccountForm:
    form = SmsAccountForm(formdata=None, obj=account)
    form.offices.data = [str(office.id) for office in account.offices]
    form.countries.data = ", ".join(row.region for row in account.countries)
    form.blocked.data = ", ".join(row.region for row in account.blocked)
    form.rate_per_second.data = (
        accounts.rate_text(account.rate_per_second) if account.rate_per_second is not None else ""
    )
    return form


def _account_page(
    form: SmsAccountForm, account: SmsAccount | None, *, problem: str | None = None, status=200
):
    if account is not None:
        form.provider.data = account.provider
    saved = accounts.saved_secrets(account, _material()) if account is not None else frozenset()
    unreadable = bool(account is not None and account.secrets and not saved)
    retype = _ask_to_retype(form, form.provider.data) if form.is_submitted() else frozenset()
    return render(
        "admin/sms_account.html",
        status=status,
        form=form,
        account=account,
        problem=problem,
        offices=all_offices(db.session),
        chosen_offices={str(value) for value in (form.offices.data or ())},
        saved_secrets=saved,
        retype_secrets=retype,
        secrets_unreadable=unreadable,
        webhooks=accounts.webhook_urls(account, current_app.config.get("PUBLIC_BASE_URL", ""))
        if account is not None
        else [],
        providers=accounts.PROVIDERS,
        default_api_url=_default_api_url(),
    )


def _ask_to_retype(form: SmsAccountForm, provider: str | None) -> frozenset[str]:
    """The secrets typed on a form that comes back refused, each told to be typed again.

    A secret is never written back into the page (it would sit in its HTML and the browser's
    cache), so its box comes back empty: unless told, its user saves again believing it kept,
    and the old one stays (or a new account asks for it as if never typed)."""
    names = accounts.SECRET_NAMES.get(provider or "", form.write_only)
    typed = frozenset(name for name in names if form[name].data)
    for name in typed:
        if not form[name].errors:  # a secret refused itself says why already
            form[name].errors = [*form[name].errors, retype_secret(name)]
    return typed


def _default_api_url() -> str:
    return current_app.config.get("SMSCENTRAL_API_URL") or DEFAULT_SMSCENTRAL_API_URL


def _default_account() -> dict:
    """The gateway configured in the environment, as the list shows it (no secrets)."""
    config = current_app.config
    provider = config.get("SMS_PROVIDER", "sandbox")
    base = config.get("PUBLIC_BASE_URL", "")
    # The sender its messages go out under: the settings page's sender ID, else the environment's.
    sender = routing.default_sender(provider, db.session, config)
    if provider == "smscentral":
        gateway = "SMS Central"
        paths = accounts.WEBHOOK_PATHS["smscentral"]
    elif provider == "twilio":
        gateway = "Twilio"
        paths = accounts.WEBHOOK_PATHS["twilio"]
    else:
        gateway, sender, paths = "Sandbox (nothing leaves the server)", "", ()
    return {
        "provider": provider,
        "gateway": gateway,
        "sender": sender,
        "webhooks": [(path, f"{base}/webhooks/{provider}/{path}") for path in paths],
    }
