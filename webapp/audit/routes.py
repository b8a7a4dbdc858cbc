"""The audit log page: a GET form of filters and a page of events, newest first."""

from __future__ import annotations

from flask import request, url_for

from webapp import audit_log
from webapp.audit import bp
from webapp.audit.forms import AuditFilterForm
from webapp.extensions import db
from webapp.web.access import permission_required
from webapp.web.rendering import render

ACTION_LABELS = {
    "sms.sent": "SMS sent",
    "sms.ignore_opt_out": "Opt-out ignored (Ignore)",
    "sms.resent": "SMS resent",
    "privacy.changed": "Privacy changed",
    "consent.sms_withdrawn": "SMS consent withdrawn",
    "consent.sms_given": "SMS consent given",
    "person.created": "Record added",
    "person.edited": "Record edited",
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
}


@bp.route("/audit")
@permission_required("audit.view")
def index():
    """Show the audit log, newest first, 50 a page, filtered by actor, action, person and dates."""
    form = AuditFilterForm(db.session, request.args)
    form.validate()  # a wrong value is left out and named beside its field; the rest still filter
    filters, page, errors = form.filters, form.page_number, form.problems
    results = audit_log.search(db.session, filters, page)

    def page_url(number: int) -> str:
        return url_for("audit.index", page=number, **filters.params())

    return render(
        "audit/index.html",
        blocks=["results"],
        status=400 if errors else 200,
        filters=filters,
        results=results,
        errors=errors,
        page_url=page_url,
        actions=audit_log.actions(db.session),
        actors=audit_log.actors(db.session),
        person_kinds=audit_log.PERSON_KINDS,
        action_labels=ACTION_LABELS,
    )
