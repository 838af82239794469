"""Stages ``arrests`` and ``mixed``: ``fieldcourt worker`` end to end on a stream published
before it starts; after ``mixed``, its restart-to-ready time on that state. Stage ``state``:
a worker's restart and RSS with the state of ``--state-subjects`` distinct subjects, written
to its changelogs by ``benchmarks.worker_state``."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from benchmarks import feeds
from benchmarks.harness import CASE_TOPICS, OUT, Bench
from benchmarks.in_memory import child
from benchmarks.kafka_io import beginning_offsets, end_offsets, publish
from benchmarks.processes import (
    alive,
    cpu_of_group,
    died,
    rss_of_group,
    start_worker,
    worker_ready,
)
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
    written = bench.outputs(settings)  # shared and this worker's own topics
    before = asyncio.run(end_offsets(bench.bootstrap, written))
    seconds = asyncio.run(publish(bench.bootstrap, wire))
    bench.say(f"published {len(wire):,} events in {seconds:.1f} s, now starting the worker")
    data_dir = OUT / "run" / app_id
    worker = bench.worker(settings, data_dir, name)
    label = f"fieldcourt worker, {name} stream, {bench.opts.store}"
    try:
        consumed = [*FIELD_TOPICS, *bench.internal_streams(settings)]
        spy: list[Profile | None] = []
        cpu_at_ready: list[float] = []

        async def ready() -> float:
            at = await worker_ready(worker)
            cpu_at_ready.append(cpu_of_group(worker.proc.pid) if worker.proc else 0.0)
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
        phases = batch_seconds(worker.http_get("/metrics")[1])
        rss = rss_of_group(worker.proc.pid) if worker.proc else 0
        cpu = (cpu_of_group(worker.proc.pid) if worker.proc else 0.0) - cpu_at_ready[0]
        result = bench.throughput(label, len(wire), started, ready_at, drained)
        result["worker_rss_bytes"] = rss
        # CPU from ready to drained (the last 3 s idle): less at the machine's mercy than a rate
        result["worker_cpu_s"] = cpu
        result["worker_cpu_ms_per_event"] = 1000 * cpu / len(wire)
        result["records_written_per_event"] = drained.produced / len(wire)
        by_topic = {k: v for k, v in bench.counts(before, written).items() if v}
        result["outputs"] = {k: v for k, v in by_topic.items() if k in shared}
        result["internal_records"] = drained.produced - sum(result["outputs"].values())
        # where the records an event come from: each a send and, for the worker's own topics,
        # a Faust stream step
        result["records_per_event_by_topic"] = {
            k.removeprefix(f"{app_id}-"): round(v / len(wire), 3)
            for k, v in sorted(by_topic.items(), key=lambda kv: -kv[1])
        }
        bench.say(
            f"  worker CPU {cpu:.1f} s ({result['worker_cpu_ms_per_event']:.2f} ms an event), "
            f"{result['records_written_per_event']:.1f} records written an event; "
            f"RSS {rss / 2**20:,.0f} MiB; outputs {result['outputs']}"
        )
        bench.say(f"  records an event, by topic: {result['records_per_event_by_topic']}")
        result["batch_seconds"] = phases
        bench.say(
            "  agents' batch time, records / release / flush (s): "
            + ", ".join(
                f"{stage} {p['records']:.2f} / {p['release']:.2f} / {p['flush']:.2f}"
                for stage, p in sorted(phases.items(), key=lambda kv: -sum(kv[1].values()))
            )
        )
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
            bench.results["restart"] = restarts(bench, settings, data_dir, name)
    finally:
        worker.stop()


def batch_seconds(metrics: str) -> dict[str, dict[str, float]]:
    """``fieldcourt_batch_seconds_total`` of a worker's ``/metrics``: stage -> phase ->
    seconds (where the worker's time went, agent by agent)."""
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name == "fieldcourt_batch_seconds_total":
                stage = found.setdefault(sample.labels["stage"], {})
                stage[sample.labels["phase"]] = sample.value
    return {
        stage: {phase: p.get(phase, 0.0) for phase in ("records", "release", "flush")}
        for stage, p in found.items()
    }


def restarts(
    bench: Bench, settings: Settings, data_dir: Path, name: str, *, faust_recovery: bool = True
) -> dict[str, Any]:
    """Restart-to-ready of a worker of ``settings``: on an empty local store (restored in bulk,
    then, with ``faust_recovery``, by Faust's own recovery), then on ``data_dir``'s store."""
    changelogs = [s.name for s in catalogue(settings) if s.name.endswith("-changelog")]
    ends = asyncio.run(end_offsets(bench.bootstrap, changelogs))
    starts = asyncio.run(beginning_offsets(bench.bootstrap, changelogs))
    records = sum(ends[tp] - starts.get(tp, 0) for tp in ends)
    result: dict[str, Any] = {"changelog_records": records}
    empty = f"empty local store, {records:,} records"
    #: (result key, what, local store, worker environment)
    ways: list[tuple[str, str, Path, dict[str, str]]] = [
        ("empty_store", f"{empty}, bulk restore", _empty_store(settings, "empty_store"), {})
    ]
    if faust_recovery:
        off = {"FIELDCOURT_RESTORE_ON_START": "0"}
        ways.append(("faust_recovery", f"{empty}, Faust's", _empty_store(settings, "faust"), off))
    if bench.opts.store == "memory":
        bench.skip("restart on the same store", "the memory store keeps nothing on disk")
    else:
        ways.append(("same_store", "the same local store", data_dir, {}))
    for key, what, store, env in ways:
        with bench.stage("restart", what):
            worker = bench.worker(settings, store, f"{name}-restart-{key}", **env)
            result[f"{key}_s"] = start_worker(worker)
            result[f"{key}_rss_bytes"] = rss_of_group(worker.proc.pid) if worker.proc else 0
            bench.say(
                f"  ready in {result[f'{key}_s']:.1f} s, "
                f"RSS {result[f'{key}_rss_bytes'] / 2**20:,.0f} MiB"
            )
            worker.stop()
    return result


def _empty_store(settings: Settings, name: str) -> Path:
    return OUT / "run" / f"{settings.app_id}-{name}"


def state(bench: Bench) -> None:
    o = bench.opts
    with bench.stage("state", f"a worker with the state of {o.state_subjects:,} subjects"):
        settings = bench.fresh_input(f"bench-state-{uuid.uuid4().hex[:6]}")
        built = child(
            bench,
            "benchmarks.worker_state",
            [
                bench.bootstrap,
                settings.app_id,
                str(settings.topic_partitions),
                str(o.state_subjects),
                str(o.state_budget),
                str(o.state_max_rss),
            ],
        )
        if built["subjects"] < built["subjects_wanted"]:
            bench.skip(
                f"state of {built['subjects_wanted']:,} subjects",
                f"built for {built['subjects']:,}: {built['memory'].get('stopped_because', '')}",
            )
        # the first restart's store, restored in bulk, is the second's "same local store"
        restored = _empty_store(settings, "empty_store")
        built["restart"] = restarts(bench, settings, restored, "state", faust_recovery=False)
        bench.results["state"] = built
