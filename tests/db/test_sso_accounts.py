"""Single sign-on's accounts on every database (webapp.users.oidc.sign_in): matched by email in
any case among active users, linked by a subject no two users share, created with a free
username and the mapped roles."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import sqlalchemy.exc

from webapp.models import AuditEvent, User
from webapp.users import oidc
from webapp.users import sessions as user_sessions

ISSUER = "https://login.example.com"
SETTINGS = oidc.Settings(
    issuer=ISSUER,
    client_id="sms-desk",
    name="Contoso",
    role_map={"sms-users": "consultant", "sms-leads": "team-leader"},
    create_users=True,
)


def claims(sub: str = "idp-1", **more) -> dict:
    """Claims of a verified token; an email in them is one the provider has verified."""
    verified = {"email_verified": True} if "email" in more else {}
    return {"sub": sub, "iss": ISSUER, "groups": ["sms-users"], **verified, **more}


def test_email_is_matched_in_any_case_and_only_among_active_users(session, make_user):
    make_user("old-pat", email="PAT@example.com", active=False)
    pat = make_user("pat", email="Pat@Example.com")

    user = oidc.sign_in(session, SETTINGS, claims(email="pat@EXAMPLE.com"))
    session.commit()

    assert user.id == pat.id
    assert session.scalar(sa.select(User.oidc_subject).where(User.id == pat.id)) == "idp-1"


def test_two_active_users_with_the_email_are_refused(session, make_user):
    make_user("pat", email="pat@example.com")
    make_user("pat2", email="PAT@example.com")

    with pytest.raises(oidc.Refused) as refused:
        oidc.sign_in(session, SETTINGS, claims(email="pat@example.com"))
    assert refused.value.reason == "ambiguous_email"


def test_a_created_user_gets_a_free_username_and_the_mapped_roles(session, make_user):
    make_user("pat", email="someone@example.com")

    user = oidc.sign_in(
        session,
        SETTINGS,
        claims(email="pat@example.org", preferred_username="Pat", groups=["sms-leads", "x"]),
    )
    session.commit()

    assert user.username == "Pat-2"
    assert [role.name for role in user.roles] == ["team-leader"]
    assert user.password_hash.startswith(oidc.UNUSABLE_PASSWORD_PREFIX)
    actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user.created"]


def test_no_two_users_share_a_subject(session, make_user):
    make_user("pat", oidc_subject="idp-1")
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        make_user("sam", oidc_subject="idp-1")


def test_roles_are_replaced_by_the_mapped_ones_and_other_sessions_end(session, make_user):
    pat = make_user("pat", role="consultant", oidc_subject="idp-1")
    moment = datetime.now(UTC)
    token = user_sessions.start(session, pat.id, moment, forget_before=moment - timedelta(days=1))
    session.commit()

    oidc.sign_in(session, SETTINGS, claims(groups=["sms-leads"]))
    session.commit()

    session.refresh(pat)
    assert [role.name for role in pat.roles] == ["team-leader"]
    assert user_sessions.find(session, token, pat.id) is None


@pytest.mark.parametrize("verified", [None, False, "true", "false", 1], ids=repr)
def test_an_email_not_verified_with_the_json_true_matches_nobody(session, make_user, verified):
    make_user("boss", role="administrator", email="boss@example.com")
    token = {"sub": "idp-2", "iss": ISSUER, "groups": ["sms-users"], "email": "boss@example.com"}
    if verified is not None:
        token["email_verified"] = verified
    settings = dataclasses.replace(SETTINGS, create_users=False)

    with pytest.raises(oidc.Refused) as refused:
        oidc.sign_in(session, settings, token)
    assert refused.value.reason == "no_account"
    # With creation on, it makes no account either (one with the administrator's address).
    with pytest.raises(oidc.Refused) as refused:
        oidc.sign_in(session, SETTINGS, token)
    assert refused.value.reason == "no_email"
    assert session.scalar(sa.select(sa.func.count(User.id))) == 1


def test_a_verified_email_is_the_one_given_trimmed():
    assert oidc.verified_email({"email": " Pat@Example.com ", "email_verified": True}) == (
        "Pat@Example.com"
    )
    assert oidc.verified_email({"email": "   ", "email_verified": True}) is None
    assert oidc.verified_email({"email": ["pat@example.com"], "email_verified": True}) is None


# An address a user typed on their own Profile is theirs to claim, not the provider's to match.


def test_an_email_its_holder_typed_links_nobody_and_makes_no_second_account(session, make_user):
    viewer = make_user("viewer", role="viewer", email="boss@example.com", email_self_set=True)
    boss = claims(sub="idp-boss", email="Boss@example.com", groups=["sms-leads"])

    for settings in (SETTINGS, dataclasses.replace(SETTINGS, create_users=False)):
        with pytest.raises(oidc.Refused) as refused:
            oidc.sign_in(session, settings, boss)
        assert refused.value.reason == "email_unconfirmed"
        assert "Ask an administrator" in refused.value.message
        session.rollback()

    session.refresh(viewer)
    assert (viewer.oidc_subject, [role.name for role in viewer.roles]) == (None, ["viewer"])
    assert session.scalars(sa.select(User.username)).all() == ["viewer"]
    assert session.scalars(sa.select(AuditEvent.action)).all() == []


@pytest.mark.parametrize("active", [True, False], ids=["active", "switched-off"])
def test_a_typed_email_unlinked_refuses_even_on_a_switched_off_account(session, make_user, active):
    make_user("pat", email="pat@example.com", email_self_set=True, active=active)

    with pytest.raises(oidc.Refused) as refused:
        oidc.sign_in(session, SETTINGS, claims(email="pat@example.com"))
    assert refused.value.reason == "email_unconfirmed"


def test_an_account_an_administrator_gave_the_email_is_linked_though_another_typed_it(
    session, make_user
):
    make_user("typist", email="pat@example.com", email_self_set=True)
    pat = make_user("pat", email="PAT@example.com")

    user = oidc.sign_in(session, SETTINGS, claims(email="pat@example.com"))
    session.commit()

    assert user.id == pat.id
    assert session.scalar(sa.select(User.oidc_subject).where(User.id == pat.id)) == "idp-1"


def test_a_typed_email_on_a_switched_off_account_linked_elsewhere_does_not_stop_a_new_one(
    session, make_user
):
    make_user(
        "old-pat",
        email="pat@example.com",
        email_self_set=True,
        active=False,
        oidc_subject="idp-old",
    )

    user = oidc.sign_in(session, SETTINGS, claims(email="pat@example.com"))
    session.commit()

    assert (user.username, user.email_self_set) == ("pat", False)


def test_a_linked_account_with_a_typed_email_still_signs_in_by_its_subject(session, make_user):
    pat = make_user("pat", email="pat.new@example.org", email_self_set=True, oidc_subject="idp-1")

    assert oidc.sign_in(session, SETTINGS, claims(email="pat@example.com")).id == pat.id


@pytest.mark.parametrize(
    ("given", "full_name"),
    [
        ({"name": "\u200b"}, "Pat Lee"),
        ({"name": "Pat\u00ad Lee\u200b"}, "Pat Lee"),
        ({"name": "   ", "given_name": "\u200b", "family_name": "Lee"}, "Lee"),
    ],
)
def test_a_created_users_name_shows_and_holds_no_invisible_characters(session, given, full_name):
    """A name claim of a zero-width space alone would name the account with nothing; a soft
    hyphen or zero-width space in it would make every SMS merging the sender's name Unicode."""
    more = {"given_name": "Pat", "family_name": "Lee", **given}
    user = oidc.sign_in(session, SETTINGS, claims(email="pat@example.org", **more))
    session.commit()

    assert user.full_name == full_name
