"""A record appended to aiokafka's open batch for its partition, without ``send``'s coroutines.

``AIOKafkaProducer.send`` is a coroutine that awaits two more (the topic's metadata, the
accumulator's ``add_message``), builds the topic's set of partitions twice, and looks the
running loop up twice through ``asyncio.get_event_loop``. It is about eight records an event
(stage records, changelog writes, matches, case events, audit records), and in a profile of
the worker draining arrests (``benchmarks.run --only arrests --profile``) ``send`` took 9 % of
its time, of which the record's own append to the batch (``BatchBuilder.append``) was 1.8 %.

``DirectAppend`` does what ``send`` does when none of its awaits would wait: the topic's
partitions are known, the partition's open batch has room (or none is open, and one is
opened as ``add_message`` opens it), no transaction, no serializers. It checks the record's
size as ``send`` does (``_serialize``), picks the partition with the producer's own
partitioner over the same list of partitions, and appends to the same batch with the same
future. Otherwise it returns ``None`` and the caller goes through ``send``, which fetches
metadata or waits for the batch to drain: records handed on meanwhile find the batch full and
take the same path, behind it, so a partition's records keep their order.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

from aiokafka.structs import TopicPartition

from agents.partitioner import RememberingPartitioner

log = logging.getLogger(__name__)

#: What this reads of aiokafka's producer, its accumulator and its cluster metadata; a missing
#: one turns the direct path off (every record goes through ``send``), with a warning.
PRODUCER_ATTRIBUTES = (
    "_message_accumulator",
    "_txn_manager",
    "_partitioner",
    "_key_serializer",
    "_value_serializer",
    "_serialize",
    "_loop",
    "client",
)
ACCUMULATOR_ATTRIBUTES = ("_batches", "_closed", "_exception", "create_builder", "_append_batch")


class DirectAppend:
    """``send`` without its awaits, for one aiokafka producer (``None``: use ``send``)."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self.missing = [
            f"AIOKafkaProducer.{a}" for a in PRODUCER_ATTRIBUTES if not hasattr(producer, a)
        ]
        accumulator: Any = getattr(producer, "_message_accumulator", None)
        self.missing += [
            f"MessageAccumulator.{a}" for a in ACCUMULATOR_ATTRIBUTES if not hasattr(accumulator, a)
        ]
        cluster: Any = getattr(getattr(producer, "client", None), "cluster", None)
        if not hasattr(cluster, "_partitions"):
            self.missing.append("ClusterMetadata._partitions")
        self.enabled = not self.missing and self._plain(producer)
        if self.missing:
            log.warning(
                "aiokafka lacks what the producer's direct path reads (%s): every record goes "
                "through AIOKafkaProducer.send",
                ", ".join(self.missing),
            )
        self._accumulator = accumulator
        self._cluster = cluster
        #: Each topic's partition list, as ``send`` builds it, for the metadata it came from.
        self._lists: dict[str, tuple[dict[int, Any], list[int]]] = {}
        #: Records appended directly, and handed to ``send``.
        self.appended = self.sent = 0

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        headers: list[tuple[str, bytes]] | None,
    ) -> asyncio.Future[Any]:
        """The record handed on, directly if it can be, else by ``send``; its delivery future."""
        future = self(topic, key, value, partition, headers)
        if future is not None:
            self.appended += 1
            return future
        self.sent += 1
        sent = await self._producer.send(
            topic, value, key=key, partition=partition, headers=headers
        )
        return cast(asyncio.Future[Any], sent)

    @staticmethod
    def _plain(producer: Any) -> bool:
        """Bytes in, the worker's partitioner, no transactions: what the direct path assumes."""
        txn = producer._txn_manager
        return (
            producer._key_serializer is None
            and producer._value_serializer is None
            and isinstance(producer._partitioner, RememberingPartitioner)
            and (txn is None or txn.transactional_id is None)
        )

    def __call__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        headers: list[tuple[str, bytes]] | None,
    ) -> asyncio.Future[Any] | None:
        """The record's delivery future, or ``None`` when ``send`` must take it."""
        if not self.enabled:
            return None
        accumulator = self._accumulator
        if accumulator._closed or accumulator._exception is not None:
            return None  # ``send`` raises what it should
        known = self._cluster._partitions.get(topic)
        if not known:
            return None  # ``send`` fetches the topic's metadata
        if partition is None:
            if key is None:
                return None  # a random available partition: ``send`` picks it
            partition = self._producer._partitioner(key, self._partitions(topic, known), [])
        elif partition not in known:
            return None  # ``send`` refuses it
        headers = headers or []
        self._producer._serialize(key, value, headers)  # MessageSizeTooLargeError, as send
        tp = TopicPartition(topic, partition)
        pending = accumulator._batches.get(tp)
        batch = (
            pending[-1] if pending else accumulator._append_batch(accumulator.create_builder(), tp)
        )
        future: asyncio.Future[Any] | None = batch.append(
            key, value, None, _create_future=self._producer._loop.create_future, headers=headers
        )
        return future  # None: the batch is full, and ``send`` waits for it to drain

    def _partitions(self, topic: str, known: dict[int, Any]) -> list[int]:
        """``list(partitions_for_topic(topic))``, as ``send`` gives its partitioner, built again
        only when the metadata changed (aiokafka replaces its maps on every update)."""
        cached = self._lists.get(topic)
        if cached is None or cached[0] is not known:
            cached = self._lists[topic] = (known, list(set(known)))
        return cached[1]
