"""Stages ``arrests`` and ``mixed``: ``fieldcourt worker`` end to end on a stream published
before it starts; after ``mixed``, its restart-to-ready time on that state."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from benchmarks import feeds
from benchmarks.harness import CASE_TOPICS, OUT, Bench
from benchmarks.kafka_io import beginning_offsets, end_offsets, publish
from benchmarks.processes import alive, died, rss_of_group, start_worker, worker_ready
from benchmarks.profiling import Profile, finish_profile, start_profile
from fieldcourt.settings import Settings
from fieldcourt.topics import ALERTS_TOPIC, DEADLETTER_TOPIC, FIELD_TOPICS, catalogue


def arrests(bench: Bench) -> None:
    with bench.stage("arrests", f"fieldcourt end to end, {len(bench.arrests_wire):,} arrests"):
        fieldcourt(bench, "arrests", bench.arrests_wire)


def mixed(bench: Bench) -> None:
    n = min(bench.opts.mixed_events, len(bench.mixed_wire))
    with bench.stage("mixed", f"fieldcourt end to end, {n:,} mixed events"):
        fieldcourt(bench, "mixed", bench.mixed_wire[:n], restart=True)


def fieldcourt(bench: Bench, name: str, wire: list[feeds.Wire], restart: bool = False) -> None:
    app_id = f"bench-{name}-{uuid.uuid4().hex[:6]}"
    settings = bench.fresh_input(app_id)
    shared = [*CASE_TOPICS, ALERTS_TOPIC, DEADLETTER_TOPIC]
    before = asyncio.run(end_offsets(bench.bootstrap, shared))
    seconds = asyncio.run(publish(bench.bootstrap, wire))
    bench.say(f"published {len(wire):,} events in {seconds:.1f} s, now starting the worker")
    data_dir = OUT / "run" / app_id
    worker = bench.worker(settings, data_dir, name)
    label = f"fieldcourt worker, {name} stream, {bench.opts.store}"
    try:
        consumed = [*FIELD_TOPICS, *bench.internal_streams(settings)]
        spy: list[Profile | None] = []

        async def ready() -> float:
            at = await worker_ready(worker)
            spy.append(start_profile(bench, worker, name) if bench.opts.profile else None)
            return at

        started, ready_at, drained = asyncio.run(
            bench.measure(
                app_id,
                consumed,
                bench.outputs(settings),
                0.25,
                120 + len(wire) / 10,
                launch=worker.start,
                ready=ready,
                alive=lambda: alive(worker),
            )
        )
        died(worker)
        rss = rss_of_group(worker.proc.pid) if worker.proc else 0
        result = bench.throughput(label, len(wire), started, ready_at, drained)
        result["worker_rss_bytes"] = rss
        result["outputs"] = {k: v for k, v in bench.counts(before, shared).items() if v}
        result["internal_records"] = drained.produced - sum(result["outputs"].values())
        bench.say(f"  worker RSS {rss / 2**20:,.0f} MiB; outputs {result['outputs']}")
        if spy and spy[0] is not None:
            result["profile"] = finish_profile(spy[0])
            bench.say(
                f"  py-spy: {result['profile']['samples']:,} samples (CPU, idle excluded); "
                "top 15 functions by own time:"
            )
            for leaf, share in result["profile"]["top_own"]:
                bench.say(f"    {100 * share:5.1f} %  {leaf}")
        bench.results[f"fieldcourt_{name}"] = result
        if restart:
            worker.stop()
            restarts(bench, settings, data_dir, name)
    finally:
        worker.stop()


def restarts(bench: Bench, settings: Settings, data_dir: Path, name: str) -> None:
    changelogs = [s.name for s in catalogue(settings) if s.name.endswith("-changelog")]
    ends = asyncio.run(end_offsets(bench.bootstrap, changelogs))
    starts = asyncio.run(beginning_offsets(bench.bootstrap, changelogs))
    records = sum(ends[tp] - starts.get(tp, 0) for tp in ends)
    result: dict[str, Any] = {"changelog_records": records}
    with bench.stage("restart", f"empty local store, {records:,} changelog records"):
        empty = OUT / "run" / f"{settings.app_id}-empty"
        worker = bench.worker(settings, empty, f"{name}-restart-empty")
        result["empty_store_s"] = start_worker(worker)
        result["empty_store_rss_bytes"] = rss_of_group(worker.proc.pid) if worker.proc else 0
        bench.say(f"  ready in {result['empty_store_s']:.1f} s")
        worker.stop()
    if bench.opts.store == "memory":
        bench.skip("restart on the same store", "the memory store keeps nothing on disk")
    else:
        with bench.stage("restart", "the same local store"):
            worker = bench.worker(settings, data_dir, f"{name}-restart-same")
            result["same_store_s"] = start_worker(worker)
            bench.say(f"  ready in {result['same_store_s']:.1f} s")
            worker.stop()
    bench.results["restart"] = result
