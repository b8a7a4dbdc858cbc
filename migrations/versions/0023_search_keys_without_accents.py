"""Search keys drop accents and read an en or em dash as a hyphen.

A recruiter typing "Jose", "Sean" or "Muller" found nobody called José, Seán or Müller: the keys
kept the accents, and few people type them when searching. webapp.models.people.name_key now
writes a letter without its accent (and ł ø đ ħ ı as l o d h i), and – and — as -; this revision
rewrites the keys of the records and clients whose names, emails or locations hold any character
beyond ASCII (the keys of the others are unchanged). It reads those rows once, 5,000 at a time,
and writes each page's keys in one batch.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# Copies of webapp.models.people's name_key (both as this revision writes it and as 0021 left it)
# and other_email_key: a migration keeps its own, the models move on.
SAME_AS_ASCII_0021 = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201b": "'",
    "\u02bc": "'",
    "\u2032": "'",
    "\u2010": "-",
}
SAME_AS_ASCII = str.maketrans({**SAME_AS_ASCII_0021, "\u2013": "-", "\u2014": "-"})
PLAIN_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ı": "i"})
ACCENTS = re.compile("[\u0300-\u036f]")
PAGE = 5_000  # rows read, and written in one executemany, at a time
PEOPLE = {
    "candidates": ("first_name", "last_name", "email", "location"),
    "client_contacts": ("first_name", "last_name", "email"),
}


def _key(text: str | None, plain: bool) -> str:
    key = " ".join(unicodedata.normalize("NFKC", text or "").split()).casefold()
    if key.isascii():
        return key
    if not plain:
        return key.translate(str.maketrans(SAME_AS_ASCII_0021))
    key = ACCENTS.sub("", unicodedata.normalize("NFD", key.translate(SAME_AS_ASCII)))
    return unicodedata.normalize("NFC", key).translate(PLAIN_LETTERS)


def _other_email_key(email_key: str | None, first_key: str, last_key: str) -> str | None:
    if email_key is None:
        return None
    if any(name and email_key.startswith(name) for name in (first_key, last_key)):
        return None
    return email_key


def _beyond_ascii(bind, column: str) -> str:
    """SQL true when `column` holds a character beyond ASCII (NUL and controls aside)."""
    if bind.dialect.name == "postgresql":
        return f"{column} ~ :beyond"
    return f"{column} GLOB :beyond"


def _pages(bind, table: str, columns: tuple[str, ...]):
    """The rows of `table` holding a character beyond ASCII in one of `columns`, PAGE at a time
    in id order: a large database of names from across the world holds many."""
    where = " OR ".join(_beyond_ascii(bind, column) for column in columns)
    # One character class for both: a regular expression finds it anywhere, a GLOB needs the *s.
    beyond = "[^\x01-\x7f]" if bind.dialect.name == "postgresql" else "*[^\x01-\x7f]*"
    statement = sa.text(
        f"SELECT id, {', '.join(columns)} FROM {table} "
        f"WHERE id > :after AND ({where}) ORDER BY id LIMIT {PAGE}"
    )
    after = 0
    while rows := bind.execute(statement, {"after": after, "beyond": beyond}).mappings().all():
        yield rows
        after = rows[-1]["id"]


def _person_keys(row, columns: tuple[str, ...], plain: bool) -> dict:
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
    return values


def _rewrite(plain: bool) -> None:
    bind = op.get_bind()
    for table, columns in PEOPLE.items():
        for rows in _pages(bind, table, columns):
            values = [_person_keys(row, columns, plain) for row in rows]
            assignments = ", ".join(f"{name} = :{name}" for name in values[0] if name != "id")
            bind.execute(sa.text(f"UPDATE {table} SET {assignments} WHERE id = :id"), values)
    update = sa.text("UPDATE clients SET name_key = :key WHERE id = :id")
    for rows in _pages(bind, "clients", ("name",)):
        bind.execute(update, [{"id": row["id"], "key": _key(row["name"], plain)} for row in rows])


def upgrade() -> None:
    _rewrite(plain=True)


def downgrade() -> None:
    _rewrite(plain=False)
