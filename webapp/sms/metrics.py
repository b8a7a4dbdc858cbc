"""Prometheus metrics of sending: the gateway call histogram, observed by the dispatcher, and the
figures read from the database at each scrape (so they are right whatever the number of
processes)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
import sqlalchemy.exc
from prometheus_client import Histogram
from prometheus_client.core import GaugeMetricFamily

from webapp.database import close_session, make_sessionmaker
from webapp.models.base import utcnow
from webapp.sms import status
from webapp.sms.providers import SendResult

log = logging.getLogger(__name__)

# From a fast local answer to a gateway at its read timeout (20 s).
GATEWAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0)
GATEWAY_SECONDS = Histogram(
    "smsdesk_gateway_send_seconds",
    "Time one gateway send call took, by gateway and outcome.",
    ["gateway", "outcome"],
    buckets=GATEWAY_BUCKETS,
)


def observe_send(gateway: str, result: SendResult | None, seconds: float) -> None:
    """Count one gateway call; its outcome is accepted, rejected, transient or unknown.

    Never raises: it runs after the gateway took the message, where an error (a missing
    PROMETHEUS_MULTIPROC_DIR) would make a sent message look `unknown`."""
    outcome = type(result).__name__.lower() if result is not None else "unknown"
    try:
        GATEWAY_SECONDS.labels(gateway, outcome).observe(seconds)
    except Exception:
        log.exception("Could not record a gateway call in the metrics")


class DatabaseCollector:
    """Gauges computed from the database at scrape time; `smsdesk_database_up` 0 when it is away.

    Counted where the truth is rather than kept in each process: several web workers and a separate
    `sms worker` would each hold only their share, or all report the same total."""

    def __init__(self, engine: sa.Engine):
        self.sessionmaker = make_sessionmaker(engine)

    def collect(self):
        now = utcnow()
        try:
            with self.sessionmaker() as session:
                found = status.figures(session, now)
                counts = status.message_counts(session)
                close_session(session)
        except sqlalchemy.exc.SQLAlchemyError as error:
            log.warning("Metrics: the database cannot be reached (%s)", type(error).__name__)
            yield GaugeMetricFamily(
                "smsdesk_database_up", "1 when the database answered the scrape.", 0
            )
            return
        yield GaugeMetricFamily(
            "smsdesk_database_up", "1 when the database answered the scrape.", 1
        )
        messages = GaugeMetricFamily(
            "smsdesk_messages", "Messages by state and gateway.", labels=["state", "gateway"]
        )
        for (state, gateway), count in sorted(counts.items()):
            messages.add_metric([state, gateway], count)
        yield messages
        yield GaugeMetricFamily(
            "smsdesk_queue_depth", "Outbound messages queued (due or not).", found.queued
        )
        oldest = (now - found.oldest_due).total_seconds() if found.oldest_due is not None else 0.0
        yield GaugeMetricFamily(
            "smsdesk_queue_oldest_seconds",
            "How long the longest-waiting due message has waited (0: none).",
            max(oldest, 0.0),
        )
        yield GaugeMetricFamily(
            "smsdesk_reply_emails_pending", "Reply emails waiting to be sent.", found.emails_pending
        )
        yield GaugeMetricFamily(
            "smsdesk_reply_emails_failed",
            "Reply emails that failed for good (retry or discard on /admin/status).",
            found.emails_failed,
        )
        if found.workers:
            seen = (now - found.workers[0].last_seen).total_seconds()
            yield GaugeMetricFamily(
                "smsdesk_worker_last_seen_seconds",
                "Seconds since the freshest worker heartbeat.",
                max(seen, 0.0),
            )
