"""Response headers every page carries: the Content-Security-Policy and friends, Vary, and
no-store."""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
# The only answers that carry nothing about anyone; they may be cached as their own headers say.
CACHEABLE_ENDPOINTS = frozenset({"static", "health.healthz"})


def init_app(app: Flask) -> None:
    app.after_request(add_headers)


def add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        # The same URL answers a whole page or an htmx fragment; caches must keep them apart.
        response.vary.add("HX-Request")
    if request.endpoint not in CACHEABLE_ENDPOINTS:
        # Names, numbers and consent must not stay in a shared computer's browser cache (Back after
        # sign-out) or in a proxy's. Every other answer, rather than a list of the personal ones,
        # so a new page or download is covered without anyone remembering to.
        headers["Cache-Control"] = "no-store"
    return response
