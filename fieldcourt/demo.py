"""``make demo``: broker, topics, a worker, sample events and what became of them.

Everything started here is stopped at the end or on Ctrl-C; nothing is left running.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from fieldcourt.kafka_local import LocalBroker
from fieldcourt.settings import Settings
from fieldcourt.supervise import WorkerProcess, worker_env
from fieldcourt.topics import (
    DEADLETTER_TOPIC,
    VALID_EVENTS,
    apply_topics,
    catalogue,
    internal_topic,
)

console = Console()


def sample_records(run: str, now: dt.datetime) -> list[tuple[str, bytes, bytes]]:
    """A few synthetic field events (invented people), one duplicate and one malformed."""
    source = {"system": "demo-lrp", "unit": "CSP 1"}
    halles = {"lat": 48.8622, "lon": 2.3468, "address": "12 rue Pierre Lescot, 75001 Paris"}
    rosa = {"lat": 48.8965, "lon": 2.3712, "address": "5 bd Macdonald 75019 Paris"}
    dealer = {"last_name": "Varnello", "first_name": "Tiberio", "birth_date": "1998-03-02"}
    lender = {"last_name": "Quellec", "first_name": "Maelys"}

    def at(hours_ago: int) -> str:
        return (now - dt.timedelta(hours=hours_ago)).isoformat()

    events: list[tuple[str, dict[str, Any]]] = [
        ("field.arrests.v1", {
            "event_id": f"{run}-arrest-1", "occurred_at": at(3),
            "source": source, "procedure_ref": "2025/DEMO/001", "location": halles,
            "person": dealer,
            "offense": "trafficking", "flagrant": True, "role": "seller",
        }),
        ("field.seizures.v1", {
            "event_id": f"{run}-seizure-1", "occurred_at": at(2),
            "source": source, "location": halles, "substance": "crack", "quantity_g": 62.5,
            "cash_eur": 1840, "persons": [dealer],
        }),
        ("field.dealing-addresses.v1", {
            "event_id": f"{run}-address-1", "occurred_at": at(1),
            "source": source, "location": rosa, "usage": "dealing_point",
            "evidence": "surveillance", "occupant": lender,
        }),
    ]  # fmt: skip
    records = [(t, e["event_id"].encode(), orjson.dumps(e)) for t, e in events]
    records.append(records[0])  # a redelivery: dropped and counted
    records.append(("field.seizures.v1", f"{run}-broken".encode(), b'{"event_id": "oops",'))
    return records


async def _publish(bootstrap: str, records: list[tuple[str, bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _collect(
    bootstrap: str, topics: list[str], run: str, expected: int, timeout_s: float
) -> list[Any]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None,
        enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    found: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and len(found) < expected:
            for part in (await consumer.getmany(timeout_ms=500)).values():
                found += [r for r in part if run.encode() in (r.key or b"")]
    finally:
        await consumer.stop()
    return found


@contextmanager
def _running(settings: Settings) -> Iterator[WorkerProcess]:
    broker = LocalBroker(settings)
    console.print("[bold]1.[/] starting Apache Kafka (KRaft, single node)...")
    started_broker = not broker.status().running
    console.print("   " + broker.up().describe())
    worker: WorkerProcess | None = None
    try:
        console.print("[bold]2.[/] applying the topic catalogue")
        for change in asyncio.run(apply_topics(settings, catalogue(settings))):
            console.print(f"   {change.action:10} {change.topic}")
        console.print("[bold]3.[/] starting a fieldcourt worker")
        env = worker_env(settings.broker, settings.app_id, settings.data_dir)
        worker = WorkerProcess(env, settings.data_dir / "demo-worker").start()
        worker.wait_ready()
        console.print(f"   worker ready (log: {worker.logs[-1]})")
        yield worker
    finally:
        if worker is not None:
            worker.stop()
            console.print("   worker stopped")
        if started_broker:
            broker.down()
            console.print("   kafka stopped")


def run_demo(settings: Settings) -> int:
    settings = settings.model_copy(update={"broker": f"127.0.0.1:{settings.kafka_port}"})
    run = f"demo-{secrets.token_hex(3)}"
    with _running(settings):
        records = sample_records(run, dt.datetime.now(dt.UTC))
        console.print(f"[bold]4.[/] publishing {len(records)} records (one redelivery, one broken)")
        asyncio.run(_publish(settings.broker, records))
        valid_topic = internal_topic(settings, VALID_EVENTS)
        found = asyncio.run(_collect(settings.broker, [valid_topic, DEADLETTER_TOPIC], run, 4, 60))
        _show(found, valid_topic)
        ok = sum(r.topic == valid_topic for r in found) == 3 and len(found) == 4
    console.print("[green]demo finished[/]" if ok else "[red]demo: unexpected outcome[/]")
    return 0 if ok else 1


def _show(found: list[Any], valid_topic: str) -> None:
    table = Table(title="What became of the records")
    for column in ("topic", "event", "outcome"):
        table.add_column(column)
    for record in found:
        if record.topic == valid_topic:
            event = orjson.loads(record.value)
            refs = ", ".join(s["ref"] for s in event["subjects"]) or "-"
            outcome = f"{event['kind']} in sector {event['sector']}; subjects {refs}"
        else:
            headers = dict(record.headers)
            outcome = f"dead-lettered: {headers['error.reason'].decode()}: "
            outcome += headers["error.detail"].decode()
        table.add_row(record.topic, record.key.decode(), outcome)
    console.print(table)
    console.print("   the redelivered arrest was dropped as a duplicate (counted, not forwarded)")
