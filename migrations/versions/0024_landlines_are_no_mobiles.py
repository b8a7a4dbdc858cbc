"""A landline or a service number is no longer a valid mobile.

webapp.phones took any number valid in its region as a mobile, so a landline ("02 9374 4000"), a
freecall or local-rate number ("1800 123 456", "1300 655 506", "13 13 13") was saved as valid and
counted on the SMS screen as "Will be sent". It now takes only what phonenumbers types MOBILE
or FIXED_LINE_OR_MOBILE; this revision marks the stored numbers of the other types as not valid,
keeping them as typed and their E.164 form (the record and the SMS screen then say what they are).
A data change only: no column changes. Every mobile stays as it is, so it reads the valid numbers
once and writes a few rows; Australian mobiles (+614…, where every valid number is a mobile) are
not read.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

import phonenumbers
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

TABLES = ("candidates", "client_contacts")
# A copy of webapp.phones.SMS_TYPES as this revision reads it (a migration keeps its own).
SMS_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
PAGE = 10_000


def _no_mobile(e164: str) -> bool:
    """A real number that no SMS reaches (the old rule's valid, the new rule's invalid)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind != phonenumbers.PhoneNumberType.UNKNOWN and kind not in SMS_TYPES


def _mark(valid_before: bool) -> None:
    """Set mobile_valid to `not valid_before` on each row holding a number that is real but no
    mobile, among the rows where it is `valid_before` now."""
    bind = op.get_bind()
    for table in TABLES:
        after = 0
        while True:
            rows = bind.execute(
                sa.text(
                    f"SELECT id, mobile_e164 FROM {table} WHERE id > :after "
                    "AND mobile_valid = :valid AND mobile_e164 IS NOT NULL "
                    "AND mobile_e164 NOT LIKE '+614%' ORDER BY id LIMIT :page"
                ),
                {"after": after, "valid": valid_before, "page": PAGE},
            ).all()
            if not rows:
                break
            after = rows[-1].id
            changed = [{"id": row.id} for row in rows if _no_mobile(row.mobile_e164)]
            if changed:
                bind.execute(
                    sa.text(f"UPDATE {table} SET mobile_valid = :valid WHERE id = :id"),
                    [{**row, "valid": not valid_before} for row in changed],
                )


def upgrade() -> None:
    _mark(valid_before=True)


def downgrade() -> None:
    _mark(valid_before=False)
