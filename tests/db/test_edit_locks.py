"""The locks an edit form's save compares under (webapp.database.reread_for_update): the row is
read afresh, with what another save committed since, and another save of it waits until this one
ends, on SQLite (its write lock) and PostgreSQL (the row's, FOR UPDATE)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from webapp import settings_store
from webapp.database import begin_write, reread_for_update
from webapp.models import Candidate, Setting, SmsTemplate, User
from webapp.sms import quiet_hours
from webapp.sms import templates as sms_templates
from webapp.users import accounts


def waits_for_mine(sessions, another: Callable, mine: Callable[[], None], held: str) -> None:
    """Start another save (`another(session)`, in a thread, on a session of its own) while this
    one holds its lock; it must not land until `mine` has saved and committed, then land."""
    saved = threading.Event()

    def another_save() -> None:
        other = sessions()
        try:
            another(other)
        finally:
            other.close()
            saved.set()

    thread = threading.Thread(target=another_save)
    thread.start()
    try:
        assert not saved.wait(0.5), f"another save landed while {held} held"
        mine()
    finally:
        thread.join(30)
    assert saved.is_set()


def _user_lock(session, row) -> None:
    accounts.lock_to_edit(session, row)


@pytest.mark.parametrize(
    ("model", "lock", "field"),
    [
        (Candidate, reread_for_update, "email"),
        (User, _user_lock, "email"),
        (SmsTemplate, reread_for_update, "name"),
    ],
    ids=["record", "user", "template"],
)
def test_the_row_is_read_afresh_and_another_save_waits(
    app, session, make_candidate, make_user, make_template, model, lock, field
):
    made = {Candidate: make_candidate, User: lambda: make_user("jo"), SmsTemplate: make_template}
    ident = made[model]().id
    sessions = app.extensions["database"].sessionmaker
    editing = sessions()
    mine = editing.get(model, ident)
    before = getattr(mine, field)
    setattr(session.get(model, ident), field, "theirs@example.com")  # a save from another tab
    session.commit()
    assert getattr(mine, field) == before  # this session still holds what it read

    lock(editing, mine)

    assert getattr(mine, field) == "theirs@example.com"

    def another_save(other) -> None:  # as a form post saves: on SQLite, with the write lock first
        begin_write(other)
        setattr(other.get(model, ident), field, "third@example.com")
        other.commit()

    def my_save() -> None:
        setattr(mine, field, "mine@example.com")
        editing.commit()

    try:
        waits_for_mine(sessions, another_save, my_save, "the row was")
    finally:
        editing.close()
    session.expire_all()
    assert getattr(session.get(model, ident), field) == "third@example.com"  # after, not lost


def test_the_roles_page_changes_only_its_boxes_over_the_grants_stored_since(
    app, session, make_user
):
    admin = make_user("root", role="administrator")
    sessions = app.extensions["database"].sessionmaker
    editing = sessions()
    page = {(r.name, p.name) for r in accounts.all_roles(editing) for p in r.permissions}
    assert ("team-leader", "audit.view") in page  # read, as the page was opened
    # Another administrator takes audit.view from team leaders meanwhile.
    accounts.set_role_permissions(
        session,
        None,
        {"team-leader": {p for r, p in page if r == "team-leader"} - {"audit.view"}},
    )

    try:
        changed = accounts.change_role_permissions(
            editing, editing.get(User, admin.id), page, page | {("consultant", "audit.view")}
        )
    finally:
        editing.close()

    assert changed == {"consultant": {"added": ["audit.view"], "removed": []}}
    session.expire_all()
    now = {(r.name, p.name) for r in accounts.all_roles(session) for p in r.permissions}
    assert ("team-leader", "audit.view") not in now and ("consultant", "audit.view") in now


def test_a_settings_save_reads_them_afresh_and_another_waits(app, session):
    """Settings are rows that may not exist yet: their saves hold one lock of their own
    (settings_store.lock_to_save) rather than a row's."""
    quiet_hours.save(session, None, "20:00-08:00")
    sessions = app.extensions["database"].sessionmaker
    editing = sessions()
    assert settings_store.value(editing, quiet_hours.SETTING_KEY) == "20:00-08:00"
    row = editing.get(Setting, quiet_hours.SETTING_KEY)  # held, as the page was opened
    assert quiet_hours.stored(editing) == row.value == "20:00-08:00"
    quiet_hours.save(session, None, "21:00-07:00")  # a save from another tab

    settings_store.lock_to_save(editing)

    assert quiet_hours.stored(editing) == row.value == "21:00-07:00"
    assert settings_store.value(editing, quiet_hours.SETTING_KEY) == "21:00-07:00"

    def another_save(other) -> None:
        settings_store.lock_to_save(other)
        settings_store.save(other, None, {quiet_hours.SETTING_KEY: "23:00-06:00"})

    try:
        waits_for_mine(
            sessions,
            another_save,
            lambda: settings_store.save(editing, None, {quiet_hours.SETTING_KEY: "22:00-07:00"}),
            "the settings were",
        )
    finally:
        editing.close()
    session.expire_all()
    assert quiet_hours.stored(session) == "23:00-06:00"  # after, not lost


def test_the_same_add_pressed_twice_at_once_makes_one_template(app, session, make_user):
    """Both presses looked for a template reading the same before either had saved one, and both
    saved: the second now waits for the first, and is answered with the template it made."""
    actor_id = make_user("tess").id
    sessions = app.extensions["database"].sessionmaker
    both_ready = threading.Barrier(2)
    made: list[int] = []

    def add() -> None:
        own = sessions()
        try:
            actor = own.get(User, actor_id)
            both_ready.wait(10)
            data = sms_templates.TemplateData(name="Interview", folder="General", body="Hi")
            made.append(sms_templates.create(own, actor, data).id)
        finally:
            own.close()

    threads = [threading.Thread(target=add) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(made) == 2 and made[0] == made[1]
    session.expire_all()
    assert session.query(SmsTemplate).filter_by(name="Interview").count() == 1
