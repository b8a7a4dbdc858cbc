"""`flask create-user USERNAME --role ROLE --email E [--mobile M]`, password on standard input."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from webapp.models import AuditEvent, Setting, User

PASSWORD = "a-long-password-123"


class Runner:
    """Invokes app commands the way `flask --app wsgi` does: each in its own app context.

    (FlaskGroup pushes that context; `app.test_cli_runner()` calls `app.cli` directly and does
    not, for commands added with `add_command`.)
    """

    def __init__(self, app):
        self.app = app
        self.runner = app.test_cli_runner()

    def invoke(self, **kwargs):
        with self.app.app_context():
            return self.runner.invoke(**kwargs)


@pytest.fixture
def runner(app):
    return Runner(app)


@pytest.fixture
def users(app):
    """Usernames in the database, read through a fresh session each time."""

    def read() -> dict[str, User]:
        with app.extensions["database"].sessionmaker() as session:
            return {user.username: user for user in session.scalars(sa.select(User))}

    return read


def create(runner, *args: str, password: str = PASSWORD):
    return runner.invoke(args=["create-user", *args], input=f"{password}\n")


def test_creates_the_user_with_the_role_and_a_hashed_password(runner, users):
    result = create(
        runner,
        "robin",
        "--role",
        "team-leader",
        "--email",
        "robin@example.com",
        "--mobile",
        "0412 345 678",
        "--full-name",
        "Robin Reyes",
    )
    assert result.exit_code == 0, result.output
    assert "Created robin (team-leader)." in result.stdout
    assert PASSWORD not in result.output

    robin = users()["robin"]
    assert [role.name for role in robin.roles] == ["team-leader"]
    assert (robin.email, robin.full_name, robin.mobile) == (
        "robin@example.com",
        "Robin Reyes",
        "+61412345678",
    )
    assert robin.active
    assert robin.password_hash != PASSWORD
    assert robin.check_password(PASSWORD)


def test_the_new_user_is_audited_as_the_user_page_audits_one_with_no_actor(app, runner, users):
    assert create(runner, "robin", "--role", "viewer", "--email", "r@example.com").exit_code == 0
    with app.extensions["database"].sessionmaker() as session:
        [event] = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "user.created")
        ).all()
        assert (event.actor_id, event.subject_id) == (None, users()["robin"].id)
        assert event.details["roles"] == ["viewer"] and PASSWORD not in str(event.details)


def test_full_name_defaults_to_the_username_and_mobile_is_optional(runner, users):
    assert create(runner, "sam", "--role", "viewer", "--email", "sam@example.com").exit_code == 0
    sam = users()["sam"]
    assert (sam.full_name, sam.mobile) == ("sam", None)
    assert sam.permissions == frozenset()


def test_a_blank_full_name_is_refused_and_spaces_around_one_are_trimmed(runner, users):
    """The user form trims a name and refuses a blank one: "   " made a user with no name."""
    for blank in ("   ", "\u200b"):
        result = create(
            runner, "sam", "--role", "viewer", "--email", "sam@example.com", "--full-name", blank
        )
        assert result.exit_code != 0 and "The full name is blank" in result.output
    assert "sam" not in users()
    args = ("--role", "viewer", "--email", "sam@example.com", "--full-name", " Sam Smith ")
    assert create(runner, "sam", *args, "--mobile", "  ").exit_code == 0  # a blank mobile: none
    assert (users()["sam"].full_name, users()["sam"].mobile) == ("Sam Smith", None)


def test_a_full_names_invisible_characters_are_left_out(runner, users):
    """As the user form stores it: a soft hyphen or zero-width space pasted into a name shows
    nothing, yet made every SMS merging the sender's name Unicode."""
    args = ("--role", "viewer", "--email", "sam@example.com")
    assert create(runner, "sam", *args, "--full-name", "Sam\u00ad  Smith\u200b").exit_code == 0
    assert users()["sam"].full_name == "Sam Smith"


def test_a_password_the_sign_in_form_would_not_take_is_refused(runner, client, users):
    """At 305 characters it was taken: the sign-in form refuses over 256, so the account could
    never be opened."""
    long = "a" * 300 + "bcdef"
    result = create(runner, "bob", "--role", "viewer", "--email", "b@example.com", password=long)

    assert result.exit_code != 0 and "The password can be at most 256 characters." in result.output
    assert "bob" not in users()
    refused = client.post("/login", data={"username": "bob", "password": long})
    assert "The password can be at most 256 characters." in refused.get_data(as_text=True)


def test_created_user_can_sign_in(runner, client):
    assert (
        create(runner, "robin", "--role", "consultant", "--email", "robin@example.com").exit_code
        == 0
    )
    response = client.login("robin", PASSWORD)
    assert response.status_code == 302


def test_created_user_cannot_sign_in_with_another_password(runner, client):
    assert (
        create(runner, "robin", "--role", "consultant", "--email", "robin@example.com").exit_code
        == 0
    )
    assert client.login("robin", "not-the-password-1").status_code == 401


def test_windows_line_ending_is_not_part_of_the_password(runner, users):
    result = runner.invoke(
        args=["create-user", "win", "--role", "viewer", "--email", "w@example.com"],
        input=f"{PASSWORD}\r\n",
    )
    assert result.exit_code == 0, result.output
    assert users()["win"].check_password(PASSWORD)


def test_unknown_role_is_refused_listing_the_roles(runner, users):
    result = create(runner, "robin", "--role", "boss", "--email", "robin@example.com")
    assert result.exit_code != 0
    assert "No role 'boss'" in result.output
    for role in ("administrator", "team-leader", "consultant", "viewer"):
        assert role in result.output
    assert users() == {}


def test_duplicate_username_is_refused_and_the_first_user_kept(runner, users):
    assert (
        create(runner, "robin", "--role", "viewer", "--email", "robin@example.com").exit_code == 0
    )
    result = create(
        runner,
        "robin",
        "--role",
        "administrator",
        "--email",
        "other@example.com",
        password="another-long-password",
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    robin = users()["robin"]
    assert [role.name for role in robin.roles] == ["viewer"]
    assert robin.email == "robin@example.com"
    assert robin.check_password(PASSWORD)


@pytest.fixture
def while_hashing(app, monkeypatch):
    """Run `write` on a connection of its own, committed, while create-user hashes the password:
    the running app writing (a worker's heartbeat, a sign-in) between the command's reads and
    its INSERT."""

    def arrange(write) -> None:
        hash_password = User.set_password

        def set_password(user, password):
            hash_password(user, password)
            with app.extensions["database"].engine.begin() as connection:
                write(connection)

        monkeypatch.setattr(User, "set_password", set_password)

    return arrange


def test_a_write_by_the_running_app_while_the_password_is_hashed_does_not_fail_it(
    runner, users, while_hashing
):
    while_hashing(
        lambda connection: connection.execute(
            sa.insert(Setting).values(key="default_region", value="NZ")
        )
    )
    result = create(runner, "robin", "--role", "consultant", "--email", "robin@example.com")
    assert result.exit_code == 0, result.output
    assert "robin" in users()


def test_a_name_taken_while_the_password_is_hashed_is_refused_as_taken(
    runner, users, while_hashing
):
    while_hashing(
        lambda connection: connection.execute(
            sa.insert(User).values(
                username="robin",
                full_name="The Other Robin",
                email="other@example.com",
                password_hash="x",
                active=True,
                must_change_password=False,
                created_at=sa.func.current_timestamp(),
            )
        )
    )
    result = create(runner, "robin", "--role", "consultant", "--email", "robin@example.com")
    assert result.exit_code != 0
    assert "A user named 'robin' already exists." in result.output
    assert users()["robin"].full_name == "The Other Robin"


@pytest.mark.parametrize("password", ["short-pass1", "", "aaaaaaaaaaaaaaaa"])
def test_weak_password_is_refused(runner, users, password):
    result = create(
        runner, "robin", "--role", "viewer", "--email", "robin@example.com", password=password
    )
    assert result.exit_code != 0
    assert "password must" in result.output
    assert users() == {}


def test_password_of_twelve_characters_is_enough(runner, users):
    result = create(
        runner, "robin", "--role", "viewer", "--email", "robin@example.com", password="abcdefghijk1"
    )
    assert result.exit_code == 0, result.output
    assert "robin" in users()


def test_short_password_message_names_the_minimum_length(runner):
    result = create(
        runner, "robin", "--role", "viewer", "--email", "robin@example.com", password="eleven-char"
    )
    assert result.exit_code != 0
    assert "12 characters" in result.output


@pytest.mark.parametrize("mobile", ["call me", "0412 345", "12345"])
def test_invalid_mobile_is_refused(runner, users, mobile):
    result = create(
        runner, "robin", "--role", "viewer", "--email", "robin@example.com", "--mobile", mobile
    )
    assert result.exit_code != 0
    assert f"{mobile!r} is not a valid mobile number" in result.output
    assert users() == {}


def test_invalid_email_is_refused(runner, users):
    result = create(runner, "robin", "--role", "viewer", "--email", "robin.example.com")
    assert result.exit_code != 0
    assert "not an email address" in result.output
    assert users() == {}


def test_role_and_email_are_required(runner, users):
    assert create(runner, "robin", "--email", "robin@example.com").exit_code == 2
    assert create(runner, "robin", "--role", "viewer").exit_code == 2
    assert users() == {}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["robin", "--full-name", "Robin\r\nBcc: all@example.com"],
            "The full name must be one line of plain text: remove the line break, carriage return.",
        ),
        (["rob\tin"], "The username must be one line of plain text: remove the tab."),
    ],
)
def test_a_control_character_in_a_name_is_refused(runner, users, args, message):
    result = create(runner, *args, "--role", "viewer", "--email", "robin@example.com")
    assert result.exit_code == 1
    assert message in result.output
    assert users() == {}


def test_a_username_taken_in_another_case_is_refused(runner, users):
    # The user form treats "Robin" and "robin" as one name: with both, neither could be edited.
    assert (
        create(runner, "robin", "--role", "viewer", "--email", "robin@example.com").exit_code == 0
    )
    result = create(runner, "Robin", "--role", "viewer", "--email", "other@example.com")
    assert result.exit_code == 1
    assert "A user named 'robin' already exists." in result.output
    assert set(users()) == {"robin"}


@pytest.mark.parametrize(
    "username, message",
    [
        ("", "'' is not a username"),
        ("   ", "'' is not a username"),
        ("robin reyes", "'robin reyes' is not a username: use letters, digits and . _ @ - only"),
        ("r" * 65, "The username can be at most 64 characters."),
    ],
    ids=["empty", "blank", "space", "too-long"],
)
def test_a_username_the_user_form_would_refuse_is_refused(runner, users, username, message):
    result = create(runner, username, "--role", "viewer", "--email", "robin@example.com")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert users() == {}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--email", "robin@localhost"], "'robin@localhost' is not an email address."),
        (["--email", f"{'r' * 250}@example.com"], "The email can be at most 254 characters."),
        (
            ["--email", "robin@example.com", "--full-name", "R" * 121],
            "The full name can be at most 120 characters.",
        ),
    ],
    ids=["email-without-a-dot", "email-too-long", "full-name-too-long"],
)
def test_an_email_or_full_name_the_user_form_would_refuse_is_refused(runner, users, args, message):
    # PostgreSQL refused the INSERT of a value too long with a traceback.
    result = create(runner, "robin", "--role", "viewer", *args)
    assert result.exit_code == 1
    assert message in result.output
    assert users() == {}


def test_an_email_another_active_user_has_is_refused(runner, users):
    assert create(runner, "robin", "--role", "viewer", "--email", "r@example.com").exit_code == 0
    result = create(runner, "robyn", "--role", "viewer", "--email", "R@example.com")
    assert result.exit_code != 0
    assert "The user 'robin' already has the email address 'R@example.com'." in result.output
    assert "robyn" not in users()
