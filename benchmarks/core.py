"""The in-memory core (``streams.pipeline.Pipeline``, dicts as stores), run as its own process.

    python -m benchmarks.core throughput SIZES BUDGET_S

``throughput``: the mixed stream (``benchmarks.feeds.mixed``) enriched as ingest does, then fed
to one ``Pipeline`` in chunks of 10,000; only ``Pipeline.feed`` is timed (generation and
enrichment are not). The figure for a size N is N / (time to feed the first N events), the
same as a fresh pipeline fed a stream of N events. A larger size is attempted only if the last
chunk's pace (enrichment included) says it ends within the budget, and given up when, after a
chunk, that pace says it no longer will. After each chunk what the
process holds is frozen out of the garbage collector (``gc.freeze``): in a worker the history
is in RocksDB, and the collector's full passes over the dicts holding it here cost 15-30 % of
the time late in a long run.

``state`` (called by ``benchmarks.worker_state``): arrests of SUBJECTS distinct subjects (one
each, 40 % at one of 100,000 addresses, 10 % in Les Halles, 30 % flagrant) fed to one
``Pipeline``; the process's RSS before and after, and what its stores hold. Case events and
alerts are dropped after each chunk: they are outputs (the worker publishes them), not state.
Stops when the budget of time or the cap on memory is reached, and then extrapolates linearly
(each subject holds its own entries).

Progress lines go to stdout; the result is the last line, ``RESULT {json}``.
"""

from __future__ import annotations

import base64
import datetime as dt
import gc
import itertools
import random
import sys
import time
from collections.abc import Iterable
from typing import Any

import orjson

from benchmarks.feeds import mixed
from schemas.cases import CaseEvent
from schemas.codec import loads
from schemas.common import Source
from schemas.enriched import EnrichedEvent, SubjectRef
from schemas.field import FIELD_MODELS
from streams.enrich import Enricher
from streams.eventtime import feed_name
from streams.geofence import load_sectors
from streams.partitioning import partition_of
from streams.pipeline import Pipeline
from streams.pseudonym import Pseudonymiser

KEY = b"bench-key-" + b"0" * 40
PARTITIONS = 4
CHUNK = 10_000


def say(text: str) -> None:
    print(text, flush=True)


def rss_bytes() -> int:
    for line in open("/proc/self/status").read().splitlines():  # noqa: SIM115
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def enricher() -> Enricher:
    return Enricher(Pseudonymiser(KEY), load_sectors(None))


def enrich(
    enricher: Enricher, raw: Iterable[tuple[str, dict[str, Any]]], feeds: dict[str, str]
) -> list[EnrichedEvent]:
    """``raw`` mixed-stream records parsed and enriched as ingest does; each event's feed (the
    field topic partition its key would go to) noted in ``feeds``."""
    events = []
    for topic, event in raw:
        enriched = enricher.enrich(loads(FIELD_MODELS[topic], orjson.dumps(event)))
        feeds[enriched.event_id] = feed_name(topic, partition_of(enriched.event_id, PARTITIONS))
        events.append(enriched)
    return events


def throughput(sizes: list[int], budget_s: float) -> dict[str, Any]:
    enrich_with = enricher()
    pipeline = Pipeline()
    feeds: dict[str, str] = {}
    records = mixed(max(sizes))
    done = 0
    feed_s = 0.0
    wall_per_event = 0.0
    started = time.perf_counter()
    points: list[dict[str, Any]] = []  # one per chunk: the pace as history grows
    results: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    case_events = alerts = 0

    def over_budget(target: int) -> str:
        """Why ``target`` cannot be reached within the budget at the last chunk's pace ("")."""
        estimate = (target - done) * wall_per_event
        elapsed = time.perf_counter() - started
        if not done or not wall_per_event or elapsed + estimate <= budget_s:
            return ""
        return (
            f"after {done:,} events, at the last chunk's pace ({1 / wall_per_event:,.0f} "
            f"events/s with generation and enrichment) the {target - done:,} more events would "
            f"take ~{estimate:,.0f} s, over the budget of {budget_s:,.0f} s (--core-budget)"
        )

    for target in sorted(sizes):
        if reason := over_budget(target):
            skipped += [{"events": s, "reason": reason} for s in sizes if s >= target]
            say(f"  core: {target:,} skipped: {reason}")
            break
        while done < target:
            chunk_started = time.perf_counter()
            raw = list(itertools.islice(records, min(CHUNK, target - done)))
            if not raw:
                break
            events = enrich(enrich_with, raw, feeds)
            t0 = time.perf_counter()
            pipeline.feed(events, lambda e: feeds[e.event_id])
            spent = time.perf_counter() - t0
            feed_s += spent
            done += len(events)
            made, carried = len(pipeline.case_events), sum(map(_carried, pipeline.case_events))
            case_events += made
            alerts += len(pipeline.alerts)
            pipeline.case_events.clear()
            pipeline.alerts.clear()
            for event in events:
                del feeds[event.event_id]
            # The history these dicts hold lives in RocksDB in a worker, not on its heap: kept
            # out of the collector's full passes, which would otherwise walk all of it.
            gc.freeze()
            wall_per_event = (time.perf_counter() - chunk_started) / len(events)
            points.append(
                {
                    "events": done,
                    "chunk_eps": len(events) / spent,
                    "case_events": made,
                    "carried_per_event": carried / len(events),
                }
            )
            if done % 50_000 == 0 or done == target:
                say(
                    f"  core: {done:,} events fed in {feed_s:,.1f} s "
                    f"({done / feed_s:,.0f} events/s; last chunk {len(events) / spent:,.0f}, "
                    f"its case events carrying {carried / len(events):,.1f} subjects, "
                    f"addresses and evidence ids per event); "
                    f"{time.perf_counter() - started:,.0f} s elapsed"
                )
            if done < target and (reason := over_budget(target)):
                break
        if done < target:
            reason = reason or f"the stream holds only {done:,} events"
            skipped += [{"events": s, "reason": reason} for s in sizes if s >= target]
            say(f"  core: {target:,} skipped: {reason}")
            break
        results.append(
            {
                "events": target,
                "seconds": feed_s,
                "eps": target / feed_s,
                "case_events": case_events,
                "alerts": alerts,
            }
        )
    return {"sizes": results, "skipped": skipped, "chunks": points, "chunk": CHUNK}


def _carried(event: CaseEvent) -> int:
    """What a case event carries that grows with its case: SPEC 7 has every event hold the
    case's whole content, so an update of a network of thousands lists them all."""
    return len(event.subjects) + len(event.addresses) + len(event.evidence)


def _ref(index: int) -> str:
    return "S-" + base64.b32encode(index.to_bytes(10, "big")).decode()[:16]


def subject_events(start: int, count: int, rng: random.Random) -> list[EnrichedEvent]:
    """Arrests of subjects ``start`` .. ``start + count - 1``, one each, 20 s apart."""
    t0 = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    source = Source(system="sim-bench", unit="CSP 15e")
    events = []
    for index in range(start, start + count):
        at = t0 + dt.timedelta(seconds=20 * index)
        halles = rng.random() < 0.1
        offense = rng.choices(("trafficking", "possession", "use"), weights=(40, 35, 25))[0]
        address = f"{rng.randint(1, 100_000)} RUE DU BANC 75015 PARIS"
        events.append(
            EnrichedEvent(
                event_id=f"st-{index:08d}",
                kind="arrest",
                occurred_at=at,
                reported_at=at + dt.timedelta(minutes=40),
                report_delay_s=2400.0,
                source=source,
                lat=48.8620 if halles else 48.8400,
                lon=2.3460 if halles else 2.2900,
                sector="les-halles" if halles else None,
                address_key=address if rng.random() < 0.4 else None,
                narcotics=True,
                subjects=[SubjectRef(ref=_ref(index), role="seller")],
                offense=offense,
                flagrant=rng.random() < 0.3,
                role="seller" if offense == "trafficking" else "buyer",
            )
        )
    return events


def store_footprint(stores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Entries per store and their size as JSON (what a changelog or RocksDB would hold)."""
    out: dict[str, Any] = {}
    for name, store in stores.items():
        size = 0
        for key, value in store.items():
            size += len(key) + len(orjson.dumps(value))
        out[name] = {"entries": len(store), "json_bytes": size}
    return out


def state(subjects: int, budget_s: float, max_rss_mib: float) -> tuple[dict[str, Any], Pipeline]:
    rng = random.Random(5)  # noqa: S311 - synthetic data, not secrets
    gc.collect()
    baseline = rss_bytes()
    pipeline = Pipeline()
    started = time.perf_counter()
    done = 0
    samples: list[tuple[int, int]] = []
    result_reason: list[str] = []
    chunk = 20_000
    while done < subjects:
        events = subject_events(done, min(chunk, subjects - done), rng)
        pipeline.feed(events)
        done += len(events)
        pipeline.case_events.clear()
        pipeline.alerts.clear()
        del events
        elapsed = time.perf_counter() - started
        if done % 100_000 == 0 or done == subjects:
            gc.collect()
            samples.append((done, rss_bytes() - baseline))
            say(
                f"  state: {done:,} subjects in {elapsed:,.0f} s, RSS +"
                f"{samples[-1][1] / 2**20:,.0f} MiB"
            )
        if done >= subjects:
            break
        grown = rss_bytes() - baseline
        why = ""
        if elapsed > budget_s:
            why = (
                f"{elapsed:,.0f} s spent, the budget is {budget_s:,.0f} s (--state-budget); "
                f"{subjects:,} would take ~{elapsed / done * subjects:,.0f} s"
            )
        elif grown > max_rss_mib * 2**20:
            why = (
                f"the stores hold {grown / 2**20:,.0f} MiB, the cap is {max_rss_mib:,.0f} MiB "
                f"(--state-max-rss): this machine is shared"
            )
        if why:
            gc.collect()
            samples.append((done, rss_bytes() - baseline))
            say(f"  state: stopping at {done:,} subjects: {why}")
            result_reason.append(why)
            break
    gc.collect()
    measured, grown = samples[-1]
    result: dict[str, Any] = {
        "subjects_wanted": subjects,
        "subjects": measured,
        "seconds": time.perf_counter() - started,
        "baseline_rss_bytes": baseline,
        "rss_bytes": rss_bytes(),
        "stores_rss_bytes": grown,
        "samples": samples,
        "stores": store_footprint(pipeline.stores),
    }
    if measured < subjects:
        # linear in the number of subjects: each holds its own entries
        result["stopped_because"] = result_reason[0] if result_reason else ""
        result["extrapolated_stores_rss_bytes"] = grown * subjects / measured
        json_bytes = sum(s["json_bytes"] for s in result["stores"].values())
        result["extrapolated_json_bytes"] = json_bytes * subjects / measured
    return result, pipeline


def main() -> None:
    mode, amount, budget = sys.argv[1:]
    if mode != "throughput":
        raise SystemExit(f"unknown mode {mode!r}: throughput (state: benchmarks.worker_state)")
    result = throughput([int(s) for s in amount.split(",")], float(budget))
    print("RESULT " + orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
