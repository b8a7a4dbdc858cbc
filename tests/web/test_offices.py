"""Offices on the web and the command line: the Offices page (settings.manage), the Office choice on
Profile and on the user form, an office's time zone and phone region as its users' defaults, the
"Team views by office" setting on Sent and Replies, and `office add` / `create-user --office`."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tests.conftest import office_named
from tests.html_tree import html as tree
from tests.pages import assert_refused, audits, candidate_form, details_of, fresh, text
from tests.replying import receive, send_sms
from webapp.models import Candidate, Message, Office, Setting, User

PASSWORD = "a-long-password-123"
# 16:30 UTC on 3 October 2026: 3:30 am AEDT in Sydney, 12:30 am AWST in Perth, 5:30 am NZDT.
MOMENT = datetime(2026, 10, 3, 16, 30, tzinfo=UTC)


def office_form(**overrides) -> dict[str, str]:
    return {"name": "Perth", "timezone": "Australia/Perth", "region": "AU", **overrides}


def options(page: str, name: str) -> list[tuple[str, str, bool]]:
    """(value, label, selected) of each option of the <select name=`name`> on `page`."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert select, f"no <select name={name}>"
    return [
        (
            re.search(r'value="([^"]*)"', attrs).group(1),
            html.unescape(label).strip(),
            "selected" in attrs,
        )
        for attrs, label in re.findall(r"<option([^>]*)>([^<]*)</option>", select.group(1))
    ]


# --- the Offices page ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "consultant", "team-leader"])
def test_only_settings_managers_reach_the_offices_page(client, login, session, role):
    login(role)
    perth = office_named(session, "Perth")
    assert client.get("/admin/offices").status_code == 403
    assert client.post("/admin/offices", data=office_form(name="Hobart")).status_code == 403
    assert client.post(f"/admin/offices/{perth.id}", data=office_form()).status_code == 403
    assert session.scalar(sa.select(Office).where(Office.name == "Hobart")) is None


def test_settings_links_to_offices_and_the_page_lists_them(client, login, session, make_user):
    login("administrator")
    perth = office_named(session, "Perth", timezone="Australia/Perth", region="AU")
    make_user(office="Perth")
    make_user(office="Perth")

    assert 'href="/admin/offices"' in text(client.get("/admin/settings"))
    page = text(client.get("/admin/offices"))
    row = re.search(
        r"<tr>\s*<td><a href=\"/admin/offices/(\d+)\">Perth</a></td>(.*?)</tr>", page, re.S
    )
    assert row and int(row.group(1)) == perth.id
    assert re.findall(r"<td>([^<]*)</td>", row.group(2)) == ["Australia/Perth", "AU", "2"]
    for name, label in (("name", "Name"), ("timezone", "Time zone"), ("region", "Phone region")):
        assert f'<label for="{name}">{label}</label>' in page
    assert "style=" not in page and "<script>" not in page


def test_an_office_is_added_trimmed_upper_cased_and_audited(client, login, session):
    admin = login("administrator")
    response = client.post(
        "/admin/offices",
        data=office_form(name="  Auckland ", timezone="Pacific/Auckland", region="nz"),
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/offices"
    office = session.scalar(sa.select(Office).where(Office.name == "Auckland"))
    assert (office.timezone, office.region) == ("Pacific/Auckland", "NZ")
    [event] = audits(session, "office.added")
    assert event.actor_id == admin.id and event.subject_id == office.id
    assert event.details == {"name": "Auckland", "timezone": "Pacific/Auckland", "region": "NZ"}


def test_empty_zone_and_region_mean_the_organisations(client, login, session):
    login("administrator")
    client.post("/admin/offices", data=office_form(name="Head office", timezone="", region=""))
    office = session.scalar(sa.select(Office).where(Office.name == "Head office"))
    assert (office.timezone, office.region) == (None, None)
    assert "The organisation’s" in text(client.get("/admin/offices"))


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": ""}, "name", "Enter the office’s name."),
        ({"name": "\u200b\ufeff "}, "name", "Enter the office’s name."),
        ({"name": "Perth\u200b"}, "name", "There is already an office called “Perth\u200b”."),
        ({"name": " p\u200berth "}, "name", "There is already an office called “p\u200berth”."),
        ({"name": "PERTH"}, "name", "There is already an office called “PERTH”."),
        ({"name": "P" * 121}, "name", "At most 120 characters."),
        ({"name": "Perth\tWA"}, "name", "Name must be one line of plain text: remove the tab."),
        ({"timezone": "Mars/Olympus"}, "timezone", "is not a time zone name"),
        ({"region": "XX"}, "region", "“XX” is not a two-letter region code"),
    ],
)
def test_a_bad_office_is_refused_on_the_form_with_the_field_named(
    client, login, session, overrides, field, message
):
    login("administrator")
    office_named(session, "Perth")
    response = client.post("/admin/offices", data=office_form(**{"name": "Hobart", **overrides}))
    assert_refused(response, field, message)
    assert [o.name for o in session.scalars(sa.select(Office))] == ["Perth"]
    assert audits(session, "office.added") == []
    # The form is below the list of offices: the refusal takes the focus, so it is in view.
    assert '<p class="error" role="alert" tabindex="-1" autofocus>' in text(response)


def test_every_wrong_field_of_an_office_is_marked_at_once(client, login, session):
    login("administrator")
    perth = office_named(session, "Perth", timezone="Australia/Perth", region="AU")
    wrong = {"name": "", "timezone": "Mars/Base", "region": "ZZ"}

    for url in ("/admin/offices", f"/admin/offices/{perth.id}"):
        response = client.post(url, data=office_form(**wrong))

        assert_refused(response, "name", "Enter the office’s name.")
        assert_refused(response, "timezone", "“Mars/Base” is not a time zone name")
        assert_refused(response, "region", "“ZZ” is not a two-letter region code")
    assert (fresh(session, Office, perth.id).timezone, perth.region) == ("Australia/Perth", "AU")
    assert audits(session, "office.added") == audits(session, "office.changed") == []


def test_an_office_is_edited_and_only_its_changes_audited(client, login, session):
    login("administrator")
    perth = office_named(session, "Perth", timezone="Australia/Sydney", region="AU")
    page = text(client.get(f"/admin/offices/{perth.id}"))
    assert 'value="Australia/Sydney"' in page and "Edit Perth" in page

    response = client.post(f"/admin/offices/{perth.id}", data=office_form())
    assert response.status_code == 302
    assert fresh(session, Office, perth.id).timezone == "Australia/Perth"
    [event] = audits(session, "office.changed")
    assert event.details == {
        "name": "Perth",
        "changes": {"timezone": ["Australia/Sydney", "Australia/Perth"]},
    }

    client.post(f"/admin/offices/{perth.id}", data=office_form())
    assert len(audits(session, "office.changed")) == 1  # nothing changed: nothing audited


def focused(response) -> list[str]:
    return [node.get("id") for node in tree(response).iter() if "autofocus" in node.attrs]


def test_editing_an_office_puts_the_focus_on_its_form_below_the_list(client, login, session):
    login("administrator")
    perth = office_named(session, "Perth")

    page = client.get(f"/admin/offices/{perth.id}")

    assert focused(page) == ["office-form-heading"]
    assert tree(page).one("h2", id="office-form-heading").get("tabindex") == "-1"
    assert focused(client.get("/admin/offices")) == []  # adding: the list first
    refused = client.post(f"/admin/offices/{perth.id}", data=office_form(region="ZZZ"))
    assert "office-form-heading" not in focused(refused)  # the refusal's summary has it


def test_renaming_onto_another_office_is_refused_and_an_unknown_office_is_404(
    client, login, session
):
    login("administrator")
    office_named(session, "Perth")
    sydney = office_named(session, "Sydney")
    response = client.post(f"/admin/offices/{sydney.id}", data=office_form(name="perth"))
    assert_refused(response, "name", "There is already an office called “perth”.")
    assert fresh(session, Office, sydney.id).name == "Sydney"
    assert client.get("/admin/offices/999999").status_code == 404


# --- the Office choice ---------------------------------------------------------------------------


def test_profile_offers_the_offices_and_saves_the_choice(client, login, session):
    office_named(session, "Sydney")
    perth = office_named(session, "Perth")
    user = login("consultant")

    page = text(client.get("/profile"))
    assert '<label for="office">Office</label>' in page
    assert options(page, "office") == [
        ("", "No office", True),
        (str(perth.id), "Perth", False),
        (str(office_named(session, "Sydney").id), "Sydney", False),
    ]

    response = client.post(
        "/profile", data={"email": user.email, "mobile": "", "office": str(perth.id)}
    )
    assert response.status_code == 302
    assert fresh(session, User, user.id).office_name == "Perth"
    [event] = audits(session, "profile.edited")
    assert event.details["changes"] == {"office": [None, "Perth"]}
    assert (str(perth.id), "Perth", True) in options(text(client.get("/profile")), "office")

    client.post("/profile", data={"email": user.email, "mobile": "", "office": ""})
    assert fresh(session, User, user.id).office_id is None


def test_an_office_that_is_not_in_the_list_is_refused(client, login, session):
    user = login("consultant", office="Perth")
    response = client.post("/profile", data={"email": user.email, "mobile": "", "office": "424242"})
    assert_refused(response, "office", "There is no such office; choose one from the list.")
    assert fresh(session, User, user.id).office_name == "Perth"


@pytest.mark.parametrize("office", ["²", "٣", "-1", "perth"])
def test_an_office_that_is_no_id_is_refused(client, login, session, office):
    user = login("consultant", office="Perth")
    response = client.post("/profile", data={"email": user.email, "mobile": "", "office": office})
    assert_refused(response, "office", "Choose an office from the list.")
    assert fresh(session, User, user.id).office_name == "Perth"


def test_the_user_form_offers_the_offices_with_the_users_chosen(client, login, session, make_user):
    login("administrator")
    perth = office_named(session, "Perth")
    sydney = office_named(session, "Sydney")
    jo = make_user("jo", office="Sydney")

    page = text(client.get(f"/admin/users/{jo.id}/edit"))
    assert options(page, "office") == [
        ("", "No office", False),
        (str(perth.id), "Perth", False),
        (str(sydney.id), "Sydney", True),
    ]
    assert "<td>Sydney</td>" in text(client.get("/admin/users"))

    response = client.post(f"/admin/users/{jo.id}/edit", data=details_of(jo, office=str(perth.id)))
    assert response.status_code == 302
    assert fresh(session, User, jo.id).office_name == "Perth"
    [event] = audits(session, "user.edited")
    assert event.details["changes"] == {"office": ["Sydney", "Perth"]}


# --- an office's time zone and phone region ------------------------------------------------------


@pytest.mark.parametrize(
    "own_zone, office_zone, shown",
    [
        (None, None, "4 Oct 2026, 3:30 am AEDT"),  # the organisation's
        (None, "Pacific/Auckland", "4 Oct 2026, 5:30 am NZDT"),  # the office's
        ("Australia/Perth", "Pacific/Auckland", "4 Oct 2026, 12:30 am AWST"),  # their own
    ],
)
def test_times_are_in_the_users_zone_else_their_offices_else_the_organisations(
    app, client, session, login, ada, own_zone, office_zone, shown
):
    office_named(session, "Branch", timezone=office_zone)
    me = login("consultant", timezone=own_zone, office="Branch")
    [message] = send_sms(app, session, me, [ada], dispatch=False)
    message.created_at = MOMENT
    session.commit()

    page = text(client.get(f"/candidates/{ada.id}"))

    assert f"Sent by {me.full_name}, {shown} to" in page


def test_numbers_typed_by_an_office_user_are_read_in_its_region(
    client, login, session, make_candidate
):
    office_named(session, "Auckland", region="NZ")
    login("consultant", office="Auckland")
    person = make_candidate("Aroha", "Ngata", None)

    response = client.post(
        f"/candidates/{person.id}/edit", data=candidate_form(mobile="021 123 4567")
    )

    assert response.status_code == 302, text(response)
    assert fresh(session, Candidate, person.id).mobile_e164 == "+64211234567"


def test_without_an_office_region_numbers_are_read_in_the_organisations(
    client, login, session, make_candidate
):
    office_named(session, "Sydney", region=None)
    login("consultant", office="Sydney")
    person = make_candidate("Zoe", "Muller", None)

    client.post(f"/candidates/{person.id}/edit", data=candidate_form(mobile="0412 345 678"))

    assert fresh(session, Candidate, person.id).mobile_e164 == "+61412345678"


# --- team views by office ------------------------------------------------------------------------


@pytest.fixture
def two_offices(app, session, make_user, make_candidate):
    """Pat in Perth and Sam in Sydney have each sent one SMS and had a reply; their messages."""
    pat = make_user("pat", full_name="Pat Perth", office="Perth")
    sam = make_user("sam", full_name="Sam Sydney", office="Sydney")
    sent = {}
    for user, number in ((pat, "0400 111 222"), (sam, "0400 333 444")):
        person = make_candidate("Rec", user.full_name.split()[1], number)
        [message] = send_sms(app, session, user, [person], body=f"From {user.full_name}")
        receive(
            app,
            session,
            f"Reply to {user.full_name}",
            from_number="61" + number.replace(" ", "")[1:],
            reference=message.uuid,
        )
        sent[user.username] = message
    return sent


def team_views(session, on: bool) -> None:
    session.merge(Setting(key="team_views_by_office", value=on))
    session.commit()


def seen(client) -> tuple[set[str], set[str]]:
    """Whose batches the everyone's Sent page shows, and whose replies the everyone's Replies."""
    sent = text(client.get("/sms/sent?who=everyone"))
    replies = text(client.get("/sms/replies?who=everyone"))
    names = ("Pat Perth", "Sam Sydney")
    return (
        {name for name in names if f"From {name}" in sent},
        {name for name in names if f"Reply to {name}" in replies},
    )


def test_with_team_views_by_office_a_team_leader_sees_only_their_office(
    client, login, session, two_offices
):
    login("team-leader", office="Perth")
    both = {"Pat Perth", "Sam Sydney"}
    assert seen(client) == (both, both)  # off by default

    assert "Everyone’s batches" in text(client.get("/sms/sent?who=everyone"))
    replies = tree(client.get("/sms/replies?who=everyone"))
    assert replies.one("h2", id="results-heading").text == "Replies to everyone’s messages"
    assert replies.one("a", id="whose-tab-everyone").text == "Everyone’s"

    team_views(session, True)
    assert seen(client) == ({"Pat Perth"}, {"Pat Perth"})
    # Said as the dashboard says it: their team's, not everyone's, on Sent and on Replies.
    sent = tree(client.get("/sms/sent?who=everyone"))
    assert sent.one("h2", id="results-heading").text == "Your team’s batches"
    replies = tree(client.get("/sms/replies?who=everyone"))
    assert replies.one("h2", id="results-heading").text == "Replies to your team’s messages"
    assert replies.one("a", id="whose-tab-everyone").text == "Your team’s"

    # Nor can they open the other office's reply by its id.
    sydney_reply = session.scalar(
        sa.select(Message).where(Message.in_reply_to_id == two_offices["sam"].id)
    )
    perth_reply = session.scalar(
        sa.select(Message).where(Message.in_reply_to_id == two_offices["pat"].id)
    )
    assert client.post(f"/sms/replies/{sydney_reply.id}/open").status_code == 404
    assert client.post(f"/sms/replies/{perth_reply.id}/open").status_code == 303
    # Nor learn whose record it is on by trying to file it.
    form = {"kind": "candidates", "person_id": "1"}
    assert client.post(f"/replies/{sydney_reply.id}/attach", data=form).status_code == 404
    assert client.post(f"/replies/{perth_reply.id}/attach", data=form).status_code == 303


@pytest.mark.parametrize("role", ["team-leader", "consultant"])
def test_a_user_limited_to_their_office_cannot_move_to_another_on_their_profile(
    client, login, session, two_offices, role
):
    """Choosing Sydney on their own Profile opened Sydney's batches, replies and dashboard to a
    team leader (and would move a consultant's out of their own leader's sight)."""
    lead = login(role, office="Perth")
    sydney = office_named(session, "Sydney")
    team_views(session, True)

    page = text(client.get("/profile"))
    assert re.search(
        r'<select [^>]*disabled[^>]* id="office"|<select [^>]*id="office"[^>]*disabled', page
    )
    assert "an administrator changes it" in page
    response = client.post(
        "/profile",
        data={"email": "lead@perth.example", "mobile": "", "office": str(sydney.id)},
    )

    assert response.status_code == 302
    saved = fresh(session, User, lead.id)
    assert (saved.office_name, saved.email) == ("Perth", "lead@perth.example")
    assert "Your office was not changed" in text(client.get("/profile"))
    sydney_batch = two_offices["sam"].batch_id
    assert client.get(f"/sms/batches/{sydney_batch}").status_code == 404
    # With team views off, the office is theirs to choose again; the locked (disabled) list of a
    # page opened before posts none, which keeps it.
    team_views(session, False)
    client.post("/profile", data={"email": "lead@perth.example", "mobile": ""})
    assert fresh(session, User, lead.id).office_name == "Perth"
    assert "disabled" not in re.search(
        r"<select [^>]*id=\"office\"[^>]*>", text(client.get("/profile"))
    ).group(0)


def test_a_team_leader_limited_to_their_office_opens_only_its_batches(
    client, login, session, two_offices
):
    login("team-leader", office="Perth")
    perth, sydney = two_offices["pat"], two_offices["sam"]
    sydney_person = f"/candidates/{sydney.candidate_id}"
    batch_link = f'href="/sms/batches/{sydney.batch_id}"'
    # Off: every batch opens, and is linked from the record and the audit log.
    assert client.get(f"/sms/batches/{sydney.batch_id}").status_code == 200
    assert batch_link in text(client.get(sydney_person))
    assert batch_link in text(client.get("/audit"))

    team_views(session, True)

    for path in ("", "/messages.csv", "/resend"):
        assert client.get(f"/sms/batches/{sydney.batch_id}{path}").status_code == 404, path
        # Resend is its sender's only: seen, not theirs to resend.
        expected = 403 if path == "/resend" else 200
        assert client.get(f"/sms/batches/{perth.batch_id}{path}").status_code == expected, path
    # Nor linked where it would not open; the record and the event are still shown.
    record, log = text(client.get(sydney_person)), text(client.get("/audit"))
    assert "From Sam Sydney" in record and batch_link not in record
    assert f'href="/sms/batches/{perth.batch_id}"' in log and batch_link not in log


def test_administrators_always_see_every_office(client, login, session, two_offices):
    login("administrator", office="Perth")
    team_views(session, True)
    both = {"Pat Perth", "Sam Sydney"}
    assert seen(client) == (both, both)


def test_the_setting_is_saved_from_the_settings_page_and_audited(client, login, session):
    login("administrator")
    form = {"comment_types": "SMS", "default_region": "", "originator": "", "timezone": ""}
    form |= {"unmatched_reply_address": "", "opt_out_line": ""}
    page = text(client.get("/admin/settings"))
    assert re.search(r'<label><input [^>]*name="team_views_by_office" type="checkbox"', page)

    response = client.post("/admin/settings", data=form | {"team_views_by_office": "y"})

    assert response.status_code == 302
    assert session.get(Setting, "team_views_by_office").value is True
    [event] = audits(session, "settings.changed")
    assert event.details["changes"] == {"team_views_by_office": [False, True]}
    assert "Team views by office" in html.unescape(text(client.get("/admin/settings")))


# --- the command line ----------------------------------------------------------------------------


class Runner:
    """Invokes app commands as `flask --app wsgi` does: each in its own app context."""

    def __init__(self, app):
        self.app = app
        self.runner = app.test_cli_runner()

    def invoke(self, *args: str, input: str | None = None):
        with self.app.app_context():
            return self.runner.invoke(args=list(args), input=input)


@pytest.fixture
def runner(app):
    return Runner(app)


def test_office_add_creates_an_audited_office(runner, session):
    result = runner.invoke(
        "office", "add", "Auckland", "--timezone", "Pacific/Auckland", "--region", "nz"
    )
    assert result.exit_code == 0, result.output
    assert "Added office Auckland" in result.stdout
    office = session.scalar(sa.select(Office).where(Office.name == "Auckland"))
    assert (office.timezone, office.region) == ("Pacific/Auckland", "NZ")
    [event] = audits(session, "office.added")
    assert event.actor_id is None and event.subject_id == office.id


@pytest.mark.parametrize(
    "args, message",
    [
        (["perth"], "There is already an office called “perth”."),
        (["Hobart", "--timezone", "Mars/Olympus"], "is not a time zone name"),
        (["Hobart", "--region", "XX"], "“XX” is not a two-letter region code"),
        ([""], "Enter the office’s name."),
    ],
)
def test_office_add_refuses_bad_values_with_a_message(runner, session, args, message):
    office_named(session, "Perth")
    result = runner.invoke("office", "add", *args)
    assert result.exit_code != 0
    assert message in result.output
    assert [o.name for o in session.scalars(sa.select(Office))] == ["Perth"]


def test_office_add_names_every_wrong_value(runner, session):
    result = runner.invoke("office", "add", "Hobart", "--timezone", "Mars/Base", "--region", "ZZ")

    assert result.exit_code != 0
    assert "“Mars/Base” is not a time zone name" in result.output
    assert "“ZZ” is not a two-letter region code" in result.output
    assert session.scalars(sa.select(Office)).all() == []


def test_create_user_puts_the_user_in_the_named_office(runner, session):
    office_named(session, "Auckland", region="NZ")
    result = runner.invoke(
        "create-user",
        "robin",
        "--role",
        "consultant",
        "--email",
        "robin@example.com",
        "--mobile",
        "021 123 4567",
        "--office",
        "auckland",
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    session.expire_all()
    robin = session.scalar(sa.select(User).where(User.username == "robin"))
    assert robin.office_name == "Auckland"
    assert robin.mobile == "+64211234567"  # read in the office's region


def test_create_user_refuses_an_office_that_does_not_exist(runner, session):
    result = runner.invoke(
        "create-user",
        "robin",
        "--role",
        "consultant",
        "--email",
        "robin@example.com",
        "--office",
        "Atlantis",
        input=f"{PASSWORD}\n",
    )
    assert result.exit_code != 0
    assert "There is no office called 'Atlantis'" in result.output
    assert session.scalar(sa.select(User).where(User.username == "robin")) is None
