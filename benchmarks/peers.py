"""Stage ``peers``: the ceiling of the stack, a raw aiokafka passthrough, a trivial Faust
agent (defaults, then tuned), the same through the three hops fieldcourt cannot do with
fewer, and those hops writing what fieldcourt writes an event (``benchmarks.faust_peer``);
then those two on a consumer loop of their own over aiokafka (``benchmarks.raw_hops``).
Each is a process fed the first ``--peer-events`` of the mixed stream."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from benchmarks.harness import OUT, Bench
from benchmarks.hops import HOPS, hop_groups, hop_topics, outputs_for
from benchmarks.kafka_io import create_topics, publish, truncate
from benchmarks.processes import Peer
from fieldcourt.topics import FIELD_TOPICS, apply_topics, catalogue

OUTS = {
    "raw": "bench.out.raw",
    "faust_default": "bench.out.faust-default",
    "faust_tuned": "bench.out.faust-tuned",
    "faust_chain": "bench.out.faust-chain",
    "faust_skeleton": "bench.out.faust-skeleton",
    "raw_chain": "bench.out.raw-chain",
    "raw_skeleton": "bench.out.raw-skeleton",
}


def peers(bench: Bench) -> None:
    n = min(bench.opts.peer_events, len(bench.mixed_wire))
    failed = len(bench.failures)
    with bench.stage("peers", f"publishing {n:,} mixed events for the peers"):
        settings = bench.settings("bench-peers")
        shared = [s for s in catalogue(settings) if not s.name.startswith("bench-peers")]
        asyncio.run(apply_topics(settings, shared))
        asyncio.run(truncate(bench.bootstrap, FIELD_TOPICS))
        asyncio.run(create_topics(bench.bootstrap, OUTS.values()))
        seconds = asyncio.run(publish(bench.bootstrap, bench.mixed_wire[:n]))
        bench.say(f"published {n:,} mixed events in {seconds:.1f} s ({n / seconds:,.0f}/s)")
        bench.results["publish_eps"] = n / seconds
    if len(bench.failures) > failed:
        return
    run = OUT / "run"
    specs = {
        "raw": (
            "aiokafka consume -> orjson loads/dumps -> produce, no state",
            ["benchmarks.raw_peer", bench.bootstrap, "{group}", OUTS["raw"]],
        ),
        "faust_default": (
            "trivial Faust agent forwarding raw bytes, defaults",
            [
                "benchmarks.faust_peer",
                "default",
                bench.bootstrap,
                "{group}",
                str(run / "faust-default"),
                OUTS["faust_default"],
            ],
        ),
        "faust_tuned": (
            "the same, 16 MiB fetch + take_events(1000) + app.producer.send",
            [
                "benchmarks.faust_peer",
                "tuned",
                bench.bootstrap,
                "{group}",
                str(run / "faust-tuned"),
                OUTS["faust_tuned"],
            ],
        ),
        "faust_chain": (
            "the same through three hops, a table write each (fieldcourt's fewest)",
            [
                "benchmarks.faust_peer",
                "chain",
                bench.bootstrap,
                "{group}",
                str(run / "faust-chain"),
                OUTS["faust_chain"],
            ],
        ),
        "faust_skeleton": (
            "the same hops writing fieldcourt's records an event on the mixed stream, no rules",
            [
                "benchmarks.faust_peer",
                "skeleton",
                bench.bootstrap,
                "{group}",
                str(run / "faust-skeleton"),
                OUTS["faust_skeleton"],
            ],
        ),
    }
    for variant in ("chain", "skeleton"):
        specs[f"raw_{variant}"] = (
            f"the Faust {variant}'s hops on an aiokafka consumer loop of its own",
            [
                "benchmarks.raw_hops",
                variant,
                bench.bootstrap,
                "{group}",
                str(run / f"raw-{variant}"),
                OUTS[f"raw_{variant}"],
            ],
        )
    for name, (label, argv) in specs.items():
        group = f"bench-{name.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
        argv = [a.replace("{group}", group) for a in argv] + list(FIELD_TOPICS)
        with bench.stage(f"peer {name}", f"{label}, {n:,} events"):
            bench.results[name] = run_peer(bench, name, label, argv, group, OUTS[name], n)


def run_peer(
    bench: Bench, name: str, label: str, argv: list[str], group: str, out: str, n: int
) -> dict[str, Any]:
    """A peer fed ``n`` events, measured until every hop has committed all it read: a chain
    drains its field topics first, so their commits alone ended its run at the first hop."""
    inputs, more_groups = list(FIELD_TOPICS), []
    hops = HOPS.get(name.partition("_")[2])  # faust_chain, raw_skeleton...
    if hops is not None:
        keyed, one = hop_topics(group)
        asyncio.run(create_topics(bench.bootstrap, [keyed]))
        asyncio.run(create_topics(bench.bootstrap, [one], partitions=1))
        inputs += [keyed, one]
        if name.startswith("raw_"):
            more_groups = hop_groups(group)[1:]
    peer = Peer(argv, OUT / "run" / f"{name}.log")
    bench.children.append(peer)
    try:
        started, ready, drained = asyncio.run(
            bench.measure(
                group,
                inputs,
                [out],
                0.1,
                60 + n / 500,
                launch=peer.start,
                ready=peer.wait_ready,
                alive=peer.alive,
                more_groups=more_groups,
            )
        )
    finally:
        peer.stop()
    result = bench.throughput(label, n, started, ready, drained)
    if hops is not None and result["records_written"] < (expected := outputs_for(hops, n)):
        raise RuntimeError(
            f"{name}: {result['records_written']:,} records on its output, {expected:,} expected"
        )
    return result
