"""``collector_paused``: pause Python's automatic cyclic garbage collector around work
that builds many long-lived objects (definitions, plans, runs)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's automatic cyclic garbage collector while definitions are validated,
    a plan is built or a run's steps execute (also usable as a decorator); the
    orchestration loop collects the youngest generation every few hundred steps instead
    (``gc.collect(0)``: each surviving object is scanned once, when it leaves it).

    Full automatic passes rescan every long-lived object (definitions, the plan, the
    run's events), which made the per-step cost grow with the size of the run. Young
    collections still free the cyclic garbage steps make; the collector is given back
    (if it was on) when the run ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
