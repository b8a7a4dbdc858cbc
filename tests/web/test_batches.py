"""The batch page (/sms/batches/<id>): counts per state, a progress bar, polling while unfinished
and only then, the #progress fragment for htmx; the Resend flow with its permission gates; and the
sandbox gateway's window (/sandbox)."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from tests import delivery
from tests.conftest import Browser
from tests.delivery import element, elements, messages, queue
from tests.html_tree import html as tree
from tests.html_tree import parse
from tests.pages import audits
from webapp import config as settings
from webapp import create_app
from webapp.models import Message, Permission, Role, utcnow
from webapp.sms import outbox
from webapp.sms.providers.sandbox import Sandbox
from webapp.sms.reconcile import ReconcileSettings
from webapp.times import when

STATE_COUNT = re.compile(r'<span class="pill state state-(\w+)">\1</span> ([\d,]+)</a>')


def dispatch(app, **settings_) -> None:
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1), **settings_).run(
        once=True
    )


@pytest.fixture
def my_batch(login, session, three_people):
    """A batch the signed-in consultant sent, not yet dispatched."""
    user = login("consultant")
    return queue(session, user, three_people, provider="sandbox")


def others_batch(app, session, make_user, people):
    """Another consultant's batch to `people`, through the sandbox."""
    batch = queue(session, make_user(role="consultant"), people, provider="sandbox")
    dispatch(app)
    return batch


def marks(session, batch) -> list[tuple]:
    """What a resend may change on each message of `batch`."""
    return [(m.id, m.state, m.superseded) for m in messages(session, batch)]


def resend_form(client, batch) -> dict[str, str]:
    """The Resend confirmation's hidden fields (what it offered), as the page posts them."""
    page = tree(client.get(f"/sms/batches/{batch.id}/resend"))
    return {
        field.get("name"): field.get("value")
        for field in page.all("input", type="hidden")
        if field.get("name") != "csrf_token"
    }


def refused_resend(client, batch, reason: str):
    """Resend of the failed with a new Ignore and `reason`, answered 400: the page."""
    response = client.post(
        f"/sms/batches/{batch.id}/resend",
        data={"states": "failed", "ignore": "1", "ignore_reason": reason},
    )
    assert response.status_code == 400
    return tree(response)


def page(client, batch, **kwargs):
    response = client.get(f"/sms/batches/{batch.id}", **kwargs)
    assert response.status_code == 200, response.data
    return response.get_data(as_text=True)


def state_counts(html: str) -> dict[str, int]:
    return {state: int(n.replace(",", "")) for state, n in STATE_COUNT.findall(html)}


def progressbar(html: str) -> dict:
    return element(html, "div", role="progressbar")


def progress_section(html: str) -> dict:
    return element(html, "section", id="progress")


# --- progress ------------------------------------------------------------------------------------


def test_a_new_batch_shows_every_message_queued_and_an_empty_progressbar(client, my_batch):
    html = page(client, my_batch)

    assert state_counts(html) == {"queued": 3}
    bar = progressbar(html)
    assert bar["aria-valuenow"] == "0"
    assert bar["aria-valuemin"] == "0" and bar["aria-valuemax"] == "100"
    assert "0 of 3 finished" in html


@pytest.mark.parametrize(("people", "to"), [(1, "1 candidate"), (3, "3 candidates")])
def test_the_batch_says_how_many_it_went_to_in_words_that_agree(
    client, login, session, three_people, people, to
):
    batch = queue(session, login("consultant"), three_people[:people], provider="sandbox")

    details = tree(client.get(f"/sms/batches/{batch.id}")).one("dl", class_="details")

    items = details.elements  # each <dt>, then its <dd>
    [shown] = [items[n + 1].text for n, dt in enumerate(items) if (dt.tag, dt.text) == ("dt", "To")]
    assert shown == to


def test_the_batch_page_shows_the_count_per_state_and_the_share_finished(app, client, my_batch):
    dispatch(app)

    html = page(client, my_batch)

    assert state_counts(html) == {"sent": 1, "failed": 1, "unknown": 1}
    assert progressbar(html)["aria-valuenow"] == "66"  # failed and unknown are final; sent is not
    assert "2 of 3 finished" in html
    assert "Sandbox: numbers ending 0000 are rejected" in html  # the failure's reason


def test_while_messages_are_unfinished_the_progress_section_polls_every_2s(app, client, my_batch):
    dispatch(app)

    section = progress_section(page(client, my_batch))

    assert section["hx-trigger"] == "every 2s"
    assert section["hx-get"] == f"/sms/batches/{my_batch.id}"
    assert section["hx-swap"] == "outerHTML"


def test_once_every_message_is_final_the_progress_section_stops_polling(
    app, client, session, my_batch
):
    dispatch(app)
    outbox.deliver_sandbox(session, timedelta(0))
    delivery.no_longer_checked(session, my_batch)

    html = page(client, my_batch)

    section = progress_section(html)
    assert "hx-trigger" not in section and "hx-get" not in section
    assert state_counts(html) == {"delivered": 1, "failed": 1, "unknown": 1}
    assert progressbar(html)["aria-valuenow"] == "100"


def test_an_htmx_request_gets_only_the_progress_section(app, client, my_batch):
    dispatch(app)

    response = client.get(f"/sms/batches/{my_batch.id}", htmx=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "HX-Request" in response.headers.get("Vary", "")
    assert html.strip().startswith('<section id="progress"')
    assert html.strip().endswith("</section>")
    assert "<html" not in html and "<h1" not in html and "Sent by" not in html
    assert progress_section(html)["hx-trigger"] == "every 2s"
    assert state_counts(html) == {"sent": 1, "failed": 1, "unknown": 1}


def test_a_plain_get_returns_the_whole_page_with_one_progress_section(client, my_batch):
    full = page(client, my_batch)
    assert "<html" in full and "<h1" in full
    assert len(elements(full, "section", id="progress")) == 1


def test_an_unknown_message_being_checked_with_the_gateway_keeps_the_page_refreshing(
    app, client, session, my_batch
):
    # Reconciliation settles unknown messages by itself: the page shows it, not a stale "unknown".
    dispatch(app)
    outbox.deliver_sandbox(session, timedelta(0))

    html = client.get(f"/sms/batches/{my_batch.id}", htmx=True).get_data(as_text=True)

    assert state_counts(html) == {"delivered": 1, "failed": 1, "unknown": 1}
    section = progress_section(html)
    assert (
        section["hx-trigger"] == "every 10s" and section["hx-get"] == f"/sms/batches/{my_batch.id}"
    )
    assert "1 unknown message is being checked with the gateway" in html
    assert "live-status" not in html  # not announced as finished while it may still change


def test_a_batch_with_every_message_final_and_none_unknown_does_not_poll(
    app, client, session, login, make_candidate
):
    user = login("consultant")
    batch = queue(
        session,
        user,
        [
            make_candidate("Ada", "Lovelace", "0412 345 678"),
            make_candidate("Bob", "Brown", "0412 340 000"),
        ],
        provider="sandbox",
    )
    dispatch(app)
    outbox.deliver_sandbox(session, timedelta(0))

    html = page(client, batch)

    assert state_counts(html) == {"delivered": 1, "failed": 1}
    section = progress_section(html)
    assert "hx-trigger" not in section and "hx-get" not in section
    assert "being checked" not in html and "— done" in html


def test_the_last_poll_announces_the_finished_batch_out_of_band(app, client, session, my_batch):
    dispatch(app)
    outbox.deliver_sandbox(session, timedelta(0))
    delivery.no_longer_checked(session, my_batch)

    html = client.get(f"/sms/batches/{my_batch.id}", htmx=True).get_data(as_text=True)

    status = element(html, "div", id="live-status")
    assert status["hx-swap-oob"] == "innerHTML"
    assert "1 delivered, 2 not delivered" in html


# --- Resend --------------------------------------------------------------------------------------


def test_the_resend_page_warns_that_unknown_messages_may_already_have_arrived(
    app, client, my_batch
):
    dispatch(app)

    response = client.get(f"/sms/batches/{my_batch.id}/resend")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "may already have arrived" in html
    assert element(html, "input", name="states", value="failed") is not None
    unknown_box = element(html, "input", name="states", value="unknown")
    assert "checked" not in unknown_box  # resending unknown ones is an explicit choice
    assert unknown_box["aria-describedby"] == "unknown-warning"


def test_resending_the_failed_messages_queues_new_ones_and_marks_the_originals(
    app, client, session, my_batch
):
    dispatch(app)
    before = {m.id: m.state for m in messages(session, my_batch)}

    response = client.post(f"/sms/batches/{my_batch.id}/resend", data={"states": "failed"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/sms/batches/{my_batch.id}")
    rows = messages(session, my_batch)
    originals = [m for m in rows if m.id in before]
    new = [m for m in rows if m.id not in before]
    [failed] = [m for m in originals if m.state == "failed"]
    assert failed.superseded is True
    assert [m.superseded for m in originals if m.state != "failed"] == [False, False]
    assert len(new) == 1
    [copy] = new
    assert copy.state == "queued"
    assert copy.resend_of_id == failed.id
    assert copy.uuid != failed.uuid
    assert (copy.to_e164, copy.body, copy.candidate_id) == (
        failed.to_e164,
        failed.body,
        failed.candidate_id,
    )
    [event] = audits(session, "sms.resent")
    assert (event.subject_type, event.subject_id) == ("batch", my_batch.id)
    assert event.actor_id == my_batch.sender_id
    assert event.details["messages"] == 1
    # The page counts the new copy instead of the superseded original.
    assert state_counts(page(client, my_batch)) == {"queued": 1, "sent": 1, "unknown": 1}


def test_a_states_list_leaves_out_the_messages_resent_as_its_count_does(
    app, client, session, my_batch
):
    """ "failed 1" listed the resent original too once its copy had failed again: 2 rows."""
    dispatch(app)
    client.post(f"/sms/batches/{my_batch.id}/resend", data={"states": "failed"})
    session.rollback()
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == my_batch.id, Message.state == "queued")
        .values(state="failed")
    )
    session.commit()
    assert state_counts(page(client, my_batch))["failed"] == 1

    listed = parse(page(client, my_batch, query_string={"state": "failed"}))

    [row] = listed.one("table", class_="messages").one("tbody").all("tr")
    assert "(resent)" not in row.text


def test_a_state_with_no_message_in_it_says_so_not_an_empty_table(client, my_batch):
    # Followed from "unknown 4" after they settled, or typed: a table of headings and no rows.
    shown = parse(page(client, my_batch, query_string={"state": "rejected"}))

    assert shown.all("table", class_="messages") == []
    said = shown.one("p", id="no-messages")
    assert said.text == "No message is rejected now. Show all"
    assert said.one("a").get("href") == f"/sms/batches/{my_batch.id}"


def test_resend_pressed_twice_resends_once_even_when_the_copies_failed_meanwhile(
    app, client, session, my_batch
):
    """The second press found the first press's copies failed already (a slow network), and
    queued them again: one confirmation, two resends."""
    dispatch(app)
    url = f"/sms/batches/{my_batch.id}/resend"
    form = resend_form(client, my_batch) | {"states": "failed"}

    assert client.post(url, data=form).status_code == 303
    dispatch(app)  # the copy fails as its original did
    again = client.post(url, data=form)

    assert again.status_code == 303
    rows = messages(session, my_batch)
    assert len(rows) == 4  # three originals and one copy
    [copy] = [m for m in rows if m.resend_of_id is not None]
    assert (copy.state, copy.superseded) == ("failed", False)
    assert len(audits(session, "sms.resent")) == 1
    # The second press's answer is the one the user sees: what the first did, not "nothing".
    shown = tree(client.get(again.headers["Location"])).text
    assert "Already resent: 1 message was queued again (by your first press)." in shown
    assert "Nothing was resent" not in shown
    # Resend opened afresh offers the copy.
    newer = resend_form(client, my_batch)
    assert int(newer["upto"]) == copy.id
    assert client.post(url, data=newer | {"states": "failed"}).status_code == 303
    assert len(messages(session, my_batch)) == 5


def test_a_resend_long_after_the_copies_were_made_says_nothing_was_resent(
    app, client, session, my_batch
):
    """Only a press just after this user's copies is the first press again: later, the page
    offered messages resent or settled meanwhile, and says so."""
    dispatch(app)
    url = f"/sms/batches/{my_batch.id}/resend"
    form = resend_form(client, my_batch) | {"states": "failed"}
    assert client.post(url, data=form).status_code == 303
    session.rollback()
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == my_batch.id, Message.resend_of_id.is_not(None))
        .values(created_at=utcnow() - timedelta(minutes=3))
    )
    session.commit()

    again = client.post(url, data=form)

    assert again.status_code == 303
    shown = tree(client.get(again.headers["Location"])).text
    assert "Nothing was resent: the messages this page offered were resent or settled" in shown
    assert "Already resent" not in shown
    assert len(messages(session, my_batch)) == 4


def test_a_message_that_failed_after_the_page_opened_is_not_resent_unoffered(
    app, client, session, my_batch
):
    """The page offered 1 failed; another failed before Resend was pressed, and both went."""
    dispatch(app)
    form = resend_form(client, my_batch) | {"states": "failed"}
    session.execute(
        sa.update(Message)
        .where(Message.batch_id == my_batch.id, Message.state == "sent")
        .values(state="failed")
    )
    session.commit()

    refused = client.post(f"/sms/batches/{my_batch.id}/resend", data=form)

    assert refused.status_code == 409
    page = tree(refused)
    assert "changed since this page was opened" in page.one("p", class_="error").text
    assert "2" in page.one("input", name="states", value="failed").parent.text  # as it is now
    assert [(state, superseded) for _, state, superseded in marks(session, my_batch)] == [
        ("failed", False),
        ("failed", False),
        ("unknown", False),
    ]
    assert audits(session, "sms.resent") == []
    # Pressed again on the page as it is now, both go.
    again = {f.get("name"): f.get("value") for f in page.all("input", type="hidden")}
    response = client.post(f"/sms/batches/{my_batch.id}/resend", data=again | {"states": "failed"})
    assert response.status_code == 303
    [event] = audits(session, "sms.resent")
    assert event.details["messages"] == 2


def test_resending_with_nothing_chosen_is_400_and_queues_nothing(app, client, session, my_batch):
    dispatch(app)
    before = marks(session, my_batch)

    response = client.post(f"/sms/batches/{my_batch.id}/resend", data={})

    assert response.status_code == 400
    assert "Choose which messages to resend" in response.get_data(as_text=True)
    assert marks(session, my_batch) == before
    assert audits(session, "sms.resent") == []


def test_resending_only_states_the_page_never_offers_is_400_not_settled_meanwhile(
    app, client, session, my_batch
):
    """A hand-made or out-of-date form: "delivered" is not resendable, so nothing was chosen."""
    dispatch(app)
    before = marks(session, my_batch)

    response = client.post(
        f"/sms/batches/{my_batch.id}/resend",
        data=resend_form(client, my_batch) | {"states": "delivered"},
    )

    assert response.status_code == 400
    page = tree(response)
    assert "Choose which messages to resend" in page.one("p", class_="error").text
    assert "settled meanwhile" not in response.get_data(as_text=True)
    assert marks(session, my_batch) == before
    assert audits(session, "sms.resent") == []


def resend_statuses(client, batch) -> tuple[int, int]:
    """What the Resend page, and a Resend of the failed messages, answer."""
    url = f"/sms/batches/{batch.id}/resend"
    return client.get(url).status_code, client.post(url, data={"states": "failed"}).status_code


def test_a_viewer_cannot_resend(app, client, session, login, make_user, three_people):
    batch = others_batch(app, session, make_user, three_people)
    login("viewer")
    before = marks(session, batch)

    assert resend_statuses(client, batch) == (403, 403)
    assert marks(session, batch) == before


def test_a_consultant_cannot_see_or_resend_another_consultants_batch(
    app, client, session, login, make_user, three_people
):
    batch = others_batch(app, session, make_user, three_people)
    login("consultant")
    before = marks(session, batch)

    assert client.get(f"/sms/batches/{batch.id}").status_code == 404
    assert client.get(f"/sms/batches/{batch.id}", htmx=True).status_code == 404
    assert resend_statuses(client, batch) == (404, 404)
    assert marks(session, batch) == before


def test_a_team_leader_may_look_at_another_consultants_batch(
    app, client, session, login, make_user, three_people
):
    batch = queue(session, make_user(role="consultant"), three_people, provider="sandbox")
    login("team-leader")

    assert state_counts(page(client, batch)) == {"queued": 3}


def test_a_team_leader_cannot_resend_another_consultants_batch_nor_is_offered_it(
    app, client, session, login, make_user, three_people
):
    """The copies were the leader's: their daily limit counted them, and replies went to them."""
    batch = others_batch(app, session, make_user, three_people)
    login("team-leader")
    before = marks(session, batch)

    shown = parse(page(client, batch))
    assert shown.all(id="resend-link") == [] and shown.all(id="resend-checking") == []
    assert resend_statuses(client, batch) == (403, 403)
    said = client.get(f"/sms/batches/{batch.id}/resend").get_data(as_text=True)
    assert f"Only {batch.sender.full_name}, who sent it, can resend its messages." in said
    assert marks(session, batch) == before
    assert audits(session, "sms.resent") == []


def test_the_batch_page_needs_a_sign_in(client, session, make_user, three_people):
    batch = queue(session, make_user(), three_people, provider="sandbox")

    response = client.get(f"/sms/batches/{batch.id}")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- Resend of messages first sent under Ignore ---------------------------------------------------


@pytest.fixture
def under_ignore(app, session, make_candidate):
    """Send a batch under Ignore as `sender`: Ada is delivered; Olive, opted out and let through by
    Ignore, fails at the sandbox (…0000)."""

    def send(sender):
        batch, ada, olive = delivery.queue_under_ignore(
            session, sender, make_candidate, olive_mobile="0412 340 000", provider="sandbox"
        )
        dispatch(app)
        assert [
            (m.candidate_id, m.state, m.override_opt_out) for m in messages(session, batch)
        ] == [(ada.id, "sent", False), (olive.id, "failed", True)]
        return batch, olive

    return send


@pytest.fixture
def auditor(session):
    """A role that may send and read everyone's batches, but not ignore opt-outs."""
    wanted = ("sms.send", "audit.view")
    role = Role(
        name="auditor",
        permissions=list(session.scalars(sa.select(Permission).where(Permission.name.in_(wanted)))),
    )
    session.add(role)
    session.commit()
    return role


def resend_copies(session, batch) -> list:
    return [m for m in messages(session, batch) if m.resend_of_id is not None]


def test_the_resend_page_says_who_was_sent_under_ignore_and_offers_a_new_one_to_a_team_leader(
    client, login, under_ignore
):
    batch, _ = under_ignore(login("team-leader"))

    page = tree(client.get(f"/sms/batches/{batch.id}/resend"))

    note = page.one(id="opted-out-note").text
    assert "1 of these was sent under Ignore to a person who has still not ticked SMS" in note
    assert "skipped unless you tick Ignore opt-outs again and give a reason" in note
    assert page.one("input", name="ignore").get("value") == "1"
    assert page.one("label", for_="ignore_reason").text == "Reason for ignoring opt-outs"


def test_resending_without_a_new_ignore_skips_them_and_the_batch_page_says_so(
    client, login, session, under_ignore
):
    batch, _ = under_ignore(login("team-leader"))

    response = client.post(
        f"/sms/batches/{batch.id}/resend", data={"states": "failed"}, follow_redirects=True
    )

    assert response.status_code == 200
    said = " ".join(li.text for li in tree(response).all("li", class_="flash flash-warning"))
    assert "1 was skipped: sent under Ignore to a person who has still not ticked SMS" in said
    assert "needs Ignore again, with a reason" in said
    # Not blamed on a second press: the warning says why.
    info = " ".join(li.text for li in tree(response).all("li", class_="flash flash-info"))
    assert "Nothing was resent." in info and "meanwhile" not in info
    assert resend_copies(session, batch) == []
    [event] = audits(session, "sms.resent")
    assert (event.details["messages"], event.details["skipped_opted_out"]) == (0, 1)


@pytest.mark.parametrize("reason", ["", "   ", "r" * 501], ids=["empty", "spaces", "too-long"])
def test_a_new_ignore_without_a_usable_reason_is_refused_beside_the_field(
    client, login, session, under_ignore, reason
):
    batch, _ = under_ignore(login("team-leader"))

    page = refused_resend(client, batch, reason)
    field = page.one("input", id="ignore_reason")
    assert field.get("aria-invalid") == "true"
    error = page.one(id="ignore-reason-error")
    assert error in field.parent.elements
    assert ("reason for ignoring opt-outs" if reason.strip() == "" else "at most 500") in error.text
    assert "checked" in page.one("input", name="ignore").attrs  # kept ticked, to add the reason
    assert resend_copies(session, batch) == []


@pytest.mark.parametrize(
    "reason", ["Asked again\r\nby phone", "Asked\x1b again"], ids=["line-break", "escape"]
)
def test_a_new_ignore_reason_with_control_characters_is_refused_beside_the_field(
    client, login, session, under_ignore, reason
):
    batch, _ = under_ignore(login("team-leader"))

    page = refused_resend(client, batch, reason)
    assert page.one("input", id="ignore_reason").get("aria-invalid") == "true"
    assert "one line of plain text" in page.one(id="ignore-reason-error").text
    assert resend_copies(session, batch) == []


def test_a_new_ignore_with_a_reason_resends_with_the_override_and_audits_it(
    client, login, session, under_ignore
):
    lead = login("team-leader")
    batch, olive = under_ignore(lead)

    response = client.post(
        f"/sms/batches/{batch.id}/resend",
        data={"states": "failed", "ignore": "1", "ignore_reason": "She asked again by phone"},
    )

    assert response.status_code == 303
    [copy] = resend_copies(session, batch)
    assert (copy.candidate_id, copy.override_opt_out, copy.state) == (olive.id, True, "queued")
    event = audits(session, "sms.ignore_opt_out")[-1]
    assert (event.actor_id, event.subject_id, event.details["reason"]) == (
        lead.id,
        batch.id,
        "She asked again by phone",
    )
    assert event.details["people"] == [[olive.id, olive.mobile_e164]]


def test_without_the_permission_they_are_skipped_and_ignore_is_refused(
    client, session, login, auditor, under_ignore
):
    """The sender may no longer ignore opt-outs (Resend is only theirs)."""
    lead = login("team-leader")
    batch, _ = under_ignore(lead)
    lead.roles = [auditor]
    session.commit()

    page = tree(client.get(f"/sms/batches/{batch.id}/resend"))
    assert "They will be skipped" in page.one(id="opted-out-note").text
    assert page.all("input", name="ignore") == [] and page.all(id="ignore_reason") == []

    refused = client.post(
        f"/sms/batches/{batch.id}/resend",
        data={"states": "failed", "ignore": "1", "ignore_reason": "urgent"},
    )
    assert refused.status_code == 403
    assert resend_copies(session, batch) == []

    skipped = client.post(
        f"/sms/batches/{batch.id}/resend", data={"states": "failed"}, follow_redirects=True
    )
    assert "1 was skipped" in skipped.get_data(as_text=True)
    assert resend_copies(session, batch) == []


# --- /sandbox ------------------------------------------------------------------------------------


def test_the_sandbox_page_lists_sent_messages_newest_first(
    app, client, session, login, make_candidate
):
    app.config["SANDBOX"] = True
    user = login("consultant")
    ada = make_candidate("Ada", "Lovelace", "0412 345 678")
    queue(session, user, [ada], provider="sandbox", body="The older message")
    dispatch(app)
    queue(session, user, [ada], provider="sandbox", body="The newer message")
    dispatch(app)
    queue(session, user, [ada], provider="sandbox", body="Still waiting in the queue")

    response = client.get("/sandbox")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "The newer message" in html and "The older message" in html
    assert html.index("The newer message") < html.index("The older message")
    assert "Still waiting in the queue" not in html
    assert "+61412345678" in html


def test_the_sandbox_page_is_404_with_a_real_gateway(database_url, session, make_user):
    user = make_user(role="administrator")
    # Asked for, but no sandbox gateway: no sandbox.
    other = create_app(
        settings.testing_config(
            database_url, SMS_PROVIDER="smscentral", SANDBOX=True, DEMO_MODE=True
        )
    )
    other.test_client_class = Browser
    try:
        browser = other.test_client()
        assert browser.login(user.username).status_code == 302
        response = browser.get("/sandbox")
    finally:
        other.extensions["database"].engine.dispose()

    assert response.status_code == 404


def test_the_sandbox_page_is_there_with_the_sandbox_gateway(app, client, login):
    app.config["SANDBOX"] = True
    login("administrator")
    assert client.get("/sandbox").status_code == 200


# --- unknown Twilio messages wait for reconciliation before Resend is offered ---------------------


def test_resend_is_not_offered_for_unknown_twilio_messages_reconciliation_may_still_settle(
    app, client, session, login, three_people
):
    user = login("consultant")
    batch = delivery.unknown_batch(session, user, three_people[:2], "twilio", timedelta(minutes=2))
    until = when(
        max(m.updated_at for m in messages(session, batch)) + ReconcileSettings().give_up,
        ZoneInfo("Australia/Sydney"),
    )

    html = page(client, batch)
    assert "/resend" not in html
    assert (
        f"2 unknown messages are being checked with the gateway; Resend is offered for them "
        f"after {until}, if"
    ) in html
    resend_page = client.get(f"/sms/batches/{batch.id}/resend").get_data(as_text=True)
    assert elements(resend_page, "input", name="states", value="unknown") == []
    assert f"after {until}, if" in resend_page

    before = marks(session, batch)
    response = client.post(f"/sms/batches/{batch.id}/resend", data={"states": "unknown"})
    assert response.status_code == 400
    assert "still being checked with the gateway" in response.get_data(as_text=True)
    assert marks(session, batch) == before


def test_resend_is_offered_for_unknown_twilio_messages_once_reconciliation_gave_up(
    app, client, session, login, three_people
):
    user = login("consultant")
    batch = delivery.unknown_batch(
        session,
        user,
        three_people[:1],
        "twilio",
        ReconcileSettings().give_up + timedelta(minutes=1),
    )

    assert "Resend failed or unknown (1)" in page(client, batch)
    response = client.post(f"/sms/batches/{batch.id}/resend", data={"states": "unknown"})
    assert response.status_code == 303
    assert sorted(m.state for m in messages(session, batch)) == ["queued", "unknown"]


def test_unknown_sms_central_messages_may_be_resent_at_once(
    app, client, session, login, three_people
):
    """The copy keeps the reference: SMS Central refuses it (513) if the first one got through."""
    user = login("consultant")
    batch = delivery.unknown_batch(
        session, user, three_people[:1], "smscentral", timedelta(minutes=2)
    )

    html = page(client, batch)
    assert (
        "Resend failed or unknown (1)" in html
        and "being checked with the gateway; Resend" not in html
    )
    response = client.post(f"/sms/batches/{batch.id}/resend", data={"states": "unknown"})
    assert response.status_code == 303
    original, copy = messages(session, batch)
    assert copy.reference == original.reference and copy.state == "queued"
