"""The Offices page (settings.manage): the list of offices, and the form that adds or edits one."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import Length

from webapp import form_tokens
from webapp.admin import bp
from webapp.database import reread_for_update
from webapp.errors import FieldError
from webapp.extensions import db
from webapp.models import Office
from webapp.users import offices
from webapp.web import edit_merge
from webapp.web.access import permission_required
from webapp.web.edit_merge import loaded_field
from webapp.web.forms import field_error, showing
from webapp.web.rendering import render
from webapp.web.validators import PlainText

MANAGE = "settings.manage"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class OfficeForm(FlaskForm):
    """One office; the domain (webapp.users.offices) judges the values and names the field."""

    name = StringField(
        "Name",
        filters=[_strip],
        validators=[
            Length(max=offices.MAX_NAME, message=f"At most {offices.MAX_NAME} characters."),
            PlainText(),
        ],
    )
    timezone = StringField("Time zone", filters=[_strip], validators=[Length(max=64), PlainText()])
    region = StringField("Phone region", filters=[_strip], validators=[Length(max=2), PlainText()])
    loaded = loaded_field()  # the values the form was opened with (webapp.web.edit_merge)

    def details(self) -> offices.OfficeDetails:
        return offices.OfficeDetails(
            name=self.name.data or "",
            timezone=self.timezone.data or "",
            region=self.region.data or "",
        )


class NewOfficeForm(OfficeForm):
    # A repeat of the same submission (a second Enter on a slow network) adds no office again.
    add_token = HiddenField(default="")


def office_or_404(office_id: int) -> Office:
    """The office, or 404: the one place that decides whether an office exists."""
    office = db.session.get(Office, office_id)
    if office is None:
        abort(404, description="There is no such office.")
    return office


@bp.route("/offices", methods=["GET", "POST"], endpoint="offices")
@permission_required(MANAGE)
def offices_page():
    """List the offices, and add one (audited)."""
    form = NewOfficeForm()
    token = form.add_token.data  # none on a post from no page of ours: added as before
    form.add_token.data = token or form_tokens.new()  # what the page shown carries
    problem = None
    if form.validate_on_submit():
        try:
            added = offices.add_office_once(db.session, current_user, form.details(), token=token)
        except FieldError as error:
            db.session.rollback()
            problem = field_error(form, error)
        else:
            name = added.office.name
            if added.repeated:
                flash(
                    f"Office {name} was already added (the form was sent twice): not added again.",
                    "info",
                )
            else:
                flash(f"Office {name} added.", "info")
            return redirect(url_for("admin.offices"))
    return _page(form, None, problem=problem, status=400 if form.is_submitted() else 200)


@bp.route("/offices/<id:office_id>", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit_office(office_id: int):
    """Change an office's name, time zone or phone region (audited)."""
    office = office_or_404(office_id)
    if showing():
        return _page(edit_merge.stamp(OfficeForm(obj=office)), office, problem=None, status=200)
    form = OfficeForm()
    problem = None
    if form.validate_on_submit():
        # A form opened before someone else's save applies only what its user changed.
        reread_for_update(db.session, office)
        problem = edit_merge.merge(form, OfficeForm(formdata=None, obj=office))
        if problem:
            return _page(form, office, problem=problem, status=409)
        try:
            changes = offices.edit_office(db.session, current_user, office, form.details())
        except FieldError as error:
            db.session.rollback()
            problem = field_error(form, error)
        else:
            flash(
                f"Office {office.name} saved." if changes else f"{office.name}: nothing changed.",
                "info",
            )
            return redirect(url_for("admin.offices"))
    return _page(form, office, problem=problem, status=400 if form.is_submitted() else 200)


def _page(form: OfficeForm, office: Office | None, *, problem: str | None, status: int):
    return render(
        "admin/offices.html",
        status=status,
        form=form,
        office=office,
        problem=problem,
        offices=offices.all_offices(db.session),
        members=offices.member_counts(db.session),
    )
