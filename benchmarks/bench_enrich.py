"""Throughput of enrichment and of the sector lookup, on synthetic events only.

Run: ``.venv/bin/python benchmarks/bench_enrich.py [--events N]``. Prints events per second of
``Enricher.enrich`` (whole events) and lookups per second of ``SectorIndex.sector_of``: with the
3 default sectors on points all over north-east Paris (most miss, the cheap path), then with 3
and with 200 sectors on points that each fall inside one (the full path), best of 3 runs.
Last, 3 and 200 grid sectors on the same points, all inside the first three sectors of both:
the scan of bounding boxes keeps the ratio near 1 (printed, not asserted: the unit suite
measures no time). Measured on 2026-12-03, the scan against the STRtree it replaced: 3 default
sectors, points inside, 311,000 against 135,000 lookups/s; 200 grid sectors, 155,000 against
153,000.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.field import Arrest, DealingAddress, Seizure
from streams.enrich import Enricher
from streams.geofence import SectorIndex, load_sectors
from streams.pseudonym import Pseudonymiser
from tests.factories import (
    make_arrest,
    make_dealing_address,
    make_seizure,
    raw_person,
)

# A box around the north-east of Paris that holds the three default sectors.
WEST, SOUTH, EAST, NORTH = 2.330, 48.850, 2.390, 48.905
STREETS = ("rue Curial", "bd de la Villette", "r. de Tanger", "av. de Flandre", "quai de Seine")


def grid_sectors(count: int) -> SectorIndex:
    """``count`` adjacent rectangles tiling the benchmark box, 20 per row."""
    columns, rows = 20, -(-count // 20)
    width, height = (EAST - WEST) / columns, (NORTH - SOUTH) / rows
    features = []
    for i in range(count):
        w, s = WEST + (i % columns) * width, SOUTH + (i // columns) * height
        ring = [[w, s], [w + width, s], [w + width, s + height], [w, s + height], [w, s]]
        features.append(
            {
                "type": "Feature",
                "properties": {"name": f"grid-{i:03d}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return SectorIndex.from_geojson({"type": "FeatureCollection", "features": features})


def random_points(rng: random.Random, count: int) -> list[tuple[float, float]]:
    return [(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)) for _ in range(count)]


def points_inside(rng: random.Random, index: SectorIndex, count: int) -> list[tuple[float, float]]:
    """Random points each inside some sector of ``index``: the full cost of a lookup."""
    boxes = [sector.geometry.bounds for sector in index.sectors]
    points = []
    for _ in range(count):
        west, south, east, north = rng.choice(boxes)
        points.append((rng.uniform(south, north), rng.uniform(west, east)))
    return points


def synthetic_events(rng: random.Random, count: int) -> list[Arrest | Seizure | DealingAddress]:
    """A mix like the field's: mostly arrests, some seizures, a few dealing addresses."""
    events: list[Arrest | Seizure | DealingAddress] = []
    for lat, lon in random_points(rng, count):
        address = f"{rng.randint(1, 180)} {rng.choice(STREETS)}, 75019 Paris"
        location = {"lat": lat, "lon": lon, "address": address}
        roll = rng.random()
        if roll < 0.7:
            events.append(make_arrest(location=location, person=raw_person(rng.randrange(8))))
        elif roll < 0.9:
            persons = [raw_person(rng.randrange(8)) for _ in range(rng.randint(0, 3))]
            events.append(make_seizure(location=location, persons=persons))
        else:
            events.append(make_dealing_address(location=location))
    return events


def rate(action: Callable[[], object], count: int, repeat: int = 3) -> float:
    """Items per second of the best of ``repeat`` runs of ``action`` over ``count`` items."""
    best = min(_timed(action) for _ in range(repeat))
    return count / best


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)  # noqa: S311 -- synthetic data, not secrets

    defaults = load_sectors()
    enricher = Enricher(Pseudonymiser(b"bench-key-".ljust(32, b"0")), defaults)
    events = synthetic_events(rng, args.events)
    per_s = rate(lambda: [enricher.enrich(e) for e in events], len(events))
    print(f"{'Enricher.enrich, mixed synthetic events':<53}{per_s:>10,.0f} events/s")

    lookups(defaults, random_points(rng, args.events), "3 default sectors, points all over")
    for index, label in (
        (defaults, "3 default sectors, points inside"),
        (grid_sectors(3), "3 grid sectors, points inside"),
        (grid_sectors(200), "200 grid sectors, points inside"),
    ):
        lookups(index, points_inside(rng, index, args.events), label)
    index_scaling(rng, args.events)


def lookups(index: SectorIndex, points: list[tuple[float, float]], label: str) -> None:
    hits = sum(index.sector_of(lat, lon) is not None for lat, lon in points)
    per_s = rate(lambda: [index.sector_of(lat, lon) for lat, lon in points], len(points))
    print(f"sector_of, {label:<42}{per_s:>10,.0f} lookups/s ({hits / len(points):.0%} in a sector)")


def index_scaling(rng: random.Random, count: int) -> None:
    """3 and 200 grid sectors on the same points, each inside one of the first three of both."""
    few, many = grid_sectors(3), grid_sectors(200)
    width, height = (EAST - WEST) / 20, (NORTH - SOUTH) / 10  # a square of the 200
    points = [
        (rng.uniform(SOUTH, SOUTH + height), rng.uniform(WEST, WEST + 3 * width))
        for _ in range(count)
    ]
    agree = all(few.sector_of(*p) == many.sector_of(*p) is not None for p in points)
    rates = [
        rate(lambda index=index: [index.sector_of(lat, lon) for lat, lon in points], count)
        for index in (few, many)
    ]
    print(f"sector_of, {'3 grid sectors, same points':<42}{rates[0]:>10,.0f} lookups/s")
    print(f"sector_of, {'200 grid sectors, same points':<42}{rates[1]:>10,.0f} lookups/s")
    print(f"  200 sectors at {rates[1] / rates[0]:.2f}x the rate of 3 (same answers: {agree})")


if __name__ == "__main__":
    main()
