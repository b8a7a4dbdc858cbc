"""What a results page asks of the database on every request: the statements of the signed-in
user and of the settings are few and fixed, whatever settings are stored."""

from __future__ import annotations

import pytest

from tests.statements import recorded, selects
from webapp.models import Setting


def statements_of(app, fetch) -> list[str]:
    with recorded(app.extensions["database"].engine) as seen:
        response = fetch()
    assert response.status_code == 200
    return selects(seen)


@pytest.mark.parametrize("two_factor_roles", [["admin"], None], ids=["chosen", "by default"])
def test_a_search_page_reads_the_user_and_the_settings_in_two_queries(
    app, session, client, login, ada, two_factor_roles
):
    settings = [
        Setting(key="default_region", value="AU"),
        Setting(key="timezone", value="Australia/Sydney"),
    ]
    if two_factor_roles is not None:
        settings.append(Setting(key="two_factor_roles", value=two_factor_roles))
    session.add_all(settings)
    session.commit()
    login("consultant")
    client.get("/candidates?q=ada")

    seen = statements_of(app, lambda: client.get("/candidates?q=ada"))

    about_user = [s for s in seen if "user_sessions" in s or "user_roles" in s]
    about_settings = [s for s in seen if "FROM settings" in s]
    # The session with its user, the user's roles and their permissions; all settings at once.
    # Who must use two-factor sign-in by default is read from those permissions, not asked.
    assert (len(about_user), len(about_settings)) == (1, 1), seen
    assert not [s for s in seen if "role_permissions" in s and "user_sessions" not in s], seen
    # With the search's one page (its last: no count) and the unread replies beside Replies.
    assert len(seen) == 4, seen


def test_the_sent_page_reads_no_roles_of_the_senders_it_lists(
    app, session, client, login, make_user, make_template, three_people
):
    from tests.web.test_sent import sent_batch

    lead = login("team-leader")
    casey = make_user(role="consultant", full_name="Casey Jones")
    template = make_template(owner=casey)
    sent_batch(session, casey, three_people, template_id=template.id)
    client.get("/sms/sent?who=everyone")

    seen = statements_of(app, lambda: client.get("/sms/sent?who=everyone"))

    assert not [s for s in seen if "role_permissions.role_id IN" in s or "roles.description" in s]
    assert len([s for s in seen if "user_roles" in s]) == 1  # the signed-in user's own
    assert lead.id != casey.id


def test_the_sent_page_asks_as_much_for_many_senders_and_templates_as_for_one(
    app, session, client, login, make_user, make_template, three_people
):
    # Nothing a row shows is loaded a row at a time: not the senders' offices, nor the owners of
    # the templates (which the page does not show).
    from tests.web.test_sent import sent_batch

    login("team-leader")

    def another_batch(office):
        sender = make_user(role="consultant", office=office)
        owner = make_user(role="consultant", office=office)
        sent_batch(session, sender, three_people, template_id=make_template(owner=owner).id)

    another_batch("Perth")
    client.get("/sms/sent?who=everyone")
    one = statements_of(app, lambda: client.get("/sms/sent?who=everyone"))
    another_batch("Sydney")
    another_batch("Hobart")
    three = statements_of(app, lambda: client.get("/sms/sent?who=everyone"))

    assert len(three) == len(one), three


def test_the_replies_page_counts_the_unread_once(app, client, login):
    login("consultant")
    client.get("/sms/replies")

    seen = statements_of(app, lambda: client.get("/sms/replies"))

    assert len([s for s in seen if "read_at IS NULL" in s]) == 1, seen


@pytest.mark.parametrize("accounts", [False, True], ids=["default gateway", "with an account"])
def test_a_record_page_reads_the_blocked_lists_once(app, session, client, login, ada, accounts):
    if accounts:
        from tests.db.test_routing import add_account

        add_account(app, session, "Perth SMS", blocked=("GB",))
    login("consultant")
    client.get(f"/candidates/{ada.id}")

    seen = statements_of(app, lambda: client.get(f"/candidates/{ada.id}"))

    # The codes each gateway refuses and their names (to say so) are one query.
    assert len([s for s in seen if "FROM blocked_regions" in s]) == 1, seen


def test_the_sms_screen_reads_nothing_of_the_templates_owners(
    app, client, login, make_user, make_template, ada
):
    owner = make_user(role="team-leader")
    make_template(owner=owner)
    make_template(name="Shift reminder", owner=make_user(role="consultant"))
    login("consultant")
    client.get(f"/sms/compose?candidate={ada.id}")

    seen = statements_of(app, lambda: client.get(f"/sms/compose?candidate={ada.id}"))

    # The template list shows names and folders: not their owners, nor the owners' roles.
    templates = [s for s in seen if "FROM sms_templates" in s]
    assert len(templates) == 1 and "JOIN users" not in templates[0], templates
    assert not [s for s in seen if "FROM user_roles" in s or "FROM role_permissions" in s], seen


def test_the_dashboard_lists_the_users_names_without_their_roles(app, client, login, make_user):
    login("team-leader")
    make_user(role="consultant", full_name="Casey Jones", office="Perth")
    client.get("/dashboard?who=everyone")

    seen = statements_of(app, lambda: client.get("/dashboard?who=everyone"))

    # Its user filter needs each user's id and name: not their offices, roles or permissions.
    assert not [s for s in seen if "FROM user_roles" in s or "FROM role_permissions" in s], seen
    assert len([s for s in seen if "FROM users" in s and "user_sessions" not in s]) <= 2, seen
