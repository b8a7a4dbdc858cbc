"""The form classes of the SMS screen and the GET filters (search, audit log, template and user
lists): how they read what was posted or asked for, and that the filters name each wrong value
beside its field."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from webapp.admin.forms import UserSearchForm
from webapp.audit.forms import AuditFilterForm
from webapp.compose.forms import ComposeForm
from webapp.search.forms import SearchForm
from webapp.templates_admin.forms import ListingForm


@pytest.fixture
def request_context(app):
    with app.test_request_context("/"):
        yield


def test_the_compose_form_reads_a_blank_screen_as_empty_values(request_context):
    form = ComposeForm(formdata=None)
    assert (
        form.message.data,
        form.template_id.data,
        form.ignore.data,
        form.comment.data,
        form.ignore_reason.data,
        form.comment_text.data,
        form.preview_index.data,
    ) == ("", "", False, False, "", "", 0)


@pytest.mark.parametrize(
    ("posted", "ticked"), [("1", True), ("on", False), ("", False), (None, False)]
)
def test_a_compose_tick_box_counts_only_when_posted_as_its_value(request_context, posted, ticked):
    values = MultiDict({} if posted is None else {"ignore": posted, "comment": posted})
    form = ComposeForm(formdata=values)
    assert (form.ignore.data, form.comment.data) == (ticked, ticked)


def test_the_compose_form_keeps_line_breaks_and_drops_other_control_characters(request_context):
    form = ComposeForm(
        formdata=MultiDict(
            {
                "message": "Hi\r\nthere\x1b[31m\x07",
                "comment_text": "a\tb\x00",
                "ignore_reason": " as typed ",
            }
        )
    )
    assert form.message.data == "Hi\nthere[31m"
    assert form.comment_text.data == "a b"
    # Never cleaned or cut here: the domain refuses a bad reason with a message beside the field.
    assert form.ignore_reason.data == " as typed "


@pytest.mark.parametrize(("posted", "index"), [("3", 3), ("x", 0), ("-1", 0), ("", 0), ("²", 0)])
def test_the_preview_index_is_a_number_or_the_first_recipient(request_context, posted, index):
    assert ComposeForm(formdata=MultiDict({"preview_index": posted})).preview_index.data == index


def test_a_search_filter_that_does_not_parse_is_named_beside_its_field_and_left_out(
    request_context,
):
    form = SearchForm(
        "candidates", MultiDict({"q": "ada", "status": "Bogus", "created_from": "yesterday"})
    )

    assert form.validate() is False
    assert form.status.errors == ["Status must be one of Active, Available, Placed, Inactive."]
    assert form.created_from.errors == [
        "Created from must be a date like 2026-01-31, not “yesterday”."
    ]
    assert form.problems == {
        "status": form.status.errors[0],
        "created_from": form.created_from.errors[0],
    }
    assert (form.filters.q, form.filters.status, form.filters.created_from) == ("ada", "", None)
    assert form.page_number == 1


def test_a_search_that_parses_is_valid(request_context):
    form = SearchForm("contacts", MultiDict({"client": "Acme", "page": "2"}))
    assert form.validate() is True
    assert (form.filters.client, form.page_number, form.problems) == ("Acme", 2, {})


def test_a_filter_given_twice_in_the_query_string_uses_its_first_value(request_context):
    form = SearchForm("candidates", MultiDict([("q", "ada"), ("q", "grace"), ("status", "Active")]))
    assert form.validate() is True
    assert (form.filters.q, form.filters.status) == ("ada", "Active")


def test_an_audit_filter_that_does_not_parse_is_named_beside_its_field(request_context, session):
    form = AuditFilterForm(
        session, MultiDict({"actor": "nobody", "date_to": "2026-13-01", "person": "Ada"})
    )

    assert form.validate() is False
    assert form.actor.errors == ["There is no user with the username “nobody”."]
    assert form.date_to.errors == ["To must be a date like 2026-01-31, not “2026-13-01”."]
    assert (form.filters.actor, form.filters.date_to, form.filters.person) == ("", None, "Ada")


@pytest.mark.parametrize(
    ("form_class", "args"),
    [
        (ListingForm, {"q": "welcome\x1b", "folder": "General", "inactive": "1"}),
        (UserSearchForm, {"q": "ada\x1b"}),
    ],
)
def test_the_other_lists_name_a_search_left_out_beside_its_box(request_context, form_class, args):
    form = form_class(MultiDict(args))

    assert form.validate() is False
    assert list(form.problems) == ["q"]
    assert form.q.errors == [form.problems["q"]]
    assert "control character" in form.problems["q"]


def test_the_template_list_filters_read_the_folder_and_the_inactive_box(request_context):
    shown = ListingForm(MultiDict({"folder": "General", "inactive": "1"}))
    assert shown.validate() is True
    assert shown.filters.params() == {"folder": "General", "inactive": "1"}
    assert ListingForm(MultiDict({"inactive": "on"})).validate() is True
    assert ListingForm(MultiDict({"inactive": "on"})).inactive.data is False
