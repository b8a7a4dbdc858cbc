"""Deterministic demo data: clients, candidates, client contacts and the four demo users."""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import phonenumbers
import sqlalchemy as sa
import sqlalchemy.orm as so
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.dialects.postgresql import psycopg as psycopg_dialect

from webapp.bulk import bound_values, write_rows
from webapp.models import (
    Base,
    Candidate,
    Client,
    ClientContact,
    Office,
    Role,
    SmsTemplate,
    User,
)
from webapp.models.people import CANDIDATE_STATUSES, CONTACT_STATUSES, name_key, person_values
from webapp.people import trigrams
from webapp.phones import NO_NUMBER, ParsedNumber, describe, normalise

DEMO_PASSWORD = "sms-desk-demo"
DEMO_USERS = (
    # username, full name, role, office, mobile
    ("admin", "Alex Administrator", "administrator", "Sydney", "0400 100 001"),
    ("lead", "Lee Teamleader", "team-leader", "Sydney", "0400 100 002"),
    ("consultant", "Casey Consultant", "consultant", "Perth", "0400 100 003"),
    ("viewer", "Vic Viewer", "viewer", "Auckland", None),
)
DEMO_OFFICES = (
    # name, time zone, phone region
    ("Sydney", "Australia/Sydney", "AU"),
    ("Perth", "Australia/Perth", "AU"),
    ("Auckland", "Pacific/Auckland", "NZ"),
)

FIRST_NAMES = (
    "Olivia Jack Charlotte Noah Amelia William Isla Oliver Mia Thomas Ava James Grace Lucas Chloe "
    "Henry Zoë Leo Ruby Ethan Sophie Liam Ella Mason Harper Hugo Aria Archie Willow Lachlan Ivy "
    "Cooper Matilda Riley Evie Harrison Sienna Xavier Mila Hamish Aroha Tane Mere Wiremu Priya "
    "Arjun Mei Wei José Siobhán Seán Aoife Niamh Fatima Omar Yusuf Layla Nguyen Linh Kai Anika"
).split()
LAST_NAMES = (
    "Smith Jones Williams Brown Wilson Taylor Johnson White Martin Anderson Thompson Nguyen Thomas "
    "Walker Harris Lee Ryan Robinson Kelly King Davis Wright Evans Roberts Green Hall Wood Jackson "
    "Clarke Patel Khan Singh O'Brien O'Connor McDonald MacLeod Ngata Parata Te-Rangi Chen Wang Li "
    "Zhang Kaur Müller García Rossi Novak Kowalski Fitzgerald Murphy Byrne Campbell Stewart Young"
).split()
LOCATIONS = (
    "Sydney",
    "Melbourne",
    "Brisbane",
    "Perth",
    "Adelaide",
    "Canberra",
    "Hobart",
    "Darwin",
    "Newcastle",
    "Geelong",
    "Auckland",
    "Wellington",
    "Christchurch",
    "London",
    "Manchester",
)
JOB_TITLES = (
    "Registered Nurse",
    "Forklift Driver",
    "Accountant",
    "Civil Engineer",
    "Electrician",
    "Software Developer",
    "Warehouse Operator",
    "Project Manager",
    "Receptionist",
    "Chef",
    "Payroll Officer",
    "Truck Driver",
    "Aged Care Worker",
    "Business Analyst",
    "Plumber",
    "Site Supervisor",
    "Customer Service Officer",
    "Data Analyst",
    "Carpenter",
    "Teacher",
)
SKILLS = (
    "Excel",
    "SAP",
    "MYOB",
    "Python",
    "first aid",
    "forklift licence",
    "white card",
    "HR licence",
    "customer service",
    "rostering",
    "AutoCAD",
    "Xero",
    "leadership",
    "RSA",
    "manual handling",
)
POSITIONS = (
    "HR Manager",
    "Talent Acquisition Lead",
    "Operations Manager",
    "Site Manager",
    "Director",
    "Payroll Manager",
    "Recruitment Coordinator",
    "Hiring Manager",
    "CFO",
    "Office Manager",
)
CLIENT_WORDS = (
    "Harbour",
    "Southern",
    "Pacific",
    "Summit",
    "Redgum",
    "Coastal",
    "Ironbark",
    "Blue",
    "Metro",
    "Outback",
    "Kauri",
    "Tasman",
    "Golden",
    "Northern",
    "Silver",
    "Eucalypt",
    "Wattle",
    "Anchor",
)
CLIENT_KINDS = (
    "Mining",
    "Logistics",
    "Health",
    "Construction",
    "Foods",
    "Engineering",
    "Retail",
    "Energy",
    "Hospitality",
    "Finance",
    "Care",
    "Freight",
)
CLIENT_SUFFIXES = ("Pty Ltd", "Group", "Ltd", "Holdings", "Services")

AU_PREFIXES = ("040", "041", "042", "043", "046")
# Valid mobile numbers in countries SMS Central will not serve, chosen where the calling code is
# shared with a served country so the demo shows region-based blocking at work. (Åland's and the
# Vatican's own ranges hold landlines only: their mobiles resolve to Finland and Italy.)
BLOCKED_NUMBERS = (
    "+1 721 520 1234",
    "+7 701 123 4567",
    "+262 692 12 34 56",
    "+262 639 01 23 45",
    "+599 318 1234",
    "+1 441 777 1234",
    "+1 268 464 1234",
    "+1 869 765 2917",
    "+383 43 201 234",
    "+599 9 518 1234",
    "+880 1812 345678",
)
INVALID_NUMBERS = ("0412 345", "call me", "04123456789012", "12345", "+61 4", "n/a")

TEMPLATE_COLUMNS = ("folder", "name", "record_type", "body")  # of each row of DEMO_TEMPLATES
DEMO_TEMPLATES = (
    (
        "Candidates",
        "Job alert",
        "candidate",
        "Hi {{first_name}}, a new {{job_title}} role in {{location}} has come up that fits you. "
        "Reply YES if you'd like the details. {{sender_first_name}}, {{sender_office}}",
    ),
    (
        "Candidates",
        "Interview reminder",
        "candidate",
        "Hi {{first_name}}, a reminder of your interview tomorrow. Call me on {{sender_mobile}} "
        "if anything changes. {{sender_full_name}}",
    ),
    (
        "Candidates",
        "Timesheet reminder",
        "candidate",
        "Hi {{first_name}}, please submit this week's timesheet by 5pm Friday. Thanks!",
    ),
    (
        "Clients",
        "Catch-up",
        "contact",
        "Hi {{first_name}}, it's {{sender_first_name}} from SMS Desk Recruitment. Have you got 10 "
        "minutes this week to talk about {{client_name}}'s hiring plans?",
    ),
    (
        "General",
        "Office closed",
        "both",
        "Our {{sender_office}} office is closed on Monday for the public holiday. Urgent? Call "
        "{{sender_mobile}}.",
    ),
)

# Fixed, so the same command gives the same rows on any day.
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int(timedelta(days=3 * 365).total_seconds())
CHUNK = 20_000
BULK_LOAD = 50_000  # rows from which seeding uses all cores and builds indexes at the end


@dataclass
class SeedReport:
    users: int = 0
    templates: int = 0
    clients: int = 0
    candidates: int = 0
    contacts: int = 0


class _Mobiles:
    """Draws mobiles with the demo mix: ~3 % missing, 2 % invalid, 1 % blocked, 2 % shared."""

    def __init__(self, rng: random.Random, region: str):
        self.rng = rng
        self.region = region
        self.issued: list[ParsedNumber] = []

    def draw(self) -> ParsedNumber:
        roll = self.rng.random()
        if roll < 0.03:
            return NO_NUMBER
        if roll < 0.05:
            return normalise(self.rng.choice(INVALID_NUMBERS), self.region)
        if roll < 0.06:
            return normalise(self.rng.choice(BLOCKED_NUMBERS), self.region)
        if roll < 0.08 and self.issued:
            return self.rng.choice(self.issued)
        number = self._fresh()
        if len(self.issued) < 50_000:
            self.issued.append(number)
        return number

    def _fresh(self) -> ParsedNumber:
        """A new number, written in one of the ways people write it, described from the digits
        it was made of (parsing a million of our own strings back took most of the seed)."""
        rng = self.rng
        country = rng.random()
        if country < 0.85:
            digits = f"{rng.choice(AU_PREFIXES)}{rng.randrange(10**7):07d}"
            style = rng.randrange(4)
            if style == 0:
                raw = f"{digits[:4]} {digits[4:7]} {digits[7:]}"
            elif style == 1:
                raw = f"+61 {digits[1:4]} {digits[4:7]} {digits[7:]}"
            elif style == 2:
                raw = digits
            else:
                raw = f"+61{digits[1:]}"
            if style in (0, 2) and self.region != "AU":
                return normalise(raw, self.region)  # a national number means another country there
            return _made(raw, 61, digits[1:])
        if country < 0.93:
            national = f"2{rng.choice('127')}{rng.randrange(10**3):03d}{rng.randrange(10**4):04d}"
            return _made(f"+64 {national[:2]} {national[2:5]} {national[5:]}", 64, national)
        national = (
            f"7{rng.choice(('40', '41', '51', '71', '80', '90'))}"
            f"{rng.randrange(10**3):03d}{rng.randrange(10**4):04d}"
        )
        return _made(f"+44 {national[:3]}{national[3:6]} {national[6:]}", 44, national)


def _made(raw: str, country_code: int, national: str) -> ParsedNumber:
    return describe(
        raw, phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
    )


def _created(rng: random.Random) -> datetime:
    return EPOCH + timedelta(seconds=rng.randrange(SPAN_SECONDS))


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def _email(rng: random.Random, first: str, last: str, n: int) -> str | None:
    if rng.random() < 0.05:
        return None
    local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
    return f"{local}{n}@example.{rng.choice(('com', 'com.au', 'co.nz', 'co.uk'))}"


def _consents(rng: random.Random) -> dict:
    return {
        "sms_consent": rng.random() >= 0.20,
        "email_consent": rng.random() >= 0.10,
        "mail_consent": rng.random() >= 0.30,
        "privacy_statement_read": rng.random() >= 0.40,
    }


def _people_chunk(
    name: str,
    statuses: tuple[str, ...],
    details: Callable[[random.Random], dict],
    job: tuple[int, int, int, str, int],
) -> list[dict]:
    """Rows start+1 … start+size; each chunk has its own seeded generator, so chunks can be made
    in parallel processes and still give the same rows. `details` draws what only this kind has."""
    index, start, size, region, seed = job
    rng = random.Random(f"{name}-{seed}-{index}")
    mobiles = _Mobiles(rng, region)
    rows = []
    for n in range(start + 1, start + size + 1):
        first, last = _name(rng)
        created = _created(rng)
        # Keyword arguments are drawn left to right: this order is what makes the rows the same.
        rows.append(
            person_values(
                first_name=first,
                last_name=last,
                email=_email(rng, first, last, n),
                mobile=mobiles.draw(),
                status=rng.choice(statuses),
                **details(rng),
                created_at=created,
                updated_at=created,
                **_consents(rng),
            )
        )
    return rows


def _candidate_details(rng: random.Random) -> dict:
    return {
        "location": rng.choice(LOCATIONS),
        "job_title": rng.choice(JOB_TITLES),
        "skills": ", ".join(rng.sample(SKILLS, 3)),
    }


def _candidate_chunk(job: tuple[int, int, int, str, int]) -> list[dict]:
    return _people_chunk("candidates", CANDIDATE_STATUSES, _candidate_details, job)


def _contact_chunk(job: tuple[int, int, int, str, int, tuple[int, ...]]) -> list[dict]:
    *person_job, client_ids = job

    def details(rng: random.Random) -> dict:
        return {
            "position": rng.choice(POSITIONS),
            "client_id": rng.choice(client_ids) if client_ids else None,
        }

    return _people_chunk("contacts", CONTACT_STATUSES, details, tuple(person_job))


def _jobs(count: int, *extra) -> list[tuple]:
    return [
        (i, start, min(CHUNK, count - start), *extra)
        for i, start in enumerate(range(0, count, CHUNK))
    ]


def candidate_rows(count: int, region: str, seed: int = 2026) -> Iterator[dict]:
    for job in _jobs(count, region, seed):
        yield from _candidate_chunk(job)


def contact_rows(
    count: int, client_ids: list[int], region: str, seed: int = 3036
) -> Iterator[dict]:
    for job in _jobs(count, region, seed, tuple(client_ids)):
        yield from _contact_chunk(job)


def client_names(count: int, seed: int = 4046) -> list[str]:
    rng = random.Random(seed)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = (
            f"{rng.choice(CLIENT_WORDS)} {rng.choice(CLIENT_KINDS)} {rng.choice(CLIENT_SUFFIXES)}"
        )
        if name in seen:
            name = f"{name} ({len(names) + 1})"
        seen.add(name)
        names.append(name)
    return names


def seed_users(session: so.Session, region: str) -> int:
    """Create the demo offices and the four demo users that do not exist yet; return how many
    users were created."""
    roles = {role.name: role for role in session.scalars(sa.select(Role))}
    offices = {office.name: office for office in session.scalars(sa.select(Office))}
    for name, timezone, office_region in DEMO_OFFICES:
        if name not in offices:
            offices[name] = Office(name=name, timezone=timezone, region=office_region)
            session.add(offices[name])
    existing = set(session.scalars(sa.select(User.username)))
    created = 0
    for username, full_name, role, office, mobile in DEMO_USERS:
        if username in existing:
            continue
        parsed = normalise(mobile, region)
        user = User(
            username=username,
            full_name=full_name,
            email=f"{username}@example.com",
            mobile=parsed.e164 if parsed.valid else None,
            office=offices[office],
            roles=[roles[role]],
        )
        user.set_password(DEMO_PASSWORD)
        session.add(user)
        created += 1
    return created


def seed_templates(session: so.Session) -> int:
    """Add the demo SMS templates when there are none, owned by the team leader and shared."""
    if session.scalar(sa.select(sa.func.count()).select_from(SmsTemplate)):
        return 0
    owner = session.scalar(sa.select(User).where(User.username == "lead"))
    session.add_all(
        SmsTemplate(**dict(zip(TEMPLATE_COLUMNS, row, strict=True)), shared=True, owner=owner)
        for row in DEMO_TEMPLATES
    )
    return len(DEMO_TEMPLATES)


def seed(
    session: so.Session,
    *,
    candidates: int,
    contacts: int,
    clients: int,
    region: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> SeedReport:
    """Insert demo data in bulk, in one transaction per table, the same rows every time."""
    report = SeedReport(users=seed_users(session, region))
    session.flush()
    report.templates = seed_templates(session)
    session.commit()

    client_table = Client.__table__
    names = client_names(clients)
    session.execute(
        sa.insert(client_table),
        [{"name": name, "name_key": name_key(name), "created_at": EPOCH} for name in names],
    )
    client_ids = list(session.scalars(sa.select(Client.id).order_by(Client.id)))
    report.clients = len(names)
    session.commit()

    report.candidates = _insert(
        session,
        Candidate.__table__,
        _candidate_chunk,
        _jobs(candidates, region, 2026),
        candidates,
        "candidates",
        progress,
    )
    report.contacts = _insert(
        session,
        ClientContact.__table__,
        _contact_chunk,
        _jobs(contacts, region, 3036, tuple(client_ids)),
        contacts,
        "contacts",
        progress,
    )
    return report


def _insert(
    session: so.Session,
    table: sa.Table,
    make_chunk: Callable[[tuple], list[dict]],
    jobs: list[tuple],
    total: int,
    label: str,
    progress: Callable[[str, int, int], None] | None,
) -> int:
    """Insert chunk by chunk; large seeds make chunks in other processes while this one writes."""
    done = 0
    bulk = total >= BULK_LOAD and not session.scalar(sa.select(sa.exists().select_from(table)))
    prepare = partial(_prepared_chunk, make_chunk, table.name, session.get_bind().dialect.name)
    with ExitStack() as stack:
        if bulk:
            pool = stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=os.cpu_count() or 2, mp_context=multiprocessing.get_context("spawn")
                )
            )
            chunks = pool.map(prepare, jobs)
            # Building the indexes once at the end is several times faster than keeping them
            # up to date row by row; they are the model's (and so the migrations') own indexes.
            for index in table.indexes:
                index.drop(session.connection())
            # Likewise SQLite's trigram tables: filled in one statement after the rows, not by a
            # trigger per row (that made the seed ~50 % slower).
            stack.enter_context(trigrams.suspended(session.connection(), table.name))
        else:
            chunks = map(prepare, jobs)
        for columns, values in chunks:
            with _collector_paused():
                write_rows(session, table, columns, values)
            done += len(values)
            if progress:
                progress(label, done, total)
        if bulk:
            for index in table.indexes:
                index.create(session.connection())
    session.commit()
    return done


def _prepared_chunk(
    make_chunk: Callable[[tuple], list[dict]], table_name: str, dialect_name: str, job: tuple
) -> tuple[list[str], list[tuple]]:
    """A chunk's rows as the driver takes them, made where the chunk is made so the one writing
    process only writes."""
    with _collector_paused():
        return bound_values(
            Base.metadata.tables[table_name], make_chunk(job), _DIALECTS[dialect_name]()
        )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cycle collector: it kept walking the growing lists of rows, a third of the time
    of making them, and rows hold no reference cycles to collect."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_DIALECTS = {"sqlite": sqlite_dialect.dialect, "postgresql": psycopg_dialect.dialect}


def has_people(session: so.Session) -> bool:
    """Whether the database has records already: people, or the clients a seed made (a seed of
    no people makes those, and a second one would make them again)."""
    return any(
        session.scalar(sa.select(sa.exists().where(model.id.is_not(None))))
        for model in (Candidate, ClientContact, Client)
    )
