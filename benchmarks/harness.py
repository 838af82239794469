"""What every benchmark stage shares: the ``Bench`` (its broker, streams, log, results and
children) and the measurement of a process draining its input."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import feeds
from benchmarks.kafka_io import Drained, Watcher, end_offsets, truncate
from benchmarks.options import Options
from fieldcourt.kafka_local import LocalBroker, free_ports
from fieldcourt.settings import PROJECT_ROOT, Settings, load_settings
from fieldcourt.supervise import WorkerProcess, worker_env
from fieldcourt.topics import FIELD_TOPICS, SECTIONS, apply_topics, case_topic, catalogue

KEY = "bench-key-" + "0" * 40
OUT = PROJECT_ROOT / "var" / "bench"
CASE_TOPICS = [case_topic(s) for s in SECTIONS]

DEFINITION = (
    "events/s = events published before the process starts / (T_end - T_ready). T_ready: the "
    "process is ready (fieldcourt: /readyz answers 200; peers: partitions assigned). T_end: "
    "the later of (a) the first moment the consumer group's committed offsets equal the end "
    "offsets on every topic it reads (the field topics and, for fieldcourt, its internal "
    "streams) and (b) the last moment the end offset of any topic it writes grew (fieldcourt: "
    "case, alert, dead-letter, internal and changelog topics); declared once (a) holds and no "
    "output has grown for 3 s. Offsets are polled every 0.1 s (peers) or 0.25 s (fieldcourt)."
)


class Interrupted(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"signal, exit {code}")
        self.code = code


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
        """Log, time and contain one stage: a failure is recorded (its traceback in
        ``var/bench/failure-<name>.txt``) and the run goes on."""
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
        port, controller = free_ports(2)
        settings = load_settings(
            data_dir=data,
            kafka_port=port,
            kafka_controller_port=controller,
            kafka_security="plaintext",  # measures processing, not TLS
        )
        self.broker = LocalBroker(settings)
        t0 = time.monotonic()
        self.broker.up(timeout_s=120)
        self.bootstrap = self.broker.bootstrap
        self.results["broker_start_s"] = time.monotonic() - t0
        self.say(f"broker up on {self.bootstrap} in {time.monotonic() - t0:.1f} s ({data})")

    def stop_broker(self) -> None:
        if self.broker is not None:
            self.broker.down()
            self.broker = None
            self.say("broker stopped (the in-memory stages need none)")

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

    def outputs(self, settings: Settings) -> list[str]:
        return [s.name for s in catalogue(settings) if s.name not in FIELD_TOPICS]

    def counts(self, before: dict[Any, int], topics: list[str]) -> dict[str, int]:
        after = asyncio.run(end_offsets(self.bootstrap, topics))
        out: dict[str, int] = {}
        for tp, end in after.items():
            out[tp.topic] = out.get(tp.topic, 0) + end - before.get(tp, 0)
        return out

    @staticmethod
    def internal_streams(settings: Settings) -> list[str]:
        from fieldcourt.groups import consumed_topics

        return [t for t in consumed_topics(settings) if t not in FIELD_TOPICS]

    # -- streams -------------------------------------------------------------------------
    def generate(self, mixed: int, arrests: int) -> None:
        """The first ``mixed`` events of the mixed stream and ``arrests`` arrests (0: none)."""
        t0 = time.perf_counter()
        if mixed:
            self.mixed_wire = feeds.wire(list(feeds.mixed(mixed)))
            kinds: dict[str, int] = {}
            for topic, _k, _v in self.mixed_wire:
                kinds[topic] = kinds.get(topic, 0) + 1
            self.say(f"mixed stream: {len(self.mixed_wire):,} events {kinds}")
        if arrests:
            self.arrests_wire = feeds.wire(feeds.arrests(arrests))
            self.say(
                f"arrests-only stream: {len(self.arrests_wire):,} arrests of "
                f"{max(1, arrests // 4):,} people in Les Halles"
            )
        self.results["generate_s"] = time.perf_counter() - t0

    # -- processes -----------------------------------------------------------------------
    def worker(self, settings: Settings, data_dir: Path, name: str, **env: str) -> WorkerProcess:
        env = worker_env(
            settings,
            data_dir,
            FIELDCOURT_PSEUDONYM_KEY=KEY,
            FIELDCOURT_STORE=self.opts.store,
            **(self.opts.worker_env | env),
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        worker = WorkerProcess(env, OUT / "run" / f"{name}-worker")
        self.children.append(worker)
        return worker

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

    # -- measurement ---------------------------------------------------------------------
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
        more_groups: list[str] | None = None,
    ) -> tuple[float, float, Drained]:
        """Start watching (outputs counted from now), launch the process, wait until it is
        ready and then drained: (launched at, ready at, how it drained). ``more_groups``: the
        process's other consumer groups, which must have committed all of ``inputs`` too."""

        def progress(lag: int, processed: int, produced: int) -> None:
            self.say(f"  {processed:,} committed, {lag:,} to go, {produced:,} records written")

        watcher = Watcher(
            self.bootstrap,
            group,
            inputs,
            list(FIELD_TOPICS),
            outputs,
            interval,
            more_groups=list(more_groups or ()),
        )
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
