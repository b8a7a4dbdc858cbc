"""A batch's message list, 200 a page: Previous and Next under it keep the state chosen, a refresh
redraws the page shown, and a page past the last shows the last."""

from __future__ import annotations

import re

import sqlalchemy as sa

from tests.delivery import messages, queue_to_new_candidates
from tests.html_tree import parse
from webapp.models import Message


def page_of(client, batch_id: int, query: str = ""):
    response = client.get(f"/sms/batches/{batch_id}{query}")
    assert response.status_code == 200, response.data
    return parse(response.get_data(as_text=True))


def listed(page) -> list[int]:
    """The ids of the messages the page lists, in order."""
    table = page.one("table", **{"class": "messages"})
    return [
        int(re.fullmatch(r"message-(\d+)-person", link.get("id"))[1])
        for link in table.all("a")
        if link.get("id")
    ]


def pager(page) -> tuple[str, dict[str, str]]:
    """The pager's words and its links' addresses by their rel."""
    nav = page.one("nav", aria_label="Pages of messages")
    return nav.one("span").text, {a.get("rel"): a.get("href") for a in nav.all("a")}


def test_a_big_batch_lists_every_message_200_a_page(client, login, session):
    batch = queue_to_new_candidates(session, login("consultant"), 450, provider="sandbox")
    ids = [m.id for m in messages(session, batch)]
    url = f"/sms/batches/{batch.id}"

    first = page_of(client, batch.id)
    assert listed(first) == ids[:200]
    assert pager(first) == ("Messages 1 to 200 of 450", {"next": f"{url}?page=2"})
    # The refresh (htmx) asks for the page shown, not the first.
    assert first.one("section", id="progress").get("hx-get") == url

    second = page_of(client, batch.id, "?page=2")
    assert listed(second) == ids[200:400]
    assert pager(second) == (
        "Messages 201 to 400 of 450",
        {"prev": url, "next": f"{url}?page=3"},
    )
    assert second.one("section", id="progress").get("hx-get") == f"{url}?page=2"

    last = page_of(client, batch.id, "?page=3")
    assert listed(last) == ids[400:]
    assert pager(last) == ("Messages 401 to 450 of 450", {"prev": f"{url}?page=2"})
    # A page past the end (the list got shorter, a link typed) is the last; nonsense is the first.
    assert listed(page_of(client, batch.id, "?page=99")) == ids[400:]
    assert listed(page_of(client, batch.id, "?page=x")) == ids[:200]


def test_the_pages_keep_the_state_chosen(client, login, session):
    batch = queue_to_new_candidates(session, login("consultant"), 450, provider="sandbox")
    ids = [m.id for m in messages(session, batch)]
    failed = ids[::2]  # 225 of them
    session.execute(sa.update(Message).where(Message.id.in_(failed)).values(state="failed"))
    session.commit()
    url = f"/sms/batches/{batch.id}"

    first = page_of(client, batch.id, "?state=failed")
    assert listed(first) == failed[:200]
    assert pager(first) == ("Messages 1 to 200 of 225", {"next": f"{url}?state=failed&page=2"})

    second = page_of(client, batch.id, "?state=failed&page=2")
    assert listed(second) == failed[200:]
    assert pager(second) == ("Messages 201 to 225 of 225", {"prev": f"{url}?state=failed"})
    # Choosing another state starts at its first page.
    queued = page_of(client, batch.id, "?state=queued&page=2")
    assert listed(queued) == [i for i in ids if i not in set(failed)][200:]
    assert second.one("a", id="show-queued").get("href") == f"{url}?state=queued"


def test_a_batch_of_200_or_fewer_has_no_pager(client, login, session):
    batch = queue_to_new_candidates(session, login("consultant"), 200, provider="sandbox")
    page = page_of(client, batch.id)
    assert len(listed(page)) == 200
    assert page.all("nav", aria_label="Pages of messages") == []
