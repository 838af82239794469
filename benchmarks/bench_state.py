"""Per-event cost of the windowed state, with stores of 1,000 and 100,000 keys, and at one
key already holding 10, 300 or 3,000 events.

Run: ``.venv/bin/python benchmarks/bench_state.py``. Each measured event is recorded and then
queried (a 30-day ``events`` window, or ``trailing``), always on the same 200 subjects or 5
sectors, so only the number of other keys in the store changes between rows. The ``json``
store encodes and decodes every value like a Faust table does (RocksDB adds its own reads).
The busy-key rows record events at one address that already holds that many within the
retention, and ask for the 30 days either side (``around``), as the dealing-address rule does.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from schemas.common import Source
from schemas.enriched import EnrichedEvent, SubjectRef
from streams.state import AddressState, SectorState, SubjectState

T0 = datetime(2026, 4, 14, 21, 30, tzinfo=UTC)
EVENTS = 3_000
BUSY_EVENTS = 200
RUNS = 5
HOT_SUBJECTS = 200
HOT_SECTORS = 5
REF = "S-" + "A" * 16

#: How to build a fresh state, and how to feed it the measured events.
Case = tuple[Callable[[], Any], Callable[[Any], None]]


class JsonDict(dict[str, Any]):
    """A dict that keeps encoded JSON, as a Faust table's store does."""

    def get(self, key: str, default: Any = None) -> Any:
        raw = super().get(key)
        return default if raw is None else orjson.loads(raw)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, orjson.dumps(value))


def seeded() -> random.Random:
    """The same input on every run: benchmark data, not secrets."""
    return random.Random(20260414)  # noqa: S311


def subject_ref(n: int) -> str:
    return "S-" + base64.b32encode(n.to_bytes(10, "big")).decode()


def event(event_id: str, at: datetime) -> EnrichedEvent:
    return EnrichedEvent(
        event_id=event_id,
        kind="arrest",
        occurred_at=at,
        reported_at=at,
        report_delay_s=0.0,
        source=Source(system="LRP", unit="DSPAP-19"),
        lat=48.897,
        lon=2.372,
        sector="rosa-parks",
        address_key="12 RUE CURIAL 75019 PARIS",
        narcotics=True,
        subjects=[SubjectRef(ref=REF, role="seller")],
        offense="trafficking",
        flagrant=True,
        role="seller",
    )


def prefilled(kind: Callable[[], dict[str, Any]], keys: list[str], value: Any) -> dict[str, Any]:
    """``keys`` all holding ``value``: shared safely, since the state never mutates a value."""
    store = kind()
    for key in keys:
        store[key] = value
    return store


def rate(case: Case, events: int = EVENTS) -> float:
    """Events per CPU second of one run on a fresh state (CPU time: the machine may be shared)."""
    make, feed = case
    state = make()
    start = time.process_time()
    feed(state)
    return events / (time.process_time() - start)


def subjects_case(kind: Callable[[], dict[str, Any]], keys: int) -> Case:
    """``record`` then a 30-day ``events`` query, on subjects holding two older events."""
    template: dict[str, Any] = {}
    for n, days in enumerate((40, 10)):
        SubjectState(template).record("x", event(f"seed-{n}", T0 - timedelta(days=days)))
    refs = [subject_ref(n) for n in range(keys)]
    rng = seeded()
    hot = rng.sample(refs, HOT_SUBJECTS)
    minutes = [rng.randrange(1440) for _ in range(EVENTS)]
    inputs = [
        (hot[i % HOT_SUBJECTS], event(f"b-{i}", T0 + timedelta(minutes=m)))
        for i, m in enumerate(minutes)
    ]
    window = timedelta(days=30)

    def feed(subjects: Any) -> None:
        for ref, e in inputs:
            subjects.record(ref, e)
            subjects.events(ref, e.occurred_at - window, e.occurred_at)

    return lambda: SubjectState(prefilled(kind, refs, template["x"])), feed


def sectors_case(kind: Callable[[], dict[str, Any]], keys: int) -> Case:
    """``record`` then ``trailing``, on hours holding five events each, 200 hours per sector."""
    hours = 200
    sectors = [f"sector-{n}" for n in range(keys // hours)]
    first_hour = int(T0.timestamp()) // 3600 * 3600 - (hours - 1) * 3600
    bucket = {f"seed-{n}": n * 1_000_000 for n in range(5)}
    names = [f"{s}|{first_hour + h * 3600}" for s in sectors for h in range(hours)]
    rng = seeded()
    hot = rng.sample(sectors, HOT_SECTORS)
    minutes = [rng.randrange(480) for _ in range(EVENTS)]
    inputs = [
        (hot[i % HOT_SECTORS], event(f"b-{i}", T0 - timedelta(minutes=m)))
        for i, m in enumerate(minutes)
    ]

    def feed(state: Any) -> None:
        for sector, e in inputs:
            state.record(sector, e)
            state.trailing(sector, e.occurred_at)

    return lambda: SectorState(prefilled(kind, names, bucket)), feed


def busy_key_case(held: int) -> Case:
    """``record`` then ``around(30 days)`` at one address holding ``held`` events of the last
    30 days (JSON store); only events of the newest hour are added."""
    address = "12 RUE CURIAL 75019 PARIS"
    step = timedelta(days=30) / held
    history = [event(f"h-{i}", T0 - i * step) for i in range(held)]
    inputs = [event(f"b-{i}", T0 + timedelta(seconds=i)) for i in range(BUSY_EVENTS)]

    def make() -> AddressState:
        state = AddressState(JsonDict(), retention=timedelta(days=37))
        for e in history:
            state.record(address, e)
        return state

    def feed(state: Any) -> None:
        for e in inputs:
            state.record(address, e)
            state.around(address, e.occurred_at, 30)

    return make, feed


def main() -> None:
    """Best of ``RUNS`` rounds; each round runs both store sizes, so noise hits both alike."""
    sizes = (1_000, 100_000)
    stores: list[tuple[str, Callable[[], dict[str, Any]]]] = [("dict", dict), ("json", JsonDict)]
    names = ("subject record+events", "sector record+trailing")
    print(f"{'store':<6} {'keys':>8} {names[0]:>24} {names[1]:>24}")
    for label, kind in stores:
        cases = {size: (subjects_case(kind, size), sectors_case(kind, size)) for size in sizes}
        best = {size: [0.0, 0.0] for size in sizes}
        for _ in range(RUNS):
            for size in sizes:
                for i, case in enumerate(cases[size]):
                    best[size][i] = max(best[size][i], rate(case))
        for size in sizes:
            subjects, sectors = best[size]
            print(f"{label:<6} {size:>8,} {subjects:>19,.0f} ev/s {sectors:>19,.0f} ev/s")
    print(f"{'events at the key':>18} {'address record+around (json store)':>38}")
    for held in (10, 300, 3_000):
        best_busy = max(rate(busy_key_case(held), BUSY_EVENTS) for _ in range(3))
        print(f"{held:>18,} {best_busy:>33,.0f} ev/s")


if __name__ == "__main__":
    main()
