"""Poison input on both databases: every form and query argument fed a NUL, line breaks and other
control characters, and overlong text, answers a 4xx at worst, never a 500 (PostgreSQL refuses NUL
in text); a gateway's reply holding such bytes is stored without them, never lost."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.fakes import FakeTwilio
from tests.html_tree import Node, html
from tests.replying import inbound, rows, twilio_inbound_form
from tests.web.test_route_walk import (  # noqa: F401  (fixtures: webhooks live)
    app_settings,
    fill,
)
from webapp.models import Email, InboundPart, Message, User
from webapp.sms import compose as sms_compose

NUL = "\x00"
CONTROLS = "a\r\nb\tc\x1b[2J\x7f\x85\u2028d"
OVERLONG = "x" * 5_000
# 100 characters typed, 200 once case-folded for searching ("ss"): fits a field of 100, and its
# search key must fit too.
WIDE = "ß" * 100
# Pages whose forms and query arguments are walked, signed in as an administrator.
PAGES = (
    "/candidates",
    "/contacts",
    "/candidates/{candidate}",
    "/contacts/{contact}",
    "/candidates/new",
    "/contacts/new",
    "/candidates/{candidate}/edit",
    "/contacts/{contact}/edit",
    "/sms/compose/{token}",
    "/sms/batches/{batch}",
    "/sms/batches/{batch}/resend",
    "/templates",
    "/templates/new",
    "/templates/{template}",
    "/replies/unmatched",
    "/sandbox",
    "/audit",
    "/profile",
    "/admin/users",
    "/admin/users/new",
    "/admin/users/{user}/edit",
    "/admin/roles",
    "/admin/settings",
    "/admin/settings/blocked/{blocked}/remove",
)
QUERY_ARGS = (
    "q",
    "tab",
    "next",
    "state",
    "folder",
    "inactive",
    "page",
    "kind",
    "candidate",
    "contact",
    "ids",
    "person",
    "actor",
    "action",
    "status",
    "location",
    "job",
    "client",
    "position",
    "created_from",
    "sort",
    "consent",
    "person_id",
    "date_from",
)
SIGNING_OUT = ("/logout", "sign-out")
HOOK = {"USER_NAME": "gateway", "PASSWORD": "gateway-secret"}  # the route walk's app's settings
signer = FakeTwilio(auth_token="twilio-token")


def push_parts(client, reference: str, texts: dict[int, str], fields: dict[int, dict]) -> None:
    """A long reply's parts as SMS Central pushes them (concatenation `reference`, a hex byte),
    each with its own `fields` over the usual ones; each must be taken."""
    for seq, text in texts.items():
        answer = client.get(
            "/webhooks/smscentral/inbound",
            query_string={
                **HOOK,
                "ORIGINATOR": "61412345678",
                "UDH": f"050003{reference}{len(texts):02X}{seq:02X}",
                "MESSAGE_TEXT": text,
                **fields[seq],
            },
        )
        assert (answer.status_code, answer.data) == (200, b"0")


def twilio_post(client, url: str, form: dict[str, str]):
    """`form` posted to `url` as Twilio posts it: signed for the URL the app sees."""
    return client.post(
        url,
        data=form,
        csrf=False,
        headers={"X-Twilio-Signature": signer.sign("http://localhost" + url, form)},
    )


class Walk:
    """Sends requests and keeps every one answered with a 5xx (or an exception, as tests raise)."""

    def __init__(self, client):
        self.client, self.failures, self.sent = client, [], 0

    def send(self, method: str, url: str, data: dict | None = None, note: str = "") -> int | None:
        self.sent += 1
        try:
            if method == "GET":
                response = self.client.get(url, query_string=data)
            else:
                response = self.client.post(url, data=data)
        except Exception as error:  # noqa: BLE001  (testing mode raises what would be a 500)
            self.failures.append((method, url, note, repr(error)[:300]))
            return None
        if response.status_code >= 500:
            self.failures.append((method, url, note, response.status_code))
        return response.status_code


def forms_of(
    page: Node,
) -> list[tuple[str, str, dict[str, str], list[str], list[tuple[str, dict]]]]:
    """(method, action, the values the page would send, names of the fields a user can change, and
    each submit button's (formaction, name=value))."""
    found = []
    for form in page.all("form"):
        controls = list(form.all()) + [
            node for node in page.all() if node.get("form") == form.get("id") and form.get("id")
        ]
        values: dict[str, str] = {}
        editable: list[str] = []
        buttons: list[tuple[str, dict]] = []
        for node in controls:
            name = node.get("name")
            kind = (node.get("type") or ("submit" if node.tag == "button" else "text")).lower()
            if node.tag in {"button", "input"} and kind == "submit":
                pressed = {name: node.get("value") or ""} if name else {}
                buttons.append((node.get("formaction") or "", pressed))
                continue
            if not name or node.tag not in {"input", "textarea", "select"}:
                continue
            if kind in {"button", "image", "reset", "file"}:
                continue
            if kind in {"checkbox", "radio"}:
                if node.get("checked") is not None:
                    values.setdefault(name, node.get("value") or "on")
                continue
            if node.tag == "textarea":
                values[name] = node.text
            elif node.tag == "select":
                options = node.all("option")
                chosen = [o for o in options if o.get("selected") is not None] or options
                values[name] = (
                    chosen[0].get("value")
                    if chosen and chosen[0].get("value") is not None
                    else chosen[0].text
                    if chosen
                    else ""
                )
            else:
                values[name] = node.get("value") or ""
            if name != "csrf_token":
                editable.append(name)
        method = (form.get("method") or "get").upper()
        found.append(
            (method, form.get("action") or "", values, list(dict.fromkeys(editable)), buttons)
        )
    return found


def test_no_form_field_or_query_argument_answers_500_whatever_it_holds(client, session, world):
    # The batch's sender: only they may open its Resend, whose form is walked too.
    admin = session.get(User, world["owner"])
    assert client.login(admin.username, PASSWORD).status_code == 302
    world["token"] = sms_compose.create_draft(
        session, admin, "candidates", [world["candidate"]]
    ).token
    walk = Walk(client)
    forms_seen = 0
    for template in PAGES:
        url = fill(template, world)
        for poison in (NUL, CONTROLS, OVERLONG):
            walk.send(
                "GET", url, {name: poison for name in QUERY_ARGS}, f"query args {poison[:6]!r}"
            )
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        for method, action, values, editable, buttons in forms_of(html(response)):
            if any(word in (action or url) for word in SIGNING_OUT) or not editable:
                continue
            forms_seen += 1
            # The form as Enter sends it, then as each of its buttons does (Preview, Send…).
            for number, (formaction, pressed) in enumerate([("", {}), *buttons]):
                target = formaction or action or url
                base = {**values, **pressed}
                status = walk.send(
                    method,
                    target,
                    {**base, **{name: NUL for name in editable}},
                    f"{url}: every field NUL",
                )
                if status not in (400, None):  # refused before it can reach the database
                    walk.failures.append((method, target, "every field NUL", status))
                for name in editable:
                    for poison in (NUL, CONTROLS, OVERLONG, WIDE) if number == 0 else (CONTROLS,):
                        walk.send(
                            method,
                            target,
                            {**base, name: poison},
                            f"{url} {pressed}: {name}={poison[:6]!r}",
                        )
    assert walk.failures == [], "\n".join(map(str, walk.failures))
    assert forms_seen >= 20 and walk.sent >= 300, (forms_seen, walk.sent)


def test_a_nul_in_a_path_is_refused_not_looked_up(client, session, make_user, world):
    admin = make_user(role="administrator")
    assert client.login(admin.username, PASSWORD).status_code == 302
    for path in ("/sms/compose/ab%00cd", "/sms/compose/ab%00cd/list/opted_out", "/candidates/1%00"):
        assert client.get(path).status_code in (400, 404), path


def test_signing_in_with_a_nul_or_a_line_break_in_the_username_is_refused_with_a_message(
    client, make_user
):
    make_user("casey")
    assert (
        client.post("/login", data={"username": "casey\x00", "password": PASSWORD}).status_code
        == 400
    )
    response = client.post("/login", data={"username": "casey\r\nx", "password": PASSWORD})
    assert response.status_code == 400
    assert "Username must be one line of plain text" in response.get_data(as_text=True)


# --- webhooks: the reply is kept, without the bytes -----------------------------------------------


def test_an_smscentral_reply_with_a_nul_and_control_characters_is_stored_without_them(
    client, session, ada
):
    response = client.get(
        "/webhooks/smscentral/inbound",
        query_string={
            **HOOK,
            "ORIGINATOR": "61412345678\x00",
            "RECIPIENT": "6140000\x000001",
            "ID": "SC-\x00100",
            "MESSAGE_TEXT": "Yes\x00, Tuesday\r\nsuits\x1b",
        },
    )

    assert (response.status_code, response.data) == (200, b"0")
    [reply] = inbound(session)
    assert reply.body == "Yes, Tuesday\nsuits"
    assert (reply.from_e164, reply.candidate_id) == ("+61412345678", ada.id)
    assert "\x00" not in reply.provider_message_id + reply.to_e164
    [email] = rows(session, Email)
    assert "\n" not in email.subject and "\x00" not in email.body


def test_a_long_smscentral_reply_whose_parts_hold_nul_is_stored_whole(client, session, ada):
    texts = {1: "Can start\x00 Monday ", 2: "if still\x00 open."}
    push_parts(client, "B7", texts, {seq: {"ID": f"SC-P{seq}"} for seq in texts})

    [reply] = inbound(session)
    assert reply.body == "Can start Monday if still open."
    assert all("\x00" not in part.text for part in rows(session, InboundPart))


def test_a_long_reply_whose_parts_carry_overlong_fields_is_stored_whole(client, session, ada):
    # Longer than the part's columns: PostgreSQL refused the part (a 500, pushed again in vain).
    fields = {
        1: {"ID": "SC-" + "1" * 100, "REFERENCE": "r" * 150},
        2: {"ID": "SC-" + "2" * 100, "ORIGINATOR": "61412345678" + " " * 30},
    }
    push_parts(client, "B8", {1: "Can start Monday ", 2: "if still open."}, fields)

    [reply] = inbound(session)
    assert (reply.body, reply.candidate_id) == ("Can start Monday if still open.", ada.id)
    parts = rows(session, InboundPart)
    assert [len(part.provider_message_id) for part in parts] == [64, 64]
    assert all(len(part.reference or "") <= 100 for part in parts)


def test_a_twilio_reply_with_a_nul_and_a_line_break_in_the_sender_is_stored(client, session, ada):
    form = twilio_inbound_form(From="+61412345678\r\n", Body="STOP\x00 please")
    response = twilio_post(client, "/webhooks/twilio/inbound", form)

    assert response.status_code == 200
    [reply] = inbound(session)
    assert (reply.body, reply.from_e164, reply.candidate_id) == (
        "STOP please",
        "+61412345678",
        ada.id,
    )


def test_receipts_with_a_nul_in_their_reference_are_answered_not_failed(client, session, ada):
    smscentral = client.get(
        "/webhooks/smscentral/receipt",
        query_string={**HOOK, "REFERENCE": "ab\x00cd", "ID": "X\x001", "STATUS": "DELIVRD"},
    )
    assert (smscentral.status_code, smscentral.data) == (200, b"0")

    form = {
        "MessageSid": "SM" + "c" * 32,
        "MessageStatus": "delivered\x00",
        "AccountSid": "AC" + "0" * 32,
    }
    twilio = twilio_post(client, "/webhooks/twilio/status?m=ab%00cd", form)
    assert twilio.status_code == 204
    assert session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
