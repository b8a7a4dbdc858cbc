"""The person-kind registry: each kind found by every name it goes by, and agreeing with the models,
the URLs, the stored values and the search criteria that use those names."""

from __future__ import annotations

import dataclasses

import pytest

from webapp import config as settings
from webapp import create_app
from webapp.models import Comment, Message
from webapp.models.activity import subject_name
from webapp.models.base import Base
from webapp.models.messaging import RECORD_TYPES
from webapp.models.people import Person
from webapp.people import search as people_search
from webapp.people.kinds import CANDIDATES, CONTACTS, KINDS, Kind


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda kind: kind.segment)
def test_each_kind_is_found_by_every_name_it_goes_by(kind: Kind):
    assert KINDS.by_segment(kind.segment) is kind
    assert KINDS.by_singular(kind.singular) is kind
    assert KINDS.of(kind.model) is kind
    assert KINDS.of(kind.model()) is kind


def test_the_names_are_the_ones_stored_and_linked():
    assert KINDS.segments == ("candidates", "contacts")
    assert KINDS.singulars == ("candidate", "contact")
    assert [kind.person_column for kind in KINDS] == ["candidate_id", "contact_id"]
    assert CANDIDATES.record_args(7) == {"kind": "candidates", "person_id": 7}
    assert CONTACTS.search_endpoint == "search.contacts"


def test_an_unknown_name_is_refused():
    for lookup, name in (
        (KINDS.by_segment, "candidate"),
        (KINDS.by_singular, "contacts"),
        (KINDS.by_segment, "c"),
        (KINDS.by_singular, "k"),
    ):
        with pytest.raises(KeyError):
            lookup(name)
    with pytest.raises(KeyError):
        KINDS.of(Message())


def test_every_person_model_has_a_kind():
    people = {
        mapper.class_ for mapper in Base.registry.mappers if issubclass(mapper.class_, Person)
    }
    assert people == {kind.model for kind in KINDS}


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda kind: kind.segment)
def test_the_models_spell_the_kind_as_the_registry_does(kind: Kind):
    person = kind.model()
    assert kind.model.kind == kind.singular
    assert subject_name(person) == kind.singular  # AuditEvent.subject_type
    assert kind.singular in RECORD_TYPES  # SmsTemplate.record_type
    for table in (Message, Comment):
        foreign_keys = getattr(table, kind.person_column).property.columns[0].foreign_keys
        assert {key.column.table.name for key in foreign_keys} == {kind.model.__tablename__}
    assert all(hasattr(kind.model, name) for name in kind.fields)
    assert set(kind.statuses) >= {"Active", "Inactive"}


def test_the_search_filters_are_criteria_with_labels():
    criteria = {field.name for field in dataclasses.fields(people_search.Criteria)}
    for kind in KINDS:
        assert set(kind.filters) <= criteria & set(people_search.TEXT_LABELS)
        assert people_search.Criteria(kind=kind.segment).model is kind.model
    assert not set(CANDIDATES.filters) & set(CONTACTS.filters)


def test_person_columns_name_the_one_person_and_leave_the_other_kind_empty():
    ada = CANDIDATES.model(id=3)
    grace = CONTACTS.model(id=5)
    assert KINDS.person_columns(ada) == {"candidate_id": 3, "contact_id": None}
    assert KINDS.person_columns(grace) == {"candidate_id": None, "contact_id": 5}
    assert KINDS.person_columns(None) == {"candidate_id": None, "contact_id": None}


def test_the_record_urls_accept_exactly_the_segments(tmp_path):
    app = create_app(settings.testing_config(f"sqlite:///{tmp_path / 'app.sqlite3'}"))
    try:
        rules = [rule for rule in app.url_map.iter_rules() if "kind" in rule.arguments]
        assert {rule.endpoint for rule in rules} == {
            "records.show",
            "records.privacy",
            "records.new",
            "records.edit",
            "records.quick_reply_send",
            "records.quick_reply_counter",
        }
        for rule in rules:
            assert set(rule._converters["kind"].items) == set(KINDS.segments)
        for kind in KINDS:
            assert kind.search_endpoint in app.view_functions
            assert app.url_map.bind("localhost").match(f"/{kind.segment}") == (
                kind.search_endpoint,
                {},
            )
    finally:
        app.extensions["database"].engine.dispose()
