"""The one way administrator settings are stored (webapp.settings_store) on a real database: rows
written and removed, one audit event for what changed, nothing for what did not; and the one
reading of a whole number that every such setting shares."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.statements import recorded
from webapp import settings_store
from webapp.errors import FieldError
from webapp.models import AuditEvent, Setting
from webapp.sms import confirmation, limits
from webapp.users import two_factor

# Every settings field typed as a whole number, with the field each names in a refusal.
WHOLE_NUMBER_FIELDS = [
    (limits.parse_limit, "daily_limit"),
    (confirmation.check_confirm_over, confirmation.CONFIRM_OVER),
]


def audits(session) -> list[dict]:
    return [
        event.details["changes"]
        for event in session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "settings.changed")
            .order_by(AuditEvent.id)
        )
    ]


def rows(session) -> dict:
    session.expire_all()
    return {row.key: row.value for row in session.scalars(sa.select(Setting))}


# --- whole numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("parse", "field"), WHOLE_NUMBER_FIELDS)
@pytest.mark.parametrize(
    ("typed", "number"),
    [
        (None, None),
        ("", None),
        ("  ", None),
        ("0", 0),
        ("1,500", 1500),
        ("1 500", 1500),
        ("007", 7),
    ],
)
def test_every_whole_number_setting_reads_a_number_the_same_way(parse, field, typed, number):
    assert parse(typed) == number


@pytest.mark.parametrize(("parse", "field"), WHOLE_NUMBER_FIELDS)
@pytest.mark.parametrize("typed", ["²", "1²", "٣", "１２", "1.5", "-1", "+1", "lots", "9" * 5000])
def test_every_whole_number_setting_refuses_what_is_not_ascii_digits_beside_its_field(
    parse, field, typed
):
    # "²", "٣" and "１２" pass str.isdigit(); int() refuses the first (a 500 on the Settings page).
    with pytest.raises(FieldError) as refused:
        parse(typed)
    assert refused.value.field == field
    assert "Enter a whole number" in refused.value.message


def test_a_number_over_the_maximum_is_refused_and_zeros_in_front_do_not_count():
    assert settings_store.whole_number("0" * 5000 + "12", "n", 12, "No.") == 12
    with pytest.raises(FieldError):
        settings_store.whole_number("13", "n", 12, "No.")


# --- saving --------------------------------------------------------------------------------------


def test_values_are_stored_and_audited_together_once(session, make_user):
    admin = make_user(role="administrator")
    changes = settings_store.save(session, admin, {"a": 5, "b": ["x"], "c": ""})
    assert changes == {"a": [None, 5], "b": [None, ["x"]]}
    assert rows(session) == {"a": 5, "b": ["x"]}
    [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "settings.changed"))
    assert event.actor_id == admin.id and event.details["changes"] == changes


def test_saving_the_same_values_changes_and_audits_nothing(session):
    settings_store.save(session, None, {"a": 5})
    assert settings_store.save(session, None, {"a": 5, "b": "", "c": None, "d": {}}) == {}
    assert len(audits(session)) == 1


def test_an_unset_value_removes_its_row_but_zero_false_and_empty_list_are_values(session):
    settings_store.save(session, None, {"a": 5, "b": "text", "c": {"AU": "1"}})
    changes = settings_store.save(
        session, None, {"a": None, "b": "", "c": {}, "zero": 0, "off": False, "none": []}
    )
    assert rows(session) == {"zero": 0, "off": False, "none": []}
    assert changes["a"] == [5, None] and changes["c"] == [{"AU": "1"}, None]


def test_before_is_compared_and_audited_as_the_page_showed_it(session):
    changes = settings_store.save(session, None, {"a": "x", "b": ""}, {"a": "", "b": ""})
    assert changes == {"a": ["", "x"]}
    assert rows(session) == {"a": "x"}


def test_saving_the_two_factor_roles_in_force_stores_them_once(session):
    # Until saved, the default applies (and moves with the roles' permissions): saving it as it
    # stands stores it, from "not set"; saving it again changes nothing.
    in_force = sorted(two_factor.required_roles(session, {}).names)
    assert two_factor.save_required_roles(session, None, {}, in_force)
    assert session.get(Setting, two_factor.SETTING_KEY).value == in_force
    assert audits(session) == [{two_factor.SETTING_KEY: [None, in_force]}]
    assert not two_factor.save_required_roles(session, None, {}, in_force)
    assert len(audits(session)) == 1
    # No role at all is a choice of its own, kept (not "not set").
    assert two_factor.save_required_roles(session, None, {}, [])
    assert session.get(Setting, two_factor.SETTING_KEY).value == []
    assert audits(session)[-1] == {two_factor.SETTING_KEY: [in_force, []]}


# --- reading: the whole table once per transaction -----------------------------------------------


def settings_queries(session, read) -> int:
    """How many queries of the settings table `read()` runs."""
    with recorded(session.get_bind()) as statements:
        read()
    return len([statement for statement in statements if "FROM settings" in statement])


def test_settings_read_in_one_transaction_take_one_query(session):
    session.add_all([Setting(key="default_region", value="NZ"), Setting(key="timezone", value="")])
    session.commit()

    def read_three():
        assert settings_store.value(session, "default_region") == "NZ"
        assert settings_store.value(session, "timezone") == ""
        assert settings_store.value(session, "two_factor_roles") is None

    assert settings_queries(session, read_three) == 1
    assert settings_queries(session, read_three) == 0


def test_a_setting_changed_elsewhere_is_read_in_the_next_transaction(app, session):
    assert settings_store.value(session, "default_region") is None
    other = app.extensions["database"].sessionmaker()
    settings_store.save(other, None, {"default_region": "GB"})
    other.close()

    session.commit()  # a new transaction: a fresh reading

    assert settings_store.value(session, "default_region") == "GB"


def test_a_setting_written_in_this_transaction_is_read_back(session):
    assert settings_store.value(session, "default_region") is None
    session.add(Setting(key="default_region", value="IE"))
    session.flush()

    assert settings_store.value(session, "default_region") == "IE"


def test_a_setting_written_but_not_yet_flushed_is_read_back(session):
    # As a query of the table would: it flushes the session's pending changes first.
    assert settings_store.value(session, "default_region") is None
    session.add(Setting(key="default_region", value="IE"))
    assert settings_store.value(session, "default_region") == "IE"
    session.get(Setting, "default_region").value = "GB"
    assert settings_store.value(session, "default_region") == "GB"
    session.delete(session.get(Setting, "default_region"))
    assert settings_store.value(session, "default_region") is None
