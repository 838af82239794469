"""Local tables rebuilt from their changelogs in bulk, before the worker joins its group.

Faust rebuilds a table record by record through its stream machinery: about 4,000 changelog
records a second here, so a worker whose local store is empty or far behind (a new machine, a
lost disk) would take some twenty minutes to be ready with the state of a million subjects,
and processes nothing meanwhile. Before Faust starts, this reads every partition of every
table's changelog with a plain consumer, from the offset the local store last applied to the
end, and hands the records to the table's own store in large batches
(``Store.apply_changelog_batch``, the method Faust's recovery calls, which also records the
offset applied). Faust's recovery then finds little or nothing left to read.

Every partition is restored, not only those the group will assign: a worker among several
spends disk on partitions it will not serve, and Faust reads on from wherever the store
stands for those it will. Only the RocksDB store keeps what is restored (``memory://``
starts empty whatever is done here), so only it is restored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord, TopicPartition
from faust.types import TP

from fieldcourt.kafka_auth import WORKER, client_options
from fieldcourt.settings import Settings

log = logging.getLogger(__name__)

#: Records handed to a store at once, and fetched per partition per request.
BATCH_RECORDS = 20_000
FETCH_BYTES_PER_PARTITION = 8 * 1024 * 1024
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True, slots=True)
class _Message:
    """What ``Store.apply_changelog_batch`` reads of a changelog event's message."""

    tp: TP
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class _Event:
    message: _Message


def _events(tp: TP, records: Iterable[ConsumerRecord[bytes, bytes]]) -> list[_Event]:
    return [
        _Event(_Message(tp, record.partition, record.offset, record.key, record.value))
        for record in records
    ]


@dataclass
class Restored:
    """What a restore read: records per table, and how long it took."""

    records: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.records.values())


def _identity(value: Any) -> Any:
    return value


async def restore_tables(
    tables: Iterable[Any],
    settings: Settings,
    *,
    say: Callable[[str], None] = log.info,
) -> Restored:
    """Bring each of ``tables``' local store (Faust tables) up to the end of its changelog."""
    # a table's changelog has its partitions (``fieldcourt.topics.TABLES``, made by topics apply)
    stores = {
        table.changelog_topic.get_topic_name(): (
            table.data,
            table.partitions or settings.topic_partitions,
        )
        for table in tables
    }
    restored = Restored({topic: 0 for topic in stores})
    if not stores:
        return restored
    started = time.monotonic()
    consumer = AIOKafkaConsumer(
        **client_options(settings, WORKER),
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=FETCH_BYTES_PER_PARTITION,
        fetch_max_bytes=8 * FETCH_BYTES_PER_PARTITION,
        max_poll_records=BATCH_RECORDS,
        isolation_level="read_committed",
        # an offset no longer there (compacted away meanwhile): the next one, never the end
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        ends = await _pending(consumer, stores)
        wanted = sum(end - position for position, end in ends.values())
        if not wanted:
            say(f"the local tables are up to date with their changelogs ({len(stores)} tables)")
            return restored
        say(f"restoring {wanted:,} changelog records into the local tables")
        consumer.assign(list(ends))
        for tp, (position, _end) in ends.items():
            consumer.seek(tp, position)
        last_said = time.monotonic()
        while ends:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=BATCH_RECORDS)
            for tp, records in fetched.items():
                if not records or tp not in ends:
                    continue
                store = stores[tp.topic][0]
                store.apply_changelog_batch(
                    _events(TP(tp.topic, tp.partition), records), _identity, _identity
                )
                restored.records[tp.topic] += len(records)
                if records[-1].offset + 1 >= ends[tp][1]:
                    del ends[tp]
                    consumer.pause(tp)
            # a partition whose last records were transaction markers has nothing left to read
            for tp in [tp for tp in ends if await consumer.position(tp) >= ends[tp][1]]:
                del ends[tp]
            if time.monotonic() - last_said >= PROGRESS_EVERY_S:
                last_said = time.monotonic()
                say(f"restored {restored.total:,} of {wanted:,} changelog records")
    finally:
        await consumer.stop()
    restored.seconds = time.monotonic() - started
    say(
        f"restored {restored.total:,} changelog records in {restored.seconds:.1f} s "
        f"({restored.total / max(restored.seconds, 1e-9):,.0f} records/s)"
    )
    return restored


async def _pending(
    consumer: AIOKafkaConsumer, stores: dict[str, tuple[Any, int]]
) -> dict[TopicPartition, tuple[int, int]]:
    """Per changelog partition with records the local store lacks: (first offset to read,
    end offset)."""
    partitions = [
        TopicPartition(topic, number)
        for topic, (_store, count) in stores.items()
        for number in range(count)
    ]
    beginnings = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    pending: dict[TopicPartition, tuple[int, int]] = {}
    for tp in partitions:
        applied = stores[tp.topic][0].persisted_offset(TP(tp.topic, tp.partition))
        first = max(beginnings[tp], 0 if applied is None else applied + 1)
        if first < ends[tp]:
            pending[tp] = (first, ends[tp])
    return pending
