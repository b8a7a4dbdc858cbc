"""A request that fails inside its database work still gets SMS Desk's own 500 page, drawn for the
signed-in user, not the WSGI server's bare one."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_login import current_user

from webapp.extensions import db
from webapp.web import errors


@pytest.fixture
def failing(app):
    """The app as served (an exception becomes a 500 page, not a test failure), with a page that
    fails the way a view's database work can."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test-failing/commit")
    def failed_commit():
        # Two users may not share a username: the commit fails in its flush.
        current_user.username = "taken-name"
        db.session.commit()

    @app.get("/test-failing/statement")
    def failed_statement():
        # On PostgreSQL this also aborts the transaction: every later statement in it fails.
        db.session.execute(sa.text("SELECT no_such_column FROM users"))

    return app


@pytest.mark.parametrize("page", ["commit", "statement"])
def test_a_failed_database_step_gets_the_500_page_for_the_signed_in_user(
    failing, client, login, make_user, session, page
):
    make_user("taken-name")
    user = login("consultant", full_name="Casey Failing")
    response = client.get(f"/test-failing/{page}")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "500 Internal Server Error" in text
    assert "Casey Failing" in text  # the page's header, read again after the rollback
    assert 'aria-label="Main"' in text  # the navigation, drawn with the user's permissions
    assert 'id="unread-poll"' in text  # the Replies count was read, not skipped as failed
    # The failed change was not kept, and the user can go on working.
    assert client.get("/candidates").status_code == 200
    session.refresh(user)
    assert user.username != "taken-name"


def test_a_failed_database_step_in_an_htmx_request_gets_the_alert(
    failing, client, login, make_user
):
    make_user("taken-name")
    login("consultant")
    response = client.get("/test-failing/commit", htmx=True)
    assert response.status_code == 500
    assert response.headers["HX-Retarget"] == "#live-alert"
    assert "500 Internal Server Error" in response.get_data(as_text=True)


def test_the_database_down_after_sign_in_gets_a_page_that_says_so(
    client, login, app_without_database
):
    # Signed in while the database answered; the same cookie reaches an app whose database is gone.
    login("consultant", full_name="Casey Stranded")
    down = app_without_database
    down.config["PROPAGATE_EXCEPTIONS"] = False
    stranded = down.test_client()
    name = down.config["SESSION_COOKIE_NAME"]
    stranded.set_cookie(name, client.get_cookie(name).value)
    response = stranded.get("/candidates")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "500 Internal Server Error" in text
    assert errors.DATABASE_DOWN in text
    assert "Casey Stranded" not in text  # drawn as for a visitor: the user could not be read


def test_a_visitor_not_signed_in_gets_the_500_page_too(failing, client):
    response = client.get("/test-failing/statement")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "500 Internal Server Error" in text
    assert "Sign out" not in text
