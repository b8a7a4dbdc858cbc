"""People to search, shared by the search query tests (tests/db) and the search page tests
(tests/web): client contacts for the client and position filters, candidates to sort, and
candidates in bulk."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from webapp.models import Candidate
from webapp.models.people import person_values
from webapp.phones import normalise

REGION = "AU"
MOBILE = "0412 345 678"


def add_contacts(make_contact) -> None:
    """Two contacts at Harbour Mining, one at Östlund, one at Bay Harbour Foods, one without a
    client; three of the positions are managers'."""
    make_contact(
        "Grace", "Hopper", "0413 000 001", client="Harbour Mining Pty Ltd", position="Site Manager"
    )
    make_contact(
        "Alan",
        "Turing",
        "0413 000 002",
        client="Harbour Mining Pty Ltd",
        position="Payroll Officer",
    )
    make_contact(
        "Kath", "Johnson", "0413 000 003", client="Östlund Logistics", position="HR Manager"
    )
    make_contact("Zoë", "Müller", "0413 000 004", client="Bay Harbour Foods", position="Buyer")
    make_contact("Nora", "Noclient", "0413 000 005", client=None)


# The orders add_sortable's candidates come in: name order ignores case (Ada adams before Bea
# Adams), and creation order differs from it.
BY_NAME = ["Ada adams", "Bea Adams", "Cy Adams", "Zoë Müller", "Al Zane"]
OLDEST_FIRST = ["Al Zane", "Ada adams", "Bea Adams", "Cy Adams", "Zoë Müller"]


def add_sortable(make_candidate) -> None:
    """Five candidates, for sorting by name and by creation time."""
    make_candidate("Bea", "Adams", "0413 000 001", created_at=datetime(2025, 3, 1, tzinfo=UTC))
    make_candidate("Al", "Zane", "0413 000 002", created_at=datetime(2025, 1, 1, tzinfo=UTC))
    make_candidate("Cy", "Adams", "0413 000 003", created_at=datetime(2025, 4, 1, tzinfo=UTC))
    make_candidate("Ada", "adams", "0413 000 004", created_at=datetime(2025, 2, 1, tzinfo=UTC))
    make_candidate("Zoë", "Müller", "0413 000 005", created_at=datetime(2025, 5, 1, tzinfo=UTC))


def insert_candidates(session, rows: list[dict]) -> None:
    """Insert candidates in one statement (fast), as the seeder does; a row's fields override
    the defaults: no email, MOBILE, created on 1 January 2025."""
    created = datetime(2025, 1, 1, tzinfo=UTC)
    defaults = {
        "email": None,
        "mobile": normalise(MOBILE, REGION),
        "created_at": created,
        "updated_at": created,
    }
    session.execute(
        sa.insert(Candidate.__table__), [person_values(**(defaults | row)) for row in rows]
    )
    session.commit()


def bulk_candidates(session, n: int, last_name: str = "Person") -> None:
    """n candidates, Bulk00000 to Bulk{n-1}, all with one last name and one mobile."""
    insert_candidates(
        session, [{"first_name": f"Bulk{i:05d}", "last_name": last_name} for i in range(n)]
    )
