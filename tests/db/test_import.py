"""CSV import of Candidates and Client Contacts: all rows or none, bad lines named by number."""

from __future__ import annotations

import os
import signal
import sys

import pytest
import sqlalchemy as sa

from tests import delivery
from webapp.data import csv_import
from webapp.data.csv_import import import_people
from webapp.models import (
    AuditEvent,
    Candidate,
    Client,
    ClientContact,
    Comment,
    Setting,
    name_key,
    utcnow,
)
from webapp.people.kinds import KINDS

CANDIDATE_HEADER = "first_name,last_name,mobile,email,sms_consent,job_title,location"
CONTACT_HEADER = "first_name,last_name,mobile,email,sms_consent,client,position"

GOOD_CANDIDATES = f"""{CANDIDATE_HEADER}
Ada,Lovelace,0412 345 678,ada@example.com,yes,Software Developer,Sydney
Brian,O'Neil,+44 7400 123456,brian@example.co.uk,no,Accountant,London
Chloé,Nguyễn,,,Y,,
"Smith, Jr",Wu,+61 413 222 333,wu@example.com.au,TRUE,"Chef, sous",Perth
"""

BAD_CANDIDATES = f"""{CANDIDATE_HEADER}
Ada,Lovelace,0412 345 678,ada@example.com,yes,Engineer,Sydney
Bob,,0412 345 679,bob@example.com,yes,,
Cat,Smith,0412 345 680,cat@example.com,no,,
Dan,Jones,0412 345 681,dan@example.com,maybe,,
Eve,Brown,0412 345 682,eve@example.com
Fay,White,0412 345 683,not-an-email,yes,,
Gus,Green,0412 345 684,gus@example.com,yes,,
"""


def candidates(session) -> list[Candidate]:
    session.rollback()  # end any read transaction, so rows committed elsewhere are seen
    return list(session.scalars(sa.select(Candidate).order_by(Candidate.id)))


def contacts(session) -> list[ClientContact]:
    session.rollback()  # end any read transaction, so rows committed elsewhere are seen
    return list(session.scalars(sa.select(ClientContact).order_by(ClientContact.id)))


def clients(session) -> list[Client]:
    session.rollback()  # end any read transaction, so rows committed elsewhere are seen
    return list(session.scalars(sa.select(Client).order_by(Client.id)))


def write(tmp_path, text: str | bytes, name: str = "people.csv"):
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


# --- import_people -------------------------------------------------------------------------------


def test_good_candidates_file_imports_every_row_with_numbers_normalised(session, tmp_path):
    report = import_people(session, "candidates", write(tmp_path, GOOD_CANDIDATES), "AU")
    assert report.ok
    assert report.errors == []
    assert report.created == 4
    assert report.unparseable_mobiles == []

    ada, brian, chloe, smith = candidates(session)
    assert (ada.first_name, ada.last_name, ada.email) == ("Ada", "Lovelace", "ada@example.com")
    assert (ada.mobile_raw, ada.mobile_e164, ada.mobile_region, ada.mobile_valid) == (
        "0412 345 678",
        "+61412345678",
        "AU",
        True,
    )
    assert (ada.job_title, ada.location, ada.sms_consent) == ("Software Developer", "Sydney", True)
    assert (brian.mobile_e164, brian.mobile_region, brian.mobile_valid) == (
        "+447400123456",
        "GB",
        True,
    )
    assert brian.sms_consent is False
    assert brian.last_name == "O'Neil"
    assert (chloe.first_name, chloe.last_name) == ("Chloé", "Nguyễn")
    assert chloe.mobile_raw is None and chloe.mobile_e164 is None and chloe.email is None
    assert chloe.job_title is None and chloe.location is None
    assert chloe.sms_consent is True
    assert smith.first_name == "Smith, Jr"
    assert smith.job_title == "Chef, sous"
    assert smith.mobile_e164 == "+61413222333"


def audited_imports(session) -> list[dict]:
    session.rollback()
    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "people.imported").order_by(AuditEvent.id)
    )
    return [(event.actor_id, event.details) for event in events]


def test_an_import_is_audited_with_its_file_and_counts_and_a_refused_one_is_not(session, tmp_path):
    import_people(session, "candidates", write(tmp_path, BAD_CANDIDATES, "bad.csv"), "AU")
    assert audited_imports(session) == []

    import_people(session, "candidates", write(tmp_path, GOOD_CANDIDATES, "march.csv"), "AU")
    import_people(session, "candidates", GOOD_CANDIDATES.encode(), "AU")  # all there already
    assert audited_imports(session) == [
        (None, {"kind": "candidates", "file": "march.csv", "created": 4, "skipped": 0}),
        (None, {"kind": "candidates", "file": None, "created": 0, "skipped": 4}),
    ]


def test_imported_rows_get_their_name_and_email_search_keys(session):
    import_people(session, "candidates", GOOD_CANDIDATES.encode(), "AU")
    ada = candidates(session)[0]
    assert (ada.first_name_key, ada.last_name_key, ada.email_key) == (
        "ada",
        "lovelace",
        "ada@example.com",
    )
    assert ada.created_at is not None


def test_imported_candidates_get_their_location_search_key(session):
    # The location filter searches location_key by prefix; without the key an imported candidate
    # can never be found by location.
    import_people(session, "candidates", GOOD_CANDIDATES.encode(), "AU")
    assert [(c.location, c.location_key) for c in candidates(session)] == [
        ("Sydney", "sydney"),
        ("London", "london"),
        (None, None),
        ("Perth", "perth"),
    ]


def test_bom_crlf_and_header_case_are_accepted(session):
    data = (
        "\ufeff" + CANDIDATE_HEADER.upper() + "\r\nAda,Lovelace,0412 345 678,,No,,\r\n\r\n"
    ).encode("utf-8")
    report = import_people(session, "candidates", data, "AU")
    assert report.ok, report.errors
    assert report.created == 1
    assert candidates(session)[0].sms_consent is False


def test_only_the_required_columns_are_enough(session):
    data = b"first_name,last_name,mobile,email,sms_consent\nAda,Lovelace,0412 345 678,,yes\n"
    report = import_people(session, "candidates", data, "AU")
    assert report.ok and report.created == 1


def test_columns_may_come_in_any_order(session):
    data = (
        b"sms_consent,email,mobile,last_name,first_name\n"
        b"no,ada@example.com,0412345678,Lovelace,Ada\n"
    )
    report = import_people(session, "candidates", data, "AU")
    assert report.ok, report.errors
    ada = candidates(session)[0]
    assert (ada.first_name, ada.last_name, ada.mobile_e164, ada.sms_consent) == (
        "Ada",
        "Lovelace",
        "+61412345678",
        False,
    )


def test_bad_file_writes_nothing_and_lists_every_bad_line_by_number(session, tmp_path):
    report = import_people(session, "candidates", write(tmp_path, BAD_CANDIDATES), "AU")
    assert not report.ok
    assert report.created == 0
    assert [line for line, _problem in report.errors] == [3, 5, 6, 7]
    problems = dict(report.errors)
    assert "last_name" in problems[3]
    assert "maybe" in problems[5]
    assert "4 values" in problems[6] and "7" in problems[6]
    assert "not-an-email" in problems[7]
    assert candidates(session) == []


def test_a_value_past_the_csv_limit_is_reported_and_the_other_bad_lines_too(session):
    """One long unquoted value ended the reading: no line after it was checked, and the message
    blamed a quote that was not there."""
    text = (
        CANDIDATE_HEADER
        + "\nAda,"
        + "B" * 140_000
        + ",,,yes,,\n"
        + "Bob,Jones,,,maybe,,\n"
        + "Cy,Young,,not-an-email,yes,,\n"
    )
    report = import_people(session, "candidates", text.encode(), "AU")
    assert [line for line, _problem in report.errors] == [2, 3, 4]
    problems = dict(report.errors)
    assert problems[2].startswith("a value runs on for more than 131,072 characters: shorten it")
    assert candidates(session) == []


def test_line_numbers_count_blank_lines_and_the_header(session):
    data = (
        CANDIDATE_HEADER + "\nAda,Lovelace,,,yes,,\n\n,,,,yes,,\n  \nBob,Jones,,,nope,,\n"
    ).encode()
    report = import_people(session, "candidates", data, "AU")
    assert [line for line, _ in report.errors] == [4, 6]


def test_missing_column_is_reported_on_line_one(session):
    data = b"first_name,last_name,mobile,email\nAda,Lovelace,0412 345 678,ada@example.com\n"
    report = import_people(session, "candidates", data, "AU")
    assert report.errors == [(1, "missing column(s): sms_consent")]
    assert candidates(session) == []


def test_unknown_and_repeated_columns_are_reported(session):
    data = f"{CANDIDATE_HEADER},favourite_colour\n".encode()
    assert [line for line, _ in import_people(session, "candidates", data, "AU").errors] == [1]
    assert "favourite_colour" in import_people(session, "candidates", data, "AU").errors[0][1]

    repeated = f"{CANDIDATE_HEADER},email\n".encode()
    assert any(
        "twice" in problem
        for _line, problem in import_people(session, "candidates", repeated, "AU").errors
    )


def test_columns_without_a_name_are_named_by_number(session):
    # A spreadsheet saves a column once formatted, even empty, as a trailing "," on every line:
    # the header's was reported as "unknown column(s): " and nothing more.
    data = (CANDIDATE_HEADER + ",,\nAda,Lovelace,,,yes,,,,\n").encode()
    report = import_people(session, "candidates", data, "AU")
    assert report.errors == [(1, "column(s) 8, 9 have no name: name them or delete them")]
    assert candidates(session) == []


def test_a_file_separated_by_semicolons_says_so(session):
    data = "\ufefffirst_name;last_name;mobile;email;sms_consent\nAda;Lovelace;;;yes\n".encode()
    report = import_people(session, "candidates", data, "AU")
    assert (
        "the columns are separated by ; — save the file as CSV with commas" in report.errors[0][1]
    )


def test_contact_columns_are_not_accepted_in_a_candidates_file(session):
    report = import_people(session, "candidates", f"{CONTACT_HEADER}\n".encode(), "AU")
    assert not report.ok
    assert "client" in report.errors[0][1]


@pytest.mark.parametrize("data", [b"", b"\n", "\ufeff\r\n \r\n".encode()])
def test_empty_file_is_refused_as_empty_naming_the_columns_it_needs(session, data):
    report = import_people(session, "candidates", data, "AU")
    assert report.errors == [
        (
            1,
            "the file is empty: it must name the columns "
            "(first_name, last_name, mobile, email, sms_consent)",
        )
    ]


def test_a_blank_first_line_is_named_as_such_and_nothing_is_imported(session):
    report = import_people(session, "candidates", f"\n{GOOD_CANDIDATES}".encode(), "AU")
    assert report.errors == [
        (
            1,
            "the first line is blank: it must name the columns "
            "(first_name, last_name, mobile, email, sms_consent)",
        )
    ]
    assert candidates(session) == []


def test_non_utf8_bytes_are_rejected_naming_the_line(session):
    data = CANDIDATE_HEADER.encode() + b"\nAda,Lov\xffelace,0412 345 678,,yes,,\nBob,Ok,,,no,,\n"
    report = import_people(session, "candidates", data, "AU")
    assert not report.ok
    assert [line for line, _ in report.errors] == [2]
    assert "UTF-8" in report.errors[0][1]
    assert candidates(session) == []


def test_windows_1252_file_is_rejected_on_every_bad_line(session):
    text = CANDIDATE_HEADER + "\nZoë,Müller,,,yes,,\nAda,Lovelace,,,yes,,\nJosé,García,,,no,,\n"
    report = import_people(session, "candidates", text.encode("cp1252"), "AU")
    assert [line for line, _ in report.errors] == [2, 4]


def test_unparseable_mobile_is_imported_and_reported_with_its_line(session):
    data = (
        CANDIDATE_HEADER + "\nAda,Lovelace,0412 345 678,,yes,,\nBob,Jones,call me,,yes,,\n"
        "Cat,Smith,0412 345,,yes,,\n"
    ).encode()
    report = import_people(session, "candidates", data, "AU")
    assert report.ok
    assert report.created == 3
    assert report.unparseable_mobiles == [(3, "call me"), (4, "0412 345")]
    _ada, bob, cat = candidates(session)
    assert (bob.mobile_raw, bob.mobile_valid) == ("call me", False)
    assert (cat.mobile_raw, cat.mobile_valid) == ("0412 345", False)


@pytest.mark.parametrize("column", ["first_name", "last_name"])
def test_a_name_of_invisible_characters_alone_is_empty_and_nothing_is_imported(session, column):
    names = {"first_name": "Ada", "last_name": "Lovelace", column: "\u200b\ufeff"}
    data = f"{CANDIDATE_HEADER}\n{names['first_name']},{names['last_name']},0412 111 221,,yes,,\n"
    report = import_people(session, "candidates", data.encode(), "AU")
    assert report.errors == [(2, f"{column} is empty")]
    assert candidates(session) == []


def test_a_landline_or_a_service_number_is_imported_as_no_mobile_and_reported(session):
    data = (
        CANDIDATE_HEADER + "\nAda,Lovelace,02 9374 4000,,yes,,\nBob,Jones,1800 123 456,,yes,,\n"
        "Cat,Smith,0412 FLOWER,,yes,,\nDan,Wu,0412 345 678,,yes,,\n"
    ).encode()
    report = import_people(session, "candidates", data, "AU")
    assert report.ok
    assert report.created == 4
    assert report.not_mobiles == [
        (2, "02 9374 4000", "a landline"),
        (3, "1800 123 456", "a freecall service number"),
    ]
    assert report.unparseable_mobiles == [(4, "0412 FLOWER")]
    assert [(c.mobile_e164, c.mobile_valid) for c in candidates(session)] == [
        ("+61293744000", False),
        ("+611800123456", False),
        (None, False),
        ("+61412345678", True),
    ]


def test_too_long_value_is_reported(session):
    data = (CANDIDATE_HEADER + f"\nAda,{'L' * 101},,,yes,,\n").encode()
    report = import_people(session, "candidates", data, "AU")
    assert [line for line, _ in report.errors] == [2]
    assert "last_name" in report.errors[0][1]


@pytest.mark.parametrize(
    "first_name, client",
    [("ß" * 100, "Acme"), ("Ada", "ﷺ" * 12)],
    ids=["sharp-s-doubles", "ligature-spells-out"],
)
def test_a_value_too_long_for_its_search_key_is_reported_and_nothing_is_imported(
    session, first_name, client
):
    # Within the limit as typed, beyond it as name_key() writes it: PostgreSQL refused the INSERT
    # with a traceback (value too long for type character varying).
    data = (
        f"{CONTACT_HEADER}\nGrace,Hopper,,,yes,Acme,\n{first_name},Lovelace,,,yes,{client},\n"
    ).encode()
    report = import_people(session, "contacts", data, "AU")
    [(line, problem)] = report.errors
    assert line == 3
    assert "once written out for searching" in problem
    assert contacts(session) == [] and clients(session) == []


def test_a_quote_never_closed_is_reported_on_its_line_not_a_crash(session):
    # The open quote swallows the rest of the file into one cell, past the csv module's limit.
    data = (
        CANDIDATE_HEADER
        + '\nAda,Lovelace,,,yes,,\n"Bob,Jones,,,yes,,\n'
        + "Cat,Smith,0412 345 678,,yes,Chef,Perth\n" * 5_000
    ).encode()
    report = import_people(session, "candidates", data, "AU")
    [(line, problem)] = report.errors
    assert line == 3
    assert "quote" in problem and "left open" in problem
    assert candidates(session) == []


def test_a_quote_never_closed_in_a_small_file_is_named_on_its_line(session):
    """Under the csv module's limit, the open quote read the rest of the file as one value: the
    message said "1 values where the header has 7", and nothing of a quote."""
    data = (
        CANDIDATE_HEADER + '\nAda,Lovelace,,,maybe,,\n"Unclosed,C,,,yes,,\nD,,,,yes,,\n'
    ).encode()

    report = import_people(session, "candidates", data, "AU")

    assert report.errors == [
        (2, "sms_consent 'maybe' is not yes or no"),
        (
            3,
            'a quote (") opened in this line is not closed where it should be: the lines after '
            "it were read as part of one value; close it and import again",
        ),
    ]
    assert candidates(session) == []
    # A quoted value with a line break in a record of too many values is only miscounted.
    data = (CANDIDATE_HEADER + '\nAda,Lovelace,,,yes,"Senior\nEngineer",Perth,extra\n').encode()
    assert import_people(session, "candidates", data, "AU").errors == [
        (2, "8 values where the header has 7")
    ]


def test_a_number_too_long_for_e164_imports_as_unreadable(session):
    # phonenumbers reads 17 national digits after +263; no E.164 number is that long, and the
    # column holding E.164 refused it on PostgreSQL.
    data = (CANDIDATE_HEADER + "\nAda,Lovelace,+263 12345678901234567,,yes,,\n").encode()
    report = import_people(session, "candidates", data, "AU")
    assert report.ok
    assert report.unparseable_mobiles == [(2, "+263 12345678901234567")]
    [ada] = candidates(session)
    assert (ada.mobile_raw, ada.mobile_e164, ada.mobile_valid) == (
        "+263 12345678901234567",
        None,
        False,
    )


POISONED_CANDIDATES = (
    CANDIDATE_HEADER + "\n"
    "Ada,Lovelace,0412 345 678,ada@example.com,yes,Engineer,Sydney\n"
    '"Harri\r\nson",Smith,0412 345 679,,yes,,\n'  # a quoted cell runs on to the next line
    "Cat,Smith,0412 345 680,,no,,Perth\tWA\n"
    "Dan,Jones,0412 345 681,,yes,Chef\x00,\n"
    "Eve,Bro\x85wn,0412 345 682,,yes,,\n"
    "Fay,White,0412 345 683,fay@example.com,yes,,\n"
)


def test_control_characters_in_any_column_are_reported_by_line_and_nothing_is_imported(session):
    report = import_people(session, "candidates", POISONED_CANDIDATES.encode(), "AU")
    assert report.errors == [
        (
            3,
            "first_name holds control characters (line break, carriage return); "
            "each value must be one line of text",
        ),
        (5, "location holds control characters (tab); each value must be one line of text"),
        (6, "job_title holds control characters (NUL); each value must be one line of text"),
        (7, "last_name holds control characters (U+0085); each value must be one line of text"),
    ]
    assert report.created == 0
    assert candidates(session) == []


def test_a_control_character_in_a_contacts_client_creates_no_client(session):
    data = (CONTACT_HEADER + "\nGrace,Hopper,,,yes,Acme\x1b[0m,HR\n").encode()
    report = import_people(session, "contacts", data, "AU")
    assert [line for line, _ in report.errors] == [2]
    assert "client holds control characters (U+001B)" in report.errors[0][1]
    assert (clients(session), contacts(session)) == ([], [])


def test_a_second_bad_file_does_not_disturb_an_earlier_import(session):
    assert import_people(session, "candidates", GOOD_CANDIDATES.encode(), "AU").ok
    assert not import_people(session, "candidates", BAD_CANDIDATES.encode(), "AU").ok
    assert len(candidates(session)) == 4


def test_unknown_kind_is_a_programming_error(session):
    with pytest.raises(ValueError):
        import_people(session, "clients", b"", "AU")


def test_contacts_file_creates_each_client_once(session):
    data = (
        CONTACT_HEADER + "\n"
        "Grace,Hopper,0413 222 333,grace@acme.example,yes,Acme Pty Ltd,HR Manager\n"
        "Alan,Turing,0413 222 334,,no,ACME PTY LTD,Director\n"
        "Edsger,Dijkstra,,,yes,,\n"
        "Barbara,Liskov,,,yes,Zeta Group,CFO\n"
    ).encode()
    report = import_people(session, "contacts", data, "AU")
    assert report.ok, report.errors
    assert report.created == 4
    assert [client.name for client in clients(session)] == ["Acme Pty Ltd", "Zeta Group"]
    grace, alan, edsger, barbara = contacts(session)
    assert grace.client is not None and grace.client.name == "Acme Pty Ltd"
    assert alan.client_id == grace.client_id
    assert edsger.client_id is None and edsger.position is None
    assert barbara.client.name == "Zeta Group"
    assert (grace.position, grace.mobile_e164) == ("HR Manager", "+61413222333")


def test_of_clients_sharing_a_key_a_file_joins_the_one_spelled_as_it_is(session, make_contact):
    """ "Müller AG" and "Muller AG" share a search key: a contact goes to the one the file spells,
    and to the oldest when it spells neither."""
    older = make_contact("Hans", "Muller", "0413 222 340", client="Müller AG").client
    newer = make_contact("Greta", "Muller", "0413 222 341", client="Muller AG").client
    data = (
        f"{CONTACT_HEADER}\n"
        "Alan,Turing,0413 222 334,,yes,Muller AG,\n"
        "Edsger,Dijkstra,0413 222 335,,yes,MÜLLER ag,\n"
        "Barbara,Liskov,0413 222 336,,yes,Müller AG,\n"
        "Ada,Byron,0413 222 337,,yes,ACME gmbh,\n"
        "Grace,Brewster,0413 222 338,,yes,Acme GmbH,\n"
    ).encode()
    report = import_people(session, "contacts", data, "AU")
    assert report.ok, report.errors
    alan, edsger, barbara, ada, grace = contacts(session)[-5:]
    assert (alan.client_id, edsger.client_id, barbara.client_id) == (newer.id, older.id, older.id)
    # A new name in two spellings is one client, named as the file first spells it.
    assert ada.client_id == grace.client_id and ada.client.name == "ACME gmbh"
    assert len(clients(session)) == 3


def test_contacts_file_reuses_an_existing_client_by_case_insensitive_name(session, make_contact):
    existing = make_contact(client="Harbour Mining Pty Ltd").client
    data = (
        CONTACT_HEADER + "\nAlan,Turing,0413 222 334,,yes,harbour  MINING pty ltd,Director\n"
    ).encode()
    report = import_people(session, "contacts", data, "AU")
    assert report.ok, report.errors
    assert [client.id for client in clients(session)] == [existing.id]
    alan = contacts(session)[-1]
    assert alan.client_id == existing.id


def test_a_contacts_file_naming_more_clients_than_a_statement_can_list_imports(session):
    # One IN list of every name passed PostgreSQL's 65,535 parameters: a traceback, nothing in.
    # (SQLite's limit is 250,000: there, a file past one lookup's 1,000 names is enough.)
    count = 66_000 if session.get_bind().dialect.name == "postgresql" else 2_500
    rows = "".join(f"P{i},Q,,,yes,Firm {i},\n" for i in range(count))
    existing = Client(name="Firm 7")
    session.add(existing)
    session.commit()
    existing_id = existing.id

    report = import_people(session, "contacts", f"{CONTACT_HEADER}\n{rows}".encode(), "AU")

    assert (report.errors, report.created) == ([], count)
    assert len(clients(session)) == count  # each once, the one already there reused
    firm_7 = session.scalar(sa.select(ClientContact).where(ClientContact.first_name == "P7"))
    assert firm_7.client_id == existing_id
    last = session.scalar(
        sa.select(ClientContact).where(ClientContact.first_name == f"P{count - 1}")
    )
    assert last.client.name == f"Firm {count - 1}"


def test_bad_contacts_file_creates_no_client(session):
    data = (
        CONTACT_HEADER + "\nGrace,Hopper,,,yes,New Client Ltd,\nAlan,,,,yes,New Client Ltd,\n"
    ).encode()
    report = import_people(session, "contacts", data, "AU")
    assert [line for line, _ in report.errors] == [3]
    assert clients(session) == []
    assert contacts(session) == []


# --- the command ---------------------------------------------------------------------------------
def cli(app, *args: str, **kwargs):
    """Run an app command as `flask --app wsgi` would: in an app context of its own.

    (`app.test_cli_runner()` does not push one for commands added with `add_command`.)
    """
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), **kwargs)


def test_import_command_imports_a_good_file_and_exits_zero(app, session, tmp_path):
    path = write(tmp_path, GOOD_CANDIDATES)
    result = cli(app, "import", "candidates", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported 4 candidates." in result.stdout
    assert len(candidates(session)) == 4


def test_import_command_rejects_a_bad_file_with_exit_one_and_every_line(app, session, tmp_path):
    path = write(tmp_path, BAD_CANDIDATES, "bad.csv")
    result = cli(app, "import", "candidates", str(path))
    assert result.exit_code == 1
    assert "Nothing imported: 4 bad line(s) in bad.csv" in result.stderr
    for line in (3, 5, 6, 7):
        assert f"line {line}:" in result.stderr
    assert "line 2:" not in result.stderr and "line 4:" not in result.stderr
    assert candidates(session) == []


def test_import_command_names_the_lines_with_control_characters(app, session, tmp_path):
    path = write(tmp_path, POISONED_CANDIDATES, "poisoned.csv")
    result = cli(app, "import", "candidates", str(path))
    assert result.exit_code == 1
    assert "Nothing imported: 4 bad line(s) in poisoned.csv" in result.stderr
    assert (
        "line 3: first_name holds control characters (line break, carriage return)" in result.stderr
    )
    assert "\x00" not in result.stderr and "\t" not in result.stderr
    assert candidates(session) == []


def test_import_command_rejects_non_utf8_naming_the_line(app, session, tmp_path):
    path = write(tmp_path, CANDIDATE_HEADER.encode() + b"\nAda,Lov\xffelace,,,yes,,\n")
    result = cli(app, "import", "candidates", str(path))
    assert result.exit_code == 1
    assert "line 2: not UTF-8" in result.stderr
    assert candidates(session) == []


@pytest.mark.parametrize(
    ("encoding", "mark"),
    [("utf-16-le", "\ufeff"), ("utf-16-be", "\ufeff"), ("utf-16", ""), ("utf-32", "")],
)
def test_import_command_says_a_utf16_file_is_utf16_once(app, session, tmp_path, encoding, mark):
    """It said "line 1: not UTF-8 text", or named lines made up of the zero bytes' splits."""
    data = (mark + GOOD_CANDIDATES).encode(encoding)  # "utf-16" and "utf-32" write their own mark
    result = cli(app, "import", "candidates", str(write(tmp_path, data)))
    assert result.exit_code == 1
    width = "32" if "32" in encoding else "16"
    assert f"line 1: the whole file is UTF-{width} text" in result.stderr
    assert "CSV UTF-8" in result.stderr and "line 2" not in result.stderr
    assert candidates(session) == []


def test_import_command_reports_a_quote_never_closed_with_exit_one(app, session, tmp_path):
    text = CANDIDATE_HEADER + '\n"Ada,Lovelace,,,yes,,\n' + "Bob,Jones,,,yes,,\n" * 10_000
    result = cli(app, "import", "candidates", str(write(tmp_path, text)))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "line 2: a value runs on for more than 131,072 characters" in result.stderr
    assert candidates(session) == []


def test_import_command_lists_unreadable_mobiles_after_importing(app, session, tmp_path):
    path = write(
        tmp_path,
        CANDIDATE_HEADER + "\nAda,Lovelace,0412 345 678,,yes,,\nBob,Jones,call me,,yes,,\n",
    )
    result = cli(app, "import", "candidates", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported 2 candidates." in result.stdout
    assert "1 mobile number(s) could not be read" in result.stdout
    assert "line 3: call me" in result.stdout
    assert len(candidates(session)) == 2


def test_import_command_lists_landlines_as_no_mobiles_after_importing(app, session, tmp_path):
    path = write(tmp_path, CANDIDATE_HEADER + "\nAda,Lovelace,1300 655 506,,yes,,\n")
    result = cli(app, "import", "candidates", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported 1 candidates." in result.stdout
    assert "1 number(s) are not mobiles" in result.stdout
    assert "line 2: 1300 655 506 is a local-rate service number" in result.stdout


def test_import_command_imports_contacts(app, session, tmp_path):
    path = write(tmp_path, CONTACT_HEADER + "\nGrace,Hopper,0413 222 333,,yes,Acme,HR Manager\n")
    result = cli(app, "import", "contacts", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported 1 contacts." in result.stdout
    assert [client.name for client in clients(session)] == ["Acme"]


def test_import_command_refuses_an_unknown_kind_or_missing_file(app, tmp_path):
    path = write(tmp_path, GOOD_CANDIDATES)
    assert cli(app, "import", "clients", str(path)).exit_code == 2
    assert cli(app, "import", "candidates", str(tmp_path / "missing.csv")).exit_code == 2


@pytest.fixture
def while_checking(app, monkeypatch):
    """Run `write` once on a connection of its own, committed, while the import checks its lines:
    the running app writing (a worker's heartbeat, a sign-in) between the command's first read
    (the organisation's phone region) and its INSERTs."""

    def arrange(write) -> None:
        check = csv_import._check
        done = []

        def checked(record):
            if not done:
                done.append(True)
                with app.extensions["database"].engine.begin() as connection:
                    write(connection)
            return check(record)

        monkeypatch.setattr(csv_import, "_check", checked)

    return arrange


def test_a_write_by_the_running_app_while_lines_are_checked_does_not_fail_the_import(
    app, session, tmp_path, while_checking
):
    while_checking(
        lambda connection: connection.execute(
            sa.insert(Setting).values(key="sms_alert_rate", value=50, updated_at=utcnow())
        )
    )
    result = cli(app, "import", "candidates", str(write(tmp_path, GOOD_CANDIDATES)))
    assert result.exit_code == 0, result.output
    assert len(candidates(session)) == 4


def test_a_client_added_while_lines_are_checked_is_the_one_the_contacts_join(
    app, session, tmp_path, while_checking
):
    text = f"{CONTACT_HEADER}\nGrace,Hopper,0413 222 333,,yes,Harbour Mining,Site manager\n"
    while_checking(
        lambda connection: connection.execute(
            sa.insert(Client).values(
                name="Harbour Mining", name_key=name_key("Harbour Mining"), created_at=utcnow()
            )
        )
    )
    result = cli(app, "import", "contacts", str(write(tmp_path, text)))
    assert result.exit_code == 0, result.output
    (grace,) = contacts(session)
    (client,) = session.scalars(sa.select(Client)).all()
    assert grace.client_id == client.id


# --- writing chunk by chunk ----------------------------------------------------------------------
def test_a_large_import_lets_another_connection_write_between_its_chunks(app, session):
    """300,000 rows went in one transaction holding SQLite's write lock for ~50 s: the pages'
    writes and the sender waited out their 10 s and failed with "database is locked"."""
    rows = "".join(f"P{i},Q,04{i:08d},,yes,,\n" for i in range(3_000))
    engine = app.extensions["database"].engine
    seen = []

    def written(read: int, imported: int) -> None:
        seen.append((read, imported))
        # Another connection (a page's session, the sender) writes while the import goes on.
        with engine.begin() as connection:
            connection.execute(
                sa.insert(Setting).values(key=f"between {len(seen)}", value=1, updated_at=utcnow())
            )

    report = import_people(
        session, "candidates", f"{CANDIDATE_HEADER}\n{rows}".encode(), "AU", written, chunk=500
    )

    assert (report.errors, report.created) == ([], 3_000)
    assert seen[-6:] == [(3_000, n) for n in (500, 1_000, 1_500, 2_000, 2_500, 3_000)]
    assert len(candidates(session)) == 3_000
    # Once after each chunk, each write committed while the import went on.
    assert session.scalar(
        sa.select(sa.func.count()).select_from(Setting).where(Setting.key.like("between %"))
    ) == len(seen)


def fail_inserting(session, table: str, first_name: str) -> None:
    """Make the database refuse to insert the person named `first_name` into `table`, as a full
    disk or a lost connection would refuse a write."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.first_name = '{first_name}' THEN RAISE EXCEPTION 'no room left'; END IF; "
                "RETURN NEW; END $$"
            )
        )
        session.execute(
            sa.text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW "
                "EXECUTE FUNCTION refuse()"
            )
        )
    else:
        session.execute(
            sa.text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} "
                f"WHEN NEW.first_name = '{first_name}' "
                "BEGIN SELECT RAISE(ABORT, 'no room left'); END"
            )
        )
    session.commit()


def import_contacts_in_chunks(session, rows: str, progress) -> None:
    """Import contact `rows` (CSV lines) 500 rows a transaction, telling `progress` each chunk."""
    import_people(
        session, "contacts", f"{CONTACT_HEADER}\n{rows}".encode(), "AU", progress, chunk=500
    )


def test_a_write_failing_in_a_later_chunk_leaves_no_row_of_the_import(session, make_contact):
    existing = make_contact("Hans", "Muller", "0413 222 340", client="Firm 7")
    fail_inserting(session, "client_contacts", "P2600")
    rows = "".join(f"P{i},Q,04{i:08d},,yes,Firm {i % 700},\n" for i in range(3_000))
    seen = []

    with pytest.raises(csv_import.ImportFailed) as failed:
        import_contacts_in_chunks(session, rows, lambda read, imported: seen.append(imported))

    assert seen[-1] == 2_500  # five chunks were written before the sixth failed
    assert str(failed.value) == (
        "The import stopped because of an error (no room left); the 2,500 rows written before "
        "were removed again."
    )
    assert [contact.id for contact in contacts(session)] == [existing.id]
    # The clients it made went with them; the one there before stays.
    assert [client.name for client in clients(session)] == ["Firm 7"]
    assert audited_imports(session) == []


def test_a_failed_import_keeps_the_people_someone_worked_on_between_its_chunks(session):
    """The pages write on between the chunks: undoing the import deleted a colleague's note with
    the person it was about (and left an SMS sent to them without its person)."""
    fail_inserting(session, "client_contacts", "P1200")
    rows = "".join(f"P{i},Q,04{i:08d},,yes,Firm {i % 7},\n" for i in range(1_500))
    noted = []

    def a_colleague_notes_the_first(read, imported):
        if imported == 500 and not noted:
            with session.get_bind().begin() as other:
                first = other.scalar(
                    sa.select(ClientContact.id).where(ClientContact.first_name == "P0")
                )
                other.execute(sa.insert(Comment), {"contact_id": first, "text": "Called her"})
            noted.append(first)

    with pytest.raises(csv_import.ImportFailed) as failed:
        import_contacts_in_chunks(session, rows, a_colleague_notes_the_first)

    assert str(failed.value) == (
        "The import stopped because of an error (no room left); of the 1,000 rows written "
        "before, 999 were removed again and 1 kept, as someone has added a note to them, sent "
        f"them an SMS or edited them since (ids {noted[0]})."
    )
    assert [contact.id for contact in contacts(session)] == noted
    assert [comment.text for comment in session.scalars(sa.select(Comment))] == ["Called her"]
    # Her client stays with her; the others made for the import went.
    assert [client.name for client in clients(session)] == ["Firm 0"]


def test_the_command_says_what_a_failed_write_left(app, session, tmp_path):
    fail_inserting(session, "candidates", "P2050")
    rows = "".join(f"P{i},Q,04{i:08d},,yes,,\n" for i in range(2_100))
    path = write(tmp_path, f"{CANDIDATE_HEADER}\n{rows}", "big.csv")

    result = cli(app, "import", "candidates", str(path))

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert (
        "Import of big.csv failed. The import stopped because of an error (no room left); "
        "the 2,000 rows written before were removed again." in result.stderr
    )
    assert candidates(session) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_mid_import_undoes_its_rows_as_ctrl_c_does(
    database_url, session, tmp_path, signum
):
    """`timeout`, a stopped service or a closed terminal stop the command with SIGTERM or SIGHUP:
    the chunks written stayed, with no message and no audit event."""
    rows = "".join(f"P{i},Q,04{i:08d},,yes,,\n" for i in range(30_000))
    path = write(tmp_path, f"{CANDIDATE_HEADER}\n{rows}", "big.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, SECRET_KEY="x", SMS_PROVIDER="sandbox")
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "import", "candidates", str(path)]

    def written() -> int:
        session.rollback()  # a new snapshot: the import writes from its own connection
        return session.scalar(sa.select(sa.func.count()).select_from(Candidate))

    process = delivery.Process(command, env, tmp_path / "import.log")
    try:
        # 15 chunks, a pause of 0.1 s after each: the signal comes between the first and the last
        # (with 1.4 s to spare for a busy machine's polling).
        delivery.wait_until(lambda: written() > 0, 120, "the first chunk", every=0.01)
        process.signal(signum)
        code = process.wait(120)
    finally:
        process.close()

    output = process.output()
    assert code == 1, output
    assert "Traceback" not in output
    assert "Import of big.csv failed. The import stopped because it was interrupted; " in output
    assert "were removed again." in output
    assert written() == 0
    assert audited_imports(session) == []


def test_a_signal_between_a_chunks_commit_and_its_note_waits_for_both():
    """A signal just after a chunk committed, before its ids were noted, left 2,000 rows the undo
    did not know of ("nothing was written"): held, it comes as the block ends."""

    class Stopped(Exception):
        pass

    def stop(_signum, _frame):
        raise Stopped

    reached = []
    before = signal.signal(signal.SIGTERM, stop)
    try:
        with pytest.raises(Stopped):
            with csv_import._signals_held():
                os.kill(os.getpid(), signal.SIGTERM)
                reached.append("the note after the commit")
            reached.append("never: the signal comes as the block ends")
    finally:
        signal.signal(signal.SIGTERM, before)
    assert reached == ["the note after the commit"]


def test_a_signal_as_a_chunk_commits_removes_its_rows_as_the_undo_knows_them(session):
    """The signal comes from inside the first chunk's commit (its after_commit event), as SIGHUP
    came in CI: the undo knows the chunk, removes it and says so."""

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt  # as the import command's handler does

    sent = []

    def signal_once(_session):
        if not sent:
            sent.append(signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGTERM)

    rows = "".join(f"P{i},Q,04{i:08d},,yes,,\n" for i in range(4))
    before = signal.signal(signal.SIGTERM, interrupt)
    sa.event.listen(session, "after_commit", signal_once)
    try:
        with pytest.raises(csv_import.ImportFailed) as failed:
            import_people(
                session, "candidates", f"{CANDIDATE_HEADER}\n{rows}".encode(), "AU", chunk=2
            )
    finally:
        signal.signal(signal.SIGTERM, before)
        sa.event.remove(session, "after_commit", signal_once)
    assert "it was interrupted; the 2 rows written before were removed again." in str(failed.value)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Candidate)) == 0


def test_a_driver_error_raised_while_handling_an_interrupt_is_told_as_the_interrupt(session):
    """psycopg stopped mid-query by the signal refused the next step ("can't change 'autocommit'
    now"): that error came instead of KeyboardInterrupt, and the import said it failed "because of
    an error" when it had been interrupted (seen in CI with SIGHUP on PostgreSQL)."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise RuntimeError("can't change 'autocommit' now")  # noqa: B904 (as psycopg's came)
    except RuntimeError as error:
        told = csv_import._undo(session, KINDS.by_segment("candidates"), [], [], error)
    assert told == "The import stopped because it was interrupted; nothing was written."
    assert csv_import._undo(
        session, KINDS.by_segment("candidates"), [], [], RuntimeError("disk full")
    ) == ("The import stopped because of an error (disk full); nothing was written.")
