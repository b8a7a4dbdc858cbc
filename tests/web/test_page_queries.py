"""What a results page asks of the database on every request: the statements of the signed-in
user and of the settings are few and fixed, whatever settings are stored."""

from __future__ import annotations

import sqlalchemy as sa

from webapp.models import Setting


def statements_of(app, fetch) -> list[str]:
    seen = []

    def note(_connection, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = app.extensions["database"].engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        response = fetch()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    assert response.status_code == 200
    return seen


def test_a_search_page_reads_the_user_and_the_settings_in_three_queries(
    app, session, client, login, ada
):
    session.add_all(
        [
            Setting(key="default_region", value="AU"),
            Setting(key="timezone", value="Australia/Sydney"),
            Setting(key="two_factor_roles", value=["admin"]),
        ]
    )
    session.commit()
    login("consultant")
    client.get("/candidates?q=ada")

    seen = statements_of(app, lambda: client.get("/candidates?q=ada"))

    about_user = [s for s in seen if "user_sessions" in s or "user_roles" in s]
    about_settings = [s for s in seen if "FROM settings" in s]
    # The session with its user, the user's roles with their permissions; all settings at once.
    assert (len(about_user), len(about_settings)) == (2, 1), seen
    # With the search's page and count and the unread replies beside Replies: six in all.
    assert len(seen) == 6, seen


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


def test_the_replies_page_counts_the_unread_once(app, client, login):
    login("consultant")
    client.get("/sms/replies")

    seen = statements_of(app, lambda: client.get("/sms/replies"))

    assert len([s for s in seen if "read_at IS NULL" in s]) == 1, seen
