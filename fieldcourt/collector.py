"""The worker's garbage collector: young generations as Python runs them, full passes when the
worker asks for them (``full_pass``, on a timer: ``FIELDCOURT_GC_FULL_INTERVAL_S``).

A full pass walks every container the process tracks, and most of a worker's are long-lived:
its table caches (``agents.cache``), Faust's buffers, the consumer's records. Timed by a
collector callback during ``make bench --only latency`` (200 events/s), Python started a full
pass every 2 to 5 s, each walking about 150,000 objects for 100 to 150 ms and freeing 0 to
500 of them; every record in flight waited it out, and those waits made the latency tail
(README, Measurements). Python starts one once ``threshold2`` young passes have run since the
last, and the tracked objects grew by a quarter; with that threshold out of reach it never
does. What only a full pass frees (reference cycles that became garbage, a few hundred objects
a minute here) then waits for the next ``full_pass``.
"""

from __future__ import annotations

import gc
import time

#: Young passes between two full ones that Python would need to start one itself: never.
NEVER = 2**31 - 1


def defer_full_passes() -> None:
    """Young generations as configured; no full pass but ``full_pass``."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, NEVER)


def full_pass() -> tuple[int, float]:
    """A full pass now: the objects it freed, and how long it took (s)."""
    started = time.perf_counter()
    freed = gc.collect()
    return freed, time.perf_counter() - started
