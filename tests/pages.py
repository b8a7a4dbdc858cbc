"""Helpers for page tests: a response's text, the main navigation, a form control and its error,
every start tag of a page, what the database holds once the requests are done, the forms a
browser posts, and one form posted twice at once."""

from __future__ import annotations

import html
import re
import threading
from html.parser import HTMLParser

import sqlalchemy as sa

from tests import html_tree
from webapp.models import AuditEvent


def text(response) -> str:
    return response.get_data(as_text=True)


def nav(page: str) -> list[str]:
    """The main navigation's link labels."""
    block = re.search(r'<nav aria-label="Main">(.*?)</nav>', page, re.S)
    if not block:
        return []
    return [html.unescape(label) for label in re.findall(r">([^<>]+)</a>", block.group(1))]


def linked_page(client, url: str, label: str, heading: str):
    """The navigation links `label` to `url`, whose page answers with `heading`: the response."""
    assert f'<a href="{url}">{label}</a>' in text(client.get("/candidates"))
    response = client.get(url)
    assert response.status_code == 200
    assert f"<h1>{heading}</h1>" in text(response)
    return response


def control(page: str, name: str) -> str:
    """The opening tag of the control named `name`."""
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{name}"[^>]*>', page)
    assert match, f"no control named {name}"
    return match.group(0)


def assert_invalid(page: str, name: str, message: str) -> None:
    """The field is marked invalid and described by an error that says `message`."""
    tag = control(page, name)
    assert 'aria-invalid="true"' in tag, tag
    described = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()
    errors = [
        re.search(rf'<span class="error" id="{ident}">(.*?)</span>', page, re.S)
        for ident in described
    ]
    said = " ".join(html.unescape(e.group(1)) for e in errors if e)
    assert message in said, said


def assert_refused(response, name: str, message: str) -> None:
    """The form came back refused (400) with `message` beside the field named `name`."""
    assert response.status_code == 400
    assert_invalid(text(response), name, message)


class Tags(HTMLParser):
    """Every start tag of a page as (tag, attributes), to ask which controls a page offers."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **wanted) -> list[dict[str, str | None]]:
        """Tags with these attributes (`aria_label` means aria-label; True: present at all)."""
        wanted = {key.rstrip("_").replace("_", "-"): value for key, value in wanted.items()}
        return [
            attrs
            for name, attrs in self.tags
            if name == tag
            and all(k in attrs if v is True else attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str, **wanted) -> dict[str, str | None]:
        found = self.find(tag, **wanted)
        assert len(found) == 1, f"expected one <{tag} {wanted}>, found {len(found)}"
        return found[0]


def rows(session, model, *where, order=None) -> list:
    """What is committed now, oldest first (ends the session's read transaction first, so what
    the requests wrote is seen)."""
    session.rollback()
    session.expire_all()  # objects committed before are not expired by the rollback
    return list(session.scalars(sa.select(model).where(*where).order_by(order or model.id)))


def audits(session, action: str | None = None) -> list[AuditEvent]:
    """The audit events with `action` (all of them without), oldest first."""
    return rows(session, AuditEvent, *([AuditEvent.action == action] if action else []))


def fresh(session, model, ident: int):
    """The row as committed now, not as the session last loaded it."""
    session.rollback()
    return session.get(model, ident, populate_existing=True)


def posted(fields: dict[str, str], overrides: dict) -> dict[str, str]:
    """A form as a browser posts it: `fields` with `overrides`, an override of None leaving its
    field out."""
    return {key: value for key, value in (fields | overrides).items() if value is not None}


def candidate_form(**overrides) -> dict[str, str]:
    """The add or edit candidate form as a browser posts it, with `overrides` (None: left out)."""
    fields = {
        "first_name": "Zoë",
        "last_name": "Müller",
        "mobile": "0412 345 678",
        "email": "",
        "status": "Available",
        "job_title": "Registered Nurse",
        "skills": "Triage",
        "location": "Sydney",
    }
    return posted(fields, overrides)


def details_of(user, **overrides) -> dict:
    """The user details form as the edit page fills it for `user`, with `overrides`."""
    form = {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "mobile": user.mobile or "",
        "office": str(user.office_id or ""),
        "roles": [role.name for role in user.roles],
    }
    form.update(overrides)
    return form


COMPOSE_TOKEN = re.compile(r'/sms/compose/([^/"?]+)/update')


def open_sms_screen(client, people, kind: str = "candidates") -> tuple[str, str]:
    """Bulk SMS with these people ticked, as the search page posts it: the SMS screen's draft
    token and its page as text."""
    response = client.post(
        "/sms/compose",
        data={"kind": kind, "ids": [str(p.id) for p in people]},
        follow_redirects=True,
    )
    page = text(response)
    assert response.status_code == 200, page
    return COMPOSE_TOKEN.search(page).group(1), page


def unread_poll(client, page: str):
    """The unread count's poll as htmx sends it every minute from `page` (a path)."""
    return client.get(
        "/sms/replies/unread",
        htmx=True,
        headers={"HX-Trigger": "unread-poll", "HX-Current-URL": "http://localhost" + page},
    )


# --- a form as its page holds it -----------------------------------------------------------------


def opened(client, url: str) -> dict[str, str | list[str]]:
    """The form posting to `url`, on the page at `url`, as the page holds it: what a browser posts
    when its Save is pressed with nothing changed."""
    return held(html_tree.html(client.get(url)), url)


def held(page: html_tree.Node, url: str) -> dict[str, str | list[str]]:
    """The values of `page`'s form posting to `url`, as a browser posts them: ticked boxes and
    chosen options only, several of one name as a list."""
    [form] = [form for form in page.all("form") if form.get("action") == url]
    values: dict[str, str | list[str]] = {}

    def add(name: str, value: str) -> None:
        if name in values:
            earlier = values[name]
            values[name] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            values[name] = value

    for node in form.iter():
        name = node.get("name")
        if not name or node.tag not in {"input", "select", "textarea"}:
            continue
        kind = node.get("type", "text")
        if node.tag == "input" and kind in {"checkbox", "radio"}:
            if "checked" in node.attrs:
                add(name, node.get("value", "on"))
        elif node.tag == "input" and kind not in {"submit", "button"}:
            add(name, node.get("value", ""))
        elif node.tag == "select":
            options = node.all("option")
            chosen = [option for option in options if "selected" in option.attrs]
            if "multiple" not in node.attrs:
                chosen = chosen[:1] or options[:1]  # none chosen: a browser posts the first
            for option in chosen:
                add(name, option.get("value", option.text))
        elif node.tag == "textarea":
            raw = "".join(child for child in node.children if isinstance(child, str))
            # The one line break after <textarea> is markup, not the value.
            add(name, raw[2:] if raw.startswith("\r\n") else raw.removeprefix("\n"))
    return values


def ticked(form: dict, name: str) -> list[str]:
    """The values of the boxes called `name` ticked in `form` (none, one or several)."""
    value = form.get(name, [])
    return value if isinstance(value, list) else [value]


def changed(form: dict, **fields) -> dict:
    """`form` with `fields` changed, as a user changes them before Save."""
    return {**form, **fields}


def posted_at_once(app, client, username: str, url: str, data: dict) -> list[int]:
    """Post `data` to `url` twice at once, from `client` and from a second browser signed in as
    `username` on a connection of its own (a second Enter racing the first): the status codes."""
    other = app.test_client()
    other.login(username)
    answers: list[int] = []

    def post(browser) -> None:
        answers.append(browser.post(url, data=data).status_code)

    threads = [threading.Thread(target=post, args=(browser,)) for browser in (client, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return answers
