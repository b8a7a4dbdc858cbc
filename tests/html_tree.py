"""A small HTML tree reader for page tests: find elements by tag and attributes, read their text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def get(self, name: str, default=None):
        return self.attrs.get(name, default)

    @property
    def text(self) -> str:
        parts = [child if isinstance(child, str) else child.text for child in self.children]
        return " ".join(" ".join(parts).split())

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def all(self, tag: str | None = None, **attrs) -> list[Node]:
        """Descendants with `tag` and exactly these attributes (`aria_label` means aria-label)."""
        wanted = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
        return [
            node
            for node in self.iter()
            if (tag is None or node.tag == tag)
            and all(node.attrs.get(k) == v for k, v in wanted.items())
        ]

    def one(self, tag: str | None = None, **attrs) -> Node:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]

    @property
    def elements(self) -> list[Node]:
        return [child for child in self.children if isinstance(child, Node)]


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#root", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(text: str) -> Node:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def html(response) -> Node:
    return parse(response.get_data(as_text=True))


def without_live_status(fragment: str) -> str:
    """An htmx fragment less its leading out-of-band update of the #live-status region."""
    return re.sub(
        r'^\s*<div id="live-status" hx-swap-oob="innerHTML">.*?</div>\s*', "", fragment, flags=re.S
    )


def section_notices(page: Node, section: str) -> list[Node]:
    """The messages a redirect left in the section with id `section`, focused on arrival."""
    return [p for p in page.one("section", id=section).all("p") if "autofocus" in p.attrs]
