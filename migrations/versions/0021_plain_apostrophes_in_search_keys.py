"""Search keys read a curly apostrophe or a Unicode hyphen as the plain one.

A name typed on a phone with smart punctuation ("O’Brien") was found only by a search typed the
same way, and a search typed on a phone found nobody typed at a desk: the keys kept ’ apart from
'. webapp.models.people.name_key now writes ’ ‘ ‛ ʼ ′ as ' and ‐ (and the non-breaking hyphen,
which NFKC makes ‐) as -; this revision rewrites the keys of the records and clients holding one
of them. Every other key is unchanged, so it reads the tables once and writes a few rows.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# Copies of webapp.models.people's name_key and other_email_key as this revision writes them (a
# migration keeps its own: the models move on).
SAME_AS_ASCII = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u201b": "'", "\u02bc": "'", "\u2032": "'", "\u2010": "-"}
)
# What a column may hold that NFKC and case folding make one of them: the same, the non-breaking
# hyphen (‐), ŉ (ʼn), and the double, triple and quadruple primes (runs of ′).
AFFECTED = (
    "\u2019",
    "\u2018",
    "\u201b",
    "\u02bc",
    "\u2032",
    "\u2010",
    "\u2011",
    "\u0149",
    "\u2033",
    "\u2034",
    "\u2057",
)
PEOPLE = {
    "candidates": ("first_name", "last_name", "email", "location"),
    "client_contacts": ("first_name", "last_name", "email"),
}


def _key(text: str | None, plain: bool) -> str:
    key = " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()
    return key.translate(SAME_AS_ASCII) if plain else key


def _other_email_key(email_key: str | None, first_key: str, last_key: str) -> str | None:
    if email_key is None:
        return None
    if any(name and email_key.startswith(name) for name in (first_key, last_key)):
        return None
    return email_key


def _holding(bind, table: str, columns: tuple[str, ...]) -> list:
    where = " OR ".join(f"{column} LIKE :c{i}" for column in columns for i in range(len(AFFECTED)))
    return list(
        bind.execute(
            sa.text(f"SELECT id, {', '.join(columns)} FROM {table} WHERE {where}"),
            {f"c{i}": f"%{ch}%" for i, ch in enumerate(AFFECTED)},
        ).mappings()
    )


def _rewrite(plain: bool) -> None:
    bind = op.get_bind()
    for table, columns in PEOPLE.items():
        for row in _holding(bind, table, columns):
            first, last = _key(row["first_name"], plain), _key(row["last_name"], plain)
            email = (row["email"] or "").strip() or None
            email_key = _key(email, plain) if email else None
            values = {
                "id": row["id"],
                "first_name_key": first,
                "last_name_key": last,
                "full_name_key": f"{first} {last}",
                "reverse_name_key": f"{last} {first}",
                "email_key": email_key,
                "email_other_key": _other_email_key(email_key, first, last),
            }
            if "location" in columns:
                values["location_key"] = _key(row["location"], plain) or None
            assignments = ", ".join(f"{name} = :{name}" for name in values if name != "id")
            bind.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), values)
    for row in _holding(bind, "clients", ("name",)):
        bind.execute(
            sa.text("UPDATE clients SET name_key = :key WHERE id = :id"),
            {"id": row["id"], "key": _key(row["name"], plain)},
        )


def upgrade() -> None:
    _rewrite(plain=True)


def downgrade() -> None:
    _rewrite(plain=False)
