"""One error type for "this form field is wrong" (webapp.errors.FieldError), and one helper that
shows it beside its field on a WTForms form or in a template's errors dict."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from wtforms import Form, StringField

from webapp.errors import FieldError, FieldErrors
from webapp.people import records
from webapp.web.forms import field_error

WEBAPP = Path(__file__).resolve().parents[2] / "webapp"


class NameForm(Form):
    name = StringField("Name")


def test_a_field_error_is_shown_beside_the_field_it_names():
    form = NameForm()
    form.name.errors = ["Too long."]

    assert field_error(form, FieldError("Enter a name.", "name")) is None
    assert form.name.errors == ["Too long.", "Enter a name."]


def test_a_field_error_the_form_has_no_field_for_is_returned_for_the_page():
    form = NameForm()
    assert field_error(form, FieldError("Someone else changed it.")) == "Someone else changed it."
    # The token is a hidden field: a message put there would never be seen.
    assert field_error(form, FieldError("Expired.", "csrf_token")) == "Expired."
    assert not form.name.errors


def test_a_field_error_goes_into_an_errors_dict_under_its_field():
    errors = {"message": "Type a message."}
    assert field_error(errors, FieldError("Give a reason.", "ignore_reason", 400)) is None
    assert errors == {"message": "Type a message.", "ignore_reason": "Give a reason."}


def test_several_field_errors_are_each_shown_beside_their_field():
    form = NameForm()
    both = FieldErrors([FieldError("Enter a name.", "name"), FieldError("Someone else saved it.")])

    assert field_error(form, both) == "Someone else saved it."
    assert form.name.errors == ["Enter a name."]
    errors: dict[str, str] = {}
    field_error(errors, both)
    assert errors == {"name": "Enter a name.", "form": "Someone else saved it."}


def test_one_field_error_is_raised_as_itself_and_none_raises_nothing():
    FieldErrors.raise_any([])
    alone = FieldError("Enter a name.", "name")
    with pytest.raises(FieldError) as raised:
        FieldErrors.raise_any([alone])
    assert raised.value is alone


def test_the_privacy_refusal_is_a_field_error_the_form_can_show():
    withdrawal = records.Withdrawal(source="reply", at=None, overrides="stop")
    refused = records.RestoreReasonRequired(withdrawal)
    assert isinstance(refused, FieldError)
    assert (refused.field, refused.status) == ("sms_consent_reason", 400)
    assert refused.message.startswith("This person replied STOP: say why SMS may be ticked again")


def error_classes_naming_a_field(path: Path) -> list[str]:
    """Classes in `path` whose methods set `self.field`: the mark of a form-field error type."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ClassDef):
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Attribute)
                    and isinstance(inner.ctx, ast.Store)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "self"
                    and inner.attr == "field"
                ):
                    found.append(node.name)
                    break
    return found


def test_there_is_one_error_type_for_a_wrong_field():
    defined = {
        f"{path.relative_to(WEBAPP.parent)}:{name}"
        for path in sorted(WEBAPP.rglob("*.py"))
        for name in error_classes_naming_a_field(path)
    }
    assert defined == {"webapp/errors.py:FieldError"}
