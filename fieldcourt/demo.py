"""``make demo``: the Paris story on a real broker, live, from police events to court cases.

A fresh broker and worker of its own (data in ``<data dir>/demo``, wiped each time), the
simulated story shifted to end now, the case events and alerts shown as they arrive, then a
summary. Everything started here is stopped at the end or on Ctrl-C; nothing is left running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from fieldcourt.groups import consumed_topics, group_lag
from fieldcourt.kafka_local import LocalBroker
from fieldcourt.replay import Record, publish_records, records_from_events
from fieldcourt.settings import Settings
from fieldcourt.simulate import Simulation, SimulationConfig, shift_to_end_at
from fieldcourt.supervise import WorkerProcess, worker_env
from fieldcourt.topics import DEADLETTER_TOPIC, apply_topics, catalogue
from fieldcourt.watch import WatchReport, watch_async

console = Console(highlight=False)

#: A record a police integrator got wrong: shown landing in the dead-letter topic.
BROKEN = b'{"event_id": "broken-1", "occurred_at": "yesterday"'


@dataclass(frozen=True)
class DemoOptions:
    rate: float = 10.0  # background events a day besides the story (0 in --quick)
    #: Event time plays this many times faster than real time: the 25-day story in ~70 s.
    #: Published all at once, records of three topics and many partitions would reach the
    #: correlation stages out of order by more than the 7-day lateness bound, and count late.
    speed: float = 30_000.0
    timeout_s: float = 150.0


@contextmanager
def _running(settings: Settings) -> Iterator[WorkerProcess]:
    broker = LocalBroker(settings)
    console.print("[bold]1.[/] starting Apache Kafka (KRaft, single node) ...")
    started = time.monotonic()
    status = broker.up()
    console.print(f"   {status.describe()} ({time.monotonic() - started:.1f} s)")
    worker: WorkerProcess | None = None
    try:
        console.print("[bold]2.[/] applying the topic catalogue")
        changes = asyncio.run(apply_topics(settings, catalogue(settings)))
        console.print(f"   {sum(c.action == 'created' for c in changes)} topics created")
        console.print("[bold]3.[/] starting a fieldcourt worker")
        env = worker_env(settings.broker, settings.app_id, settings.data_dir)
        worker = WorkerProcess(env, settings.data_dir / "worker").start()
        worker.wait_ready()
        console.print(f"   worker ready (log: {worker.logs[-1]})")
        yield worker
    finally:
        if worker is not None:
            worker.stop()
            console.print("   worker stopped")
        broker.down()
        console.print("   kafka stopped")


def story(run: str, rate: float) -> list[Record]:
    """The compressed Les Halles → Rosa Parks story, ending now, plus one broken record."""
    config = SimulationConfig(compress=True, rate=rate, prefix=run)
    end = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    events = shift_to_end_at(Simulation(config).records(), end, whole_days=True)
    broken = Record("field.arrests.v1", b"broken-1", BROKEN, None)
    return [*records_from_events(events), broken]


async def _play(settings: Settings, records: list[Record], options: DemoOptions) -> WatchReport:
    ready, done = asyncio.Event(), asyncio.Event()
    watcher = asyncio.create_task(
        watch_async(settings.broker, console=console, ready=ready, until=done,
                    timeout_s=options.timeout_s)
    )  # fmt: skip
    await ready.wait()
    span = f"{options.speed:,.0f}x real time"
    console.print(f"[bold]4.[/] playing {len(records)} field events of the story at {span} ...")
    await publish_records(records, settings.broker, speed=options.speed, progress=False)
    deadline = time.monotonic() + options.timeout_s
    drained = 0
    while time.monotonic() < deadline and drained < 3 and not watcher.done():
        await asyncio.sleep(1.0)
        lag = await group_lag(settings.broker, settings.app_id, consumed_topics(settings))
        drained = drained + 1 if lag == 0 else 0
    done.set()
    return await watcher


async def _deadlettered(settings: Settings) -> int:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(DEADLETTER_TOPIC, bootstrap_servers=settings.broker,
                                group_id=None, auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        return sum(len(part) for part in batches.values())
    finally:
        await consumer.stop()


def summarise(events_in: int, dead: int, report: WatchReport) -> bool:
    """Print the summary; True when the story's outcomes are all there."""
    sections = Counter({section: n for (section, kind), n in report.cases.items()
                        if kind == "case_opened"})  # fmt: skip
    escalations = sum(n for (_s, kind), n in report.cases.items() if kind == "case_escalated")
    alerts = Counter({kind: n for (kind, _sector), n in report.alerts.items()})
    table = Table(title="fieldcourt demo: summary")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("field events in", str(events_in))
    table.add_row("dead-lettered", str(dead))
    for section in ("P12", "P20", "F3", "P4"):
        table.add_row(f"cases opened in {section}", str(sections[section]))
    table.add_row("escalations", str(escalations))
    for kind in ("displacement", "trade_migration", "surge"):
        table.add_row(f"alerts: {kind}", str(alerts[kind]))
    console.print(table)
    return (
        dead == 1
        and escalations >= 1
        and all(sections[s] >= 1 for s in ("P12", "P20", "F3", "P4"))
        and all(report.alerts[(kind, "rosa-parks")] >= 1
                for kind in ("displacement", "trade_migration", "surge"))
    )  # fmt: skip


def run_demo(settings: Settings, options: DemoOptions | None = None) -> int:
    options = options or DemoOptions()
    run = f"demo-{secrets.token_hex(3)}"
    demo_dir = settings.data_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)  # a fresh story every time
    settings = settings.model_copy(
        update={"broker": f"127.0.0.1:{settings.kafka_port}", "data_dir": demo_dir,
                "app_id": f"fieldcourt-{run}"}
    )  # fmt: skip
    records = story(run, options.rate)
    with _running(settings):
        report = asyncio.run(_play(settings, records, options))
        dead = asyncio.run(_deadlettered(settings))
        ok = summarise(len(records), dead, report)
    console.print("[green]demo finished: the story's cases and alerts are all there[/]" if ok
                  else "[red]demo: some of the story's outcomes are missing[/]")  # fmt: skip
    return 0 if ok else 1
