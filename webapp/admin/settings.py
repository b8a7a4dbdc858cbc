"""The SMS settings page: Comment options, phone region, sender ID, the unmatched-replies inbox,
and each gateway's blocked-country list."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, url_for
from flask_login import current_user

from webapp.admin import bp
from webapp.admin.forms import BlockedRegionForm, RemoveBlockedRegionForm, SettingsForm
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import BlockedRegion
from webapp.sms import settings as sms_settings
from webapp.sms.settings import BLOCKLIST_PROVIDERS, SETTING_KEYS
from webapp.times import DEFAULT_ZONE
from webapp.web.access import permission_required
from webapp.web.forms import field_error
from webapp.web.rendering import render


def blocked_or_404(row_id: int) -> BlockedRegion:
    row = sms_settings.get_blocked_region(db.session, row_id)
    if row is None:
        abort(404, description="That country is not on a blocked list (any more).")
    return row


@bp.route("/settings", methods=["GET", "POST"])
@permission_required("settings.manage")
def settings():
    """Show and change the SMS settings; the blocked-country lists are below them."""
    stored = sms_settings.stored(db.session)
    stored["comment_types"] = "\n".join(stored["comment_types"])
    form = SettingsForm(data=stored)
    problem = None
    if form.validate_on_submit():
        try:
            changes = sms_settings.save(
                db.session, current_user, **{key: form[key].data for key in SETTING_KEYS}
            )
        except FieldError as error:
            problem = field_error(form, error)
        else:
            flash(
                f"Settings saved: {', '.join(form[key].label.text for key in changes)}."
                if changes
                else "Settings unchanged.",
                "info",
            )
            return redirect(url_for("admin.settings"))
    return _page(form=form, problem=problem, status=400 if form.is_submitted() else 200)


@bp.route("/settings/blocked", methods=["POST"])
@permission_required("settings.manage")
def add_blocked():
    """Block a country for one gateway, with the reason (audited)."""
    form = BlockedRegionForm()
    if form.validate_on_submit():
        try:
            row = sms_settings.add_blocked_region(
                db.session,
                current_user,
                form.provider.data,
                form.region.data,
                form.reason.data,
                form.name.data,
            )
        except FieldError as error:
            field_error(form, error)
        else:
            flash(
                f"{row.name} ({row.region}) is now blocked for "
                f"{BLOCKLIST_PROVIDERS[row.provider]}.",
                "info",
            )
            return redirect(url_for("admin.settings", _anchor="blocked"))
    return _page(blocked_form=form, status=400)


@bp.route("/settings/blocked/<id:row_id>/remove", methods=["GET", "POST"])
@permission_required("settings.manage")
def remove_blocked(row_id: int):
    """Ask why, then take a country off a gateway's blocked list (audited)."""
    row = blocked_or_404(row_id)
    form = RemoveBlockedRegionForm()
    if form.validate_on_submit():
        name, region, provider = row.name, row.region, row.provider
        try:
            sms_settings.remove_blocked_region(db.session, current_user, row, form.reason.data)
        except FieldError as error:
            field_error(form, error)
        else:
            flash(
                f"{name} ({region}) is no longer blocked for {BLOCKLIST_PROVIDERS[provider]}.",
                "info",
            )
            return redirect(url_for("admin.settings", _anchor="blocked"))
    return render(
        "admin/blocked_remove.html",
        status=400 if form.is_submitted() else 200,
        row=row,
        form=form,
        provider_label=BLOCKLIST_PROVIDERS.get(row.provider, row.provider),
    )


def _page(
    *,
    form: SettingsForm | None = None,
    blocked_form: BlockedRegionForm | None = None,
    problem: str | None = None,
    status: int = 200,
):
    config = current_app.config
    if form is None:
        stored = sms_settings.stored(db.session)
        stored["comment_types"] = "\n".join(stored["comment_types"])
        form = SettingsForm(formdata=None, data=stored)
    return render(
        "admin/settings.html",
        status=status,
        form=form,
        problem=problem,
        blocked_form=blocked_form or BlockedRegionForm(formdata=None),
        lists={
            provider: sms_settings.blocked_list(db.session, provider)
            for provider in BLOCKLIST_PROVIDERS
        },
        providers=BLOCKLIST_PROVIDERS,
        in_use=sms_settings.blocked_list_provider(config["SMS_PROVIDER"]),
        environment={
            "default_region": config.get("SMS_DEFAULT_REGION", "AU"),
            "originator": config.get("SMSCENTRAL_ORIGINATOR", ""),
            "unmatched_reply_address": config.get("MAIL_FROM", ""),
            "timezone": config.get("TIMEZONE", DEFAULT_ZONE),
        },
    )
