"""A worker process for crash tests: the app's dispatcher (settings from the environment, as
`flask sms worker` builds it) but with a short lease, so an expired lease is seconds away, and
optionally a short reconciliation delay, so an `unknown` message is looked up seconds later.

    python -m tests.worker_child --lease 1 --concurrency 4 [--reconcile-after 1]
"""

from __future__ import annotations

import argparse
import signal
import sys
from datetime import timedelta

from webapp import create_app, worker
from webapp.sms.reconcile import ReconcileSettings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lease", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--reconcile-after", type=float, default=None)
    options = parser.parse_args()
    app = create_app()
    reconcile = None
    if options.reconcile_after is not None:
        reconcile = ReconcileSettings(
            after=timedelta(seconds=options.reconcile_after),
            every=min(options.reconcile_after, 1.0),
        )
    dispatcher = worker.build(
        app,
        concurrency=options.concurrency,
        lease=timedelta(seconds=options.lease),
        poll_seconds=0.1,
        reconcile=reconcile,
    )
    signal.signal(signal.SIGTERM, lambda *_: dispatcher.stop())
    print(f"worker_child: lease {options.lease:g} s, {options.concurrency} at a time", flush=True)
    try:
        handled = dispatcher.run(once=options.once)
    finally:
        dispatcher.provider.close()
        app.extensions["database"].engine.dispose()
    print(f"worker_child: handled {handled}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
