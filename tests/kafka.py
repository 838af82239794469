"""Test helpers for the real broker: plain aiokafka clients and a worker run as a real process.

Nothing here goes through fieldcourt's own Kafka code but ``client_options``, which turns the
settings into the address and credentials of a principal (by default the administrator, who
may read and write every topic), so the tests see what any client sees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, RecordMetadata

from fieldcourt.kafka_auth import ADMIN, client_options
from fieldcourt.kafka_local import LocalBroker, free_ports
from fieldcourt.settings import Settings, load_settings
from fieldcourt.supervise import WorkerProcess, worker_env

__all__ = [
    "WorkerProcess",
    "consume_until",
    "local_broker",
    "produce",
    "read_table",
    "run",
    "worker_env",
]


@contextmanager
def local_broker(data_dir: Path, **settings: Any) -> Iterator[LocalBroker]:
    """A broker of its own on free ports (authentication on unless ``settings`` say
    otherwise), data in ``data_dir``; stopped on exit. ``broker.access()`` tells clients how
    to reach it."""
    port, controller = free_ports(2)
    broker = LocalBroker(
        load_settings(
            data_dir=data_dir, kafka_port=port, kafka_controller_port=controller, **settings
        )
    )
    broker.up()
    try:
        yield broker
    finally:
        broker.down()


#: (topic, key, value) or (topic, key, value, headers)
Outgoing = (
    tuple[str, bytes | None, bytes | None]
    | tuple[str, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]
)


async def produce(
    settings: Settings, records: Iterable[Outgoing], principal: str = ADMIN
) -> list[RecordMetadata]:
    """Publish records in order with a plain producer, waiting for each ack; where the broker
    put each one."""
    producer = AIOKafkaProducer(
        **client_options(settings, principal),
        max_request_size=16 * 1024 * 1024,
        acks="all",
        enable_idempotence=True,
    )
    try:
        await producer.start()  # a refused start leaves connections to close
        placed = []
        for topic, key, value, *headers in records:
            sent = list(headers[0]) if headers else None
            placed.append(await producer.send_and_wait(topic, value, key=key, headers=sent))
        return placed
    finally:
        await producer.stop()


async def consume_until(
    settings: Settings,
    topics: list[str],
    done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout_s: float = 60.0,
    *,
    isolation_level: str = "read_uncommitted",
    settle_s: float = 0.0,
    principal: str = ADMIN,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read the topics from the beginning until ``done(records)`` or the timeout; return all.

    ``settle_s`` keeps reading that much longer after ``done``, to catch what should not come.
    """
    consumer = AIOKafkaConsumer(
        *topics,
        **client_options(settings, principal),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
        isolation_level=isolation_level,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=32 * 1024 * 1024,
    )
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        await consumer.start()  # a refused start leaves connections to close
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
            if done(records):
                settle_until = time.monotonic() + settle_s
                while time.monotonic() < settle_until:
                    for part in (await consumer.getmany(timeout_ms=200)).values():
                        records.extend(part)
                break
    finally:
        await consumer.stop()
    return records


def run(coro: Any) -> Any:
    """Run ``coro`` on an event loop of its own, then let the sockets its clients closed
    finish closing before that loop ends.

    aiokafka closes the connection it bootstrapped from, and one the broker refused (a stale
    password), without waiting for it; over TLS the close is a round trip with the broker,
    and a loop that ends first leaves the socket to the garbage collector, which warns in
    whichever test runs then (a CI run's dashboard setup, on a busy broker)."""
    with asyncio.Runner() as runner:
        try:
            return runner.run(coro)
        finally:
            runner.run(_sockets_closed())


async def _sockets_closed(timeout_s: float = 10.0) -> None:
    """Wait until no socket of this loop's transports is open (asyncio keeps its transports
    by file descriptor in ``_transports``; a transport's ``_sock`` is None once closed)."""
    loop = asyncio.get_running_loop()
    transports = getattr(loop, "_transports", {})
    deadline = loop.time() + timeout_s
    while loop.time() < deadline and any(
        getattr(transport, "_sock", None) is not None for transport in list(transports.values())
    ):
        await asyncio.sleep(0.01)


def read_table(data_dir: Path, app_id: str, table: str) -> dict[str, Any]:
    """A stopped worker's table as its RocksDB store holds it, all partitions merged (keys and
    values are JSON); Faust's own bookkeeping keys (the changelog offset) are left out."""
    from rocksdict import AccessType, Options, Rdict

    merged: dict[str, Any] = {}
    tables = data_dir / "faust" / app_id / "v1" / "tables"
    for path in sorted(tables.glob(f"{table}-*.db")):
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            for key, value in db.items():  # raw mode: bytes
                assert isinstance(key, bytes)
                assert isinstance(value, bytes)
                if not key.startswith(b"__faust"):
                    merged[orjson.loads(key)] = orjson.loads(value)
        finally:
            db.close()
    return merged
