"""The two kinds of person an SMS goes to, each named once: ask a Kind, never branch on a
spelling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from webapp.models.people import CANDIDATE_STATUSES, CONTACT_STATUSES, Candidate, ClientContact


# eq=False: each kind exists once, so it is compared and hashed by identity (cheap as a dict key).
@dataclass(frozen=True, slots=True, eq=False)
class Kind:
    """Everything that differs between Candidates and Client Contacts, in one place."""

    # In URLs (/candidates/7, search.candidates) and stored as ComposeDraft.kind and Batch.kind.
    segment: str
    # Stored as AuditEvent.subject_type and SmsTemplate.record_type; the ?candidate=<id> parameter.
    singular: str
    label: str  # "Client contact": a record type in a list or before a number
    plural_label: str  # "Client Contacts": the search page's title
    noun: str  # "client contact": inside a sentence
    model: type[Candidate | ClientContact]
    person_column: str  # the foreign key naming this kind of person on messages and comments
    statuses: tuple[str, ...]
    fields: tuple[str, ...]  # the record's own columns, saved and audited
    filters: tuple[str, ...]  # search filters that apply only to this kind
    has_client: bool  # works for a Client (a record's client name, a search by client)
    # The recipient merge fields that mean something for this kind (a candidate has no client);
    # the sender's fields suit every kind. Names from webapp.sms.merge's catalogue.
    merge_fields: tuple[str, ...]

    @property
    def search_endpoint(self) -> str:
        return f"search.{self.segment}"

    def record_args(self, person_id: int) -> dict:
        """The arguments of the records.* endpoints (show, edit, privacy) for one person."""
        return {"kind": self.segment, "person_id": person_id}


# The recipient's own merge fields for either kind (merge.offered adds the sender's).
PERSON_MERGE_FIELDS = ("first_name", "last_name", "full_name", "mobile", "email", "job_title")
CANDIDATES = Kind(
    segment="candidates",
    singular="candidate",
    label="Candidate",
    plural_label="Candidates",
    noun="candidate",
    model=Candidate,
    person_column="candidate_id",
    statuses=CANDIDATE_STATUSES,
    fields=("first_name", "last_name", "email", "status", "job_title", "skills", "location"),
    filters=("location", "job"),
    has_client=False,
    merge_fields=(*PERSON_MERGE_FIELDS, "location"),
)
CONTACTS = Kind(
    segment="contacts",
    singular="contact",
    label="Client contact",
    plural_label="Client Contacts",
    noun="client contact",
    model=ClientContact,
    person_column="contact_id",
    statuses=CONTACT_STATUSES,
    fields=("first_name", "last_name", "email", "status", "position"),
    filters=("client", "position"),
    has_client=True,
    merge_fields=(*PERSON_MERGE_FIELDS, "client_name"),
)


class Kinds:
    """The registry: every kind, and each found by any of its names or by a person."""

    def __init__(self, *kinds: Kind):
        self._all = kinds
        self._by_segment = {kind.segment: kind for kind in kinds}
        self._by_singular = {kind.singular: kind for kind in kinds}
        self._by_model = {kind.model: kind for kind in kinds}

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._all)

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self._by_segment)

    @property
    def singulars(self) -> tuple[str, ...]:
        return tuple(self._by_singular)

    def by_segment(self, segment: str) -> Kind:
        """The kind named "candidates" or "contacts"; KeyError for anything else."""
        return self._by_segment[segment]

    def by_singular(self, singular: str) -> Kind:
        """The kind named "candidate" or "contact"; KeyError for anything else."""
        return self._by_singular[singular]

    def merge_fields(self, singular: str | None) -> frozenset[str]:
        """The recipient merge fields for one kind ("candidate"), or for any kind (a template for
        "both", or None)."""
        kinds = [self._by_singular[singular]] if singular in self._by_singular else self._all
        return frozenset(name for kind in kinds for name in kind.merge_fields)

    def of(self, person: object) -> Kind:
        """The kind of a Candidate or ClientContact (an instance or the class)."""
        model = person if isinstance(person, type) else type(person)
        return self._by_model[model]

    def person_columns(self, person: Candidate | ClientContact | None) -> dict[str, int | None]:
        """candidate_id and contact_id of a message or comment about `person` (None: nobody)."""
        owner = None if person is None else self.of(person)
        return {kind.person_column: person.id if kind is owner else None for kind in self._all}


KINDS = Kinds(CANDIDATES, CONTACTS)
