"""The CSV downloads over HTTP: a batch's messages and the Sent log, as a spreadsheet file (BOM,
the reader's zone, formulas neutralised), streamed and never gzipped whole; the same permissions
as their pages; audited; and a plain "Download CSV" link on both pages carrying the filters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.delivery import queue
from tests.html_tree import html
from webapp.models import AuditEvent, Batch, Message
from webapp.sms import exports


def table(response) -> list[dict[str, str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def sent_at(session, batch: Batch, at: datetime, *states: str) -> Batch:
    batch.created_at = at
    messages = session.scalars(
        sa.select(Message).where(Message.batch_id == batch.id).order_by(Message.id)
    )
    for message, state in zip(messages, states or ("sent",), strict=False):
        message.state = state
        message.sent_at = at
    session.commit()
    return batch


def test_a_batch_downloads_as_a_csv_file_in_the_readers_zone(client, session, login, ada):
    me = login("consultant", timezone="Pacific/Auckland")
    batch = sent_at(
        session, queue(session, me, [ada], provider="sandbox"), datetime(2026, 3, 1, 22, tzinfo=UTC)
    )

    response = client.get(f"/sms/batches/{batch.id}/messages.csv")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="batch-{batch.id}-messages.csv"'
    )
    assert response.headers["Cache-Control"] == "no-store"  # names and numbers
    (row,) = table(response)
    assert row["Person"] == "Ada Lovelace"
    assert row["Number"] == "'+61412345678"
    assert row["Sent (Pacific/Auckland)"] == "2026-03-02 11:00:00+13:00"  # 22:00 UTC, NZDT


def test_the_same_batch_read_by_a_reader_in_perth(client, session, login, make_user, ada):
    sender = make_user(role="consultant")
    batch = sent_at(
        session,
        queue(session, sender, [ada], provider="sandbox"),
        datetime(2026, 3, 1, 22, tzinfo=UTC),
    )
    login("team-leader", timezone="Australia/Perth")  # audit.view: may open anyone's batch

    (row,) = table(client.get(f"/sms/batches/{batch.id}/messages.csv"))

    assert row["Sent (Australia/Perth)"] == "2026-03-02 06:00:00+08:00"  # AWST


def test_another_consultants_batch_is_not_found(client, session, login, make_user, ada):
    batch = queue(session, make_user(role="consultant"), [ada], provider="sandbox")
    login("consultant")

    response = client.get(f"/sms/batches/{batch.id}/messages.csv")

    assert response.status_code == 404
    assert b"Ada" not in response.data
    assert client.get("/sms/batches/999999/messages.csv").status_code == 404


def test_the_download_streams_and_is_not_gzipped_whole(client, session, login, ada):
    me = login("consultant")
    batch = queue(session, me, [ada], provider="sandbox")

    response = client.get(
        f"/sms/batches/{batch.id}/messages.csv", headers={"Accept-Encoding": "gzip"}
    )

    assert response.is_streamed
    assert "Content-Encoding" not in response.headers
    assert "Content-Length" not in response.headers
    pieces = list(response.response)
    assert pieces[0].startswith(b"\xef\xbb\xbfPerson,Number") and pieces[0].endswith(b"\r\n")
    assert pieces[0].count(b"\r\n") == 1  # the heading goes alone, before the rows are read
    assert b"Ada Lovelace" in pieces[1]


def test_a_download_is_written_to_the_audit_log(client, session, login, three_people):
    me = login("consultant")
    batch = queue(session, me, three_people, provider="sandbox")

    client.get(f"/sms/batches/{batch.id}/messages.csv").close()
    client.get("/sms/sent.csv?state=queued").close()

    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "sms.exported").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_id, e.subject_type, e.subject_id, e.details) for e in events] == [
        (me.id, "batch", batch.id, {"what": "batch messages", "rows": 3}),
        (me.id, None, None, {"what": "sent log", "rows": 1, "filters": {"state": "queued"}}),
    ]


def test_the_sent_log_downloads_with_the_pages_filters(client, session, login, three_people):
    me = login("consultant", timezone="Australia/Perth")
    failed = sent_at(
        session,
        queue(session, me, three_people, provider="sandbox", body="=1+1 roles"),
        datetime(2026, 3, 2, 1, tzinfo=UTC),
        "failed",
    )
    sent_at(
        session,
        queue(session, me, three_people, provider="sandbox"),
        datetime(2026, 3, 3, 1, tzinfo=UTC),
        "delivered",
    )

    response = client.get("/sms/sent.csv?state=failed&date_from=2026-03-01&page=2")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="sent-')
    (row,) = table(response)
    assert row["Batch"] == str(failed.id)
    assert row["When (Australia/Perth)"] == "2026-03-02 09:00:00+08:00"
    assert row["Message"] == "'=1+1 roles"
    assert (row["Messages"], row["Failed"], row["Queued"]) == ("3", "1", "2")


def test_everyones_batches_need_audit_view(client, login):
    login("consultant")

    response = client.get("/sms/sent.csv?who=everyone")

    assert response.status_code == 403
    assert b"audit.view" in response.data


def test_a_viewer_has_no_sent_log_to_download(client, login):
    login("viewer")

    assert client.get("/sms/sent.csv").status_code == 403


def test_a_filter_that_cannot_be_read_is_refused_with_its_reason(client, login):
    login("consultant")

    response = client.get("/sms/sent.csv?date_from=yesterday")

    assert response.status_code == 400
    assert b"Sent from" in response.data


def test_a_refused_download_says_each_problem_once(client, login):
    login("consultant")

    response = client.get("/sms/sent.csv?date_from=abc&state=bogus")

    assert response.status_code == 400
    text = html(response).text
    assert (
        "The download was not made. Sent from must be a date like 2026-01-31, not “abc”. "
        "State: choose a state from the list."
    ) in text
    assert text.count("Sent from") == 1

    response = client.get("/sms/sent.csv", query_string={"text": "x" * 201})

    assert response.status_code == 400
    text = html(response).text
    assert "Message or template can be at most 200 characters." in text
    assert text.count("Message or template") == 1
    # Nothing was left out of a download that was not made.
    assert "left out" not in text


def test_the_batch_page_links_to_its_download(client, session, login, ada):
    me = login("consultant")
    batch = queue(session, me, [ada], provider="sandbox")

    page = html(client.get(f"/sms/batches/{batch.id}"))

    (link,) = [a for a in page.all("a") if a.text == "Download CSV"]
    assert link.get("href") == f"/sms/batches/{batch.id}/messages.csv"
    # No `download`: the answer's Content-Disposition saves the file, and a sign-in page that
    # answers instead (the session ended) is shown, not saved as login.html without a word.
    assert "download" not in link.attrs
    assert not any(name.startswith("hx-") and name != "hx-boost" for name in link.attrs)


def download_link(node) -> dict[str, list[str]]:
    (link,) = [a for a in node.all("a") if a.text == "Download CSV"]
    url = urlsplit(link.get("href"))
    assert url.path == "/sms/sent.csv"
    return parse_qs(url.query)


def test_the_sent_pages_link_carries_the_filters_shown(client, session, login, three_people):
    me = login("consultant")
    queue(session, me, three_people, provider="sandbox")

    whole = html(client.get("/sms/sent?state=queued&text=roles&page=1"))
    fragment = html(client.get("/sms/sent?state=queued&date_to=2030-01-01", htmx=True))

    assert download_link(whole) == {"state": ["queued"], "text": ["roles"]}
    # The filter form swaps the results in with htmx: the link in them follows the filters.
    assert download_link(fragment) == {"state": ["queued"], "date_to": ["2030-01-01"]}


def test_the_link_asks_for_everyones_when_the_page_shows_them(client, session, login, ada):
    lead = login("team-leader")
    queue(session, lead, [ada], provider="sandbox")

    page = html(client.get("/sms/sent?who=everyone"))

    assert download_link(page) == {"who": ["everyone"]}
    assert client.get("/sms/sent.csv?who=everyone").status_code == 200


def test_a_head_request_is_not_written_to_the_audit_log(client, session, login, ada):
    me = login("consultant")
    batch = queue(session, me, [ada], provider="sandbox")

    heads = [client.head(f"/sms/batches/{batch.id}/messages.csv"), client.head("/sms/sent.csv")]

    assert [response.status_code for response in heads] == [200, 200]
    assert heads[0].headers["Content-Disposition"].startswith("attachment;")
    assert heads[0].data == b""

    def exported() -> int:
        session.rollback()  # a fresh look at what requests committed
        return session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "sms.exported"))

    assert exported() == 0  # a link checker or a download manager asking the size copied nothing
    client.get(f"/sms/batches/{batch.id}/messages.csv").close()
    assert exported() == 1


def test_a_download_half_read_holds_no_database_connection(app, client, session, login, ada):
    me = login("consultant")
    batch = queue(session, me, [ada], provider="sandbox")
    copy = {
        "batch_id": batch.id,
        "direction": "out",
        "candidate_id": ada.id,
        "sender_id": me.id,
        "to_e164": "+61412345678",
        "body": "Hi Ada",
        "provider": "sandbox",
        "state": "delivered",
    }
    count = 2 * exports.CHUNK + 1  # three chunks of rows
    session.execute(
        sa.insert(Message), [copy | {"uuid": f"{batch.id}-{n}"} for n in range(count - 1)]
    )
    session.commit()
    session.close()

    response = client.get(f"/sms/batches/{batch.id}/messages.csv", buffered=False)
    pieces = iter(response.response)
    next(pieces)  # the heading
    assert next(pieces).count(b"\r\n") == exports.CHUNK

    # The client stalls here, mid-download: no connection is taken from the pool meanwhile.
    assert app.extensions["database"].engine.pool.checkedout() == 0
    assert sum(piece.count(b"\r\n") for piece in pieces) == count - exports.CHUNK
    response.close()


def test_signing_in_on_the_way_to_a_download_lands_on_its_page(client, session, make_user, ada):
    """The session had ended when Download CSV was pressed: signing in saved the file while the
    tab stayed on the sign-in form. It goes back to the page, which says to press it again."""
    me = make_user(role="consultant")
    batch = queue(session, me, [ada], provider="sandbox")
    cases = [
        (f"/sms/batches/{batch.id}/messages.csv", f"/sms/batches/{batch.id}"),
        ("/sms/sent.csv?text=night+shift&state=failed", "/sms/sent?text=night+shift&state=failed"),
        ("/sms/sent?text=x", "/sms/sent?text=x"),  # not a download: where it was going
    ]
    for going, lands in cases:
        client.post("/logout")
        response = client.post(
            "/login",
            query_string={"next": going},
            data={"username": me.username, "password": PASSWORD},
        )
        assert response.status_code == 302 and response.location == lands, going
        page = client.get(lands).get_data(as_text=True)
        said = "You are signed in: press Download CSV again to save the file."
        assert (said in page) == going.split("?")[0].endswith(".csv")
