"""Every case event and alert the in-memory core makes of the mixed stream, as one sha256:
the check that a change to the core leaves its outputs byte-identical.

    .venv/bin/python -m benchmarks.core_outputs N [--stream arrests] [--shuffle-hours H]
        [--seed S] [--by-feed K]

Feeds the first ``N`` events of ``benchmarks.feeds.mixed`` (or ``arrests``), enriched as
ingest does, to one ``Pipeline`` with a fixed clock, in event-time order or, with
``--shuffle-hours``, each moved by a random delay of up to ``H`` hours (within the lateness
bound: nothing is late). ``--by-feed K`` orders them as a worker reading a burst hands them
on: each feed (field topic partition) in its own order, ``K`` events of one feed, then ``K``
of the next, in turn. Prints the counts, the digest and the CPU time of the feeding; run it
in two checkouts and compare the digests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import time
from dataclasses import dataclass
from itertools import chain

from benchmarks.core import enrich, enricher
from benchmarks.feeds import arrests, mixed
from schemas.codec import dumps
from schemas.enriched import EnrichedEvent
from streams.pipeline import Pipeline

#: The clock the stages stamp alerts with: fixed, so that two runs compare.
CLOCK = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
CHUNK = 5_000
STREAMS = {"mixed": mixed, "arrests": arrests}


@dataclass(frozen=True)
class Outputs:
    events: int
    case_events: int
    alerts: int
    sha256: str
    cpu_s: float


def outputs(
    n: int, shuffle_hours: float = 0.0, seed: int = 7, stream: str = "mixed", by_feed: int = 0
) -> Outputs:
    feeds: dict[str, str] = {}
    events = enrich(enricher(), STREAMS[stream](n), feeds)
    if shuffle_hours:
        rng = random.Random(seed)  # noqa: S311 - a reproducible order, not a secret
        reach = shuffle_hours * 3600
        events.sort(key=lambda e: e.occurred_at.timestamp() + rng.uniform(0, reach))
    if by_feed:
        events = _feed_by_feed(events, feeds, by_feed)
    pipeline = Pipeline(clock=lambda: CLOCK)
    digest = hashlib.sha256()
    case_events = alerts = 0
    cpu_s = 0.0
    for start in range(0, len(events), CHUNK):
        started = time.process_time()
        pipeline.feed(events[start : start + CHUNK], lambda e: feeds[e.event_id])
        cpu_s += time.process_time() - started
        for case_event in pipeline.case_events:
            digest.update(dumps(case_event))
        for alert in pipeline.alerts:
            digest.update(dumps(alert))
        case_events += len(pipeline.case_events)
        alerts += len(pipeline.alerts)
        pipeline.case_events.clear()
        pipeline.alerts.clear()
    return Outputs(len(events), case_events, alerts, digest.hexdigest(), cpu_s)


def _feed_by_feed(
    events: list[EnrichedEvent], feeds: dict[str, str], run: int
) -> list[EnrichedEvent]:
    """``events`` as a burst reaches the stages: ``run`` of one feed's, then of the next's."""
    if not events:
        return events
    of_feed: dict[str, list[EnrichedEvent]] = {}
    for event in events:
        of_feed.setdefault(feeds[event.event_id], []).append(event)
    runs = [[e[i : i + run] for i in range(0, len(e), run)] for e in of_feed.values()]
    turns = max(map(len, runs))
    return list(
        chain.from_iterable(r[turn] for turn in range(turns) for r in runs if turn < len(r))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="events of the stream")
    parser.add_argument("--stream", choices=sorted(STREAMS), default="mixed")
    parser.add_argument("--shuffle-hours", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--by-feed", type=int, default=0, metavar="K")
    args = parser.parse_args()
    found = outputs(args.n, args.shuffle_hours, args.seed, args.stream, args.by_feed)
    order = f"shuffled within {args.shuffle_hours:g} h" if args.shuffle_hours else "in order"
    if args.by_feed:
        order += f", {args.by_feed:,} of each feed in turn"
    print(
        f"{found.events:,} {args.stream} events {order}: {found.case_events:,} case events, "
        f"{found.alerts:,} alerts, sha256 {found.sha256}; fed in {found.cpu_s:.2f} s CPU "
        f"({found.events / found.cpu_s:,.0f} events/s)"
    )


if __name__ == "__main__":
    main()
