"""A cancelled scheduled send on Sent: listed, and filtered by date, at the time it was due, its
row says that time (not only when it was cancelled), so the date it is found under is on it."""

from __future__ import annotations

from tests.html_tree import html as tree
from tests.web.test_send_later import AUCKLAND, fresh, schedule_one
from webapp.models import Batch, utcnow
from webapp.times import when


def test_a_cancelled_send_says_when_it_was_due(client, login, session, three_people):
    login(timezone="Pacific/Auckland", full_name="Casey Jones")
    batch_id, moment = schedule_one(client, three_people[:2], AUCKLAND)
    assert client.post(f"/sms/batches/{batch_id}/cancel").status_code == 303
    batch = fresh(session, Batch, batch_id)
    due_day = moment.astimezone(AUCKLAND).date().isoformat()
    today = utcnow().astimezone(AUCKLAND).date().isoformat()
    assert due_day != today  # due tomorrow, cancelled today

    page = client.get("/sms/sent", query_string={"date_from": due_day, "date_to": due_day})
    row = tree(page).one("tr", id=f"batch-{batch_id}")

    note = row.one("p", class_="scheduled-note")
    due = note.one("time")
    assert (due.text, due.get("datetime")) == (when(moment, AUCKLAND), batch.send_at.isoformat())
    assert note.text.startswith(f"Was due at {due.text}")
    assert (
        f"Cancelled by Casey Jones at {when(batch.cancelled_at, AUCKLAND)}; nothing was sent"
        in note.text
    )
    # Not listed on the day it was cancelled: the row's own date is the one it is filed under.
    cancelled_day = client.get("/sms/sent", query_string={"date_from": today, "date_to": today})
    assert tree(cancelled_day).all("tr", id=f"batch-{batch_id}") == []
