"""Unit tests for what Send's bulk writes are made of: rows bound column by column, UUIDs made in
bulk, and the garbage collector paused while a Send runs."""

import gc
import threading
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg

from webapp.bulk import bound_columns, bound_values
from webapp.models import Comment, Message
from webapp.models.messaging import new_uuid, new_uuids
from webapp.sms import compose

DIALECTS = [sqlite.dialect(), psycopg.dialect()]


def test_new_uuids_are_distinct_version_7_uuids_of_their_time_as_text():
    at = datetime(2026, 12, 2, 9, 30, 15, 123_000, tzinfo=UTC)
    made = new_uuids(2_000, at)
    assert len(set(made)) == 2_000
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text  # lower-case, hyphenated, as str(UUID) is
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == int(at.timestamp() * 1000)  # the time, to the millisecond
    assert new_uuids(0) == []


def test_uuids_made_later_sort_after_earlier_ones_as_text():
    # What keeps a Send's messages together at the end of the uuid and reference indexes.
    earlier = new_uuids(50, datetime(2026, 12, 2, 9, 30, tzinfo=UTC))
    later = new_uuids(50, datetime(2026, 12, 2, 9, 30, 0, 1_000, tzinfo=UTC))
    assert max(earlier) < min(later)
    assert uuid.UUID(new_uuid()).version == 7


def test_the_random_part_comes_from_the_source_given():
    zeros = new_uuids(2, datetime(2026, 12, 2, tzinfo=UTC), random_bytes=bytes)
    assert zeros[0] == zeros[1]
    assert zeros[0].endswith("-7000-8000-000000000000")


MOMENT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
messages = st.fixed_dictionaries(
    {
        "to_e164": st.sampled_from(["+61412345678", "+447700900123"]),
        "to_region": st.sampled_from(["AU", "GB", None]),
        "body": st.text(max_size=20),
        "override_opt_out": st.booleans(),
        "next_attempt_at": st.sampled_from([None, MOMENT, datetime(2026, 12, 3, tzinfo=UTC)]),
        "account_id": st.sampled_from([None, 1, 2]),
    }
)


def processed(table, dialect, name, value):
    """A value as SQLAlchemy's own per-value bind processing gives it to the driver."""
    process = table.c[name].type.bind_processor(dialect)
    return value if process is None or value is None else process(value)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@given(rows=st.lists(messages, min_size=1, max_size=12))
def test_rows_given_by_column_or_as_dicts_bind_as_sqlalchemy_binds_each_value(dialect, rows):
    same = {"batch_id": 7, "state": "queued", "created_at": MOMENT, "updated_at": MOMENT}
    table = Message.__table__
    uuids = new_uuids(len(rows))
    varying = {"uuid": uuids, "reference": uuids} | {
        name: [row[name] for row in rows] for name in rows[0]
    }
    dicts = [{name: column[i] for name, column in varying.items()} | same for i in range(len(rows))]
    by_column = bound_columns(table, dialect, same, varying)
    as_dicts = bound_values(table, dicts, dialect)

    def default(name):
        return table.c[name].default.arg

    for columns, values in (by_column, as_dicts):
        assert columns[: len(dicts[0])] == list(dicts[0])
        # Left out: columns with scalar defaults only, given those defaults.
        for name in columns[len(dicts[0]) :]:
            assert table.c[name].default is not None and table.c[name].default.is_scalar
        assert len(values) == len(dicts)
        for row, source in zip(values, dicts, strict=True):
            expected = [
                processed(table, dialect, name, source[name] if name in source else default(name))
                for name in columns
            ]
            assert list(row) == expected


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_bound_columns_fills_in_scalar_defaults_and_binds_times(dialect):
    columns, values = bound_columns(
        Comment.__table__,
        dialect,
        {"author_id": 1, "type": "SMS", "created_at": MOMENT},
        {"candidate_id": [1, 2], "text": ["a", "b"]},
    )
    assert columns[:2] == ["candidate_id", "text"]
    row = dict(zip(columns, values[1], strict=True))
    assert row["candidate_id"] == 2 and row["text"] == "b"
    processed = Comment.__table__.c.created_at.type.bind_processor(dialect)(MOMENT)
    assert row["created_at"] == processed
    assert set(columns) >= {"author_id", "type", "created_at"}


def test_bound_columns_refuses_columns_of_different_lengths():
    with pytest.raises(ValueError):
        bound_columns(Comment.__table__, DIALECTS[0], {}, {"candidate_id": [1], "text": ["a", "b"]})


def test_collection_is_paused_inside_and_back_on_after():
    assert gc.isenabled()
    with compose.collection_paused():
        assert not gc.isenabled()
        with compose.collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_collection_is_back_on_after_an_error():
    with pytest.raises(RuntimeError), compose.collection_paused():
        raise RuntimeError("refused")
    assert gc.isenabled()


def test_collection_left_off_stays_off():
    gc.disable()
    try:
        with compose.collection_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_collection_resumes_when_the_last_of_two_threads_is_done():
    inside, release = threading.Event(), threading.Event()

    def other_send():
        with compose.collection_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_send)
    with compose.collection_paused():
        thread.start()
        inside.wait(5)
    assert not gc.isenabled()  # the other thread's Send is still running
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_send_runs_with_the_collection_paused(monkeypatch):
    seen = []

    def refuse(*args, **kwargs):
        seen.append(gc.isenabled())
        raise sa.exc.InvalidRequestError("stop here")

    monkeypatch.setattr(compose, "begin_write", refuse)
    with pytest.raises(sa.exc.InvalidRequestError):
        compose.send(None, None, None, None, provider="sandbox", blocked=frozenset())
    assert seen == [False]
    assert gc.isenabled()
