"""The opt-out line of commercial messages through the web: the SMS screen shows it under the
Message as fixed text and counts it, the preview and Send carry it whatever the post says, a
commercial template forces it, the template editor marks templates commercial, and the
administrator sets the line on the Settings page (refused when it would not work; audited)."""

from __future__ import annotations

import re

import pytest

from tests.html_tree import html as tree
from tests.html_tree import parse
from tests.pages import assert_refused, audits, rows, text
from webapp.models import Batch, Message, Setting, SmsTemplate

LINE = "Reply STOP to opt out"
TOKEN = re.compile(r'/sms/compose/([^/"]+)/update')
ONE_PART = "x" * 150  # one part alone (160 at most); 172 characters with the line: two parts


@pytest.fixture
def consultant(login):
    return login("consultant")


@pytest.fixture
def alert(make_template, session) -> SmsTemplate:
    """A shared commercial template, "Job alert"."""
    template = make_template("Job alert", "New roles near you, {{first_name}}.")
    template.commercial = True
    session.commit()
    return template


def open_sms(client, person) -> str:
    response = client.get(f"/sms/compose?candidate={person.id}")
    assert response.status_code == 200, text(response)
    return TOKEN.search(text(response)).group(1)


def screen(client, token: str):
    response = client.get(f"/sms/compose/{token}")
    assert response.status_code == 200, text(response)
    return tree(response)


def counter_of(node) -> tuple[int, int]:
    output = node.one("output", id="sms-counter")
    return int(output.get("data-characters")), int(output.get("data-segments"))


def tick_commercial(client, token: str, message: str = ONE_PART, **form):
    """ "Commercial message" ticked without JavaScript: Update message, then the screen."""
    response = client.post(
        f"/sms/compose/{token}/update",
        data={"message": message, "commercial": "1", "action": "commercial", **form},
    )
    assert response.status_code == 303, text(response)
    assert response.headers["Location"].endswith("focus=commercial")
    return screen(client, token)


def send(client, token: str, **form):
    response = client.post(f"/sms/compose/{token}/send", data=form)
    assert response.status_code == 303, text(response)
    return response


def sent(session) -> tuple[Batch, list[str]]:
    [batch] = rows(session, Batch)
    return batch, [m.body for m in rows(session, Message)]


# --- the SMS screen ------------------------------------------------------------------------------


def test_the_line_shows_under_the_message_as_fixed_text_outside_the_textarea(
    client, consultant, ada
):
    token = open_sms(client, ada)
    before = screen(client, token)
    assert before.one("p", id="opt-out-line").text == ""
    assert counter_of(before) == (0, 0)

    page = tick_commercial(client, token, "New roles this week.")

    box = page.one("input", id="commercial")
    assert "checked" in box.attrs and "disabled" not in box.attrs
    assert box.parent.text == "Commercial message"
    line = page.one("p", id="opt-out-line")
    assert line.one("span", **{"class": "fixed-line"}).text == LINE
    assert page.one("textarea", id="message").text == "New roles this week."
    assert "opt-out-line" in page.one("textarea", id="message").get("aria-describedby").split()
    assert counter_of(page) == (len("New roles this week.\n" + LINE), 1)


def test_the_line_counts_a_one_part_text_as_two_parts(client, consultant, ada):
    token = open_sms(client, ada)
    plain = client.post(f"/sms/compose/{token}/counter", data={"message": ONE_PART}, htmx=True)
    assert counter_of(parse(text(plain))) == (150, 1)

    response = client.post(
        f"/sms/compose/{token}/counter", data={"message": ONE_PART, "commercial": "1"}, htmx=True
    )

    fragment = parse(text(response))
    assert counter_of(fragment) == (172, 2)
    # The line rides along out of band, so typing it into the text updates the note too.
    line = fragment.one("p", id="opt-out-line")
    assert line.get("hx-swap-oob") == "true"
    assert LINE in line.text


def test_the_preview_shows_the_line_after_the_text(client, consultant, ada):
    token = open_sms(client, ada)
    response = client.post(
        f"/sms/compose/{token}/preview",
        data={"message": "Hi {{first_name}}", "commercial": "1"},
        htmx=True,
    )
    assert response.status_code == 200
    bubble = parse(text(response)).one("blockquote", **{"class": "sms-bubble"})
    assert bubble.text == f"Hi Ada {LINE}"  # the tree reader joins the two lines with a space
    assert f"Hi Ada\n{LINE}" in text(response)


def test_typing_the_line_yourself_does_not_double_it(client, consultant, ada, session):
    token = open_sms(client, ada)
    typed = "New roles. reply  stop to OPT OUT"
    page = tick_commercial(client, token, typed)
    assert "already holds the opt-out line" in page.one("p", id="opt-out-line").text
    assert counter_of(page) == (len(typed), 1)

    send(client, token, message=typed, commercial="1")

    batch, bodies = sent(session)
    assert bodies == [typed]
    assert (batch.commercial, batch.opt_out_line) == (True, LINE)


def test_the_words_inside_the_text_are_not_the_line(client, consultant, ada, session):
    token = open_sms(client, ada)
    typed = "Do not reply STOP to opt out of anything."
    page = tick_commercial(client, token, typed)
    assert "already holds" not in page.one("p", id="opt-out-line").text
    assert counter_of(page)[0] == len(f"{typed}\n{LINE}")

    send(client, token, message=typed, commercial="1")

    assert sent(session)[1] == [f"{typed}\n{LINE}"]


# --- Send ----------------------------------------------------------------------------------------


def test_send_appends_the_line_and_the_batch_records_it(client, consultant, ada, session):
    token = open_sms(client, ada)
    send(client, token, message="Hi {{first_name}}", commercial="1")
    batch, bodies = sent(session)
    assert bodies == [f"Hi Ada\n{LINE}"]
    assert (batch.commercial, batch.opt_out_line) == (True, LINE)


def test_a_send_not_marked_commercial_has_no_line(client, consultant, ada, session):
    token = open_sms(client, ada)
    send(client, token, message="Hi {{first_name}}")
    batch, bodies = sent(session)
    assert bodies == ["Hi Ada"]
    assert (batch.commercial, batch.opt_out_line) == (False, None)


def test_the_administrators_line_is_the_one_shown_and_sent(client, consultant, ada, session):
    session.add(Setting(key="opt_out_line", value="Text QUIT to stop these"))
    session.commit()
    token = open_sms(client, ada)
    page = tick_commercial(client, token, "Hi")
    assert page.one("span", **{"class": "fixed-line"}).text == "Text QUIT to stop these"
    send(client, token, message="Hi", commercial="1")
    assert sent(session)[1] == ["Hi\nText QUIT to stop these"]


# --- a commercial template -----------------------------------------------------------------------


def use_template(client, token: str, template: SmsTemplate):
    response = client.post(
        f"/sms/compose/{token}/update",
        data={"message": "", "template_id": str(template.id), "action": "use_template"},
    )
    assert response.status_code == 303, text(response)
    return screen(client, token)


def test_a_commercial_template_ticks_the_box_for_good(client, consultant, ada, alert):
    token = open_sms(client, ada)
    page = use_template(client, token, alert)
    box = page.one("input", id="commercial")
    assert "checked" in box.attrs and "disabled" in box.attrs
    # A disabled box posts nothing: the hidden field posts it, and the server insists anyway.
    assert page.all("input", type="hidden", name="commercial", value="1")
    assert "template in use is commercial" in page.one(id="commercial-hint").text
    assert LINE in page.one("p", id="opt-out-line").text
    message = "New roles near you, {{first_name}}."
    assert counter_of(page)[0] == len(f"New roles near you, Ada.\n{LINE}")
    assert page.one("textarea", id="message").text == message


def test_unticking_while_a_commercial_template_is_in_use_changes_nothing(
    client, consultant, ada, alert
):
    token = open_sms(client, ada)
    use_template(client, token, alert)
    response = client.post(
        f"/sms/compose/{token}/update",
        data={"message": "New roles near you, {{first_name}}.", "action": "commercial"},
    )
    assert response.status_code == 303
    page = screen(client, token)
    assert "checked" in page.one("input", id="commercial").attrs
    assert LINE in page.one("p", id="opt-out-line").text


def test_a_post_that_drops_the_tick_still_sends_the_line_with_a_commercial_template(
    client, consultant, ada, alert, session
):
    token = open_sms(client, ada)
    use_template(client, token, alert)

    # Unticked by a crafted post: no "commercial" field at all.
    send(client, token, message="New roles near you, {{first_name}}.", template_id=str(alert.id))

    batch, bodies = sent(session)
    assert bodies == [f"New roles near you, Ada.\n{LINE}"]
    assert (batch.commercial, batch.opt_out_line, batch.template_id) == (True, LINE, alert.id)


@pytest.mark.parametrize("htmx", [False, True])
def test_another_template_after_a_commercial_one_takes_its_tick_away_too(
    client, consultant, ada, alert, make_template, htmx
):
    """The reminder's text went in, but Commercial stayed ticked, the line with it."""
    reminder = make_template("Interview reminder", "Your interview is at 10, {{first_name}}.")
    token = open_sms(client, ada)
    use_template(client, token, alert)

    chosen = client.post(
        f"/sms/compose/{token}/update",
        data={
            "message": "New roles near you, {{first_name}}.",
            "template_id": str(reminder.id),
            "action": "use_template",
            "commercial": "1",  # the hidden field the commercial template's screen posts
        },
        htmx=htmx,
    )

    assert chosen.status_code == (200 if htmx else 303), text(chosen)
    page = screen(client, token)
    box = page.one("input", id="commercial")
    assert "checked" not in box.attrs and "disabled" not in box.attrs
    assert (
        page.all("p", id="opt-out-line") == [] or LINE not in page.one("p", id="opt-out-line").text
    )


def test_a_tick_of_ones_own_stays_when_another_template_is_put_in(
    client, consultant, ada, make_template
):
    first = make_template("Shift reminder", "Your shift is at 7, {{first_name}}.")
    second = make_template("Interview reminder", "Your interview is at 10, {{first_name}}.")
    token = open_sms(client, ada)
    use_template(client, token, first)
    tick_commercial(client, token, message="Your shift is at 7, {{first_name}}.")

    client.post(
        f"/sms/compose/{token}/update",
        data={
            "message": "Your shift is at 7, {{first_name}}.",
            "template_id": str(second.id),
            "action": "use_template",
            "commercial": "1",
        },
    )

    page = screen(client, token)
    assert "checked" in page.one("input", id="commercial").attrs
    assert LINE in page.one("p", id="opt-out-line").text


def shown_fields(page) -> dict[str, str]:
    """What the screen says it showed: the template in use, and whether the line was shown."""
    return {
        name: page.one("input", type="hidden", name=name).get("value")
        for name in ("template_used", "line_shown")
    }


def test_a_template_made_commercial_after_the_screen_showed_it_is_not_sent_unseen(
    client, consultant, ada, alert, make_template, session
):
    """An administrator ticked Commercial on the template in use, in another tab: Send added
    the opt-out line the screen never showed. It asks first now, showing it."""
    reminder = make_template("Timesheet reminder", "Timesheets are due, {{first_name}}.")
    token = open_sms(client, ada)
    page = use_template(client, token, reminder)
    shown = shown_fields(page)
    assert shown == {"template_used": str(reminder.id), "line_shown": "0"}
    reminder.commercial = True
    session.commit()

    body = "Timesheets are due, {{first_name}}."
    refused = client.post(f"/sms/compose/{token}/send", data={"message": body, **shown})

    assert refused.status_code == 409
    page = tree(refused)
    assert "made commercial since this screen was shown" in page.one(id="message-error").text
    assert LINE in page.one("p", id="opt-out-line").text
    assert rows(session, Batch) == []
    send(client, token, message=body, commercial="1", **shown_fields(page))
    assert sent(session)[1] == [f"Timesheets are due, Ada.\n{LINE}"]


def test_another_template_put_in_from_a_second_tab_is_not_sent_under_this_ones_text(
    client, consultant, ada, alert, make_template, session
):
    """Tab 1 showed the reminder; tab 2 put in the commercial Job alert. Tab 1's Send went with
    the reminder's text, the line it never showed, and the batch naming Job alert."""
    reminder = make_template("Timesheet reminder", "Timesheets are due, {{first_name}}.")
    token = open_sms(client, ada)
    first_tab = shown_fields(use_template(client, token, reminder))
    use_template(client, token, alert)  # the second tab

    refused = client.post(
        f"/sms/compose/{token}/send",
        data={"message": "Timesheets are due, {{first_name}}.", **first_tab},
    )

    assert refused.status_code == 409
    assert (
        "Another tab or window put “Job alert” in this SMS meanwhile: check the message, then "
        "press Send again." in tree(refused).one(id="message-error").text
    )
    assert rows(session, Batch) == []


def test_after_another_tabs_template_a_commercial_ones_text_keeps_its_line_and_its_name(
    client, consultant, ada, make_template, session
):
    """Tab 1 put in a personal commercial template; tab 2 put in the reminder. Tab 1's Send was
    refused, and redrawn with its own text, but with the box ticked and enabled: unticked, the
    next Send went without the opt-out line, and the batch named the reminder."""
    promo = make_template(
        "Promo alert2", "Big sale this week, {{first_name}}.", owner=consultant, shared=False
    )
    promo.commercial = True
    session.commit()
    reminder = make_template("Timesheet reminder", "Timesheets are due, {{first_name}}.")
    token = open_sms(client, ada)
    first_tab = shown_fields(use_template(client, token, promo))
    use_template(client, token, reminder)  # the second tab

    refused = client.post(
        f"/sms/compose/{token}/send",
        data={
            "message": promo.body,
            "template_id": str(promo.id),
            "commercial": "1",  # the hidden field beside the disabled box
            **first_tab,
        },
    )

    assert refused.status_code == 409
    page = tree(refused)
    assert "put “Timesheet reminder” in" in page.one(id="message-error").text
    assert page.one("textarea", id="message").text == promo.body
    box = page.one("input", id="commercial")
    assert "checked" in box.attrs and "disabled" in box.attrs
    assert LINE in page.one("p", id="opt-out-line").text
    assert shown_fields(page) == {"template_used": str(promo.id), "line_shown": "1"}
    # Sent again from the redrawn screen, the box unticked (a crafted post: it is disabled).
    send(client, token, message=promo.body, template_id=str(promo.id), **shown_fields(page))

    batch, bodies = sent(session)
    assert bodies == [f"Big sale this week, Ada.\n{LINE}"]
    assert (batch.template_id, batch.commercial, batch.opt_out_line) == (promo.id, True, LINE)


@pytest.mark.parametrize("htmx", [False, True])
def test_no_template_after_a_commercial_one_keeps_its_text_commercial(
    client, consultant, ada, alert, session, htmx
):
    token = open_sms(client, ada)
    use_template(client, token, alert)
    body = "New roles near you, {{first_name}}."

    # "No template": the text stays, and so does the template it came from.
    chosen = client.post(
        f"/sms/compose/{token}/update",
        data={"message": body, "template_id": "", "action": "use_template", "commercial": "1"},
        htmx=htmx,
    )
    assert chosen.status_code == (200 if htmx else 303), text(chosen)
    # Then the box unticked (a crafted post: the screen keeps it disabled).
    client.post(
        f"/sms/compose/{token}/update", data={"message": body, "action": "commercial"}, htmx=htmx
    )
    page = screen(client, token)
    assert page.one("textarea", id="message").text == body
    box = page.one("input", id="commercial")
    assert "checked" in box.attrs and "disabled" in box.attrs
    assert "selected" in page.one("option", value=str(alert.id)).attrs
    assert LINE in page.one("p", id="opt-out-line").text

    send(client, token, message=body, template_id="")

    batch, bodies = sent(session)
    assert bodies == [f"New roles near you, Ada.\n{LINE}"]
    assert (batch.commercial, batch.opt_out_line) == (True, LINE)


def test_another_templates_text_in_its_place_lets_the_box_be_unticked(
    client, consultant, ada, alert, make_template, session
):
    thanks = make_template("Thanks", "Thanks for coming in, {{first_name}}.")
    token = open_sms(client, ada)
    use_template(client, token, alert)
    use_template(client, token, thanks)  # its text in place of the alert's

    client.post(
        f"/sms/compose/{token}/update",
        data={"message": thanks.body, "action": "commercial", "template_id": str(thanks.id)},
    )
    assert "checked" not in screen(client, token).one("input", id="commercial").attrs
    send(client, token, message=thanks.body, template_id=str(thanks.id))

    batch, bodies = sent(session)
    assert bodies == ["Thanks for coming in, Ada."]
    assert (batch.commercial, batch.opt_out_line) == (False, None)


def test_the_draft_keeps_the_tick_through_save(client, consultant, ada, session):
    token = open_sms(client, ada)
    response = client.post(
        f"/sms/compose/{token}/save", data={"message": "Hi", "commercial": "1"}, htmx=True
    )
    assert response.status_code == 204
    page = screen(client, token)
    assert "checked" in page.one("input", id="commercial").attrs
    assert LINE in page.one("p", id="opt-out-line").text


# --- the template editor -------------------------------------------------------------------------


def template_form(**fields) -> dict[str, str]:
    return {
        "name": "Job alert",
        "folder": "Alerts",
        "body": "New roles near you, {{first_name}}.",
        "record_type": "both",
        "active": "y",
        **fields,
    }


def test_a_template_marked_commercial_is_saved_audited_and_listed(client, login, session):
    login("team-leader")
    page = tree(client.get("/templates/new"))
    box = page.one("input", id="commercial")
    assert box.parent.text == "Commercial"
    assert page.one(id=box.get("aria-describedby")).text == (
        "job alerts and marketing: adds the opt-out line"
    )

    response = client.post("/templates/new", data=template_form(commercial="y"))

    assert response.status_code == 303, text(response)
    [template] = rows(session, SmsTemplate)
    assert template.commercial is True
    assert audits(session, "template.created")[0].details["commercial"] is True
    listing = tree(client.get("/templates"))
    [row] = [tr for tr in listing.all("tr") if "Job alert" in tr.text]
    assert "Commercial" in row.text

    client.post(f"/templates/{template.id}", data=template_form())
    assert rows(session, SmsTemplate)[0].commercial is False
    assert audits(session, "template.edited")[0].details["changes"] == {"commercial": [True, False]}


def test_the_template_editor_counts_and_previews_a_commercial_template_with_its_line(
    client, login, ada
):
    """It counted and showed the text alone: 150 characters as one SMS, that go as two."""
    login("team-leader")
    for commercial, characters, segments in ((None, 150, 1), ("y", 150 + 1 + len(LINE), 2)):
        counted = tree(
            client.post(
                "/templates/new",
                data=template_form(body=ONE_PART, action="counter", commercial=commercial),
                htmx=True,
            )
        )
        assert counter_of(counted) == (characters, segments)
    # The box itself asks for the count again (with JavaScript).
    box = tree(client.get("/templates/new")).one("input", id="commercial")
    assert (box.get("hx-trigger"), box.get("hx-vals")) == ("change", '{"action": "counter"}')

    shown = tree(
        client.post(
            "/templates/new",
            data=template_form(
                action="preview", preview_kind="candidate", preview_id=str(ada.id), commercial="y"
            ),
        )
    )
    assert shown.one("blockquote", class_="sms-bubble").children == [
        f"New roles near you, Ada.\n{LINE}"
    ]


def test_a_commercial_template_too_long_with_its_line_is_refused_not_saved(client, login, session):
    """Saved at 1,600 characters, it could never be sent: 1,622 with the line."""
    login("team-leader")
    response = client.post("/templates/new", data=template_form(body="x" * 1600, commercial="y"))

    assert_refused(
        response,
        "body",
        f"With the opt-out line a commercial message carries, the text is {1601 + len(LINE):,} "
        "characters; the gateway takes at most 1,600.",
    )
    assert rows(session, SmsTemplate) == []
    assert client.post("/templates/new", data=template_form(body="x" * 1600)).status_code == 303


# --- the setting ---------------------------------------------------------------------------------


def settings_form(**overrides) -> dict[str, str]:
    return {
        "comment_types": "SMS",
        "default_region": "",
        "originator": "",
        "unmatched_reply_address": "",
        **overrides,
    }


def test_the_administrator_sets_the_line_audited(client, login, session):
    login("administrator")
    page = tree(client.get("/admin/settings"))
    field = page.one("input", id="opt_out_line")
    assert "Reply STOP to opt out" in page.one(id="opt_out_line-hint").text
    assert field.get("value") in (None, "")

    response = client.post(
        "/admin/settings", data=settings_form(opt_out_line="  Text UNSUBSCRIBE to stop ")
    )

    assert response.status_code == 302, text(response)
    assert session.get(Setting, "opt_out_line").value == "Text UNSUBSCRIBE to stop"
    [event] = audits(session, "settings.changed")
    assert event.details["changes"] == {"opt_out_line": ["", "Text UNSUBSCRIBE to stop"]}


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("Reply NO to opt out", "must name a reply that opts out"),
        ("Reply STOP to opt out ✋", "remove ✋"),
        ("Reply STOP to opt out of all of these messages from our agency", "at most 60"),
    ],
)
def test_a_line_that_would_not_work_is_refused_beside_its_field(client, login, session, line, says):
    login("administrator")
    response = client.post("/admin/settings", data=settings_form(opt_out_line=line))
    assert_refused(response, "opt_out_line", says)
    session.rollback()
    assert session.get(Setting, "opt_out_line") is None
