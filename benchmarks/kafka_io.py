"""Plain aiokafka helpers of the benchmark: publish, truncate, watch a consumer group drain.

Nothing here goes through fieldcourt's Kafka code: the benchmark sees what any client sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic, RecordsToDelete
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

MIB = 1024 * 1024


def producer(bootstrap: str, **extra: Any) -> AIOKafkaProducer:
    options: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,
        "max_request_size": 16 * MIB,
        "max_batch_size": 512 * 1024,
        "linger_ms": 5,
    }
    return AIOKafkaProducer(bootstrap_servers=bootstrap, **{**options, **extra})


def group_consumer(bootstrap: str, group: str) -> AIOKafkaConsumer:
    """A consumer of ``group`` for the raw peers: from the earliest offset, committed by hand,
    large fetches."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_bytes=64 * MIB,
        max_partition_fetch_bytes=16 * MIB,
    )


async def publish(bootstrap: str, records: Sequence[tuple[str, bytes, bytes]]) -> float:
    """Publish ``records`` in order as fast as one producer can; seconds it took (all acked)."""
    prod = producer(bootstrap)
    await prod.start()
    try:
        started = time.perf_counter()
        pending: list[asyncio.Future[Any]] = []
        for topic, key, value in records:
            pending.append(await prod.send(topic, value, key=key))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
        return time.perf_counter() - started
    finally:
        await prod.stop()


async def publish_paced(
    bootstrap: str, records: Sequence[tuple[str, bytes, bytes]], rate: float
) -> float:
    """Publish record ``i`` at ``start + i / rate`` (a steady input); seconds it took."""
    prod = producer(bootstrap, linger_ms=0)
    await prod.start()
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        pending: list[asyncio.Future[Any]] = []
        for index, (topic, key, value) in enumerate(records):
            delay = start + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(await prod.send(topic, value, key=key))
        await asyncio.gather(*pending)
        return loop.time() - start
    finally:
        await prod.stop()


async def partitions_of(admin: AIOKafkaAdminClient, topics: Iterable[str]) -> list[TopicPartition]:
    return [
        TopicPartition(described["topic"], part["partition"])
        for described in await admin.describe_topics(list(topics))
        for part in described["partitions"]
    ]


@contextlib.asynccontextmanager
async def admin_and_consumer(
    bootstrap: str,
) -> AsyncIterator[tuple[AIOKafkaAdminClient, AIOKafkaConsumer]]:
    """An admin client and a consumer of no group, started; both closed on the way out."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        yield admin, consumer
    finally:
        await consumer.stop()
        await admin.close()


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int = 4) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if new:
            await admin.create_topics(new)
    finally:
        await admin.close()


async def truncate(bootstrap: str, topics: Iterable[str]) -> None:
    """Delete every record of ``topics`` (DeleteRecords up to the end): a consumer group that
    starts from the earliest offset then reads only what is published next."""
    async with admin_and_consumer(bootstrap) as (admin, consumer):
        ends = await consumer.end_offsets(await partitions_of(admin, topics))
        todo = {tp: RecordsToDelete(end) for tp, end in ends.items() if end > 0}
        if todo:
            await admin.delete_records(todo, timeout_ms=30000)


async def read_from(
    bootstrap: str, starts: dict[TopicPartition, int], ends: dict[TopicPartition, int]
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record between ``starts`` and ``ends`` (exclusive) of those partitions."""
    todo = {tp: end for tp, end in ends.items() if end > starts.get(tp, 0)}
    if not todo:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        fetch_max_bytes=64 * MIB,
        max_partition_fetch_bytes=32 * MIB,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        consumer.assign(list(todo))
        for tp in todo:
            consumer.seek(tp, starts.get(tp, 0))
        deadline = time.monotonic() + 120
        while todo and time.monotonic() < deadline:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                records.extend(r for r in batch if r.offset < ends[tp])
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    todo.pop(tp, None)
                    consumer.pause(tp)
    finally:
        await consumer.stop()
    return records


@dataclass
class Drained:
    """When a consumer group had done all its work (see ``Watcher``)."""

    complete: bool
    #: Wall-clock times (``time.time()``).
    caught_up_at: float | None  # lag first reached 0 (for good)
    last_output_at: float | None  # last growth of an output topic
    end_at: float  # max of the two (or the time of giving up)
    processed: int  # records of the input topics committed
    produced: int  # records added to the output topics
    lag: int


@dataclass
class Watcher:
    """Polls a consumer group's committed offsets and topics' end offsets with one admin
    client and one consumer kept open (cheap enough to poll ten times a second).

    ``inputs``: topics the group reads (their records must all be committed: lag 0);
    ``counted``: the subset whose committed records count as processed events;
    ``outputs``: topics the process writes (they must stop growing);
    ``more_groups``: other groups of the same process (one a hop), their commits read alike.
    """

    bootstrap: str
    group: str
    inputs: list[str]
    counted: list[str]
    outputs: list[str]
    interval_s: float = 0.25
    quiet_s: float = 3.0
    more_groups: list[str] = field(default_factory=list)
    clients: Any = None
    admin: Any = None
    consumer: Any = None
    tps_in: list[TopicPartition] = field(default_factory=list)
    tps_out: list[TopicPartition] = field(default_factory=list)
    starts_in: dict[TopicPartition, int] = field(default_factory=dict)
    starts_out: dict[TopicPartition, int] = field(default_factory=dict)

    async def __aenter__(self) -> Watcher:
        self.clients = contextlib.AsyncExitStack()
        clients = admin_and_consumer(self.bootstrap)
        self.admin, self.consumer = await self.clients.enter_async_context(clients)
        self.tps_in = await partitions_of(self.admin, self.inputs)
        self.tps_out = await partitions_of(self.admin, self.outputs)
        self.starts_in = await self.consumer.beginning_offsets(self.tps_in)
        self.starts_out = await self.consumer.end_offsets(self.tps_out)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.clients.aclose()

    async def snapshot(self) -> tuple[int, int, int]:
        """(lag on the inputs, committed records of the counted inputs, output records)."""
        committed = {}
        for group in [self.group, *self.more_groups]:
            committed.update(await self.admin.list_consumer_group_offsets(group))
        ends = await self.consumer.end_offsets(self.tps_in + self.tps_out)
        lag = processed = 0
        for tp in self.tps_in:
            start = self.starts_in.get(tp, 0)
            meta = committed.get(tp)
            done = max(start, meta.offset if meta is not None and meta.offset >= 0 else start)
            lag += max(0, ends[tp] - done)
            if tp.topic in self.counted:
                processed += done - start
        produced = sum(ends[tp] - self.starts_out.get(tp, 0) for tp in self.tps_out)
        return lag, processed, produced

    async def wait_drained(
        self,
        timeout_s: float,
        alive: Callable[[], bool] = lambda: True,
        progress: Callable[[int, int, int], None] | None = None,
        ready: asyncio.Future[float] | None = None,
        progress_every_s: float = 10.0,
    ) -> Drained:
        """Wait until the group has no lag on its inputs and no output has grown for
        ``quiet_s``; the end is the later of "lag reached 0" and "last output growth".

        ``ready``: the process's readiness; never drained before it is done (its exception,
        if any, is raised). Outputs are counted from the watcher's start."""
        deadline = time.time() + timeout_s
        caught_up_at: float | None = None
        last_output_at: float | None = None
        last_produced = -1
        shown = time.time()
        lag = processed = produced = 0
        failing_since: float | None = None
        while True:
            if ready is not None and ready.done():
                ready.result()  # raises what the readiness check raised
            try:
                lag, processed, produced = await self.snapshot()
            except KafkaError:
                # a new group's coordinator, or the offsets topic on a fresh broker, may take
                # a moment to exist
                failing_since = failing_since or time.time()
                if time.time() - failing_since > 30:
                    raise
                await asyncio.sleep(self.interval_s)
                continue
            failing_since = None
            now = time.time()
            if produced != last_produced:
                if last_produced >= 0 or produced > 0:
                    last_output_at = now
                last_produced = produced
            caught_up_at = (caught_up_at or now) if lag == 0 else None
            quiet = last_output_at is None or now - last_output_at >= self.quiet_s
            settled = caught_up_at is not None and now - caught_up_at >= min(1.0, self.quiet_s)
            if settled and quiet and (ready is None or ready.done()):
                assert caught_up_at is not None
                end = max(caught_up_at, last_output_at or 0.0)
                return Drained(True, caught_up_at, last_output_at, end, processed, produced, 0)
            if now > deadline or not alive():
                return Drained(False, caught_up_at, last_output_at, now, processed, produced, lag)
            if progress is not None and now - shown >= progress_every_s:
                progress(lag, processed, produced)
                shown = now
            await asyncio.sleep(self.interval_s)


async def _offsets(
    bootstrap: str, topics: Iterable[str], *, ends: bool
) -> dict[TopicPartition, int]:
    async with admin_and_consumer(bootstrap) as (admin, consumer):
        partitions = await partitions_of(admin, topics)
        read = consumer.end_offsets if ends else consumer.beginning_offsets
        return dict(await read(partitions))


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    return await _offsets(bootstrap, topics, ends=True)


async def beginning_offsets(bootstrap: str, topics: Iterable[str]) -> dict[TopicPartition, int]:
    return await _offsets(bootstrap, topics, ends=False)
