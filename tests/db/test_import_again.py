"""Importing nobody twice: a line whose person (same kind, same name as searched, same mobile in
E.164) is stored already, or came earlier in the file, is skipped and reported, so running an
import again is harmless."""

from __future__ import annotations

from tests.db.test_import import (
    CANDIDATE_HEADER,
    CONTACT_HEADER,
    GOOD_CANDIDATES,
    candidates,
    cli,
    clients,
    contacts,
    write,
)
from webapp.data.csv_import import import_people


def test_importing_a_file_again_adds_nobody_and_says_so(session):
    first = import_people(session, "candidates", GOOD_CANDIDATES.encode(), "AU")
    again = import_people(session, "candidates", GOOD_CANDIDATES.encode(), "AU")

    assert (first.created, first.skipped) == (4, [])
    assert again.ok and again.created == 0
    assert again.skipped == [(line, "already there") for line in (2, 3, 4, 5)]
    assert len(candidates(session)) == 4


def test_a_line_repeating_an_earlier_one_is_skipped_naming_it(session):
    data = f"""{CANDIDATE_HEADER}
Ada,Lovelace,0412 345 678,ada@example.com,yes,,
Bob,Brown,0412 340 000,,yes,,
ADA,lovelace,+61 412 345 678,ADA@example.com,yes,,
Ada,Lovelace,0412 999 000,,yes,,
Ada,Byron,0412 345 678,,yes,,
Nora,Nomobile,,nora@example.com,yes,,
Nora,Nomobile,,NORA@example.com,yes,,
"""
    report = import_people(session, "candidates", data.encode(), "AU")

    # Same name (as searched: case, accents) and mobile (E.164; with none, the email): one person,
    # and the same values as search compares them (case aside): a repeat.
    # A namesake on another number, or another name on the number, is someone else.
    assert report.skipped == [(4, "repeats line 2"), (8, "repeats line 7")]
    assert report.created == 5
    assert [(c.full_name, c.mobile_e164) for c in candidates(session)] == [
        ("Ada Lovelace", "+61412345678"),
        ("Bob Brown", "+61412340000"),
        ("Ada Lovelace", "+61412999000"),
        ("Ada Byron", "+61412345678"),
        ("Nora Nomobile", None),
    ]


def test_a_person_already_there_is_skipped_and_the_rest_imported(session, make_candidate):
    make_candidate("Zoë", "Müller", "+61 412 111 222")
    data = f"""{CANDIDATE_HEADER}
Zoe,Muller,0412 111 222,,yes,,
Ann,Lee,call me,,yes,,
"""
    report = import_people(session, "candidates", data.encode(), "AU")
    assert report.skipped == [(2, "already there")]
    assert (report.created, report.unparseable_mobiles) == (1, [(3, "call me")])

    # Again: Ann's unreadable number is hers as typed, so she is there too, and no longer listed
    # among numbers imported as invalid.
    again = import_people(session, "candidates", data.encode(), "AU")
    assert again.skipped == [(2, "already there"), (3, "already there")]
    assert (again.created, again.unparseable_mobiles) == (0, [])
    assert len(candidates(session)) == 2


def test_a_skipped_contact_creates_no_client(session):
    first = f"{CONTACT_HEADER}\nGrace,Hopper,0413 222 333,,yes,Harbour Mining,Payroll\n"
    import_people(session, "contacts", first.encode(), "AU")
    moved = f"{CONTACT_HEADER}\nGrace,Hopper,0413 222 333,,yes,Östlund Logistics,Payroll\n"
    report = import_people(session, "contacts", moved.encode(), "AU")
    assert report.skipped == [(2, "already there")]
    assert [client.name for client in clients(session)] == ["Harbour Mining"]
    assert len(contacts(session)) == 1


def test_a_candidate_is_no_contact(session):
    import_people(session, "candidates", GOOD_CANDIDATES.encode(), "AU")
    data = f"{CONTACT_HEADER}\nAda,Lovelace,0412 345 678,,yes,,\n"
    report = import_people(session, "contacts", data.encode(), "AU")
    assert (report.created, report.skipped) == (1, [])


def test_the_command_lists_the_skipped_lines(app, session, tmp_path):
    text = GOOD_CANDIDATES + "Ada,Lovelace,0412 345 678,,yes,,\n"
    path = write(tmp_path, text)
    result = cli(app, "import", "candidates", str(path))
    assert result.exit_code == 0, result.output
    assert "Imported 4 candidates." in result.stdout
    assert "1 line(s) skipped, the person being there already (same name and mobile):" in (
        result.stdout
    )
    assert "  line 6: repeats line 2" in result.stdout

    again = cli(app, "import", "candidates", str(path))
    assert again.exit_code == 0, again.output
    assert "Imported 0 candidates." in again.stdout
    assert "  line 2: already there" in again.stdout
    assert "  line 6: repeats line 2" in again.stdout
    assert len(candidates(session)) == 4


CONFLICTING = """first_name,last_name,mobile,email,sms_consent
Anna,Lee,0412 000 112,anna@x.com,Yes
Anna,Lee,+61412000112,anna2@x.com,no
Bob,Ng,,,yes
Bob,Ng,,,no
Cy,Ho,0412 000 113,cy@x.com,yes
Cy,Ho,0412 000 113,,yes
"""


def test_a_later_line_of_a_person_with_other_values_is_refused_naming_them(session):
    """The first line of a person won: the later "no" (and Anna's other email) was dropped as
    "repeats line N", and both were stored with consent."""
    report = import_people(session, "candidates", CONFLICTING.encode(), "AU")

    assert report.errors == [
        (
            3,
            "the same person as line 2 (same name and mobile) with another email, sms_consent: "
            "keep one of the two lines",
        ),
        (
            5,
            "the same person as line 4 (same name, no mobile or email) with another sms_consent: "
            "keep one of the two lines",
        ),
    ]
    # A later line leaving a value out drops nothing: a repeat.
    assert report.skipped == [(7, "repeats line 6")]
    assert report.created == 0
    assert candidates(session) == []


def test_consent_withdrawn_for_a_person_already_there_is_reported_not_applied(
    app, session, tmp_path
):
    """Importing an updated file in which someone withdrew consent listed them "already there"
    and said nothing: their stored consent stayed yes."""
    first = f"{CANDIDATE_HEADER}\nAnna,Lee,0412 000 112,,yes,,\nBob,Ng,0412 000 113,,yes,,\n"
    assert import_people(session, "candidates", first.encode(), "AU").created == 2
    updated = first.replace("Anna,Lee,0412 000 112,,yes", "Anna,Lee,0412 000 112,,no")
    updated += "Cy,Ho,0412 000 114,,no,,\n"

    report = import_people(session, "candidates", updated.encode(), "AU")

    assert report.skipped == [(2, "already there"), (3, "already there")]
    assert report.consent_withdrawn == [(2, "Anna Lee")]
    assert report.created == 1
    # Not changed: a change of consent is made, and audited, on the record.
    assert [(c.full_name, c.sms_consent) for c in candidates(session)] == [
        ("Anna Lee", True),
        ("Bob Ng", True),
        ("Cy Ho", False),
    ]

    result = cli(app, "import", "candidates", str(write(tmp_path, updated)))
    assert result.exit_code == 0, result.output
    assert (
        "1 of them say sms_consent no for a person stored with consent: not applied"
        in result.stdout
    )
    assert "  line 2: Anna Lee: consent withdrawn in the file, not applied" in result.stdout


def test_the_progress_counts_the_lines_read_and_the_people_imported_apart(app, session, tmp_path):
    """A re-import of 5 lines ended "0 rows read": the count was of the people created."""
    path = write(tmp_path, GOOD_CANDIDATES + "Ada,Lovelace,0412 345 678,,yes,,\n")
    first = cli(app, "import", "candidates", str(path))
    assert first.stderr.endswith("5 rows read, 4 imported\n")

    again = cli(app, "import", "candidates", str(path))
    assert again.exit_code == 0, again.output
    assert again.stderr.endswith("5 rows read, 0 imported\n")
