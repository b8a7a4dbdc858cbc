"""The audit log page: a GET form of filters and a page of events, newest first."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from webapp import audit_log
from webapp.audit import bp
from webapp.audit.forms import AuditFilterForm
from webapp.extensions import db
from webapp.sms import batches
from webapp.users import offices
from webapp.web.access import permission_required
from webapp.web.rendering import render_list

ACTION_LABELS = {
    "sms.sent": "SMS sent",
    "sms.ignore_opt_out": "Opt-out ignored (Ignore)",
    "sms.resent": "SMS resent",
    "sms.scheduled": "SMS scheduled (Send later)",
    "sms.schedule_edited": "Scheduled SMS text edited",
    "sms.schedule_cancelled": "Scheduled SMS cancelled",
    "sms.released": "Scheduled SMS released",
    "sms.schedule_refused": "Scheduled SMS refused at release",
    "sms.exported": "SMS exported (CSV)",
    "sms.limit_refused": "SMS refused: daily limit",
    "security.volume_alert": "Alert: sending volume",
    "security.new_country_alert": "Alert: new country",
    "user.daily_limit_changed": "Daily SMS limit changed",
    "privacy.changed": "Privacy changed",
    "consent.sms_withdrawn": "SMS consent withdrawn",
    "consent.sms_given": "SMS consent given",
    "person.created": "Record added",
    "person.edited": "Record edited",
    "people.imported": "People imported (command line)",
    "reply.attached": "Reply filed on a record",
    "role.permissions_changed": "Role permissions changed",
    "template.created": "Template added",
    "template.edited": "Template edited",
    "template.deactivated": "Template deactivated",
    "template.reactivated": "Template reactivated",
    "user.created": "User added",
    "user.edited": "User edited",
    "user.deactivated": "User deactivated",
    "user.reactivated": "User reactivated",
    "user.password_reset": "Password reset",
    "profile.edited": "Own profile edited",
    "profile.password_changed": "Own password changed",
    "settings.changed": "Settings changed",
    "blocked_region.added": "Blocked country added",
    "blocked_region.removed": "Blocked country removed",
    "email.retried": "Failed reply email retried",
    "email.discarded": "Failed reply email discarded",
    "auth.login_failed": "Sign-in failed",
    "auth.locked": "Sign-in locked after failures",
    "auth.sso_signed_in": "Signed in with single sign-on",
    "auth.sso_linked": "Single sign-on linked to a user",
    "auth.sso_temporary_password_voided": "Temporary password voided by a single sign-on",
    "auth.sso_refused": "Single sign-on refused",
    "profile.signed_out_everywhere": "Signed out everywhere",
    "user.two_factor_on": "Two-factor turned on",
    "user.two_factor_off": "Two-factor turned off",
    "user.two_factor_reset": "Two-factor reset by an administrator",
    "user.two_factor_failed": "Two-factor code refused",
    "user.recovery_code_used": "Recovery code used",
    "user.recovery_codes_renewed": "Recovery codes renewed",
    "office.added": "Office added",
    "office.changed": "Office changed",
    "sms_account.added": "SMS account added",
    "sms_account.changed": "SMS account changed",
}


@bp.route("/audit")
@permission_required("audit.view")
def index():
    """Show the audit log, newest first, 50 a page, filtered by actor, action, person and dates."""
    form = AuditFilterForm.read(db.session, request.args)
    results = audit_log.search(db.session, form.filters, form.page_number)
    # A team leader limited to their office reads the whole log, but opens only its batches.
    events = [entry.event for entry in results.entries]
    batch_ids = {e.subject_id for e in events if e.subject_type == "batch" and e.subject_id}
    team = offices.team_of(db.session, current_user)
    return render_list(
        "audit/index.html",
        form,
        filters=form.filters,
        results=results,
        openable_batches=batches.openable(db.session, current_user, team, batch_ids),
        page_url=form.page_url("audit.index"),
        actions=audit_log.actions(db.session),
        actors=audit_log.actors(db.session),
        person_kinds=audit_log.PERSON_KINDS,
        action_labels=ACTION_LABELS,
    )
