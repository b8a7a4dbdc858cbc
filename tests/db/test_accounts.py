"""The administration domain on every database: users and roles (webapp.users.accounts), with the
rule that somebody always keeps users.manage, and the SMS settings and blocked countries it stores
(webapp.sms.settings)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from tests.conftest import office_named
from tests.pages import audits
from tests.statements import recorded, selects
from webapp.errors import FieldError
from webapp.models import BlockedRegion, Permission, Role, Setting, User
from webapp.sms import settings as sms_settings
from webapp.users import accounts
from webapp.users.accounts import UserDetails

CONFIG = {
    "SMS_DEFAULT_REGION": "AU",
    "SMSCENTRAL_ORIGINATOR": "EnvSender",
    "MAIL_FROM": "desk@example.com",
}
GOOD_PASSWORD = "a-long-temporary-pw"


def fresh(session, user: User) -> User:
    session.rollback()
    return session.get(User, user.id, populate_existing=True)


def details(
    username: str = "jo", roles: tuple[str, ...] = ("consultant",), **fields
) -> UserDetails:
    values = {
        "full_name": "Jo Bloggs",
        "email": "jo@example.com",
        "mobile": "0412 345 678",
        "office_id": None,
    }
    values.update(fields)
    return UserDetails(username=username, roles=roles, **values)


def role_permissions(session, role_name: str) -> set[str]:
    session.rollback()
    role = session.scalar(sa.select(Role).where(Role.name == role_name))
    session.refresh(role)
    return {p.name for p in role.permissions}


@pytest.fixture
def admin(make_user) -> User:
    return make_user("boss", role="administrator")


# --- creating and finding users ------------------------------------------------------------------


def test_new_user_is_stored_with_e164_mobile_roles_and_a_temporary_password(session, admin):
    sydney = office_named(session, "Sydney")
    user = accounts.create_user(
        session,
        admin,
        details(roles=("consultant", "viewer"), office_id=sydney.id),
        GOOD_PASSWORD,
        "AU",
    )
    stored = fresh(session, user)
    assert stored.mobile == "+61412345678"
    assert stored.office_name == "Sydney"
    assert sorted(r.name for r in stored.roles) == ["consultant", "viewer"]
    assert stored.must_change_password is True and stored.active is True
    assert stored.check_password(GOOD_PASSWORD)
    [event] = audits(session, "user.created")
    assert (event.actor_id, event.subject_type, event.subject_id) == (admin.id, "user", user.id)
    assert event.details["username"] == "jo" and event.details["roles"] == ["consultant", "viewer"]
    assert GOOD_PASSWORD not in str(event.details)


def test_username_is_unique_whatever_its_case(session, admin):
    accounts.create_user(
        session, admin, details("Casey", email="c1@example.com"), GOOD_PASSWORD, "AU"
    )
    with pytest.raises(FieldError) as refused:
        accounts.create_user(
            session, admin, details("casey", email="c2@example.com"), GOOD_PASSWORD, "AU"
        )
    assert refused.value.field == "username"
    session.rollback()
    assert (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(sa.func.lower(User.username) == "casey")
        )
        == 1
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"mobile": "12345"}, "mobile"),
        ({"email": "not-an-email"}, "email"),
        ({"full_name": "   "}, "full_name"),
        ({"roles": ("no-such-role",)}, "roles"),
        ({"roles": ()}, "roles"),
        ({"username": "has space"}, "username"),
    ],
)
def test_bad_user_details_are_refused_by_field(session, admin, change, field):
    values = {"username": "jo", "roles": ("consultant",)}
    values.update(change)
    with pytest.raises(FieldError) as refused:
        accounts.create_user(session, admin, details(**values), GOOD_PASSWORD, "AU")
    assert refused.value.field == field
    session.rollback()
    assert session.scalar(sa.select(User).where(User.username == values["username"])) is None


def test_weak_temporary_password_is_refused(session, admin):
    with pytest.raises(FieldError) as refused:
        accounts.create_user(session, admin, details(), "short", "AU")
    assert refused.value.field == "password"


def test_search_matches_name_username_and_email_in_any_case(session, admin, make_user):
    make_user("zed", full_name="Zoë Müller", email="zm@harbour.example")
    make_user("pat", full_name="Pat Lee", email="pat@example.com")
    names = lambda q: [u.username for u in accounts.find_users(session, q)]  # noqa: E731
    assert names("MÜLLER") == ["zed"]
    assert names("PAT") == ["pat"]
    assert names("harbour") == ["zed"]
    assert names("%") == []  # a literal percent sign, not "everything"
    assert set(names("")) == {"boss", "zed", "pat"}


# --- editing, switching off ----------------------------------------------------------------------


def test_edit_returns_and_audits_exactly_what_changed(session, admin, make_user):
    jo = make_user(
        "jo", full_name="Jo Bloggs", email="jo@example.com", mobile="+61412345678", office="Sydney"
    )
    perth = office_named(session, "Perth")
    changes = accounts.edit_user(
        session, admin, jo, details("jo", roles=("team-leader",), office_id=perth.id), "AU"
    )
    assert changes == {"office": ["Sydney", "Perth"], "roles": [["consultant"], ["team-leader"]]}
    [event] = audits(session, "user.edited")
    assert event.details["changes"] == changes and event.subject_id == jo.id
    assert (
        accounts.edit_user(
            session,
            admin,
            fresh(session, jo),
            details("jo", roles=("team-leader",), office_id=perth.id),
            "AU",
        )
        == {}
    )
    assert len(audits(session, "user.edited")) == 1


def test_administrator_cannot_take_users_manage_from_themselves_by_editing(
    session, admin, make_user
):
    make_user("other-admin", role="administrator")
    with pytest.raises(FieldError) as refused:
        accounts.edit_user(session, admin, admin, details("boss", roles=("team-leader",)), "AU")
    assert refused.value.field == "roles"
    assert "yourself" in refused.value.message
    assert [r.name for r in fresh(session, admin).roles] == ["administrator"]
    assert audits(session, "user.edited") == []


def test_administrator_may_take_users_manage_from_someone_else(session, admin, make_user):
    other = make_user("other-admin", role="administrator")
    accounts.edit_user(
        session,
        admin,
        other,
        details("other-admin", roles=("viewer",), email="o@example.com"),
        "AU",
    )
    assert accounts.managers(session) == {admin.id}


def test_last_active_holder_cannot_lose_users_manage_even_without_an_actor(session, admin):
    # actor None is how a command-line tool would call it: the rule still holds.
    with pytest.raises(FieldError) as refused:
        accounts.edit_user(session, None, admin, details("boss", roles=("viewer",)), "AU")
    assert "At least one active user" in refused.value.message
    with pytest.raises(FieldError):
        accounts.deactivate_user(session, None, fresh(session, admin))
    assert fresh(session, admin).active is True


def test_nobody_can_deactivate_themselves(session, admin, make_user):
    make_user("other-admin", role="administrator")
    with pytest.raises(FieldError) as refused:
        accounts.deactivate_user(session, admin, admin)
    assert "your own account" in refused.value.message
    assert fresh(session, admin).active is True


def test_deactivate_and_reactivate_are_audited(session, admin, make_user):
    jo = make_user("jo")
    accounts.deactivate_user(session, admin, jo)
    assert fresh(session, jo).active is False
    accounts.reactivate_user(session, admin, fresh(session, jo))
    assert fresh(session, jo).active is True
    assert [e.subject_id for e in audits(session, "user.deactivated")] == [jo.id]
    assert [e.subject_id for e in audits(session, "user.reactivated")] == [jo.id]


def test_deactivated_holders_do_not_count_as_managers(session, admin, make_user):
    sleeper = make_user("sleeper", role="administrator", active=False)
    assert accounts.managers(session) == {admin.id}
    with pytest.raises(FieldError):
        accounts.deactivate_user(session, None, admin)
    assert sleeper.id not in accounts.managers(session)


def test_temporary_password_must_be_changed_and_is_audited(session, admin, make_user):
    jo = make_user("jo")
    accounts.set_temporary_password(session, admin, jo, GOOD_PASSWORD)
    stored = fresh(session, jo)
    assert stored.must_change_password is True and stored.check_password(GOOD_PASSWORD)
    [event] = audits(session, "user.password_reset")
    assert event.subject_id == jo.id and GOOD_PASSWORD not in str(event.details)


# --- roles ---------------------------------------------------------------------------------------


def test_role_permissions_change_is_audited_with_added_and_removed(session, admin):
    changed = accounts.set_role_permissions(
        session,
        admin,
        {
            "consultant": {"sms.send", "audit.view"},  # records.edit removed, audit.view added
            "viewer": set(),  # unchanged: not audited
        },
    )
    assert changed == {"consultant": {"added": ["audit.view"], "removed": ["records.edit"]}}
    assert role_permissions(session, "consultant") == {"sms.send", "audit.view"}
    [event] = audits(session, "role.permissions_changed")
    assert event.subject_type == "role"
    assert event.details == {
        "role": "consultant",
        "added": ["audit.view"],
        "removed": ["records.edit"],
    }


def test_administrator_cannot_remove_their_own_last_users_manage_through_roles(
    session, admin, make_user
):
    make_user("lead", role="team-leader")
    everything_but_manage = set(accounts.PERMISSIONS) - {"users.manage"}
    with pytest.raises(FieldError):
        accounts.set_role_permissions(
            session,
            admin,
            {"administrator": everything_but_manage, "team-leader": {"users.manage"}},
        )
    # Nothing changed: neither role.
    assert "users.manage" in role_permissions(session, "administrator")
    assert "users.manage" not in role_permissions(session, "team-leader")
    assert audits(session, "role.permissions_changed") == []


def test_users_manage_may_move_to_another_role_the_actor_also_has(session, make_user):
    actor = make_user("both", role="administrator")
    session.add(actor)
    actor.roles.append(session.scalar(sa.select(Role).where(Role.name == "team-leader")))
    session.commit()
    everything_but_manage = set(accounts.PERMISSIONS) - {"users.manage"}
    lead = role_permissions(session, "team-leader") | {"users.manage"}
    accounts.set_role_permissions(
        session, actor, {"administrator": everything_but_manage, "team-leader": lead}
    )
    assert accounts.managers(session) == {actor.id}


def test_unknown_role_or_permission_is_refused(session, admin):
    with pytest.raises(FieldError):
        accounts.set_role_permissions(session, admin, {"wizard": {"sms.send"}})
    with pytest.raises(FieldError):
        accounts.set_role_permissions(session, admin, {"viewer": {"sms.fly"}})
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Permission)) == len(
        accounts.PERMISSIONS
    )


# --- one's own profile and password --------------------------------------------------------------


def test_profile_edit_normalises_the_mobile_and_audits_the_changes(session, make_user):
    jo = make_user("jo", email="jo@example.com")
    auckland = office_named(session, "Auckland")
    changes = accounts.edit_profile(
        session,
        jo,
        email="jo@new.example",
        mobile="+64 21 123 4567",
        office_id=auckland.id,
        default_region="AU",
    )
    assert changes == {
        "email": ["jo@example.com", "jo@new.example"],
        "mobile": [None, "+64211234567"],
        "office": [None, "Auckland"],
    }
    [event] = audits(session, "profile.edited")
    assert event.actor_id == jo.id and event.details["changes"] == changes
    accounts.edit_profile(
        session,
        fresh(session, jo),
        email="jo@new.example",
        mobile="",
        office_id=auckland.id,
        default_region="AU",
    )
    assert fresh(session, jo).mobile is None


def test_profile_refuses_an_invalid_mobile_and_changes_nothing(session, make_user):
    jo = make_user("jo", email="jo@example.com")
    with pytest.raises(FieldError) as refused:
        accounts.edit_profile(
            session, jo, email="new@example.com", mobile="0412", office_id=None, default_region="AU"
        )
    assert refused.value.field == "mobile"
    assert fresh(session, jo).email == "jo@example.com"


@pytest.mark.parametrize(
    "current, new, field",
    [
        ("wrong-password-x", "another-good-one", "current_password"),
        ("correct-horse-battery", "short", "new_password"),
        ("correct-horse-battery", "correct-horse-battery", "new_password"),
    ],
)
def test_password_change_needs_the_current_one_and_a_good_different_one(
    session, make_user, current, new, field
):
    jo = make_user("jo", must_change_password=True)
    with pytest.raises(FieldError) as refused:
        accounts.change_password(session, jo, current, new)
    assert refused.value.field == field
    assert fresh(session, jo).must_change_password is True


def test_password_change_clears_the_temporary_flag_and_is_audited(session, make_user):
    jo = make_user("jo", must_change_password=True)
    accounts.change_password(session, jo, "correct-horse-battery", "my-own-new-password")
    stored = fresh(session, jo)
    assert stored.must_change_password is False
    assert stored.check_password("my-own-new-password") and not stored.check_password(
        "correct-horse-battery"
    )
    [event] = audits(session, "profile.password_changed")
    assert event.actor_id == jo.id and event.details == {"forced": True}


# --- SMS settings --------------------------------------------------------------------------------


def save(session, actor, **overrides):
    values = {
        "suppress_add_comment": False,
        "comment_types": "SMS",
        "default_region": "",
        "originator": "",
        "unmatched_reply_address": "",
    }
    values.update(overrides)
    return sms_settings.save(session, actor, **values)


def test_saved_settings_are_loaded_and_audited_with_old_and_new(session, admin):
    changes = save(
        session,
        admin,
        suppress_add_comment=True,
        comment_types=" Call \n\nSMS sent\n",
        default_region="nz",
        originator="Harbour",
        unmatched_reply_address="inbox@example.com",
    )
    assert changes["comment_types"] == [["SMS"], ["Call", "SMS sent"]]
    assert changes["default_region"] == ["", "NZ"]
    loaded = sms_settings.load(session, CONFIG)
    assert loaded.suppress_add_comment is True
    assert loaded.comment_types == ("Call", "SMS sent")
    assert (loaded.default_region, loaded.originator, loaded.unmatched_reply_address) == (
        "NZ",
        "Harbour",
        "inbox@example.com",
    )
    [event] = audits(session, "settings.changed")
    assert event.actor_id == admin.id and event.details["changes"] == changes


def test_emptied_settings_fall_back_to_the_environment(session, admin):
    save(
        session,
        admin,
        default_region="NZ",
        originator="Harbour",
        unmatched_reply_address="in@example.com",
    )
    save(session, admin)
    loaded = sms_settings.load(session, CONFIG)
    assert (loaded.default_region, loaded.originator, loaded.unmatched_reply_address) == (
        "AU",
        "EnvSender",
        "desk@example.com",
    )
    session.rollback()
    assert set(session.scalars(sa.select(Setting.key))) <= {"suppress_add_comment", "comment_types"}


def test_saving_the_same_settings_writes_no_audit(session, admin):
    save(session, admin, originator="Harbour")
    assert save(session, admin, originator="Harbour") == {}
    assert len(audits(session, "settings.changed")) == 1


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"comment_types": " \n \n"}, "comment_types"),
        ({"comment_types": "SMS\nsms"}, "comment_types"),
        ({"comment_types": "x" * 61}, "comment_types"),
        ({"default_region": "ZZ"}, "default_region"),
        ({"default_region": "AUS"}, "default_region"),
        ({"originator": "TwelveLetter"}, "originator"),
        ({"originator": "Harbour Mining"}, "originator"),
        ({"unmatched_reply_address": "nobody"}, "unmatched_reply_address"),
    ],
)
def test_bad_settings_are_refused_by_field_and_nothing_is_stored(session, admin, overrides, field):
    with pytest.raises(FieldError) as refused:
        save(session, admin, **overrides)
    assert refused.value.field == field
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Setting)) == 0


@pytest.mark.parametrize(
    "typed, stored",
    [("SMSDesk", "SMSDesk"), ("+61 412 345 678", "+61412345678"), ("61412345678", "61412345678")],
)
def test_sender_id_may_be_letters_and_digits_or_a_number(session, admin, typed, stored):
    save(session, admin, originator=typed)
    assert sms_settings.load(session, CONFIG).originator == stored


# --- blocked countries ---------------------------------------------------------------------------


def region_audit(session, change: str) -> tuple[str, ...]:
    """The one `blocked_region.<change>` audit entry's details, all of them, in a fixed order."""
    [event] = audits(session, f"blocked_region.{change}")
    keys = ("provider", "region", "name", "reason")
    assert set(event.details) == set(keys)
    return tuple(event.details[key] for key in keys)


def test_added_blocked_region_is_named_dated_and_audited(session, admin):
    assert "FI" not in sms_settings.blocked_regions(session, "sandbox")
    row = sms_settings.add_blocked_region(
        session, admin, "smscentral", "fi", "Fraud wave", effective=date(2026, 1, 2)
    )
    assert (row.region, row.name, row.effective_date) == ("FI", "Finland", date(2026, 1, 2))
    assert "FI" in sms_settings.blocked_regions(session, "sandbox")
    assert "FI" not in sms_settings.blocked_regions(session, "twilio")
    assert region_audit(session, "added") == ("smscentral", "FI", "Finland", "Fraud wave")


def test_a_region_is_listed_once_per_gateway(session, admin):
    sms_settings.add_blocked_region(session, admin, "twilio", "FI", "One")
    with pytest.raises(FieldError) as refused:
        sms_settings.add_blocked_region(session, admin, "twilio", "FI", "Two")
    assert refused.value.field == "region"
    with pytest.raises(FieldError) as refused:
        sms_settings.add_blocked_region(session, admin, "smscentral", "AX", "Seeded already")
    assert "already blocked" in refused.value.message


@pytest.mark.parametrize(
    "provider, region, reason, field",
    [
        ("sandbox", "FI", "x", "provider"),
        ("smscentral", "QQ", "x", "region"),
        ("smscentral", "", "x", "region"),
        ("smscentral", "FI", "  ", "reason"),
    ],
)
def test_bad_blocked_region_is_refused_by_field(session, admin, provider, region, reason, field):
    with pytest.raises(FieldError) as refused:
        sms_settings.add_blocked_region(session, admin, provider, region, reason)
    assert refused.value.field == field
    assert audits(session, "blocked_region.added") == []


def test_removed_blocked_region_is_audited_with_the_reason(session, admin):
    row = session.scalar(
        sa.select(BlockedRegion).where(
            BlockedRegion.provider == "smscentral", BlockedRegion.region == "KZ"
        )
    )
    with pytest.raises(FieldError):
        sms_settings.remove_blocked_region(session, admin, row, "")
    sms_settings.remove_blocked_region(session, admin, row, "SMS Central delivers there again")
    assert "KZ" not in sms_settings.blocked_regions(session, "smscentral")
    assert region_audit(session, "removed") == (
        "smscentral",
        "KZ",
        "Kazakhstan",
        "SMS Central delivers there again",
    )


def test_a_seeded_territory_phonenumbers_does_not_know_can_be_blocked_again(session, admin):
    # UM is on SMS Central's list but has no numbers of its own in phonenumbers: once removed it
    # was refused as "not a two-letter region code", and the removal could not be undone.
    row = session.scalar(
        sa.select(BlockedRegion).where(
            BlockedRegion.provider == "smscentral", BlockedRegion.region == "UM"
        )
    )
    sms_settings.remove_blocked_region(session, admin, row, "Checking the list")

    again = sms_settings.add_blocked_region(session, admin, "smscentral", "um", "Put back")

    assert (again.region, again.name) == ("UM", "United States Minor Outlying Islands")
    assert "UM" in sms_settings.blocked_regions(session, "smscentral")
    with pytest.raises(FieldError):  # any other code phonenumbers does not know is still refused
        sms_settings.add_blocked_region(session, admin, "smscentral", "QQ", "x")


def test_signed_in_user_gets_every_permission_of_all_their_roles_in_one_query(
    session, make_user, signed_in
):
    user = make_user("two-roles", role="consultant")
    user.roles.append(session.scalar(sa.select(Role).where(Role.name == "team-leader")))
    session.commit()
    from_roles = user.permissions
    with recorded(session.get_bind()) as statements:
        loaded = signed_in(user)
    assert (
        loaded.permissions
        == from_roles
        == {"sms.send", "sms.ignore_opt_out", "templates.manage", "records.edit", "audit.view"}
    )
    assert loaded.role_names == {"consultant", "team-leader"}
    assert loaded.can("sms.ignore_opt_out") and not loaded.can("users.manage")
    assert len(selects(statements)) == 1, statements


def test_signed_in_user_without_roles_may_do_nothing_and_an_inactive_one_is_not_loaded(
    session, make_user, signed_in
):
    nobody = make_user("no-roles", role=None)
    viewer = make_user("looks-only", role="viewer")
    gone = make_user("gone", active=False)
    loaded = signed_in(nobody)
    assert (loaded.permissions, loaded.role_names) == (frozenset(), frozenset())
    loaded = signed_in(viewer)
    assert (loaded.permissions, loaded.role_names) == (frozenset(), {"viewer"})
    assert signed_in(gone) is None
