"""Without JavaScript the batch page reloads itself (a <noscript> meta refresh) while messages are
on their way or still being checked, says so only while it does, lets the reader stop it, and stops
by itself once every message is final."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests import delivery
from tests.delivery import queue
from tests.html_tree import parse
from webapp.sms import outbox
from webapp.sms.providers.sandbox import Sandbox


def dispatch(app) -> None:
    delivery.dispatcher(app, Sandbox(), sandbox_delivery_after=timedelta(hours=1)).run(once=True)


@pytest.fixture
def batch(login, session, three_people):
    """Queued, not yet dispatched: through the sandbox one will be sent, one fail, one time out."""
    return queue(session, login("consultant"), three_people, provider="sandbox")


def get(client, batch, query: str = "", **kwargs):
    response = client.get(f"/sms/batches/{batch.id}{query}", **kwargs)
    assert response.status_code == 200, response.data
    return parse(response.get_data(as_text=True))


def reloads(page) -> list[str]:
    """The reload delays the page asks of a browser without JavaScript (meta refresh in the head,
    inside <noscript> so a browser running htmx polls instead)."""
    head = page.one("head")
    return [
        meta.get("content").split(";")[0]  # its seconds (then the address it reloads)
        for noscript in head.all("noscript")
        for meta in noscript.all("meta")
        if (meta.get("http-equiv") or "").lower() == "refresh"
    ]


def progress_text(page) -> str:
    return page.one("section", id="progress").one("h2").parent.all("p")[0].text


def test_while_messages_are_queued_the_page_reloads_every_5s_without_javascript(client, batch):
    page = get(client, batch)

    assert reloads(page) == ["5"]
    assert page.all("meta", **{"http-equiv": "refresh"})[0].parent.tag == "noscript"
    assert "updating by itself" in progress_text(page)
    stop = [a for a in page.all("a") if a.text == "Stop reloading"]
    assert [a.get("href") for a in stop] == [f"/sms/batches/{batch.id}?refresh=off"]
    # htmx asks for the progress alone and polls: that fragment carries no reload.
    fragment = client.get(f"/sms/batches/{batch.id}", htmx=True).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in fragment and 'hx-trigger="every 2s"' in fragment


def test_while_unknown_messages_are_checked_it_reloads_every_15s(app, client, session, batch):
    dispatch(app)
    outbox.deliver_sandbox(session, timedelta(0))  # delivered, failed, unknown: all final

    page = get(client, batch)

    assert reloads(page) == ["15"]
    assert "being checked with the gateway" in page.one("section", id="progress").text
    # Every message is final: the line says what it waits for, not "not finished yet".
    text = progress_text(page)
    assert text.endswith("— unknown ones still being checked, updating by itself"), text
    stopped = progress_text(get(client, batch, "?refresh=off"))
    assert "unknown ones still being checked: Reload to see what is found" in stopped, stopped
    assert "not finished yet" not in stopped


def test_once_every_message_is_final_the_page_stops_reloading(app, client, session, batch):
    assert reloads(get(client, batch)) == ["5"]
    dispatch(app)
    outbox.deliver_sandbox(session, timedelta(0))
    delivery.no_longer_checked(session, batch)

    page = get(client, batch)

    assert reloads(page) == []
    assert "refresh" not in str(page.one("head").all("meta"))
    text = progress_text(page)
    assert text.endswith("— done") and "updating by itself" not in text
    assert not [a for a in page.all("a") if a.text == "Stop reloading"]


def test_a_reader_who_stops_the_reloads_is_told_to_reload_and_keeps_it_stopped(
    app, client, session, batch
):
    dispatch(app)  # sent, failed, unknown: still on its way

    page = get(client, batch, "?refresh=off")

    assert reloads(page) == []
    text = progress_text(page)
    assert "updating by itself" not in text and "not finished yet" in text
    links = {a.text: a.get("href") for a in page.one("section", id="progress").all("a")}
    assert links["Reload"] == f"/sms/batches/{batch.id}?refresh=off"
    assert links["reload by itself"] == f"/sms/batches/{batch.id}"
    # Narrowing to one state keeps the reloads stopped.
    assert links["failed 1"] == f"/sms/batches/{batch.id}?state=failed&refresh=off"
    filtered = get(client, batch, "?state=failed&refresh=off")
    assert reloads(filtered) == []


def test_a_reader_who_stops_the_reloads_stops_htmx_polling_too(app, client, session, batch):
    """With ?refresh=off the page says reloading has stopped: with JavaScript on, it polled on."""
    dispatch(app)  # still on its way: the page would poll

    polling = get(client, batch).one("section", id="progress")
    stopped = get(client, batch, "?refresh=off").one("section", id="progress")

    assert polling.get("hx-trigger") == "every 2s" and polling.get("hx-get")
    assert stopped.get("hx-trigger") is None and stopped.get("hx-get") is None
    fragment = client.get(f"/sms/batches/{batch.id}?state=failed&refresh=off", htmx=True)
    assert "hx-trigger" not in fragment.get_data(as_text=True)


def test_the_sections_links_have_ids_and_its_heading_takes_the_focus(app, client, session, batch):
    """A refresh gives the focus back by id (the Reload links had none); a link no longer drawn
    leaves it on the heading (compose.js), which takes it."""
    dispatch(app)

    section = get(client, batch, "?refresh=off").one("section", id="progress")

    assert section.one("h2").get("id") == "progress-heading"
    assert section.one("h2").get("tabindex") == "-1"
    assert [a.text for a in section.all("a") if not a.get("id")] == []
    links = {a.get("id"): a.text for a in section.all("a")}
    assert (links["reload"], links["reload-by-itself"]) == ("Reload", "reload by itself")
