"""Two-factor sign-in in the database, on SQLite and PostgreSQL: a code or recovery code is
accepted once even by two sessions at a time, and who must use it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.statements import recorded
from webapp import sealing
from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import AuditEvent, Permission, RecoveryCode, Role, Setting, User
from webapp.users import accounts, two_factor

MOMENT = datetime(2026, 12, 2, 9, 30, 10, tzinfo=UTC)
MATERIAL = "key-material-of-the-tests"


def code_at(user: User, steps: int = 0) -> str:
    secret = two_factor.secret_of(user, MATERIAL)
    return pyotp.TOTP(secret).at(MOMENT + timedelta(seconds=30 * steps))


@pytest.fixture
def other_session(app):
    """A second session of the same database: another request, another process."""
    session = app.extensions["database"].sessionmaker()
    yield session
    session.close()


@pytest.fixture
def enrolled(session, make_user):
    user = make_user(role="consultant")
    two_factor.key_for_enrolment(session, user, MATERIAL)
    codes = two_factor.turn_on(session, user, code_at(user), MOMENT, MATERIAL)
    return user, codes


def test_turning_on_keeps_only_digests_of_ten_codes(session, enrolled):
    user, codes = enrolled
    stored = list(session.scalars(sa.select(RecoveryCode.code_hash)))
    assert len(codes) == len(stored) == 10
    assert not set(codes) & set(stored)
    assert user.two_factor_on and user.totp_last_step == two_factor.step_at(MOMENT)


def test_two_sessions_cannot_both_spend_one_code(session, other_session, enrolled):
    user, _codes = enrolled
    code = code_at(user, steps=1)
    # Both requests loaded the user before either accepted the code.
    mine = session.get(User, user.id)
    theirs = other_session.get(User, user.id)
    assert two_factor.verify(session, mine, code, MOMENT, MATERIAL) == "code"
    session.commit()
    # As every form post starts (webapp.extensions); on PostgreSQL nothing, so `theirs` still
    # holds the step before: the refusal comes from the database, not from that copy.
    begin_write(other_session)
    assert two_factor.verify(other_session, theirs, code, MOMENT, MATERIAL) is None
    other_session.commit()


def test_an_earlier_step_is_refused_after_a_later_one(session, enrolled):
    user, _codes = enrolled
    assert two_factor.verify(session, user, code_at(user, steps=1), MOMENT, MATERIAL) == "code"
    # The code of the current step was not used, but it is older than one that was.
    assert two_factor.verify(session, user, code_at(user, steps=0), MOMENT, MATERIAL) is None
    # Two steps ahead is outside the window.
    assert two_factor.verify(session, user, code_at(user, steps=2), MOMENT, MATERIAL) is None


def test_two_sessions_cannot_both_spend_one_recovery_code(session, other_session, enrolled):
    user, codes = enrolled
    mine = session.get(User, user.id)
    theirs = other_session.get(User, user.id)
    assert two_factor.verify(session, mine, codes[0], MOMENT, MATERIAL) == "recovery"
    session.commit()
    begin_write(other_session)
    assert two_factor.verify(other_session, theirs, codes[0], MOMENT, MATERIAL) is None
    other_session.commit()
    assert two_factor.recovery_codes_left(session, user) == 9


def test_a_failed_code_is_audited(session, enrolled):
    user, _codes = enrolled
    assert two_factor.verify(session, user, "000000", MOMENT, MATERIAL) is None
    session.commit()
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_failed")
    )
    assert event.subject_id == user.id


def test_reset_clears_the_key_and_codes_and_is_audited(session, make_user, enrolled):
    user, codes = enrolled
    admin = make_user(role="administrator")
    two_factor.reset(session, admin, user)
    assert not user.two_factor_on and user.totp_secret is None and user.totp_last_step is None
    assert not session.scalar(sa.select(sa.func.count(RecoveryCode.id)))
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_reset")
    )
    assert (event.actor_id, event.subject_id, event.details) == (
        admin.id,
        user.id,
        {"was_on": True},
    )
    assert two_factor.verify(session, user, codes[1], MOMENT, MATERIAL) is None


def test_by_default_roles_that_ignore_opt_outs_or_manage_users_must_use_it(session):
    required = two_factor.required_roles(session, {})
    assert required == two_factor.RequiredRoles(
        frozenset({"administrator", "team-leader"}), "default"
    )


@pytest.mark.parametrize("role", ["administrator", "team-leader", "consultant", "viewer", None])
def test_by_default_a_signed_in_user_is_held_to_it_without_a_query(
    session, make_user, signed_in, role
):
    """The page-by-page check reads the default from the user's loaded permissions; it must agree
    with the default roles as the Settings page lists them."""
    user = signed_in(make_user(role=role))
    expected = role in two_factor.default_roles(session)
    with recorded(session.get_bind()) as statements:
        assert two_factor.is_required(session, {}, user) is expected
    assert not [s for s in statements if "role_permissions" in s]


def test_by_default_a_role_given_a_default_permission_must_use_it(session, make_user, signed_in):
    viewer = make_user(role="viewer")
    assert not two_factor.is_required(session, {}, viewer)
    role = session.scalar(sa.select(Role).where(Role.name == "viewer"))
    role.permissions.append(
        session.scalar(sa.select(Permission).where(Permission.name == "users.manage"))
    )
    session.commit()
    assert two_factor.is_required(session, {}, signed_in(viewer))
    assert "viewer" in two_factor.required_roles(session, {}).names


def test_the_setting_wins_over_the_environment(session, make_user):
    lead = make_user(role="team-leader")
    config = {"TWO_FACTOR_ROLES": ()}
    assert not two_factor.is_required(session, config, lead)
    assert two_factor.save_required_roles(session, None, config, ["team-leader"])
    assert session.get(Setting, "two_factor_roles").value == ["team-leader"]
    assert two_factor.is_required(session, config, lead)
    assert not two_factor.save_required_roles(session, None, config, ["team-leader"])


def test_an_unknown_role_is_refused(session):
    with pytest.raises(FieldError) as refused:
        two_factor.save_required_roles(session, None, {}, ["root"])
    assert refused.value.field == "roles"


# --- kept so that a copy of the database alone is no use ------------------------------------------


def test_the_key_is_sealed_and_fits_its_column(app, session, enrolled):
    user, _codes = enrolled
    # Read back through another connection: the database kept all of it (varchar(255) on
    # PostgreSQL would refuse a longer value).
    other = app.extensions["database"].sessionmaker()
    stored = other.scalar(sa.select(User.totp_secret).where(User.id == user.id))
    other.close()
    secret = two_factor.secret_of(user, MATERIAL)
    assert len(secret) == 32 and secret not in stored
    assert len(stored) <= User.__table__.c.totp_secret.type.length
    assert sealing.unseal(MATERIAL, two_factor.KEY_PURPOSE, stored).decode() == secret


def test_recovery_codes_are_keyed_digests(session, enrolled):
    user, codes = enrolled
    stored = set(session.scalars(sa.select(RecoveryCode.code_hash)))
    assert stored == {two_factor.recovery_digest(MATERIAL, code) for code in codes}
    plain = {hashlib.sha256(code.replace("-", "").encode()).hexdigest() for code in codes}
    assert not stored & plain
    # Under other key material neither a code nor a recovery code matches.
    assert two_factor.verify(session, user, codes[0], MOMENT, "other material") is None
    assert two_factor.verify(session, user, code_at(user, 1), MOMENT, "other material") is None
    assert two_factor.recovery_codes_left(session, user) == 10


def test_a_key_sealed_under_other_material_is_refused_and_audited(session, enrolled):
    user, _codes = enrolled
    assert two_factor.secret_of(user, "other material") is None
    assert two_factor.verify(session, user, code_at(user, 1), MOMENT, "other material") is None
    session.commit()
    event = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.two_factor_failed")
    )
    assert event.details == {"step": "sign-in", "key": "unreadable"}


def test_enrolment_after_the_material_changed_gets_a_new_key(session, make_user):
    user = make_user(role="consultant")
    first = two_factor.key_for_enrolment(session, user, MATERIAL)
    assert two_factor.key_for_enrolment(session, user, MATERIAL) == first
    second = two_factor.key_for_enrolment(session, user, "other material")
    assert second != first
    assert two_factor.secret_of(user, "other material") == second


def test_enrolment_waits_for_a_write_made_since_its_reading_and_keeps_a_key_stored_meanwhile(
    session, other_session, make_user
):
    """The enrolment page is a GET that reads the user, then stores a new key: another
    connection's commit in between (a worker's heartbeat, a second tab) must not fail it."""
    user = make_user(role="team-leader")
    session.commit()
    # The page's reading transaction: the user, read before the key is stored.
    assert session.scalar(sa.select(User.totp_secret).where(User.id == user.id)) is None
    theirs = other_session.get(User, user.id)
    begin_write(other_session)
    kept = two_factor.key_for_enrolment(other_session, theirs, MATERIAL)  # the other tab
    assert two_factor.key_for_enrolment(session, user, MATERIAL) == kept
    assert two_factor.secret_of(user, MATERIAL) == kept


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３４５６"])
def test_codes_outside_ascii_are_refused_not_an_error(session, enrolled, code):
    user, _codes = enrolled
    assert two_factor.verify(session, user, code, MOMENT, MATERIAL) is None
    with pytest.raises(two_factor.WrongCode):
        two_factor.renew_recovery_codes(session, user, code, MOMENT, MATERIAL)


@pytest.mark.parametrize(
    "gap", ["\u00a0", "\u202f", "\u2009", "\u2007", " \u2011 ", "\u2212", "\u200b", "\u00ad"]
)
def test_a_code_copied_with_a_unicode_space_or_dash_between_its_halves_is_taken(
    session, enrolled, gap
):
    """ "Spaces are ignored", the enrolment page says; a no-break or thin space, as apps and pages
    write one between a code's halves, was refused and counted as a wrong code."""
    user, codes = enrolled
    code = code_at(user, steps=1)
    assert two_factor.verify(session, user, code[:3] + gap + code[3:], MOMENT, MATERIAL) == "code"
    recovery = codes[2].replace("-", gap)
    assert two_factor.verify(session, user, recovery, MOMENT, MATERIAL) == "recovery"


def test_an_enrolment_key_belongs_to_the_sign_in_that_made_it(session, make_user):
    user = make_user(role="team-leader")
    mine = two_factor.key_for_enrolment(session, user, MATERIAL, this_session="mine")
    assert two_factor.key_for_enrolment(session, user, MATERIAL, this_session="mine") == mine
    theirs = two_factor.key_for_enrolment(session, user, MATERIAL, this_session="theirs")
    assert theirs != mine
    # Mine was replaced: a code from it, or from theirs, does not turn it on here.
    with pytest.raises(FieldError) as refused:
        two_factor.turn_on(session, user, code_at(user), MOMENT, MATERIAL, this_session="mine")
    assert refused.value.status == 409 and not user.two_factor_on
    two_factor.turn_on(session, user, code_at(user), MOMENT, MATERIAL, this_session="theirs")
    assert user.two_factor_on and two_factor.secret_of(user, MATERIAL) == theirs


@pytest.mark.parametrize("change", ["password", "temporary password", "everywhere"])
def test_password_changes_and_sign_out_everywhere_drop_an_unfinished_enrolment_key(
    session, make_user, change
):
    """Whoever signed in with the old password may have copied it."""
    user = make_user(role="consultant")
    two_factor.key_for_enrolment(session, user, MATERIAL, this_session="theirs")
    finished, _codes = make_enrolled(session, make_user)
    for each in (user, finished):
        kept = each.totp_secret
        if change == "password":
            accounts.change_password(session, each, PASSWORD, "a-new-long-password-9")
        elif change == "temporary password":
            accounts.set_temporary_password(session, None, each, "a-new-long-password-9")
        else:
            accounts.sign_out_everywhere(session, each)
        session.refresh(each)
        if each is user:
            assert each.totp_secret is None
        else:  # one turned on stays on
            assert each.totp_secret == kept and each.two_factor_on


def make_enrolled(session, make_user):
    user = make_user(role="consultant")
    two_factor.key_for_enrolment(session, user, MATERIAL)
    return user, two_factor.turn_on(session, user, code_at(user), MOMENT, MATERIAL)
