"""SMS templates: who may see and change which, saving them with their merge fields checked,
audited."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import NoReturn

import sqlalchemy as sa
import sqlalchemy.orm as so

from webapp.database import begin_write
from webapp.errors import FieldError
from webapp.models import AuditEvent, SmsTemplate, User, audit, utcnow
from webapp.models.activity import subject_name
from webapp.models.messaging import RECORD_TYPES
from webapp.people.kinds import KINDS
from webapp.sms import merge, opt_out_line, segments
from webapp.sms.compose import MAX_CHARACTERS
from webapp.text import as_seen, as_stored, is_blank, visible

MAX_NAME = 100
MAX_FOLDER = 100
MAX_BODY = MAX_CHARACTERS
MAX_QUERY = 200
DEFAULT_FOLDER = "General"
# How long after an Add the same Add again (a second press on a slow network) is taken for a
# repeat of it, answered with the template it made, rather than refused as a clash.
REPEAT_WINDOW = timedelta(minutes=10)
MANAGE = "templates.manage"
# The fields an edit may change, in the order the audit entry lists them.
FIELDS = ("name", "folder", "body", "record_type", "shared", "owner_id", "commercial")


@dataclass(frozen=True)
class TemplateData:
    """A template as the form submits it, before the rules have looked at it."""

    name: str
    folder: str
    body: str
    record_type: str = "both"
    shared: bool = False
    active: bool = True
    # A job alert or marketing text: the SMS screen adds the organisation's opt-out line.
    commercial: bool = False

    def cleaned(self) -> TemplateData:
        # Surrounding spaces or invisible characters in a name or folder only make
        # near-duplicates in the picker.
        return replace(
            self,
            name=visible(self.name),
            folder=DEFAULT_FOLDER if is_blank(self.folder) else visible(self.folder),
            body=self.body.replace("\r\n", "\n"),
        )


# --- who may do what ------------------------------------------------------------------------------


def may_see(user: User, template: SmsTemplate) -> bool:
    """Shared templates are everyone's; a personal one is its owner's alone."""
    return template.shared or template.owner_id == user.id


def may_change(user: User, template: SmsTemplate) -> bool:
    """Shared templates belong to template managers; a personal one to its owner."""
    if template.shared:
        return user.can(MANAGE)
    return template.owner_id == user.id


def may_share(user: User) -> bool:
    return user.can(MANAGE)


def get_visible(session: so.Session, user: User, template_id: int) -> SmsTemplate | None:
    """The template if it exists and `user` may see it; another user's personal one is None."""
    template = session.get(SmsTemplate, template_id)
    return template if template is not None and may_see(user, template) else None


def made_personal_by(session: so.Session, user: User, template_id: int) -> User | None:
    """Who made the template personal, when `user` manages templates (so could change it while
    it was shared) and sees it no more: a form they opened before is then refused by that name,
    not as a template that is not there. None otherwise (a template always personal included: its
    owner is not told to anyone)."""
    template = session.get(SmsTemplate, template_id)
    if template is None or may_see(user, template) or not may_share(user):
        return None
    edits = session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.subject_type == subject_name(template),
            AuditEvent.subject_id == template.id,
            AuditEvent.action == "template.edited",
        )
        .order_by(AuditEvent.id.desc())
    )
    for event in edits:
        if (event.details.get("changes") or {}).get("shared") == [True, False]:
            return event.actor
    return None


# --- listing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """What the template list shows: a text search, one folder, and whether to include inactive
    ones."""

    q: str = ""
    folder: str = ""
    inactive: bool = False

    def params(self) -> dict[str, str]:
        out = {"q": self.q, "folder": self.folder, "inactive": "1" if self.inactive else ""}
        return {key: value for key, value in out.items() if value}


def listing(session: so.Session, user: User, wanted: Listing) -> list[SmsTemplate]:
    """The templates `user` may see that match `wanted`, by folder then name."""
    query = sa.select(SmsTemplate).where(SmsTemplate.seen_by(user.id))
    if not wanted.inactive:
        query = query.where(SmsTemplate.active.is_(True))
    if wanted.folder:
        query = query.where(SmsTemplate.folder == wanted.folder)
    if wanted.q:
        text = as_stored(wanted.q).lower()
        # lower() is Unicode-aware on SQLite too (database.py), so "ÜBER" finds "über"; NFC, so
        # "ü" typed as "u" and a combining diaeresis finds it too.
        query = query.where(
            sa.or_(
                sa.func.lower(SmsTemplate.name).contains(text, autoescape=True),
                sa.func.lower(SmsTemplate.body).contains(text, autoescape=True),
            )
        )
    return list(
        session.scalars(query.order_by(SmsTemplate.folder, SmsTemplate.name, SmsTemplate.id))
    )


def folders(session: so.Session, user: User) -> list[str]:
    """The folders of the templates `user` may see, for the folder filter and the folder box, in
    the order of the list's headings (webapp.web.template_folders): the database's puts "Zeta"
    before "alpha"."""
    query = sa.select(SmsTemplate.folder).where(SmsTemplate.seen_by(user.id)).distinct()
    return sorted(session.scalars(query), key=reading_order)


def reading_order(text: str) -> tuple[str, str]:
    """The sort key of a folder or a name as a reader sorts them: in any case, then as written."""
    return text.casefold(), text


# --- saving ---------------------------------------------------------------------------------------


def line_for(session: so.Session, commercial: bool) -> str | None:
    """The opt-out line a commercial template's text is sent with (it counts), else None."""
    return opt_out_line.current_line(session) if commercial else None


def check(data: TemplateData, line: str | None = None, stored: SmsTemplate | None = None) -> None:
    """Refuse a template that breaks a rule; the first broken rule is named with its field.
    `line`: the opt-out line a commercial template's text goes with (it counts in the length);
    `stored`: the template edited, whose merge fields are not judged again while its text and
    record type stay as they are (a rule added since must not stop a rename or a move)."""
    if is_blank(data.name):  # a zero-width space alone is an empty link in every list
        raise FieldError("Enter a name for the template.", "name")
    if len(data.name) > MAX_NAME:
        raise FieldError(f"The name can be at most {MAX_NAME} characters.", "name")
    if len(data.folder) > MAX_FOLDER:
        raise FieldError(f"The folder can be at most {MAX_FOLDER} characters.", "folder")
    if is_blank(data.body):
        raise FieldError("Enter the text of the template.", "body")
    if len(data.body) > MAX_BODY:
        raise FieldError(
            f"The text can be at most {MAX_BODY:,} characters; it is {len(data.body):,}.", "body"
        )
    if data.commercial and line:
        full = len(opt_out_line.with_line(data.body, True, line))
        if full > MAX_BODY:
            raise FieldError(
                f"With the opt-out line a commercial message carries, the text is {full:,} "
                f"characters; the gateway takes at most {MAX_BODY:,}. Shorten it by "
                f"{full - MAX_BODY:,}.",
                "body",
            )
    if data.record_type not in RECORD_TYPES:
        raise FieldError("Choose candidates, client contacts, or both.", "record_type")
    if stored is not None and (data.body, data.record_type) == (stored.body, stored.record_type):
        return
    if problem := merge.unknown_problem(data.body):
        raise FieldError(problem, "body")
    if foreign := not_for(data.record_type, data.body):
        tags = ", ".join(merge.FIELDS[name].tag() for name in foreign)
        raise FieldError(
            f"{tags} {'is' if len(foreign) == 1 else 'are'} empty for every one of the "
            f"{RECORD_TYPES[data.record_type].lower()} this template is for: remove "
            f"{'it' if len(foreign) == 1 else 'them'}, or make the template for another kind of "
            "person.",
            "body",
        )


def not_for(record_type: str, body: str) -> tuple[str, ...]:
    """The recipient merge fields in `body` that no person of `record_type` has ({{client_name}}
    for a candidate), which a picker for that type does not offer."""
    offered = KINDS.merge_fields(record_type)
    return tuple(
        name
        for name in merge.parse(body).fields
        if not merge.FIELDS[name].is_sender and name not in offered
    )


def _as_filed(
    session: so.Session, user: User, data: TemplateData, editing: SmsTemplate | None = None
) -> TemplateData:
    """`data` with its folder spelled as a folder there is already (on other templates than the
    one `editing`), when it is that one as a reader sees it (webapp.text.as_seen: in other
    capitals, "candidates" for "Candidates", or with an invisible character in it): one folder in
    the list, the filter and the picker, not two. A shared one is matched on everyone's
    templates, not only those `user` sees: a shared "sales" beside a consultant's personal "Sales"
    gave that consultant two headings. A spelling `user` sees is preferred. Compared here, not in
    SQL: SQLite's lower()
    knows only ASCII letters ("été" is "Été" in any case)."""
    wanted = as_seen(data.folder)
    others = SmsTemplate.id != editing.id if editing is not None else sa.true()
    # A personal template is matched on the folders its owner sees only: nobody else sees it, and
    # another's personal spelling is theirs.
    audience = sa.true() if data.shared else SmsTemplate.seen_by(user.id)
    found = session.execute(
        sa.select(SmsTemplate.folder, SmsTemplate.shared, SmsTemplate.owner_id)
        .where(others, audience)
        .distinct()
    ).all()
    seen = {folder for folder, shared, owner_id in found if shared or owner_id == user.id}
    same = sorted(
        {folder for folder, _, _ in found if as_seen(folder) == wanted},
        key=lambda folder: (folder not in seen, folder),
    )
    return replace(data, folder=same[0]) if same and data.folder not in same else data


def _same_name(
    session: so.Session,
    owner_id: int | None,
    data: TemplateData,
    editing: SmsTemplate | None = None,
) -> SmsTemplate | None:
    """The active template (other than the one `editing`) in `data`'s folder under a name that
    reads as `data`'s (webapp.text.as_seen), seen by someone who would see `data` too, or None:
    the SMS screen's picker would offer the two as one option twice. A personal template is seen
    by its owner (`owner_id`) beside the shared ones; a shared one by everyone, beside each one's
    personal templates, so it is compared with all. Compared here, not in SQL, as folders are."""
    if not data.active:
        return None  # an inactive one is offered nowhere; reactivating it is checked then
    others = SmsTemplate.id != editing.id if editing is not None else sa.true()
    # A switched-off user's personal templates are offered to nobody (and nobody could rename
    # them to end a clash).
    active_owners = sa.select(User.id).where(User.active.is_(True))
    everyone = sa.or_(SmsTemplate.shared.is_(True), SmsTemplate.owner_id.in_(active_owners))
    audience = everyone if data.shared else SmsTemplate.seen_by(owner_id)
    candidates = session.scalars(
        sa.select(SmsTemplate)
        .where(audience, SmsTemplate.active.is_(True), others)
        .order_by(SmsTemplate.id)
    )
    wanted = (as_seen(data.name), as_seen(data.folder))
    return next((t for t in candidates if (as_seen(t.name), as_seen(t.folder)) == wanted), None)


def _refuse_same_name(actor: User, data: TemplateData, same: SmsTemplate) -> NoReturn:
    if may_see(actor, same):
        message = (
            f"There is already a template “{same.name}” in the folder “{same.folder}”: "
            "give this one another name, or change that one."
        )
    else:
        # Someone else's personal template: that it exists is said, nothing of what it holds.
        message = (
            f"Someone has a personal template “{data.name}” in the folder “{data.folder}”, and a "
            "shared one of that name would be offered to them twice: give this one another "
            "name, or keep it personal."
        )
    raise FieldError(message, "name")


def _repeat_of(session: so.Session, actor: User, data: TemplateData) -> SmsTemplate | None:
    """The template this Add made a moment ago (`_is_repeat`), active or not, or None."""
    found = session.scalars(
        sa.select(SmsTemplate)
        .where(
            SmsTemplate.owner_id == actor.id,
            SmsTemplate.name == data.name,
            SmsTemplate.folder == data.folder,
        )
        .order_by(SmsTemplate.id.desc())
    )
    return next((template for template in found if _is_repeat(actor, data, template)), None)


def _is_repeat(actor: User, data: TemplateData, template: SmsTemplate) -> bool:
    """Whether `template` is what this Add made a moment ago: the same user's, with the same
    fields (a second press of Add template while the first was on its way)."""
    return (
        template.owner_id == actor.id
        and all(getattr(template, field) == value for field, value in asdict(data).items())
        and utcnow() - template.created_at < REPEAT_WINDOW
    )


def create(session: so.Session, actor: User, data: TemplateData) -> SmsTemplate:
    """Save a new template owned by `actor`; only template managers may make it shared. The same
    Add again soon after (all fields alike) answers with the template it made; another template
    that reads the same in the folder is refused."""
    # One Add of the user's at a time (their row locked; SQLite's write lock): a second press
    # that reached the server at once would else find no template yet, and make a second.
    begin_write(session)
    session.execute(sa.select(User.id).where(User.id == actor.id).with_for_update())
    data = _as_filed(session, actor, data.cleaned())
    if data.shared and not may_share(actor):
        raise FieldError(
            "Only users who manage templates can make a shared template.", "shared", 403
        )
    check(data, line_for(session, data.commercial))
    # Looked for before the clash, and among inactive ones too: an Add with Active unticked,
    # pressed twice, made two.
    if (repeat := _repeat_of(session, actor, data)) is not None:
        return repeat
    if (same := _same_name(session, actor.id, data)) is not None:
        _refuse_same_name(actor, data, same)
    template = SmsTemplate(**asdict(data), owner_id=actor.id)
    session.add(template)
    session.flush()
    # All but the text, which the template itself keeps.
    audit(
        session,
        actor,
        "template.created",
        template,
        **{field: value for field, value in asdict(data).items() if field != "body"},
    )
    session.commit()
    return template


def update(session: so.Session, actor: User, template: SmsTemplate, data: TemplateData) -> dict:
    """Apply an edit; audit what changed ({field: [old, new]}) and return it."""
    data = _as_filed(session, actor, data.cleaned(), template)
    if not may_change(actor, template):
        raise FieldError(_not_yours(template), status=403)
    if data.shared != template.shared and not may_share(actor):
        raise FieldError(
            "Only users who manage templates can share or unshare a template.", "shared", 403
        )
    check(data, line_for(session, data.commercial), template)
    # A personal template must have an owner who can see it: whoever made it personal (the
    # manager who unticks Shared keeps it in their list; its maker may no longer be here).
    owner_id = actor.id if template.shared and not data.shared else template.owner_id
    # A name, folder and state kept as they were, seen by no more people than before, is not
    # judged again: two templates that read the same from before this rule can each still be
    # edited, and one renamed to end the clash. Sharing one is judged: more people see it.
    kept = (as_seen(data.name), as_seen(data.folder)) == (
        as_seen(template.name),
        as_seen(template.folder),
    ) and (template.shared or not data.shared)
    if not (kept and template.active) and (same := _same_name(session, owner_id, data, template)):
        _refuse_same_name(actor, data, same)
    before = {field: getattr(template, field) for field in FIELDS}
    template.name, template.folder, template.body = data.name, data.folder, data.body
    template.record_type, template.shared = data.record_type, data.shared
    template.commercial = data.commercial
    template.owner_id = owner_id
    changes = {
        field: [before[field], getattr(template, field)]
        for field in FIELDS
        if before[field] != getattr(template, field)
    }
    if changes:
        audit(session, actor, "template.edited", template, name=template.name, changes=changes)
    if data.active != template.active:
        _set_active(session, actor, template, data.active)
    session.commit()
    return changes


def set_active(session: so.Session, actor: User, template: SmsTemplate, active: bool) -> bool:
    """Deactivate (hide from the SMS screen) or reactivate a template; False when already so."""
    if not may_change(actor, template):
        raise FieldError(_not_yours(template), status=403)
    if template.active == active:
        return False
    if active and (same := _same_name(session, template.owner_id, _data_of(template), template)):
        if may_see(actor, same):
            reason = (
                f"the template “{same.name}” in the folder “{same.folder}” reads the same. "
                "Rename one of them first."
            )
        else:  # someone's personal one: that it exists is said, nothing of what it holds
            reason = (
                f"someone has a personal template of that name in the folder “{same.folder}”. "
                "Rename this one first."
            )
        raise FieldError(f"“{template.name}” was not reactivated: {reason}", status=409)
    _set_active(session, actor, template, active)
    session.commit()
    return True


def _data_of(template: SmsTemplate) -> TemplateData:
    return TemplateData(
        name=template.name,
        folder=template.folder,
        body=template.body,
        record_type=template.record_type,
        shared=template.shared,
        commercial=template.commercial,
    )


def _set_active(session: so.Session, actor: User, template: SmsTemplate, active: bool) -> None:
    template.active = active
    audit(
        session,
        actor,
        "template.reactivated" if active else "template.deactivated",
        template,
        name=template.name,
    )


def _not_yours(template: SmsTemplate) -> str:
    if template.shared:
        return "Only users who manage templates can change a shared template."
    return "Only its owner can change a personal template."


# --- preview and counting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """A template as one person would get it, and what it costs to send."""

    rendered: merge.Rendered
    count: segments.SegmentCount


def preview(body: str, person, sender, line: str | None = None) -> Preview:
    """Render `body` for `person` (a PersonRow) from `sender`, with its segment count; with the
    opt-out `line` after it, for a commercial template (None: none)."""
    rendered = merge.render(merge.parse(body), person, sender)
    text = opt_out_line.with_line(rendered.text, line is not None, line)
    return Preview(replace(rendered, text=text), segments.count(text))


def counted(body: str, line: str | None = None) -> segments.SegmentCount:
    """What the template's text costs with no one to fill it for (merge tags counted as typed),
    with the opt-out `line` after it, for a commercial template."""
    return segments.count(opt_out_line.with_line(template_text(body), line is not None, line))


def template_text(body: str) -> str:
    """The body with escapes resolved and merge tags as typed: what a counter without a person
    counts."""
    return "".join(
        part if isinstance(part, str) else "{{" + part.name + "}}"
        for part in merge.parse(body).parts
    )
