"""The SMS settings page: Comment options, phone region, sender ID, the unmatched-replies inbox,
and each gateway's blocked-country list."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from flask import abort, current_app, request
from flask_login import current_user
from flask_wtf import FlaskForm

from webapp import settings_store
from webapp.admin import bp
from webapp.admin.forms import (
    BlockedRegionForm,
    ConfirmationSettingsForm,
    LimitsForm,
    QuietHoursForm,
    RemoveBlockedRegionForm,
    SettingsForm,
)
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import BlockedRegion, Role
from webapp.sms import confirmation, limits, quiet_hours
from webapp.sms import settings as sms_settings
from webapp.sms.settings import BLOCKLIST_PROVIDERS, SETTING_KEYS
from webapp.times import DEFAULT_ZONE
from webapp.users import accounts
from webapp.web import edit_merge
from webapp.web.access import permission_required
from webapp.web.forms import field_error, refused, showing
from webapp.web.notices import back_to_section
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
    if showing():
        return _page()
    form = SettingsForm(data=_settings_values())  # a field not posted keeps its value
    problem = None
    if form.validate_on_submit():
        problem = merged(form, _stored_settings)
        if problem:
            return _page(form=form, problem=problem, status=409)
        try:
            changes = sms_settings.save(
                db.session,
                current_user,
                **{key: form[key].data for key in SETTING_KEYS},
                sender_required=_sender_required(),
            )
        except FieldError as error:
            problem = field_error(form, error)
        else:
            return back_to_section(
                "admin.settings",
                "sms-settings",
                f"Settings saved: {', '.join(form[key].label.text for key in changes)}."
                if changes
                else "Settings unchanged.",
            )
    return _page(form=form, problem=problem, status=400 if form.is_submitted() else 200)


def _sender_required() -> bool:
    """Whether the Sender ID may not be left empty: SMS Central sends with none of its own."""
    config = current_app.config
    gateway = str(config.get("SMS_PROVIDER") or "").strip().lower()
    return gateway == "smscentral" and not str(config.get("SMSCENTRAL_ORIGINATOR") or "").strip()


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
            return back_to_section(
                "admin.settings",
                "blocked",
                f"{row.name} ({row.region}) is now blocked for "
                f"{BLOCKLIST_PROVIDERS[row.provider]}.",
            )
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
            return back_to_section(
                "admin.settings",
                "blocked",
                f"{name} ({region}) is no longer blocked for {BLOCKLIST_PROVIDERS[provider]}.",
            )
    return render(
        "admin/blocked_remove.html",
        status=400 if form.is_submitted() else 200,
        row=row,
        form=form,
        provider_label=BLOCKLIST_PROVIDERS.get(row.provider, row.provider),
    )


@bp.route("/settings/confirmation", methods=["POST"])
@permission_required("settings.manage")
def confirmation_settings():
    """Change which sends are confirmed first and the prices their cost is estimated with
    (audited)."""
    form = ConfirmationSettingsForm()
    if form.validate_on_submit():
        problem = merged(
            form, _stored_confirmation, {"confirm_over": confirmation.check_confirm_over}
        )
        if problem:
            return _page(confirm_form=form, confirm_problem=problem, status=409)
        try:
            changes = confirmation.save(
                db.session,
                current_user,
                **{key: form[key].data for key in confirmation.SETTING_KEYS},
            )
        except FieldError as error:
            field_error(form, error)
        else:
            return back_to_section(
                "admin.settings",
                "big-sends",
                f"Settings saved: {', '.join(form[key].label.text for key in changes)}."
                if changes
                else "Settings unchanged.",
            )
    return _page(confirm_form=form, status=400)


@bp.route("/settings/quiet-hours", methods=["POST"])
@permission_required("settings.manage")
def quiet_hours_settings():
    """Change the organisation's quiet hours, which win over QUIET_HOURS (audited)."""
    form = QuietHoursForm()
    if form.validate_on_submit():
        problem = merged(form, _stored_quiet_hours)
        if problem:
            return _page(quiet_form=form, quiet_problem=problem, status=409)
        try:
            changes = quiet_hours.save(db.session, current_user, form.quiet_hours.data)
        except FieldError as error:
            field_error(form, error)
        else:
            return back_to_section(
                "admin.settings",
                "quiet-hours",
                _quiet_saved(quiet_hours.stored(db.session))
                if changes
                else "Quiet hours unchanged.",
            )
    return _page(quiet_form=form, status=400)


def _quiet_saved(value: str) -> str:
    """What was saved, said back: "9:00-5:00" is 09:00 to 05:00, 20 hours a day, which the
    admin may not have meant."""
    if not value:
        server = current_app.config.get("QUIET_HOURS") or quiet_hours.OFF
        return f"Quiet hours saved: the server’s QUIET_HOURS ({server})."
    window = quiet_hours.parse_window(value)
    if window is None:
        return "Quiet hours saved: off."
    start = window.start.hour * 60 + window.start.minute
    minutes = (window.end.hour * 60 + window.end.minute - start) % (24 * 60)
    hours, rest = divmod(minutes, 60)
    length = f"{hours} hour{'' if hours == 1 else 's'}" if hours else ""
    if rest:
        length = f"{length} {rest} minute{'' if rest == 1 else 's'}".strip()
    return f"Quiet hours saved: {window.start:%H:%M} to {window.end:%H:%M}, {length} a day."


def _settings_values() -> dict:
    stored = sms_settings.stored(db.session)
    stored["comment_types"] = "\n".join(stored["comment_types"])
    return stored


def _stored_settings() -> SettingsForm:
    return SettingsForm(formdata=None, data=_settings_values())


def _stored_confirmation() -> ConfirmationSettingsForm:
    return ConfirmationSettingsForm(formdata=None, data=confirmation.stored(db.session))


def _stored_quiet_hours() -> QuietHoursForm:
    return QuietHoursForm(formdata=None, data={"quiet_hours": quiet_hours.stored(db.session)})


def merged(
    form, stored: Callable[[], FlaskForm], parsers: Mapping[str, edit_merge.Parser] | None = None
) -> str | None:
    """A section's form left open applies only what its user changed (webapp.web.edit_merge):
    compared with the settings as stored now, under the lock their saves take; the fields with
    a parser in `parsers` by the number they hold."""
    settings_store.lock_to_save(db.session)
    return edit_merge.merge(form, stored(), parsers)


def _page(
    *,
    form: SettingsForm | None = None,
    blocked_form: BlockedRegionForm | None = None,
    confirm_form: ConfirmationSettingsForm | None = None,
    quiet_form: QuietHoursForm | None = None,
    two_factor_form=None,
    limits_section: dict | None = None,
    problem: str | None = None,
    confirm_problem: str | None = None,
    quiet_problem: str | None = None,
    status: int = 200,
):
    # Imported here: webapp.admin.two_factor renders this page too (its form's errors).
    from webapp.admin import two_factor

    config = current_app.config
    return render(
        "admin/settings.html",
        status=status,
        form=form or edit_merge.stamp(_stored_settings()),
        problem=problem,
        confirm_problem=confirm_problem,
        quiet_problem=quiet_problem,
        blocked_form=blocked_form or BlockedRegionForm(formdata=None),
        lists={
            provider: sms_settings.blocked_list(db.session, provider)
            for provider in BLOCKLIST_PROVIDERS
        },
        providers=BLOCKLIST_PROVIDERS,
        in_use=sms_settings.blocked_list_provider(config["SMS_PROVIDER"]),
        confirm_form=confirm_form or edit_merge.stamp(_stored_confirmation()),
        confirm_over_default=config.get("SMS_CONFIRM_OVER", confirmation.DEFAULT_CONFIRM_OVER),
        quiet_form=quiet_form or edit_merge.stamp(_stored_quiet_hours()),
        quiet_hours_default=config.get("QUIET_HOURS") or quiet_hours.OFF,
        environment={
            "default_region": config.get("SMS_DEFAULT_REGION", "AU"),
            "originator": config.get("SMSCENTRAL_ORIGINATOR", ""),
            # Twilio sends from its own number or Messaging Service, never a sender ID.
            "twilio": str(config.get("SMS_PROVIDER") or "").strip().lower() == "twilio",
            "unmatched_reply_address": config.get("MAIL_FROM", ""),
            "timezone": config.get("TIMEZONE", DEFAULT_ZONE),
        },
        **two_factor.roles_section(two_factor_form),
        **(limits_section or _limits_section()),
    )


@bp.route("/settings/limits", methods=["POST"])
@permission_required("settings.manage")
def sending_limits():
    """Change the organisation's daily cap and each role's default daily limit (audited)."""
    roles = accounts.all_roles(db.session)
    form = LimitsForm()
    typed = {role.name: request.form.get(f"role-{role.name}", "") for role in roles}
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        problem = _merged_limits(form, typed)
        if problem:
            # Loaded afresh (the section's default): a second Save keeps the typed limits.
            section = _limits_section(form, typed, {"form": problem})
            return _page(limits_section=section, status=409)
        try:
            changes = limits.save_limits(db.session, current_user, form.org_daily_limit.data, typed)
        except FieldError as error:
            errors = refused(error)
        else:
            return back_to_section(
                "admin.settings",
                "limits",
                "Sending limits saved." if changes else "Sending limits unchanged.",
            )
    section = _limits_section(form, typed, errors, loaded=request.form.get("loaded", ""))
    return _page(limits_section=section, status=400)


def _limit_values(organisation: str | None, roles: dict[str, str]) -> dict[str, str]:
    """The section's fields by name, as the page carries its loaded values."""
    values = {"org_daily_limit": (organisation or "").strip()}
    values |= {f"role-{name}": (text or "").strip() for name, text in roles.items()}
    return values


def _stored_limits(
    stored: limits.StoredLimits | None = None, roles: list[Role] | None = None
) -> dict[str, str]:
    """The limits as stored (read now unless given), by field name."""
    stored = stored or limits.stored_limits(db.session)
    roles = roles if roles is not None else accounts.all_roles(db.session)
    typed = {role.name: str(stored.roles.get(role.name, "")) for role in roles}
    return _limit_values(str(stored.organisation or ""), typed)


def _merged_limits(form: LimitsForm, typed: dict[str, str]) -> str | None:
    """The limits as a page left open should save them (webapp.web.edit_merge): its user's
    changes over the limits stored now, `form` and `typed` changed to that; or the refusal when
    a limit both changed differently."""
    settings_store.lock_to_save(db.session)
    loaded = edit_merge.read(request.form.get("loaded"))
    if loaded is None:
        return None
    now = _stored_limits()
    # Compared as numbers: "7,000" typed here is the 7000 saved from another tab.
    theirs, clashes = edit_merge.three_way(
        loaded,
        _limit_values(form.org_daily_limit.data, typed),
        now,
        dict.fromkeys(now, limits.parse_limit),
    )
    for name in theirs:
        if name == "org_daily_limit":
            form.org_daily_limit.data = now[name]
        else:
            typed[name.removeprefix("role-")] = now[name]
    return edit_merge.refusal(
        f"{_limit_label(form, name)} is now {edit_merge.shown(now[name])}" for name in clashes
    )


def _limit_label(form: LimitsForm, name: str) -> str:
    if name == "org_daily_limit":
        return form.org_daily_limit.label.text
    return f"The daily limit of {name.removeprefix('role-')}"


def _limits_section(
    form: LimitsForm | None = None,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    loaded: str | None = None,
) -> dict:
    """The Sending limits section: as stored, or as typed with what was wrong; `loaded`, the
    values its form carries as loaded, as posted (as stored now unless given)."""
    stored = limits.stored_limits(db.session)
    roles = accounts.all_roles(db.session)
    if form is None:
        form = LimitsForm(formdata=None, data={"org_daily_limit": stored.organisation or ""})
    if typed is None:
        typed = {name: str(limit) for name, limit in stored.roles.items()}
    return {
        "limits_form": form,
        "limit_roles": roles,
        "role_limit_values": typed,
        "limit_errors": errors or {},
        "limits_loaded": loaded
        if loaded is not None
        else json.dumps(_stored_limits(stored, roles)),
        "server_daily_limit": current_app.config.get("SMS_DAILY_LIMIT") or None,
    }
