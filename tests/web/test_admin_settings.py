"""/admin/settings: the permission gate, validation and storage of the SMS settings with their
audit, the blocked-country lists, and each setting taking effect on the SMS screen."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tests.html_tree import parse
from tests.pages import assert_refused, audits, nav, text
from webapp.models import AuditEvent, BlockedRegion, Setting

NON_ADMINS = ("viewer", "consultant", "team-leader")
FINNISH = "+358 41 2345678"
COUNT = re.compile(r'<li class="outcome outcome-(\w+)">\s*<span class="count">([\d,]+)</span>')


# --- helpers -------------------------------------------------------------------------------------


def stored(session) -> dict:
    session.rollback()
    return {row.key: row.value for row in session.scalars(sa.select(Setting))}


def blocked_row(session, provider: str, region: str) -> BlockedRegion | None:
    session.rollback()
    return session.scalar(
        sa.select(BlockedRegion).where(
            BlockedRegion.provider == provider, BlockedRegion.region == region
        )
    )


def settings_form(**overrides) -> dict:
    form = {
        "comment_types": "SMS",
        "default_region": "",
        "originator": "",
        "unmatched_reply_address": "",
    }
    form.update(overrides)
    return form


def outcome_counts(page: str) -> dict[str, int]:
    return {name: int(n.replace(",", "")) for name, n in COUNT.findall(page)}


def sms_screen(client, person) -> str:
    response = client.get(f"/sms/compose?candidate={person.id}")
    assert response.status_code == 200, text(response)
    return text(response)


@pytest.fixture
def admin(login):
    return login("administrator")


# --- the permission gate -------------------------------------------------------------------------


@pytest.mark.parametrize("role", NON_ADMINS)
def test_settings_are_hidden_and_forbidden_without_settings_manage(client, login, session, role):
    login(role)
    page = text(client.get("/candidates"))
    assert "Settings" not in nav(page) and 'href="/admin/settings"' not in page
    kz = blocked_row(session, "smscentral", "KZ")
    assert client.get("/admin/settings").status_code == 403
    assert client.get(f"/admin/settings/blocked/{kz.id}/remove").status_code == 403
    assert (
        client.post("/admin/settings", data=settings_form(originator="Hacked")).status_code == 403
    )
    assert (
        client.post(
            "/admin/settings/blocked",
            data={"provider": "smscentral", "region": "FI", "reason": "x"},
        ).status_code
        == 403
    )
    assert (
        client.post(f"/admin/settings/blocked/{kz.id}/remove", data={"reason": "x"}).status_code
        == 403
    )
    assert stored(session) == {}
    assert blocked_row(session, "smscentral", "FI") is None
    assert blocked_row(session, "smscentral", "KZ") is not None
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_administrator_sees_settings_in_the_navigation(client, admin):
    response = client.get("/admin/settings")
    assert response.status_code == 200
    assert "Settings" in nav(text(response))


@pytest.mark.parametrize(("gateway", "said"), (("twilio", True), ("smscentral", False)))
def test_the_sender_id_hint_says_twilio_does_not_use_it(client, admin, app, gateway, said):
    app.config["SMS_PROVIDER"] = gateway
    response = client.get("/admin/settings")
    assert response.status_code == 200
    assert ("Not used while the gateway is Twilio" in response.get_data(as_text=True)) is said


def test_settings_controls_have_accessible_names(client, admin):
    page = text(client.get("/admin/settings"))
    assert re.search(
        r'<label><input [^>]*name="suppress_add_comment"[^>]*> Suppress Add Comment</label>', page
    )
    for name, label in (
        ("comment_types", "Comment types"),
        ("default_region", "Default phone region"),
        ("originator", "Sender ID (originator)"),
        ("unmatched_reply_address", "Address for unmatched replies"),
        ("provider", "Gateway"),
        ("region", "Region code"),
        ("reason", "Reason"),
    ):
        assert f'<label for="{name}">{label}</label>' in page
    assert "style=" not in page and "<script>" not in page


# --- saving the settings -------------------------------------------------------------------------


def test_settings_are_stored_and_audited_with_old_and_new(client, admin, session):
    response = client.post(
        "/admin/settings",
        data=settings_form(
            suppress_add_comment="y",
            comment_types="Call\n  SMS sent  \n\nFollow-up",
            default_region="nz",
            originator="Harbour",
            unmatched_reply_address="replies@example.com",
        ),
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/settings"
    assert stored(session) == {
        "suppress_add_comment": True,
        "comment_types": ["Call", "SMS sent", "Follow-up"],
        "default_region": "NZ",
        "originator": "Harbour",
        "unmatched_reply_address": "replies@example.com",
    }
    [event] = audits(session, "settings.changed")
    assert event.actor_id == admin.id
    assert event.details["changes"]["originator"] == ["", "Harbour"]
    assert event.details["changes"]["comment_types"] == [["SMS"], ["Call", "SMS sent", "Follow-up"]]
    page = text(client.get("/admin/settings"))
    assert 'value="Harbour"' in page and "Call\nSMS sent\nFollow-up</textarea>" in page
    assert re.search(
        r'name="suppress_add_comment"[^>]* checked|checked[^>]*name="suppress_add_comment"', page
    )


def test_emptying_a_setting_gives_the_environment_back(client, admin, session):
    client.post("/admin/settings", data=settings_form(originator="Harbour"))
    assert stored(session)["originator"] == "Harbour"
    client.post("/admin/settings", data=settings_form(originator=""))
    assert "originator" not in stored(session)
    assert [e.details["changes"]["originator"] for e in audits(session, "settings.changed")] == [
        ["", "Harbour"],
        ["Harbour", ""],
    ]


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"comment_types": "  \n "}, "comment_types", "at least one comment type"),
        ({"comment_types": "SMS\nCall\nsms"}, "comment_types", "listed more than once"),
        ({"comment_types": "A" * 61}, "comment_types", "longer than 60 characters"),
        ({"default_region": "ZZ"}, "default_region", "two-letter region code"),
        ({"default_region": "Australia"}, "default_region", "two-letter region code"),
        ({"originator": "HarbourMining"}, "originator", "up to 11 letters and digits"),
        ({"originator": "Harbour!"}, "originator", "up to 11 letters and digits"),
        (
            {"unmatched_reply_address": "replies.example.com"},
            "unmatched_reply_address",
            "email address",
        ),
        (
            {"originator": "SMS\r\nDesk"},
            "originator",
            (
                "Sender ID (originator) must be one line of plain text: "
                "remove the line break, carriage return."
            ),
        ),
        (
            {"comment_types": "SMS\nCall\x1b"},
            "comment_types",
            "Comment types cannot hold control characters: remove the U+001B.",
        ),
        (
            {"comment_types": "\n".join(f"Type {n}" for n in range(300))},
            "comment_types",
            "Keep the list to 2,000 characters.",
        ),
    ],
)
def test_bad_settings_are_refused_on_the_form_and_nothing_is_stored(
    client, admin, session, overrides, field, message
):
    response = client.post("/admin/settings", data=settings_form(**overrides))
    assert_refused(response, field, message)
    assert stored(session) == {}
    assert audits(session, "settings.changed") == []


# --- the settings on the SMS screen --------------------------------------------------------------


def test_suppress_add_comment_removes_the_comment_box(client, admin, make_candidate):
    ada = make_candidate()
    assert "<legend>Comment</legend>" in sms_screen(client, ada)
    client.post("/admin/settings", data=settings_form(suppress_add_comment="y"))
    page = sms_screen(client, ada)
    assert "<legend>Comment</legend>" not in page and 'name="comment"' not in page


def test_comment_types_fill_the_comment_type_select(client, admin, make_candidate):
    ada = make_candidate()
    client.post("/admin/settings", data=settings_form(comment_types="Call\nSMS sent\nFollow-up"))
    select = re.search(
        r'<select id="comment_type".*?</select>', sms_screen(client, ada), re.S
    ).group(0)
    assert re.findall(r"<option[^>]*>(.*?)</option>", select) == ["Call", "SMS sent", "Follow-up"]


# --- blocked countries ---------------------------------------------------------------------------


def test_blocking_finland_blocks_a_finnish_number_and_unblocking_restores_it(
    client, admin, session, make_candidate
):
    mika = make_candidate("Mika", "Virtanen", FINNISH)
    assert outcome_counts(sms_screen(client, mika)) == {"ok": 1}

    response = client.post(
        "/admin/settings/blocked",
        data={"provider": "smscentral", "region": "fi", "reason": "Fraud wave on Finnish routes"},
    )
    assert response.status_code == 302
    row = blocked_row(session, "smscentral", "FI")
    assert (row.name, row.reason) == ("Finland", "Fraud wave on Finnish routes")
    assert row.effective_date is not None
    [added] = audits(session, "blocked_region.added")
    assert added.details["reason"] == "Fraud wave on Finnish routes" and added.actor_id == admin.id
    assert outcome_counts(sms_screen(client, mika)) == {"ok": 0, "blocked_country": 1}
    listed = text(client.get("/admin/settings"))
    assert (
        'Remove<span class="visually-hidden"> Finland (FI) from the SMS Central list</span>'
        in listed
    )

    confirm = text(client.get(f"/admin/settings/blocked/{row.id}/remove"))
    assert '<label for="reason">Reason for removing</label>' in confirm
    response = client.post(
        f"/admin/settings/blocked/{row.id}/remove", data={"reason": "Routes fixed"}
    )
    assert response.status_code == 302
    assert blocked_row(session, "smscentral", "FI") is None
    [removed] = audits(session, "blocked_region.removed")
    assert removed.details == {
        "provider": "smscentral",
        "region": "FI",
        "name": "Finland",
        "reason": "Routes fixed",
    }
    assert outcome_counts(sms_screen(client, mika)) == {"ok": 1}


def test_the_twilio_list_does_not_apply_to_the_sandbox(client, admin, session, make_candidate):
    mika = make_candidate("Mika", "Virtanen", FINNISH)
    client.post(
        "/admin/settings/blocked",
        data={"provider": "twilio", "region": "FI", "reason": "Twilio only"},
    )
    assert blocked_row(session, "twilio", "FI") is not None
    assert outcome_counts(sms_screen(client, mika)) == {"ok": 1}
    assert "No country is blocked for Twilio." not in text(client.get("/admin/settings"))


@pytest.mark.parametrize(
    "form, field, message",
    [
        (
            {"provider": "smscentral", "region": "AX", "reason": "again"},
            "region",
            "already blocked",
        ),
        (
            {"provider": "smscentral", "region": "QQ", "reason": "x"},
            "region",
            "two-letter region code",
        ),
        (
            {"provider": "smscentral", "region": "", "reason": "x"},
            "region",
            "two-letter region code like FI",
        ),
        ({"provider": "smscentral", "region": "FI", "reason": ""}, "reason", "Say why"),
        ({"provider": "nowhere", "region": "FI", "reason": "x"}, "provider", "Not a valid choice"),
    ],
)
def test_bad_blocked_country_is_refused_on_its_form(client, admin, session, form, field, message):
    response = client.post("/admin/settings/blocked", data=form)
    assert_refused(response, field, message)
    assert blocked_row(session, "smscentral", "FI") is None
    assert audits(session, "blocked_region.added") == []


def test_a_long_s_is_no_s_in_a_blocked_country_code(client, admin, session):
    """A long s upper-cases to S: "ſt" would be ST (São Tomé and Príncipe), never typed."""
    form = {"provider": "smscentral", "region": "ſt", "reason": "x"}
    response = client.post("/admin/settings/blocked", data=form)
    assert_refused(response, "region", "“ſt” is not a two-letter region code")
    assert blocked_row(session, "smscentral", "ST") is None


@pytest.mark.parametrize("name", ["", "\u200b", " \ufeff\u200b "], ids=["empty", "zw", "mixed"])
def test_a_country_name_that_shows_nothing_is_the_usual_name(client, admin, session, name):
    response = client.post(
        "/admin/settings/blocked",
        data={"provider": "smscentral", "region": "FI", "reason": "Fraud", "name": name},
    )
    assert response.status_code == 302
    assert blocked_row(session, "smscentral", "FI").name == "Finland"
    assert "Finland (FI)" in text(client.get("/admin/settings"))


@pytest.mark.parametrize("reason", ["  ", "\u200b"], ids=["spaces", "zero-width"])
def test_removing_needs_a_reason(client, admin, session, reason):
    kz = blocked_row(session, "smscentral", "KZ")
    response = client.post(f"/admin/settings/blocked/{kz.id}/remove", data={"reason": reason})
    assert_refused(response, "reason", "Say why")
    assert blocked_row(session, "smscentral", "KZ") is not None
    assert audits(session, "blocked_region.removed") == []


def test_removing_an_unknown_row_is_404(client, admin):
    assert client.get("/admin/settings/blocked/999999/remove").status_code == 404
    assert (
        client.post("/admin/settings/blocked/999999/remove", data={"reason": "x"}).status_code
        == 404
    )


@pytest.mark.parametrize(
    "url, data, section",
    [
        ("/admin/settings", settings_form(default_region="ZZ"), "SMS"),
        ("/admin/settings/two-factor", {"roles": "no-such-role"}, "Two-factor sign-in"),
        ("/admin/settings/limits", {"org_daily_limit": "lots"}, "Sending limits"),
        ("/admin/settings/confirmation", {"confirm_over": "lots"}, "Confirmation before big sends"),
        ("/admin/settings/quiet-hours", {"quiet_hours": "25:00-08:00"}, "Quiet hours"),
        (
            "/admin/settings/blocked",
            {"provider": "smscentral", "region": "ZZ", "reason": "x"},
            "Block a country",
        ),
    ],
)
def test_a_refused_section_takes_the_focus_on_the_long_page(client, admin, url, data, section):
    """The page came back at its top, the refusal thousands of pixels below with nothing in view
    saying so: the refused section's message now takes the focus, so it scrolls into view."""
    response = client.post(url, data=data)
    assert response.status_code == 400
    page = parse(text(response))
    [focused] = [node for node in page.iter() if "autofocus" in node.attrs]
    assert focused.get("role") == "alert" and focused.get("tabindex") == "-1"
    heading = focused
    while heading.tag != "section" or heading.get("aria-labelledby") is None:
        heading = heading.parent
    assert page.one(id=heading.get("aria-labelledby")).text.startswith(section)
    assert "autofocus" not in text(client.get("/admin/settings"))
