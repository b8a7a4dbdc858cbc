"""Settles CPython's cycle collector for a long-running process (a web worker, the SMS worker)."""

from __future__ import annotations

import gc

# The youngest generation is collected after this many new container objects, not CPython's 700.
# Under load a web worker's threads keep their requests' objects alive across the young passes,
# which promote them; with 700 a worker ran ~90 young passes a second, at 3,000 about a tenth as
# many, promoting less (docs/bench-history.md, the sixteenth machine). Larger thresholds made each
# young pass slower than the passes they saved.
YOUNG_THRESHOLD = 3_000

_settled = False


def settle() -> None:
    """Once a process: move every object start-up made (modules, the app, its routes, mappers and
    settings) out of the collector's sight, so a full pass walks only what requests made since, and
    raise the youngest generation's threshold.

    A full pass over a started app's ~140,000 objects took 70-120 ms, every few seconds under
    load, holding every request in that worker; frozen, at most 30 ms. A forked child keeps its
    parent's frozen objects, so with gunicorn's --preload the master's settling serves its workers
    too.
    """
    global _settled
    if _settled:
        return
    _settled = True
    gc.freeze()
    _young, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)
