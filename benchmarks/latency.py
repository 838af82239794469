"""Stage ``latency``: a fresh worker fed the mixed stream at a steady ``--latency-rate``; from
each field record's append (its LogAppendTime) to the case event it caused."""

from __future__ import annotations

import asyncio
import math
import re
import time
import uuid
from collections import Counter
from typing import Any

import orjson

from benchmarks.harness import CASE_TOPICS, OUT, Bench
from benchmarks.kafka_io import end_offsets, publish_paced, read_from
from benchmarks.processes import alive, died, start_worker
from fieldcourt.topics import ALERTS_TOPIC, FIELD_TOPICS

LATENCY_METRIC = "fieldcourt_case_latency_from_append_seconds"
LATENCY_DEFINITION = (
    "latency = timestamp of the case event record (set by the worker's producer) - "
    "LogAppendTime of the field record that caused it, taken as the most recently appended "
    "evidence record of what the match brought: the latest version, at the same emitted_at, of "
    "the case the event names or was merged into (a case_transferred or case_merged event "
    "carries the content its case had before the match); the worker's own histogram "
    f"({LATENCY_METRIC}, bucket-interpolated) is shown beside it."
)


#: The first seconds of input meet a worker that has not yet fetched, batched or produced to
#: its output topics: its tail (about 1 s, every run) says how a worker starts, not how it keeps
#: up. The steady figures leave them out; the overall ones keep them.
WARM_UP_S = 5.0


def steady(samples: list[tuple[float, float]], warm_up_s: float = WARM_UP_S) -> list[float]:
    """The latencies of case events caused by records appended ``warm_up_s`` or more after
    the first (``samples``: seconds since the first append, latency)."""
    return [ms for since, ms in samples if since >= warm_up_s]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def histogram_quantiles(metrics: str, name: str, qs: tuple[float, ...]) -> dict[str, Any]:
    """Quantiles of a Prometheus histogram as ``histogram_quantile`` computes them."""
    buckets: list[tuple[float, float]] = []
    for line in metrics.splitlines():
        found = re.match(rf'^{name}_bucket\{{.*le="([^"]+)".*\}} ([0-9.e+-]+)$', line)
        if found:
            buckets.append((float(found.group(1)), float(found.group(2))))
    buckets.sort()
    count = buckets[-1][1] if buckets else 0.0
    out: dict[str, Any] = {"count": count}
    if not count:
        return out
    for q in qs:
        target = q / 100 * count
        lower, below = 0.0, 0.0
        value = buckets[-1][0]
        for bound, cumulative in buckets:
            if cumulative >= target:
                if math.isinf(bound):
                    value = lower  # beyond the last finite bucket: its bound
                elif cumulative == below:
                    value = bound
                else:
                    value = lower + (bound - lower) * (target - below) / (cumulative - below)
                break
            lower, below = bound, cumulative
        out[f"p{q:g}_s"] = value
    return out


def attribute(
    events: list[tuple[dict[str, Any], int]], appended: dict[str, int]
) -> list[tuple[float, float, str]]:
    """For each case event (its JSON and record timestamp, ms), the append time of the field
    record that caused it (ms), its latency (ms) and its type; events whose evidence holds none
    of ``appended`` are left out.

    The match that caused an event gave it ``emitted_at``, and all it brought is in the latest
    version that match gave the surviving case: ``case_transferred`` (the old section's view)
    and ``case_merged`` (the absorbed case) carry what their case held before the match, so
    their own newest evidence can be minutes older than the record that caused them."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for event, _ in events:
        key = (event["case_id"], event["emitted_at"])
        if key not in latest or latest[key]["version"] < event["version"]:
            latest[key] = event
    out: list[tuple[float, float, str]] = []
    for event, timestamp in events:
        survivor = event.get("merged_into") or event["case_id"]
        brought = latest.get((survivor, event["emitted_at"]), event)
        times = [appended[e] for e in brought.get("evidence", []) if e in appended]
        times = [t for t in times if t <= timestamp] or times
        if times:
            trigger = max(times)
            out.append((trigger, timestamp - trigger, event["event_type"]))
    return out


def latency(bench: Bench) -> None:
    o = bench.opts
    with bench.stage("latency", f"steady {o.latency_rate:g} events/s for {o.latency_seconds:g} s"):
        measure_latency(bench)


def measure_latency(bench: Bench) -> None:
    o = bench.opts
    n = min(int(o.latency_rate * o.latency_seconds), len(bench.mixed_wire))
    wire = bench.mixed_wire[:n]
    app_id = f"bench-latency-{uuid.uuid4().hex[:6]}"
    settings = bench.fresh_input(app_id)
    shared = [*CASE_TOPICS, ALERTS_TOPIC]
    before = asyncio.run(end_offsets(bench.bootstrap, [*shared, *FIELD_TOPICS]))
    worker = bench.worker(settings, OUT / "run" / app_id, "latency")
    try:
        start_worker(worker)
        bench.say(f"  worker ready; publishing {n:,} events at {o.latency_rate:g}/s")
        consumed = [*FIELD_TOPICS, *bench.internal_streams(settings)]

        paced: list[float] = []

        async def steady_input() -> float:
            paced.append(await publish_paced(bench.bootstrap, wire, o.latency_rate))
            bench.say(f"  published in {paced[0]:.1f} s ({n / paced[0]:,.1f}/s); draining")
            return time.time()

        _, published_at, drained = asyncio.run(
            bench.measure(
                app_id,
                consumed,
                bench.outputs(settings),
                0.25,
                120 + n / 10,
                launch=lambda: None,
                ready=steady_input,
                alive=lambda: alive(worker),
            )
        )
        died(worker)
        if not drained.complete:
            raise RuntimeError(f"not drained: lag {drained.lag:,}")
        _status, metrics = worker.http_get("/metrics")
        histogram = histogram_quantiles(metrics, LATENCY_METRIC, (50, 90, 99))
    finally:
        worker.stop()
    ends = asyncio.run(end_offsets(bench.bootstrap, [*shared, *FIELD_TOPICS]))
    field_records = asyncio.run(
        read_from(
            bench.bootstrap,
            before,
            {tp: e for tp, e in ends.items() if tp.topic in FIELD_TOPICS},
        )
    )
    appended = {r.key.decode(): r.timestamp for r in field_records if r.key is not None}
    case_records = asyncio.run(
        read_from(
            bench.bootstrap, before, {tp: e for tp, e in ends.items() if tp.topic in CASE_TOPICS}
        )
    )
    first_append = min(appended.values()) if appended else 0
    events = [(orjson.loads(r.value), r.timestamp) for r in case_records if r.value]
    caused = attribute(events, appended)
    # (trigger append since start s, latency ms)
    samples = [((trigger - first_append) / 1000, ms) for trigger, ms, _ in caused]
    if not samples:
        raise RuntimeError(f"no case event caused by these {n:,} events")
    values = [ms for _, ms in samples]
    p99 = percentile(values, 99)
    tail = Counter(kind for _, ms, kind in caused if ms >= p99)
    settled = steady(samples)
    drain = drained.end_at - published_at
    result = {
        "rate": o.latency_rate,
        "events": n,
        "published_s": paced[0],
        "case_events": len(case_records),
        "matched": len(samples),
        "p50_ms": percentile(values, 50),
        "p90_ms": percentile(values, 90),
        "p99_ms": p99,
        "max_ms": max(values),
        "p99_tail_types": dict(tail.most_common()),
        "warm_up_s": WARM_UP_S,
        "steady_p50_ms": percentile(settled, 50) if settled else None,
        "steady_p99_ms": percentile(settled, 99) if settled else None,
        "histogram": histogram,
        "drained_after_input_s": drain,
        "samples": samples,
    }
    hist = ", ".join(
        f"{k.removesuffix('_s')} {v * 1000:,.0f} ms" for k, v in histogram.items() if k != "count"
    )
    bench.say(
        f"  {len(samples):,} case events: p50 {result['p50_ms']:,.0f} ms, p99 "
        f"{result['p99_ms']:,.0f} ms, max {result['max_ms']:,.0f} ms (after the first "
        f"{WARM_UP_S:g} s: p50 {result['steady_p50_ms'] or 0:,.0f} ms, p99 "
        f"{result['steady_p99_ms'] or 0:,.0f} ms); worker histogram "
        f"({histogram.get('count', 0):,.0f} observations): {hist or 'empty'}"
    )
    if drain > 5:
        bench.say(
            f"  the worker finished {drain:,.0f} s after the input stopped: it reads slower "
            f"than {o.latency_rate:g} events/s, so these latencies are mostly queueing"
        )
    bench.results["latency"] = result
