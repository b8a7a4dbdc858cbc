"""The page header's links (brand, main navigation, sign-out, stylesheet, scripts, icon): the
app's own URLs, built once per script root and still right under another one."""

from __future__ import annotations

import re

from flask import url_for

from tests.pages import Tags, text
from webapp.web.navigation import MAX_ROOTS

ASSETS = ("favicon.svg", "css/app.css", "vendor/htmx-2.0.11.min.js", "js/shortcuts.js")
ASSETS += ("js/compose.js",)


def header_links(page: str) -> dict[str, list[str]]:
    """The header's URLs: the <head>'s assets, and the links and form actions before <main>."""
    head, body = page.split("</head>", 1)
    header = body.split('<main id="main"', 1)[0]
    tags = Tags(head).tags + Tags(header).tags
    return {
        "assets": [a.get("href") or a.get("src") for t, a in tags if t in ("link", "script")],
        "links": [a["href"] for t, a in tags if t == "a"],
        "actions": [a["action"] for t, a in tags if t == "form"],
    }


def expected(app, root: str, endpoints: list[str]) -> dict[str, list[str]]:
    with app.test_request_context("/", base_url=f"http://localhost{root}"):
        return {
            "assets": [url_for("static", filename=name) for name in ASSETS],
            "links": ["#main", url_for("health.home")] + [url_for(e) for e in endpoints],
            "actions": [url_for("auth.logout")],
        }


def test_the_header_links_the_apps_own_urls_under_each_script_root(app, client, login):
    login("administrator")
    pages = {}
    # Under a script root, then at the site's root, then under it again: each gets its own links.
    for root in ("/desk", "", "/desk"):
        response = client.get("/candidates", base_url=f"http://localhost{root}")
        assert response.status_code == 200, text(response)
        pages.setdefault(root, []).append(header_links(text(response)))
    assert pages["/desk"][0] == pages["/desk"][1]
    for root, (found, *_) in pages.items():
        # The navigation's endpoints, in the order shown, from the links themselves.
        with app.test_request_context("/", base_url=f"http://localhost{root}"):
            by_url = {
                url_for(rule.endpoint): rule.endpoint
                for rule in app.url_map.iter_rules()
                if not rule.arguments and "GET" in rule.methods
            }
        nav_urls = found["links"][2:]
        shown = [by_url[url] for url in nav_urls]
        assert found == expected(app, root, shown)
        assert len(shown) >= 10, shown  # an administrator's menu, in both copies
        assert all(url.startswith(f"{root}/") for url in found["assets"] + nav_urls), found
    # Each asset it links is served.
    for url in pages[""][0]["assets"]:
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()


def test_past_a_few_script_roots_the_links_are_built_but_not_kept(app, client):
    # A proxy that passes a client's SCRIPT_NAME header on lets each request choose its root.
    roots = [f"/site{n}" for n in range(MAX_ROOTS + 4)]
    for root in roots + roots[::-1]:
        page = text(client.get("/login", base_url=f"http://localhost{root}"))
        assert all(url.startswith(f"{root}/") for url in header_links(page)["assets"]), root
    assert len(app.extensions["header_urls"]) == MAX_ROOTS


def test_the_current_pages_link_is_marked_in_both_copies_of_the_navigation(client, login):
    login("consultant")
    page = text(client.get("/contacts"))
    current = re.findall(r'<a href="([^"]+)" aria-current="page">([^<]+)</a>', page)
    assert current == [("/contacts", "Client Contacts")] * 2, current
