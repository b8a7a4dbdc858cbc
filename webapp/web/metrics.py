"""/metrics for Prometheus: who may read it, what it holds (this process's or, under several
gunicorn workers, every process's histograms, plus the database's figures), and the web request
histogram."""

from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from webapp.sms.metrics import DatabaseCollector

log = logging.getLogger(__name__)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Set for every process (web workers and `sms worker`) before it starts: prometheus-client then
# keeps each process's values in files there, and a scrape of any one web worker adds them all up.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_SECONDS = Histogram(
    "smsdesk_http_request_seconds",
    "Time to answer a web request, by endpoint and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def init_app(app: Flask) -> None:
    app.after_request(_observe)


def _observe(response: Response) -> Response:
    # The request's start, as webapp.logs took it first thing (so an early answer, a sign-in
    # redirect, is timed too): one clock for the access line and the histogram.
    started = g.get("request_started")
    if started is None:
        return response
    try:
        # The endpoint, never the path: paths hold ids, and a scanner's random URLs would each
        # become a series of their own.
        method = request.method if request.method in METHODS else "other"
        REQUEST_SECONDS.labels(request.endpoint or "none", method).observe(
            time.perf_counter() - started
        )
    except Exception:  # a metrics folder that is missing must not cost the user their page
        log.exception("Could not record the request in the metrics")
    return response


def allowed() -> int | None:
    """None when this request may read /metrics; else the status to answer (401 or 404).

    From loopback (a Prometheus agent on the same host) no token is needed, unless the request came
    through a proxy we were not told to trust: then "loopback" is only the proxy's own address."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    proxied = not current_app.config.get("TRUSTED_PROXIES") and (
        "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    )
    if request.remote_addr in LOOPBACK and not proxied:
        return None
    if not token:
        return 404
    offered = request.headers.get("Authorization", "")
    scheme, _, value = offered.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
        return None
    return 401


def exposition() -> Response:
    """The metrics in Prometheus's text format."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)
    else:
        registry.register(_Process())
    registry.register(DatabaseCollector(current_app.extensions["database"].engine))
    return Response(
        generate_latest(registry), mimetype=None, headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


class _Process:
    """This process's own metrics (the histograms and prometheus-client's process figures)."""

    def collect(self):
        return REGISTRY.collect()
