"""``make bench``: fieldcourt side by side with the ceiling of its stack, in one run.

    .venv/bin/python -m benchmarks.run [--quick] [--only STAGE,...] [sizes...] [--profile]

Starts its own broker (``LocalBroker`` on free ports, data in ``var/bench/broker``, wiped at
start, stopped at the end whatever happens), generates the streams once
(``benchmarks/feeds.py``), then, each stage alone on the machine:

1. ``peers``: on the first ``--peer-events`` of the mixed stream, a raw aiokafka passthrough
   (``benchmarks/raw_peer.py``) and a trivial Faust agent forwarding raw bytes, with
   faust-streaming's defaults and tuned (``benchmarks/faust_peer.py``), each as a process;
2. ``arrests`` and ``mixed``: ``fieldcourt worker`` end to end (``--store``, RocksDB by
   default) on the arrests-only stream and on the mixed stream; after ``mixed``, the worker's
   RSS and its restart-to-ready time on that state (empty local store: tables restored from
   the changelogs; then the same store);
3. ``latency``: a fresh worker fed the mixed stream at a steady ``--latency-rate`` for
   ``--latency-seconds``; from each field record's append (its LogAppendTime) to the case
   event it caused;
4. ``core``: the in-memory pipeline (``benchmarks/core.py``) at 10k, 100k and 1M events of the
   mixed stream, a size being skipped when its estimate exceeds ``--core-budget``;
5. ``state``: RSS of the in-memory core's stores holding ``--state-subjects`` distinct
   subjects.

Prints a table (each figure, its unit, its ratio to the raw passthrough), writes
``var/bench/results.json`` and ``var/bench/bench.png`` (each run keeps a copy in
``var/bench/runs/<UTC time>[-quick][-stages]/``), and ends with one line
``BENCH {json}``. Exit 0 when it ran (timings are reported, never judged), 1 when a stage
failed (the others still run and are reported), 2 on bad arguments, 130/143 on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson

from benchmarks import feeds
from benchmarks.kafka_io import (
    Drained,
    Watcher,
    beginning_offsets,
    create_topics,
    end_offsets,
    publish,
    publish_paced,
    read_from,
    truncate,
)
from fieldcourt.kafka_local import BrokerError, LocalBroker, free_port
from fieldcourt.settings import PROJECT_ROOT, Settings, load_settings
from fieldcourt.supervise import WorkerProcess, worker_env
from fieldcourt.topics import (
    ALERTS_TOPIC,
    DEADLETTER_TOPIC,
    FIELD_TOPICS,
    SECTIONS,
    apply_topics,
    case_topic,
    catalogue,
)

KEY = "bench-key-" + "0" * 40
OUT = PROJECT_ROOT / "var" / "bench"
STAGES = ("peers", "arrests", "mixed", "latency", "core", "state")
CASE_TOPICS = [case_topic(s) for s in SECTIONS]
LATENCY_METRIC = "fieldcourt_case_latency_from_append_seconds"

DEFINITION = (
    "events/s = events published before the process starts / (T_end - T_ready). T_ready: the "
    "process is ready (fieldcourt: /readyz answers 200; peers: partitions assigned). T_end: "
    "the later of (a) the first moment the consumer group's committed offsets equal the end "
    "offsets on every topic it reads (the field topics and, for fieldcourt, its internal "
    "streams) and (b) the last moment the end offset of any topic it writes grew (fieldcourt: "
    "case, alert, dead-letter, internal and changelog topics); declared once (a) holds and no "
    "output has grown for 3 s. Offsets are polled every 0.1 s (peers) or 0.25 s (fieldcourt)."
)
LATENCY_DEFINITION = (
    "latency = timestamp of the case event record (set by the worker's producer) - "
    "LogAppendTime of the field record that caused it, taken as the case event's most "
    "recently appended evidence record; the worker's own histogram "
    f"({LATENCY_METRIC}, bucket-interpolated) is shown beside it."
)


@dataclass
class Profile:
    proc: subprocess.Popen[bytes]
    out: Path


class Interrupted(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"signal, exit {code}")
        self.code = code


# --------------------------------------------------------------------------------------------
# Options


@dataclass
class Options:
    quick: bool
    only: tuple[str, ...]
    store: str
    peer_events: int
    arrests_events: int
    mixed_events: int
    latency_rate: float
    latency_seconds: float
    core_sizes: list[int]
    core_max: int | None
    core_budget: float
    state_subjects: int
    state_budget: float
    state_max_rss: float
    profile: bool


def parse(argv: list[str]) -> Options:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    p.add_argument("--only", default="", help=f"comma-separated stages among {', '.join(STAGES)}")
    p.add_argument(
        "--store", choices=("rocksdb", "memory"), default="rocksdb", help="the worker's tables"
    )
    p.add_argument("--peer-events", type=int, help="events for the peers (default 100,000)")
    p.add_argument("--arrests-events", type=int, help="arrests-only stream (default 5,000)")
    p.add_argument("--mixed-events", type=int, help="mixed stream, end to end (default 10,000)")
    p.add_argument("--latency-rate", type=float, help="events/s of steady input (default 200)")
    p.add_argument("--latency-seconds", type=float, help="seconds of steady input (default 60)")
    p.add_argument("--core-sizes", help="comma-separated (default 10000,100000,1000000)")
    p.add_argument("--core-max", type=int, help="largest core size to attempt")
    p.add_argument(
        "--core-budget",
        type=float,
        default=300.0,
        help="skip a core size expected to take longer than this (s, default 300)",
    )
    p.add_argument("--state-subjects", type=int, help="distinct subjects (default 1,000,000)")
    p.add_argument(
        "--state-budget",
        type=float,
        default=300.0,
        help="stop the state stage (and extrapolate) past this (s, default 300)",
    )
    p.add_argument(
        "--state-max-rss",
        type=float,
        default=3072.0,
        help="stop it (and extrapolate) once the stores pass this (MiB, default 3072)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy each end-to-end worker while it works: top 15 functions by own time",
    )
    a = p.parse_args(argv)
    q = a.quick
    only = tuple(s for s in a.only.split(",") if s) or STAGES
    unknown = [s for s in only if s not in STAGES]
    if unknown:
        p.error(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(STAGES)}")
    sizes = [int(s) for s in a.core_sizes.split(",")] if a.core_sizes else None
    sizes = sizes or ([2_000, 10_000] if q else [10_000, 100_000, 1_000_000])
    if a.core_max is not None:
        sizes = [s for s in sizes if s <= a.core_max] or [a.core_max]
    return Options(
        quick=q,
        only=only,
        store=a.store,
        peer_events=a.peer_events or (5_000 if q else 100_000),
        arrests_events=a.arrests_events or (1_000 if q else 5_000),
        mixed_events=a.mixed_events or (1_000 if q else 10_000),
        latency_rate=a.latency_rate or 200.0,
        latency_seconds=a.latency_seconds or (10.0 if q else 60.0),
        core_sizes=sizes,
        core_max=a.core_max,
        core_budget=a.core_budget,
        state_subjects=a.state_subjects or (20_000 if q else 1_000_000),
        state_budget=a.state_budget,
        state_max_rss=a.state_max_rss,
        profile=a.profile,
    )


# --------------------------------------------------------------------------------------------
# Processes


def rss_of_group(pgid: int) -> int:
    """RSS in bytes of every process of a process group (a worker and any child)."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid:
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return total


@dataclass
class Peer:
    """A peer process (``raw_peer``/``faust_peer``) started in its own session."""

    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Peer:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", *self.argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=PROJECT_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        return self

    async def wait_ready(self, timeout_s: float = 90.0) -> float:
        """The time (``time.time()``) the peer said ``READY``."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(r"READY ([0-9]+\.[0-9]+)", self.log.read_text(errors="replace"))
            if found:
                return float(found.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"peer exited {self.proc.returncode}: {self.tail()}")
            await asyncio.sleep(0.02)
        raise RuntimeError(f"peer not ready in {timeout_s:.0f} s: {self.tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def alive(worker: WorkerProcess) -> bool:
    return worker.proc is not None and worker.proc.poll() is None


def died(worker: WorkerProcess) -> None:
    """Raise with the end of its log if the worker is no longer running."""
    if worker.proc is not None and worker.proc.poll() is not None:
        raise RuntimeError(
            f"the worker exited {worker.proc.returncode}; its log ends:\n{worker.output()[-3000:]}"
        )


async def worker_ready(worker: WorkerProcess, timeout_s: float = 180.0) -> float:
    """Poll ``/readyz`` every 50 ms; the time (``time.time()``) it first answered 200."""
    assert worker.proc is not None
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        died(worker)
        try:
            status, body = await asyncio.to_thread(worker.http_get, "/readyz", 1.0)
        except OSError as exc:
            last = repr(exc)
        else:
            if status == HTTPStatus.OK:
                return time.time()
            last = f"{status} {body[:200]}"
        await asyncio.sleep(0.05)
    raise RuntimeError(f"worker not ready in {timeout_s:.0f} s (/readyz: {last})")


def start_worker(worker: WorkerProcess) -> float:
    """Start ``worker``; seconds until it is ready."""
    started = time.time()
    worker.start()
    return asyncio.run(worker_ready(worker)) - started


# --------------------------------------------------------------------------------------------
# Latency


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


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Bench:
    opts: Options
    started: float = field(default_factory=time.monotonic)
    broker: LocalBroker | None = None
    bootstrap: str = ""
    children: list[Any] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    mixed_wire: list[feeds.Wire] = field(default_factory=list)
    arrests_wire: list[feeds.Wire] = field(default_factory=list)

    # -- output --------------------------------------------------------------------------
    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:7.1f} s] {text}", flush=True)

    @contextlib.contextmanager
    def stage(self, name: str, what: str) -> Iterator[None]:
        self.say(f"{name}: {what}")
        t0 = time.monotonic()
        try:
            yield
        except (Interrupted, KeyboardInterrupt):
            raise
        except Exception as exc:
            self.failures.append({"stage": name, "error": f"{type(exc).__name__}: {exc}"})
            self.say(f"{name}: FAILED after {time.monotonic() - t0:.1f} s: {exc}")
            (OUT / f"failure-{name}.txt").write_text(traceback.format_exc())
        else:
            self.say(f"{name}: done in {time.monotonic() - t0:.1f} s")

    def skip(self, what: str, why: str) -> None:
        self.skipped.append({"what": what, "why": why})
        self.say(f"skipped {what}: {why}")

    # -- broker and topics ---------------------------------------------------------------
    def start_broker(self) -> None:
        data = OUT / "broker"
        shutil.rmtree(data, ignore_errors=True)
        settings = load_settings(
            data_dir=data,
            kafka_port=free_port(),
            kafka_controller_port=free_port(),
            kafka_security="plaintext",  # measures processing, not TLS
        )
        self.broker = LocalBroker(settings)
        t0 = time.monotonic()
        self.broker.up(timeout_s=120)
        self.bootstrap = self.broker.bootstrap
        self.results["broker_start_s"] = time.monotonic() - t0
        self.say(f"broker up on {self.bootstrap} in {time.monotonic() - t0:.1f} s ({data})")

    def settings(self, app_id: str) -> Settings:
        return load_settings(
            broker=self.bootstrap,
            app_id=app_id,
            data_dir=OUT / "run",
            pseudonym_key=KEY,
            kafka_security="plaintext",
        )

    def fresh_input(self, app_id: str) -> Settings:
        """Topics of ``app_id`` created; the field topics emptied (for a new consumer group)."""
        settings = self.settings(app_id)
        asyncio.run(apply_topics(settings, catalogue(settings)))
        asyncio.run(truncate(self.bootstrap, FIELD_TOPICS))
        return settings

    # -- streams -------------------------------------------------------------------------
    def generate(self) -> None:
        o = self.opts
        wanted = 0
        if "peers" in o.only:
            wanted = max(wanted, o.peer_events)
        if "mixed" in o.only:
            wanted = max(wanted, o.mixed_events)
        if "latency" in o.only:
            wanted = max(wanted, int(o.latency_rate * o.latency_seconds))
        t0 = time.perf_counter()
        if wanted:
            self.mixed_wire = feeds.wire(list(feeds.mixed(wanted)))
            kinds: dict[str, int] = {}
            for topic, _k, _v in self.mixed_wire:
                kinds[topic] = kinds.get(topic, 0) + 1
            self.say(f"mixed stream: {len(self.mixed_wire):,} events {kinds}")
        if "arrests" in o.only:
            self.arrests_wire = feeds.wire(feeds.arrests(o.arrests_events))
            self.say(
                f"arrests-only stream: {len(self.arrests_wire):,} arrests of "
                f"{max(1, o.arrests_events // 4):,} people in Les Halles"
            )
        self.results["generate_s"] = time.perf_counter() - t0

    # -- peers ---------------------------------------------------------------------------
    def peers(self) -> None:
        n = min(self.opts.peer_events, len(self.mixed_wire))
        outs = {
            "raw": "bench.out.raw",
            "faust_default": "bench.out.faust-default",
            "faust_tuned": "bench.out.faust-tuned",
        }
        failed = len(self.failures)
        with self.stage("peers", f"publishing {n:,} mixed events for the peers"):
            settings = self.settings("bench-peers")
            shared = [s for s in catalogue(settings) if not s.name.startswith("bench-peers")]
            asyncio.run(apply_topics(settings, shared))
            asyncio.run(truncate(self.bootstrap, FIELD_TOPICS))
            asyncio.run(create_topics(self.bootstrap, outs.values()))
            seconds = asyncio.run(publish(self.bootstrap, self.mixed_wire[:n]))
            self.say(f"published {n:,} mixed events in {seconds:.1f} s ({n / seconds:,.0f}/s)")
            self.results["publish_eps"] = n / seconds
        if len(self.failures) > failed:
            return
        run = OUT / "run"
        specs = {
            "raw": (
                "aiokafka consume -> orjson loads/dumps -> produce, no state",
                ["benchmarks.raw_peer", self.bootstrap, "{group}", outs["raw"]],
            ),
            "faust_default": (
                "trivial Faust agent forwarding raw bytes, defaults",
                [
                    "benchmarks.faust_peer",
                    "default",
                    self.bootstrap,
                    "{group}",
                    str(run / "faust-default"),
                    outs["faust_default"],
                ],
            ),
            "faust_tuned": (
                "the same, 16 MiB fetch + take_events(1000) + app.producer.send",
                [
                    "benchmarks.faust_peer",
                    "tuned",
                    self.bootstrap,
                    "{group}",
                    str(run / "faust-tuned"),
                    outs["faust_tuned"],
                ],
            ),
        }
        for name, (label, argv) in specs.items():
            group = f"bench-{name.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
            argv = [a.replace("{group}", group) for a in argv] + list(FIELD_TOPICS)
            with self.stage(f"peer {name}", f"{label}, {n:,} events"):
                self.results[name] = self.run_peer(name, label, argv, group, outs[name], n)

    def run_peer(
        self, name: str, label: str, argv: list[str], group: str, out: str, n: int
    ) -> dict[str, Any]:
        peer = Peer(argv, OUT / "run" / f"{name}.log")
        self.children.append(peer)
        try:
            started, ready, drained = asyncio.run(
                self.measure(
                    group,
                    list(FIELD_TOPICS),
                    [out],
                    0.1,
                    60 + n / 500,
                    launch=peer.start,
                    ready=peer.wait_ready,
                    alive=peer.alive,
                )
            )
        finally:
            peer.stop()
        return self.throughput(label, n, started, ready, drained)

    async def measure(
        self,
        group: str,
        inputs: list[str],
        outputs: list[str],
        interval: float,
        timeout: float,
        launch: Callable[[], object],
        ready: Callable[[], Awaitable[float]],
        alive: Callable[[], bool],
    ) -> tuple[float, float, Drained]:
        """Start watching (outputs counted from now), launch the process, wait until it is
        ready and then drained: (launched at, ready at, how it drained)."""

        def progress(lag: int, processed: int, produced: int) -> None:
            self.say(f"  {processed:,} committed, {lag:,} to go, {produced:,} records written")

        watcher = Watcher(self.bootstrap, group, inputs, list(FIELD_TOPICS), outputs, interval)
        async with watcher:
            started = time.time()
            launch()
            readiness = asyncio.ensure_future(ready())
            try:
                drained = await watcher.wait_drained(timeout, alive, progress, readiness)
            finally:
                if not readiness.done():
                    readiness.cancel()
            if readiness.cancelled():
                raise RuntimeError(f"never ready (process alive: {alive()})")
            return started, readiness.result(), drained

    def throughput(
        self, label: str, n: int, started: float, ready: float, drained: Drained
    ) -> dict[str, Any]:
        seconds = drained.end_at - ready
        result = {
            "label": label,
            "events": n,
            "eps": (drained.processed if not drained.complete else n) / seconds,
            "seconds": seconds,
            "start_to_ready_s": ready - started,
            "complete": drained.complete,
            "committed": drained.processed,
            "records_written": drained.produced,
            "caught_up_after_s": (drained.caught_up_at - ready) if drained.caught_up_at else None,
            # for information: the same up to the last output only (no commit interval in it)
            "eps_to_last_output": (
                n / (drained.last_output_at - ready)
                if drained.complete and drained.last_output_at and drained.last_output_at > ready
                else None
            ),
            "last_output_after_s": (
                (drained.last_output_at - ready) if drained.last_output_at else None
            ),
        }
        if not drained.complete:
            raise RuntimeError(
                f"not drained: {drained.processed:,} of {n:,} committed, lag {drained.lag:,} "
                f"after {seconds:.0f} s ({result['eps']:,.0f} events/s so far)"
            )
        self.say(
            f"  {n:,} events in {seconds:.1f} s = {result['eps']:,.0f} events/s "
            f"(ready {ready - started:.1f} s after start; committed at "
            f"+{result['caught_up_after_s'] or 0:.1f} s, last output at "
            f"+{result['last_output_after_s'] or 0:.1f} s)"
        )
        return result

    # -- fieldcourt end to end -----------------------------------------------------------
    def worker(self, settings: Settings, data_dir: Path, name: str) -> WorkerProcess:
        env = worker_env(
            settings,
            data_dir,
            FIELDCOURT_PSEUDONYM_KEY=KEY,
            FIELDCOURT_STORE=self.opts.store,
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        worker = WorkerProcess(env, OUT / "run" / f"{name}-worker")
        self.children.append(worker)
        return worker

    def outputs(self, settings: Settings) -> list[str]:
        return [s.name for s in catalogue(settings) if s.name not in FIELD_TOPICS]

    def counts(self, before: dict[Any, int], topics: list[str]) -> dict[str, int]:
        after = asyncio.run(end_offsets(self.bootstrap, topics))
        out: dict[str, int] = {}
        for tp, end in after.items():
            out[tp.topic] = out.get(tp.topic, 0) + end - before.get(tp, 0)
        return out

    def fieldcourt(self, name: str, wire: list[feeds.Wire], restart: bool = False) -> None:
        app_id = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        settings = self.fresh_input(app_id)
        shared = [*CASE_TOPICS, ALERTS_TOPIC, DEADLETTER_TOPIC]
        before = asyncio.run(end_offsets(self.bootstrap, shared))
        seconds = asyncio.run(publish(self.bootstrap, wire))
        self.say(f"published {len(wire):,} events in {seconds:.1f} s, now starting the worker")
        data_dir = OUT / "run" / app_id
        worker = self.worker(settings, data_dir, name)
        label = f"fieldcourt worker, {name} stream, {self.opts.store}"
        try:
            consumed = [*FIELD_TOPICS, *self.internal_streams(settings)]
            spy: list[Profile | None] = []

            async def ready() -> float:
                at = await worker_ready(worker)
                spy.append(self.start_profile(worker, name) if self.opts.profile else None)
                return at

            started, ready_at, drained = asyncio.run(
                self.measure(
                    app_id,
                    consumed,
                    self.outputs(settings),
                    0.25,
                    120 + len(wire) / 10,
                    launch=worker.start,
                    ready=ready,
                    alive=lambda: alive(worker),
                )
            )
            died(worker)
            rss = rss_of_group(worker.proc.pid) if worker.proc else 0
            result = self.throughput(label, len(wire), started, ready_at, drained)
            result["worker_rss_bytes"] = rss
            result["outputs"] = {k: v for k, v in self.counts(before, shared).items() if v}
            result["internal_records"] = drained.produced - sum(result["outputs"].values())
            self.say(f"  worker RSS {rss / 2**20:,.0f} MiB; outputs {result['outputs']}")
            if spy and spy[0] is not None:
                result["profile"] = self.finish_profile(spy[0])
                self.say(
                    f"  py-spy: {result['profile']['samples']:,} samples (CPU, idle excluded); "
                    "top 15 functions by own time:"
                )
                for leaf, share in result["profile"]["top_own"]:
                    self.say(f"    {100 * share:5.1f} %  {leaf}")
            self.results[f"fieldcourt_{name}"] = result
            if restart:
                worker.stop()
                self.restarts(settings, data_dir, name)
        finally:
            worker.stop()

    @staticmethod
    def internal_streams(settings: Settings) -> list[str]:
        from fieldcourt.groups import consumed_topics

        return [t for t in consumed_topics(settings) if t not in FIELD_TOPICS]

    def restarts(self, settings: Settings, data_dir: Path, name: str) -> None:
        changelogs = [s.name for s in catalogue(settings) if s.name.endswith("-changelog")]
        ends = asyncio.run(end_offsets(self.bootstrap, changelogs))
        starts = asyncio.run(beginning_offsets(self.bootstrap, changelogs))
        records = sum(ends[tp] - starts.get(tp, 0) for tp in ends)
        result: dict[str, Any] = {"changelog_records": records}
        with self.stage("restart", f"empty local store, {records:,} changelog records"):
            empty = OUT / "run" / f"{settings.app_id}-empty"
            worker = self.worker(settings, empty, f"{name}-restart-empty")
            result["empty_store_s"] = start_worker(worker)
            result["empty_store_rss_bytes"] = rss_of_group(worker.proc.pid) if worker.proc else 0
            self.say(f"  ready in {result['empty_store_s']:.1f} s")
            worker.stop()
        if self.opts.store == "memory":
            self.skip("restart on the same store", "the memory store keeps nothing on disk")
        else:
            with self.stage("restart", "the same local store"):
                worker = self.worker(settings, data_dir, f"{name}-restart-same")
                result["same_store_s"] = start_worker(worker)
                self.say(f"  ready in {result['same_store_s']:.1f} s")
                worker.stop()
        self.results["restart"] = result

    # -- profile -------------------------------------------------------------------------
    def start_profile(self, worker: WorkerProcess, name: str) -> Profile | None:
        spy = Path(sys.executable).parent / "py-spy"
        if not spy.exists():
            self.skip("profile", f"py-spy is not installed ({spy}): .venv/bin/pip install py-spy")
            return None
        assert worker.proc is not None
        out = OUT / f"profile-{name}.txt"
        out.unlink(missing_ok=True)
        proc = subprocess.Popen(  # noqa: S603
            [
                str(spy),
                "record",
                "--pid",
                str(worker.proc.pid),
                "--format",
                "raw",
                "--rate",
                "100",
                "--nonblocking",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.children.append(proc)
        self.say(f"  py-spy records the worker until it has drained -> {out}")
        return Profile(proc, out)

    def finish_profile(self, spy: Profile) -> dict[str, Any]:
        """Stop py-spy (SIGINT: it writes its samples) and rank functions by own time."""
        with contextlib.suppress(ProcessLookupError):
            spy.proc.send_signal(signal.SIGINT)
        try:
            _, err = spy.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            spy.proc.kill()
            _, err = spy.proc.communicate()
        out = spy.out
        if not out.exists():
            raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
        own: dict[str, int] = {}
        total = 0
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            # "function (file:line)": one entry per function, whatever its line
            leaf = re.sub(r":\d+\)$", ")", stack.split(";")[-1])
            own[leaf] = own.get(leaf, 0) + int(count)
            total += int(count)
        top = sorted(own.items(), key=lambda kv: -kv[1])[:15]
        return {"samples": total, "top_own": [[leaf, count / total] for leaf, count in top]}

    # -- latency -------------------------------------------------------------------------
    def latency(self) -> None:
        o = self.opts
        n = min(int(o.latency_rate * o.latency_seconds), len(self.mixed_wire))
        wire = self.mixed_wire[:n]
        app_id = f"bench-latency-{uuid.uuid4().hex[:6]}"
        settings = self.fresh_input(app_id)
        shared = [*CASE_TOPICS, ALERTS_TOPIC]
        before = asyncio.run(end_offsets(self.bootstrap, [*shared, *FIELD_TOPICS]))
        worker = self.worker(settings, OUT / "run" / app_id, "latency")
        try:
            start_worker(worker)
            self.say(f"  worker ready; publishing {n:,} events at {o.latency_rate:g}/s")
            consumed = [*FIELD_TOPICS, *self.internal_streams(settings)]

            paced: list[float] = []

            async def steady_input() -> float:
                paced.append(await publish_paced(self.bootstrap, wire, o.latency_rate))
                self.say(f"  published in {paced[0]:.1f} s ({n / paced[0]:,.1f}/s); draining")
                return time.time()

            _, published_at, drained = asyncio.run(
                self.measure(
                    app_id,
                    consumed,
                    self.outputs(settings),
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
        ends = asyncio.run(end_offsets(self.bootstrap, [*shared, *FIELD_TOPICS]))
        field_records = asyncio.run(
            read_from(
                self.bootstrap,
                before,
                {tp: e for tp, e in ends.items() if tp.topic in FIELD_TOPICS},
            )
        )
        appended = {r.key.decode(): r.timestamp for r in field_records if r.key is not None}
        case_records = asyncio.run(
            read_from(
                self.bootstrap, before, {tp: e for tp, e in ends.items() if tp.topic in CASE_TOPICS}
            )
        )
        first_append = min(appended.values()) if appended else 0
        samples: list[tuple[float, float]] = []  # (trigger append since start s, latency ms)
        for record in case_records:
            event = orjson.loads(record.value or b"{}")
            times = [appended[e] for e in event.get("evidence", []) if e in appended]
            times = [t for t in times if t <= record.timestamp] or times
            if times:
                trigger = max(times)
                samples.append(((trigger - first_append) / 1000, record.timestamp - trigger))
        if not samples:
            raise RuntimeError(f"no case event caused by these {n:,} events")
        values = [ms for _, ms in samples]
        result = {
            "rate": o.latency_rate,
            "events": n,
            "published_s": paced[0],
            "case_events": len(case_records),
            "matched": len(samples),
            "p50_ms": percentile(values, 50),
            "p90_ms": percentile(values, 90),
            "p99_ms": percentile(values, 99),
            "max_ms": max(values),
            "histogram": histogram,
            "drained_after_input_s": drained.end_at - published_at,
            "samples": samples,
        }
        hist = ", ".join(
            f"{k.removesuffix('_s')} {v * 1000:,.0f} ms"
            for k, v in histogram.items()
            if k != "count"
        )
        self.say(
            f"  {len(samples):,} case events: p50 {result['p50_ms']:,.0f} ms, p99 "
            f"{result['p99_ms']:,.0f} ms, max {result['max_ms']:,.0f} ms; worker histogram "
            f"({histogram.get('count', 0):,.0f} observations): {hist or 'empty'}"
        )
        drain = result["drained_after_input_s"]
        if drain > 5:
            self.say(
                f"  the worker finished {drain:,.0f} s after the input stopped: it reads slower "
                f"than {o.latency_rate:g} events/s, so these latencies are mostly queueing"
            )
        self.results["latency"] = result

    # -- core ----------------------------------------------------------------------------
    def core_process(self, args: list[str]) -> dict[str, Any]:
        proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "benchmarks.core", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
        self.children.append(proc)
        result: dict[str, Any] | None = None
        tail: list[str] = []
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode(errors="replace").rstrip()
            if line.startswith("RESULT "):
                result = orjson.loads(line[7:])
            else:
                tail = [*tail[-20:], line]
                if line.startswith("  "):
                    self.say(line)
        proc.wait()
        if proc.returncode != 0 or result is None:
            raise RuntimeError(f"benchmarks.core exited {proc.returncode}:\n" + "\n".join(tail))
        return result

    def core(self) -> None:
        o = self.opts
        if o.core_max is not None:
            self.say(f"  sizes above --core-max {o.core_max:,} left out")
        result = self.core_process(
            ["throughput", ",".join(map(str, o.core_sizes)), str(o.core_budget)]
        )
        for item in result["skipped"]:
            self.skip(f"core at {item['events']:,} events", item["reason"])
        self.results["core"] = result

    def state(self) -> None:
        o = self.opts
        result = self.core_process(
            ["state", str(o.state_subjects), str(o.state_budget), str(o.state_max_rss)]
        )
        if result["subjects"] < result["subjects_wanted"]:
            self.skip(
                f"state of {result['subjects_wanted']:,} subjects",
                f"measured at {result['subjects']:,} and extrapolated linearly: "
                f"{result.get('stopped_because', '')}",
            )
        self.results["state"] = result

    # -- the whole run -------------------------------------------------------------------
    def run(self) -> None:
        o = self.opts
        OUT.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(OUT / "run", ignore_errors=True)
        (OUT / "run").mkdir(parents=True)
        for old in OUT.glob("failure-*.txt"):
            old.unlink()
        self.results["machine_before"] = before = machine()
        dirty = [line[3:] for line in before["git_uncommitted"]]
        self.say(
            f"{before['cores']} cores, load {before['load_average'][0]:.2f}; code under test: "
            f"{before['git_commit'][:10]}" + (f" + uncommitted {', '.join(dirty)}" if dirty else "")
        )
        print(f"definition: {DEFINITION}")
        print(f"latency: {LATENCY_DEFINITION}")
        needs_broker = any(s in o.only for s in ("peers", "arrests", "mixed", "latency"))
        if needs_broker:
            with self.stage("setup", "broker and streams"):
                self.start_broker()
                self.generate()
            if self.failures:
                raise SystemExit(f"cannot go on: {self.failures[-1]['error']}")
        if "peers" in o.only:
            self.peers()
        if "arrests" in o.only:
            with self.stage(
                "arrests", f"fieldcourt end to end, {len(self.arrests_wire):,} arrests"
            ):
                self.fieldcourt("arrests", self.arrests_wire)
        if "mixed" in o.only:
            n = min(o.mixed_events, len(self.mixed_wire))
            with self.stage("mixed", f"fieldcourt end to end, {n:,} mixed events"):
                self.fieldcourt("mixed", self.mixed_wire[:n], restart=True)
        if "latency" in o.only:
            with self.stage(
                "latency", f"steady {o.latency_rate:g} events/s for {o.latency_seconds:g} s"
            ):
                self.latency()
        if self.broker is not None:
            self.broker.down()
            self.broker = None
            self.say("broker stopped (the in-memory stages need none)")
        if "core" in o.only:
            with self.stage(
                "core", f"in-memory pipeline at {', '.join(f'{s:,}' for s in o.core_sizes)} events"
            ):
                self.core()
        if "state" in o.only:
            with self.stage("state", f"in-memory core's stores, {o.state_subjects:,} subjects"):
                self.state()
        self.results["machine_after"] = machine()

    def cleanup(self) -> None:
        for child in reversed(self.children):
            with contextlib.suppress(Exception):
                if isinstance(child, subprocess.Popen):
                    if child.poll() is None:
                        os.killpg(child.pid, signal.SIGTERM)
                        child.wait(30)
                else:
                    child.stop()
        if self.broker is not None:
            with contextlib.suppress(Exception):
                if self.broker.down():
                    self.say("broker stopped")


# --------------------------------------------------------------------------------------------
# Machine, report


def git(*args: str) -> str:
    try:
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.rstrip("\n")
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "memory_bytes": mem,
        "git_commit": git("rev-parse", "HEAD"),
        "git_uncommitted": git("status", "--porcelain", "--untracked-files=no").splitlines(),
    }


def versions() -> dict[str, Any]:
    from importlib.metadata import version

    jars = sorted((PROJECT_ROOT / ".kafka" / "libs").glob("kafka_2.13-*.jar"))
    return {
        "python": platform.python_version(),
        "faust-streaming": version("faust-streaming"),
        "aiokafka": version("aiokafka"),
        "kafka": jars[0].stem.removeprefix("kafka_2.13-") if jars else None,
    }


def write_report(bench: Bench) -> dict[str, float | None]:
    from benchmarks.report import figures, plot, summary, table

    rows = figures(bench.results, bench.opts.core_sizes)
    print()
    print(table(rows))
    for item in bench.skipped:
        print(f"skipped: {item['what']}: {item['why']}")
    for item in bench.failures:
        print(f"FAILED: {item['stage']}: {item['error']}")
    why = plot(bench.results, rows, OUT / "bench.png")
    print(f"plot: {why or OUT / 'bench.png'}")
    line = summary(rows)
    document = {
        "definition": DEFINITION,
        "latency_definition": LATENCY_DEFINITION,
        "options": vars(bench.opts),
        "versions": versions(),
        "machine": {
            "before": bench.results.get("machine_before"),
            "after": bench.results.get("machine_after"),
        },
        "figures": line,
        "results": bench.results,
        "skipped": bench.skipped,
        "failures": bench.failures,
    }
    (OUT / "results.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    # every run also keeps its own copy: a later --quick or --only run replaces the files above
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = (
        OUT
        / "runs"
        / (
            stamp
            + ("-quick" if bench.opts.quick else "")
            + ("" if bench.opts.only == STAGES else "-" + "-".join(bench.opts.only))
        )
    )
    kept.mkdir(parents=True, exist_ok=True)
    for name in ("results.json", "bench.png"):
        if (OUT / name).exists():
            shutil.copy2(OUT / name, kept / name)
    print(f"results: {OUT / 'results.json'} (and a copy in {kept})")
    return line


def main(argv: list[str] | None = None) -> int:
    opts = parse(sys.argv[1:] if argv is None else argv)
    bench = Bench(opts)

    def terminate(signum: int, frame: object) -> None:
        raise Interrupted(143)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    code = 0
    try:
        bench.run()
    except KeyboardInterrupt:
        code = 130
    except Interrupted as exc:
        code = exc.code
    except (BrokerError, SystemExit) as exc:
        print(f"bench: {exc}", file=sys.stderr, flush=True)
        code = 1
    except Exception:
        traceback.print_exc()
        bench.say("bench: failed (traceback above)")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if code in (130, 143):
            bench.say("interrupted: stopping what the benchmark started")
        bench.cleanup()
    if code:
        return code
    line = write_report(bench)
    if bench.failures:
        stages = ", ".join(f["stage"] for f in bench.failures)
        print(
            f"bench: {len(bench.failures)} stage(s) failed ({stages}); see above", file=sys.stderr
        )
        code = 1
    print("BENCH " + orjson.dumps(line).decode(), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
