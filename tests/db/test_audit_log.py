"""The audit log's query layer (webapp.audit_log): filters parsed from a query string, paging
newest first, the person filter (their record and the batches sent to them), and details in words.

Runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set: day boundaries, case folding
and the subqueries behind the person filter are where the two databases could disagree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from webapp import audit_log
from webapp.audit_log import Change, Filters, PersonRef
from webapp.models import Batch, Message


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def batch_to(session, make_user):
    """A batch with one message to each of `people`; returns the batch id."""
    sender = make_user("sender")

    def add(*people) -> int:
        batch = Batch(
            sender_id=sender.id,
            kind="candidates",
            body="Hi",
            provider="sandbox",
            message_count=len(people),
        )
        session.add(batch)
        session.flush()
        for person in people:
            column = "candidate_id" if person.kind == "candidate" else "contact_id"
            session.add(
                Message(
                    batch_id=batch.id,
                    to_e164=person.mobile_e164 or "+61412345678",
                    body="Hi",
                    provider="sandbox",
                    **{column: person.id},
                )
            )
        session.commit()
        return batch.id

    return add


def parsed(session, **args) -> tuple[Filters, int]:
    filters, page, errors = audit_log.parse(session, args)
    assert errors == {}
    return filters, page


def found(session, **args) -> list[int]:
    """Ids of the events the filters find on their first page, in page order."""
    filters, page = parsed(session, **args)
    return [entry.event.id for entry in audit_log.search(session, filters, page).entries]


# --- paging and order ----------------------------------------------------------------------------


def test_events_come_newest_first_fifty_to_a_page(session, audit_event):
    start = utc(2026, 1, 1)
    ids = [audit_event(at=start + timedelta(minutes=i)).id for i in range(120)]
    newest_first = list(reversed(ids))

    first = audit_log.search(session, Filters(), 1)
    assert [e.event.id for e in first.entries] == newest_first[:50]
    assert (first.total, first.pages, first.has_next) == (120, 3, True)
    last = audit_log.search(session, Filters(), 3)
    assert [e.event.id for e in last.entries] == newest_first[100:]
    assert last.has_next is False
    assert audit_log.search(session, Filters(), 4).entries == []


def test_older_and_newer_page_from_the_events_shown_as_events_are_written(session, audit_event):
    start = utc(2026, 1, 1)
    ids = [audit_event(at=start + timedelta(seconds=i / 7)).id for i in range(120)]
    newest_first = list(reversed(ids))
    first = audit_log.search(session, Filters())
    assert (first.first, first.last, first.newer) == (1, 50, None)
    added = [audit_event(at=start + timedelta(days=1)).id for _ in range(5)]

    # The link's cursor, read back as a link carries it.
    older, _, errors = audit_log.parse(session, {"older": first.older.token})
    assert errors == {} and older.older == first.older
    second = audit_log.search(session, older)
    assert [e.event.id for e in second.entries] == newest_first[50:100]
    assert (second.first, second.last, second.total) == (56, 105, 125)

    newer, _, _ = audit_log.parse(session, {"newer": second.newer.token})
    back = audit_log.search(session, newer)
    assert [e.event.id for e in back.entries] == newest_first[:50]
    assert back.first == 6 and back.newer is not None
    top = audit_log.search(session, Filters(newer=back.newer))
    assert [e.event.id for e in top.entries] == list(reversed(added)) + newest_first[:45]
    assert top.newer is None


@pytest.mark.parametrize("token", ["x", "20260101T000000000000", "20261301T000000000000-5", "-5"])
def test_a_page_link_that_is_not_one_is_named_and_left_out(session, token):
    filters, _, errors = audit_log.parse(session, {"older": token})
    assert filters.older is None and set(errors) == {"older"}


def test_events_at_the_same_moment_keep_a_stable_order(session, audit_event):
    moment = utc(2026, 2, 2, 12)
    ids = [audit_event(at=moment).id for _ in range(3)]
    assert found(session) == list(reversed(ids))


# --- filters -------------------------------------------------------------------------------------


def test_actor_filter_matches_the_username_ignoring_case(session, audit_event, make_user):
    lead, other = make_user("lead.smith"), make_user("other")
    mine = audit_event(actor=lead)
    audit_event(actor=other)
    audit_event(actor=None)
    assert found(session, actor="Lead.Smith") == [mine.id]


def test_action_filter_and_the_list_of_actions_present(session, audit_event):
    sent = audit_event("sms.sent")
    audit_event("privacy.changed")
    audit_event("privacy.changed")
    assert audit_log.actions(session) == ["privacy.changed", "sms.sent"]
    assert found(session, action="sms.sent") == [sent.id]


def test_actors_lists_usernames_that_appear_in_the_log(session, audit_event, make_user):
    audit_event(actor=make_user("zed"))
    audit_event(actor=make_user("amy"))
    make_user("never-acted")
    assert audit_log.actors(session) == ["amy", "zed"]


def test_person_id_finds_their_record_events_and_the_batches_sent_to_them(
    session, audit_event, make_candidate, make_contact, batch_to
):
    ada = make_candidate("Ada", "Lovelace")
    bob = make_candidate("Bob", "Brown", "0412 345 679")
    grace = make_contact("Grace", "Hopper")
    on_ada = audit_event("privacy.changed", subject=("candidate", ada.id), at=utc(2026, 3, 1, 9))
    to_ada = batch_to(ada, bob)
    sent = audit_event("sms.sent", subject=("batch", to_ada), at=utc(2026, 3, 1, 10))
    override = audit_event("sms.ignore_opt_out", subject=("batch", to_ada), at=utc(2026, 3, 1, 11))
    audit_event("sms.sent", subject=("batch", batch_to(bob)))
    audit_event("person.edited", subject=("candidate", bob.id))
    on_grace = audit_event("privacy.changed", subject=("contact", grace.id))
    assert grace.id == ada.id  # candidates and contacts number apart: a bare id could name either

    assert found(session, person_kind="candidate", person_id=str(ada.id)) == [
        override.id,
        sent.id,
        on_ada.id,
    ]
    assert found(session, person_kind="contact", person_id=str(grace.id)) == [on_grace.id]
    assert found(session, person_kind="candidate", person_id=str(bob.id + 100)) == []


def test_person_name_finds_candidates_and_contacts_by_name_prefix(
    session, audit_event, make_candidate, make_contact, batch_to
):
    ada = make_candidate("Ada", "Lovelace")
    adam = make_contact("Adam", "Lovell")
    zoe = make_candidate("Zoë", "Zimmer", "0412 345 679")
    on_ada = audit_event(subject=("candidate", ada.id), at=utc(2026, 3, 1, 9))
    on_adam = audit_event(subject=("contact", adam.id), at=utc(2026, 3, 1, 10))
    on_zoe = audit_event(subject=("candidate", zoe.id), at=utc(2026, 3, 1, 11))
    batch = audit_event("sms.sent", subject=("batch", batch_to(zoe)), at=utc(2026, 3, 1, 12))

    assert found(session, person="ADA") == [on_adam.id, on_ada.id]
    assert found(session, person="ada love") == [on_adam.id, on_ada.id]
    assert found(session, person="lovelace ada") == [on_ada.id]
    assert found(session, person="ZOË") == [batch.id, on_zoe.id]
    assert found(session, person="nobody") == []


def test_person_id_and_name_together_must_both_match(session, audit_event, make_candidate):
    ada = make_candidate("Ada", "Lovelace")
    on_ada = audit_event(subject=("candidate", ada.id))
    assert found(session, person_kind="candidate", person_id=str(ada.id), person="ada") == [
        on_ada.id
    ]
    assert found(session, person_kind="candidate", person_id=str(ada.id), person="grace") == []


def test_dates_are_whole_utc_days_from_and_to_inclusive(session, audit_event):
    audit_event(at=utc(2026, 1, 31, 23, 59, 59))
    first = audit_event(at=utc(2026, 2, 1, 0, 0))
    last = audit_event(at=utc(2026, 2, 28, 23, 59, 59))
    audit_event(at=utc(2026, 3, 1, 0, 0))
    assert found(session, date_from="2026-02-01", date_to="2026-02-28") == [last.id, first.id]
    assert found(session, date_from="2026-02-28") == found(session)[:2]
    assert found(session, date_to="2026-02-01")[0] == first.id


def test_filters_combine(session, audit_event, make_user):
    lead = make_user("lead")
    hit = audit_event("sms.sent", actor=lead, at=utc(2026, 2, 10))
    audit_event("sms.sent", actor=lead, at=utc(2026, 1, 10))
    audit_event("privacy.changed", actor=lead, at=utc(2026, 2, 10))
    audit_event("sms.sent", actor=None, at=utc(2026, 2, 10))
    assert found(session, actor="lead", action="sms.sent", date_from="2026-02-01") == [hit.id]


# --- parse ---------------------------------------------------------------------------------------


def test_parse_of_nothing_is_no_filter_and_page_one(session):
    filters, page, errors = audit_log.parse(session, {})
    assert (filters, page, errors) == (Filters(), 1, {})
    assert filters.params() == {} and not filters.is_filtered


def test_parse_reads_every_filter_and_params_give_them_back(session, audit_event, make_user):
    make_user("lead")
    audit_event("sms.sent")
    args = {
        "actor": "lead",
        "action": "sms.sent",
        "person_kind": "contact",
        "person_id": "42",
        "person": "Ada  Lovelace",
        "date_from": "2026-02-01",
        "date_to": "2026-02-28",
        "page": "3",
    }
    filters, page = parsed(session, **args)
    assert filters == Filters(
        actor="lead",
        action="sms.sent",
        person_kind="contact",
        person_id=42,
        person="Ada Lovelace",
        date_from=date(2026, 2, 1),
        date_to=date(2026, 2, 28),
    )
    assert page == 3
    assert filters.params() == {key: value for key, value in args.items() if key != "page"} | {
        "person": "Ada Lovelace"
    }


@pytest.mark.parametrize(
    "args, field, message",
    [
        (
            {"date_from": "31/01/2026"},
            "date_from",
            "From must be a date like 2026-01-31, not “31/01/2026”.",
        ),
        (
            {"date_to": "2026-02-30"},
            "date_to",
            "To: there is no such day as 2026-02-30.",
        ),
        ({"date_from": "2026-03-01", "date_to": "2026-02-01"}, "date_to", "To is before From."),
        (
            {"person_id": "12abc"},
            "person_id",
            "Record id must be a whole number like 42, not “12abc”.",
        ),
        (
            {"person_id": "99999999999"},
            "person_id",
            "Record id must be a whole number like 42, not “99999999999”.",
        ),
        (
            {"person_kind": "user", "person_id": "3"},
            "person_kind",
            "Record type must be candidate or client contact.",
        ),
        ({"actor": "ghost"}, "actor", "There is no user with the username “ghost”."),
        ({"action": "sms.exploded"}, "action", "Choose an action from the list."),
        ({"action": "x' OR 1=1 --"}, "action", "Choose an action from the list."),
        ({"page": "0"}, "page", "Page must be a number from 1 to 10,000."),
        ({"page": "two"}, "page", "Page must be a number from 1 to 10,000."),
        (
            {"actor": "lead\x00"},
            "actor",
            "Who cannot hold control characters (NUL); it was left out.",
        ),
        (
            {"person": "Ada\x00"},
            "person",
            "Name cannot hold control characters (NUL); it was left out.",
        ),
        (
            {"person": "Ada\x1b[2J"},
            "person",
            "Name cannot hold control characters (U+001B); it was left out.",
        ),
        (
            {"action": "sms.sent\x7f"},
            "action",
            "Action cannot hold control characters (DEL); it was left out.",
        ),
        ({"person": "x" * 201}, "person", "Name can be at most 200 characters; it was left out."),
    ],
)
def test_bad_values_are_named_and_left_out(session, args, field, message):
    filters, page, errors = audit_log.parse(session, args)
    assert errors == {field: message}
    assert page == 1
    assert getattr(filters, field, None) in (None, "", "candidate")
    audit_log.search(session, filters, page)  # what remains still runs


def test_a_name_filter_with_sql_wildcards_is_taken_literally(session, audit_event, make_candidate):
    audit_event(subject=("candidate", make_candidate("Ada", "Lovelace").id))
    assert found(session, person="%") == []
    assert found(session, person="_da") == []


# --- rows: subjects and details ------------------------------------------------------------------


def test_subjects_are_named(session, audit_event, make_candidate, make_contact):
    ada = make_candidate("Ada", "Lovelace")
    grace = make_contact("Grace", "Hopper")
    audit_event(subject=("candidate", ada.id), at=utc(2026, 3, 1, 1))
    audit_event(subject=("contact", grace.id), at=utc(2026, 3, 1, 2))
    audit_event(subject=("candidate", 999_999), at=utc(2026, 3, 1, 3))
    audit_event("sms.sent", subject=("batch", 7), at=utc(2026, 3, 1, 4))
    audit_event(
        "template.created", subject=("smstemplate", 3), name="Welcome", at=utc(2026, 3, 1, 5)
    )
    audit_event(
        "role.permissions_changed", subject=("role", 2), role="consultant", at=utc(2026, 3, 1, 6)
    )
    audit_event("user.reactivated", subject=("user", 5), at=utc(2026, 3, 1, 6, 30))
    audit_event("office.added", subject=("office", 4), name="Zürich", at=utc(2026, 3, 1, 6, 40))
    audit_event(
        "blocked_region.added",
        subject=("blockedregion", 39),
        provider="twilio",
        region="IR",
        name="Iran",
        at=utc(2026, 3, 1, 6, 50),
    )
    audit_event("settings.changed", at=utc(2026, 3, 1, 7))
    entries = audit_log.search(session, Filters(), 1).entries
    assert [(e.subject, e.record_kind) for e in reversed(entries)] == [
        ("Ada Lovelace", "candidates"),
        ("Grace Hopper", "contacts"),
        ("Candidate 999999 (removed)", None),
        ("SMS batch 7", None),
        ("Template “Welcome”", None),
        ("Role “consultant”", None),
        ("User 5", None),
        ("Office “Zürich”", None),
        ("Blocked country “Iran”", None),
        (None, None),
    ]


def test_an_ignore_override_is_described_with_its_people_and_reason():
    details = audit_log.describe(
        "sms.ignore_opt_out",
        {
            "reason": "Site closed, safety notice",
            "people": [
                {"kind": "candidates", "id": 4, "name": "Olive Out", "mobile": "+61412000111"},
                {"kind": "contacts", "id": 9, "name": "Cara Contact", "mobile": None},
                {"kind": "martians", "id": 1, "name": "Nobody"},
            ],
        },
    )
    assert details.overridden is True
    assert details.reason == "Site closed, safety notice"
    assert details.people == (
        PersonRef("Olive Out", "candidates", 4, "+61412000111"),
        PersonRef("Cara Contact", "contacts", 9, ""),
        PersonRef("Nobody", None, 1, ""),
    )
    assert details.lines == ()


def test_a_compact_ignore_override_reads_each_person_by_kind_id_and_number():
    details = audit_log.describe(
        "sms.ignore_opt_out",
        {
            "reason": "Safety notice",
            "kind": "contacts",
            "people": [[9, "+61412000111"], ["x", None]],
        },
    )
    assert details.people == (
        PersonRef("Client contact 9", "contacts", 9, "+61412000111", named=False),
        PersonRef("Client contact ?", None, None, "", named=False),
    )
    assert (details.people_count, details.reason, details.lines) == (2, "Safety notice", ())


def test_an_ignore_override_beyond_the_cap_reads_as_a_count_and_id_ranges():
    details = audit_log.describe(
        "sms.ignore_opt_out",
        {
            "reason": "Site closed",
            "kind": "candidates",
            "people_count": 6_002,
            "ids": "1-6000,6003,6005",
        },
    )
    assert details.overridden is True
    assert (details.people, details.people_count) == ((), 6_002)
    assert details.person_ids == "Candidate ids 1–6000, 6003, 6005"
    assert details.lines == ()


def test_people_named_by_id_are_named_as_their_records_are_now(
    session, audit_event, make_candidate
):
    olive = make_candidate("Olive", "Out")
    audit_event(
        "sms.ignore_opt_out",
        subject=("batch", 1),
        reason="why",
        kind="candidates",
        people=[[olive.id, "+61412000111"], [olive.id + 1000, "+61412000112"]],
    )
    [entry] = audit_log.search(session, Filters()).entries
    assert entry.details.people == (
        PersonRef("Olive Out", "candidates", olive.id, "+61412000111"),
        PersonRef(
            f"Candidate {olive.id + 1000} (removed)",
            None,
            olive.id + 1000,
            "+61412000112",
            named=False,
        ),
    )


def test_consent_and_privacy_changes_read_old_to_new():
    withdrawn = audit_log.describe(
        "consent.sms_withdrawn",
        {"changes": {"sms_consent": [True, False]}, "number": "+61412345678", "keyword": "STOP"},
    )
    assert withdrawn.changes == (Change("SMS", "ticked", "not ticked"),)
    assert withdrawn.lines == (("number", "+61412345678"), ("keyword", "STOP"))
    edited = audit_log.describe("person.edited", {"changes": {"job_title": [None, "Analyst"]}})
    assert edited.changes == (Change("job title", "—", "Analyst"),)


@pytest.mark.parametrize(
    "details",
    [
        # As written now, and as written before: inside the changes, where two names read as
        # "password → webhook_password" and beside a real change turned it all into raw text.
        {
            "name": "Perth",
            "changes": {"name": ["Perth", "Perth Two"]},
            "secrets_changed": ["password"],
        },
        {
            "name": "Perth",
            "changes": {"name": ["Perth", "Perth Two"], "secrets_changed": ["password"]},
        },
    ],
    ids=["now", "before"],
)
def test_an_sms_accounts_changed_secrets_read_as_names_beside_its_changes(details):
    described = audit_log.describe("sms_account.changed", details)

    assert described.changes == (Change("name", "Perth", "Perth Two"),)
    assert described.lines == (("name", "Perth"), ("secrets changed", "password"))


def test_an_sms_accounts_two_changed_secrets_are_no_old_and_new():
    for details in (
        {"secrets_changed": ["password", "webhook_password"]},
        {"changes": {"secrets_changed": ["password", "webhook_password"]}},
    ):
        described = audit_log.describe("sms_account.changed", {"name": "Perth", **details})
        assert described.changes == ()
        assert described.lines == (
            ("name", "Perth"),
            ("secrets changed", "password, webhook_password"),
        )


def test_permission_changes_read_as_added_and_removed():
    details = audit_log.describe(
        "role.permissions_changed",
        {
            "role": "consultant",
            "added": ["sms.ignore_opt_out", "audit.view"],
            "removed": ["records.edit"],
        },
    )
    assert details.added == ("sms.ignore_opt_out", "audit.view")
    assert details.removed == ("records.edit",)
    assert details.lines == (("role", "consultant"),)


@pytest.mark.parametrize(
    "details",
    [
        None,
        [],
        "text",
        42,
        {"changes": "not a mapping"},
        {"changes": {"a": [1]}},
        {"people": "nobody"},
        {"nested": {"a": [1, {"b": None}]}, "flag": True},
        {"people_count": True},
        {"people_count": 3, "people": "x", "ids": 5, "kind": 7},
        {"people": [[1, 2, 3], [None, None]], "kind": "martians"},
    ],
)
def test_odd_details_never_break_the_page(details):
    described = audit_log.describe("sms.ignore_opt_out", details)
    for _key, value in described.lines:
        assert isinstance(value, str)


def test_other_details_are_key_value_lines_as_text():
    details = audit_log.describe(
        "sms.sent",
        {"messages": 3, "counts": {"ok": 3, "opted_out": 1}, "kind": "candidates", "flag": False},
    )
    assert details.lines == (
        ("messages", "3"),
        ("counts", "ok: 3; opted_out: 1"),
        ("kind", "candidates"),
        ("flag", "no"),
    )
