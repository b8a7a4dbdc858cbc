"""One benchmark worker process: wait for the common start time, send what is due, print JSON.

With --memory it also samples its resident memory as it goes, to show it stays flat.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from webapp import create_app, worker


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    start_at = float(sys.argv[1])
    memory = "--memory" in sys.argv
    app = create_app()
    dispatcher = worker.build(app, poll_seconds=0.2)
    samples: list[tuple[int, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            samples.append((dispatcher.sent, rss_mb()))

    if memory:
        threading.Thread(target=sample, daemon=True).start()
    time.sleep(max(0.0, start_at - time.time()))
    started, cpu = time.time(), time.process_time()
    handled = dispatcher.run(once=True)
    # User + system CPU of the whole process (every thread) while it sent, startup excluded.
    ended, cpu = time.time(), time.process_time() - cpu
    done.set()
    dispatcher.provider.close()
    print(
        json.dumps(
            {
                "handled": handled,
                "start": started,
                "end": ended,
                "cpu": cpu,
                "rss": samples + [(dispatcher.sent, rss_mb())],
            }
        )
    )


if __name__ == "__main__":
    main()
