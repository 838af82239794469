"""Faust's Kafka transport and app with three fixes to what a committed offset promises.

1. *State before commit.* Every commit first waits for the broker to acknowledge the table
   changes written so far (``ChangelogLedger`` in ``agents.io``): Faust's own pre-commit flush
   gives up on its changelog buffer after 0.1 s.
2. *Never-committed partitions after a rebalance.* Faust fetches while a worker recovers its
   tables and drops what it fetched for the streams, then seeks every stream partition back to
   its committed offset (``Consumer.perform_seek``). aiokafka's ``seek_to_committed`` leaves a
   partition without a committed offset (or committed at 0) where the fetcher left it, past
   the dropped records: a worker restarted before its predecessor's first commit on a
   partition never processed that partition's records. This consumer seeks such partitions to
   their beginning, which is what ``auto_offset_reset=earliest`` means.
3. *Records skipped without an ack.* Faust's compiled stream iterator skips a record taken
   while flow control is inactive or from an older consumer generation, and does not ack it
   (where in Faust: noted beside ``check_faust_internals``); the fetcher's position is already
   past it, so its partition stands still, uncommitted, until the next rebalance (the pure
   Python iterator acks it instead, and the record is lost). A timer finds partitions whose
   records were read but are neither queued for an agent, nor being processed, nor acked, nor
   being committed, twice in a row, and seeks them back to their committed offset. Replayed
   records are harmless: every stage is idempotent.

faust-streaming issues #216 and #221 describe the same family of gaps.

The fixes read Faust's private state; ``check_faust_internals`` verifies at start that each
piece is still there, so a Faust upgrade that moves one stops the worker with a message instead
of leaving a fix silently inert.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Set
from types import CoroutineType
from typing import Any, cast

import faust
import faust.streams as streams
from faust.serializers.registry import Registry
from faust.stores.base import SerializedStore
from faust.stores.rocksdb import Store as RocksDBStore
from faust.transport.conductor import Conductor
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP
from mode import Service
from mode.services import WaitResults

from agents.batches import Deliveries, make_current
from agents.cache import CachedTable
from agents.handover import run_until_suspended
from agents.io import ChangelogLedger, tracked_table_class
from agents.table_codec import READ_INTERNALS, REGISTRY_INTERNALS
from agents.table_writes import (
    ROCKSDB_STORE_INTERNALS,
    STORE_INTERNALS,
    TABLE_INTERNALS,
    TableWrites,
)
from fieldcourt.faults import FAULTS, CrashPoint
from fieldcourt.metrics import METRICS
from streams.errors import FieldcourtError

log = logging.getLogger(__name__)

#: How often the consumer looks for read-but-skipped records; a partition is rewound on the
#: second look that finds it unchanged.
SKIP_CHECK_INTERVAL_S = 5.0

#: A stream partition's last read offset and committed offset (the next to read).
Progress = tuple[int, int | None]


def skipped_partitions(
    read: Mapping[TP, int | None],
    committed: Mapping[TP, int | None],
    acked: Mapping[TP, list[int]],
    partitions: Iterable[TP],
    busy: Set[TP],
) -> dict[TP, Progress]:
    """Partitions with records read past the committed offset that are neither queued for an
    agent nor being processed (``busy``) nor acked: such records were skipped."""
    found: dict[TP, Progress] = {}
    for tp in partitions:
        last_read, next_offset = read.get(tp), committed.get(tp)
        if last_read is None or tp in busy or acked.get(tp):
            continue
        if next_offset is None or last_read >= next_offset:
            found[tp] = (last_read, next_offset)
    return found


# The one place that names the Faust internals fieldcourt depends on; docstrings elsewhere
# describe the behaviour and point here. What the fixes read is checked at start
# (``check_faust_internals``, the tuples below). What they correct cannot be checked, so it is
# noted for whoever reads Faust's source after an upgrade: the pre-commit flush that gives up
# on the changelog buffer after 0.1 s (``ProducerBuffer.flush_atmost`` in
# faust/transport/producer.py, run by ``Consumer.commit`` in faust/transport/consumer.py,
# which flushes the producer before each commit), and the compiled stream iterator that skips
# records without an ack (``_prepare_event`` in faust/_cython/streams.pyx).

#: What the fixes use of Faust, by owner: (class, attributes its instances or class must have).
CONSUMER_INTERNALS = (
    "_read_offset",
    "_committed_offset",
    "_acked",
    "_unacked_messages",
    # ``wait_first``'s fast path: the drain loop's flow event, and the service's stop events
    "suspend_flow",
    "_stopped",
    "_crashed",
)
CONDUCTOR_INTERNALS = ("_tp_index",)
#: What ``agents.batches.make_current`` sets to make each record of a batch Faust's current event.
STREAM_INTERNALS = ("_current_event",)
#: What ``agents.batches.take_ready`` uses of a stream, as ``Stream.take_events`` does.
STREAM_CLASS_INTERNALS = ("_enable_passive", "_processors")
OVERRIDDEN = ("seek_to_committed", "_commit_offsets", "perform_seek", "getmany", "wait_first")
#: What ``agents.io.producer_send`` calls of Faust's producer to reach aiokafka's.
PRODUCER_INTERNALS = ("_ensure_producer",)


class FaustInternalsMissing(FieldcourtError):
    """Faust no longer has what ``agents.transport`` relies on (an upgrade moved it)."""

    exit_status = 70


def check_faust_internals(consumer: Any, conductor: Any, tables: Iterable[Any] = ()) -> None:
    """Raise ``FaustInternalsMissing`` naming every missing piece (``tables``: those whose
    writes ``agents.table_writes`` hands on)."""
    missing = [f"Consumer.{name}" for name in CONSUMER_INTERNALS if not hasattr(consumer, name)]
    missing += [f"Conductor.{name}" for name in CONDUCTOR_INTERNALS if not hasattr(conductor, name)]
    missing += [f"faust.streams.{name}" for name in STREAM_INTERNALS if not hasattr(streams, name)]
    missing += [
        f"faust.Stream.{name}"
        for name in STREAM_CLASS_INTERNALS
        if not hasattr(faust.Stream, name) and name not in faust.Stream.__annotations__
    ]
    missing += [
        f"faust aiokafka Consumer.{name}()"
        for name in OVERRIDDEN
        if not callable(getattr(faust_kafka.Consumer, name, None))
    ]
    missing += [
        f"faust aiokafka Producer.{name}()"
        for name in PRODUCER_INTERNALS
        if not callable(getattr(faust_kafka.Producer, name, None))
    ]
    missing += [
        f"faust SerializedStore.{name}()"
        for name in (*STORE_INTERNALS, *READ_INTERNALS)
        if not callable(getattr(SerializedStore, name, None))
    ]
    missing += [
        f"faust RocksDB Store.{name}"
        for name in ROCKSDB_STORE_INTERNALS
        if not hasattr(RocksDBStore, name) and name not in RocksDBStore.__annotations__
    ]
    missing += [
        f"faust serializers Registry.{name}"
        for name in REGISTRY_INTERNALS
        if not hasattr(Registry, name)
    ]
    missing += sorted(
        {
            f"Table.{name}"
            for table in tables
            for name in TABLE_INTERNALS
            if not hasattr(table, name)
        }
    )
    if missing:
        raise FaustInternalsMissing(
            "this Faust version lacks what fieldcourt's consumer fixes and table writes use "
            f"(agents/transport.py, agents/table_writes.py): {', '.join(missing)}"
        )


class FieldcourtConsumer(faust_kafka.Consumer):
    _suspects: dict[TP, Progress]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._suspects = {}
        #: Commits under way: their offsets have left Faust's acked lists but are not in its
        #: committed offsets yet.
        self._committing = 0

    async def on_start(self) -> None:
        tables = [cache.table for cache in cast(FieldcourtApp, self.app).caches]
        check_faust_internals(self, self.app.topics, tables)
        await super().on_start()

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """Faust's, but a record's hand-over to its streams (``_drain_messages`` calls
        ``wait_first(callback(message), self.suspend_flow.wait())``) runs first up to where
        it would wait: most finish there, with no task made (``agents.handover``)."""
        if not self._is_handover(coros, timeout):
            return await super().wait_first(*coros, timeout=timeout)
        handover, flow = coros
        try:
            finished, outcome = run_until_suspended(handover)
        except BaseException:
            flow.close()
            raise
        if finished:
            flow.close()
            return WaitResults([handover], [outcome], False)
        return await super().wait_first(outcome, flow, timeout=timeout)

    def _is_handover(self, coros: tuple[Any, ...], timeout: Any) -> bool:
        """The drain loop's call, with the flow running and the consumer neither stopped nor
        crashed: the cases where Faust's race would find the hand-over alone finished."""
        if timeout is not None or len(coros) != 2:
            return False
        handover, flow = coros
        return (
            isinstance(handover, CoroutineType)
            and isinstance(flow, CoroutineType)
            and flow.cr_code is asyncio.Event.wait.__code__
            and (frame := flow.cr_frame) is not None
            and frame.f_locals.get("self") is self.suspend_flow
            and not self.suspend_flow.is_set()
            and not self._stopped.is_set()
            and not self._crashed.is_set()
        )

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        """Faust's, telling the app's ``deliveries`` while the records of a fetch are being
        handed to the streams: Faust's drain loop hands each record on before it asks for the
        next, so when this ends, what was fetched is all in the streams' buffers."""
        deliveries = cast(FieldcourtApp, self.app).deliveries
        try:
            async for record in super().getmany(timeout):
                deliveries.begin()
                yield record
        finally:
            deliveries.end()

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await super().seek_to_committed()
        never = [
            tp for tp, offset in committed.items() if not offset and not self._is_changelog(tp)
        ]
        if never:
            await self._thread.seek_to_beginning(*never)
        return committed

    async def _commit_offsets(
        self, offsets: Mapping[TP, int], start_new_transaction: bool = True
    ) -> bool:
        self._committing += 1
        try:
            # the writes of every record acked so far, so of every offset about to be committed
            await cast(FieldcourtApp, self.app).changelog.settle()
            committed: bool = await super()._commit_offsets(
                offsets, start_new_transaction=start_new_transaction
            )
            return committed
        finally:
            self._committing -= 1

    def _is_changelog(self, tp: TP) -> bool:
        """Changelog partitions are positioned by table recovery, never by us."""
        return tp.topic in self.app.tables.changelog_topics

    def _busy(self) -> set[TP]:
        """Partitions with a record being processed, or queued for an agent (a queue holds
        every partition of its topic, so all of them count)."""
        busy = {message.tp for message in list(self._unacked_messages)}
        conductor = cast(Conductor, self.app.topics)
        for tp, channels in conductor._tp_index.items():
            if any(not channel.queue.empty() for channel in channels):
                busy.add(tp)
        return busy

    @Service.timer(SKIP_CHECK_INTERVAL_S)
    async def _rewind_skipped(self) -> None:
        try:
            await self._rewind_skipped_once()
        except AttributeError:
            raise  # Faust moved something the check reads: never let the fix go quiet
        except Exception as exc:  # a consumer stopping or rebalancing: look again later
            self._suspects = {}
            log.warning("skipped-record check not run this time: %r", exc)

    async def _rewind_skipped_once(self) -> None:
        app = self.app
        if not self.flow_active or app.rebalancing or app.in_recovery or self._committing:
            self._suspects = {}  # Faust is repositioning partitions, or committing: look later
            return
        streams = [tp for tp in self.assignment() if not self._is_changelog(tp)]
        found = skipped_partitions(
            self._read_offset, self._committed_offset, self._acked, streams, self._busy()
        )
        stuck = {tp: seen for tp, seen in found.items() if self._suspects.get(tp) == seen}
        self._suspects = {tp: seen for tp, seen in found.items() if tp not in stuck}
        if not stuck:
            return
        for tp, (last_read, next_offset) in stuck.items():
            log.warning(
                "%s[%d]: read up to offset %d but neither processed nor acked "
                "(committed: %s); reading it again",
                tp.topic,
                tp.partition,
                last_read,
                next_offset,
            )
            METRICS.partition_rewound(tp.topic)
        await self.seek_wait({tp: next_offset or 0 for tp, (_, next_offset) in stuck.items()})


class FieldcourtTransport(faust_kafka.Transport):
    Consumer = FieldcourtConsumer


class FieldcourtApp(faust.App):
    """The Faust app: tables report their changelog writes to ``changelog``, and the app
    consumes through :class:`FieldcourtTransport`."""

    def __init__(self, app_id: str, *, changelog: ChangelogLedger, **options: Any) -> None:
        super().__init__(app_id, Table=tracked_table_class(changelog), **options)
        self.changelog = changelog
        self.table_writes = TableWrites(changelog)
        #: The consumer's hand-offs of what it fetched, for batches (``agents.batches.take_ready``).
        self.deliveries = Deliveries()
        #: Read caches of tables (``agents.cache``): cleared when a rebalance starts.
        self.caches: list[CachedTable] = []
        #: One flush at a time (``flush_tables``).
        self._flushing = asyncio.Lock()

    def cached_table(self, name: str, **options: Any) -> CachedTable:
        """A table read through a cache that this app clears on every rebalance."""
        cached = CachedTable(self.Table(name, default=None, **options))
        self.caches.append(cached)
        return cached

    async def flush_tables(self) -> int:
        """Write every cached table's held-back changes: straight to its store and changelog
        (``agents.table_writes``), or through Faust's table inside a transaction.

        Every agent flushes at the end of its batch, and a flush awaits the producer for each
        change (it waits for room in a full buffer). Two flushes at once could therefore write
        one key out of order: the first takes a key's value, waits for the producer, and the
        second takes and writes the key's newer value meanwhile; the first then writes the
        older one over it, in the store and last in the changelog. A worker taking the
        partition over restored the older value: a case back at version 1 after version 2
        was published, and its next change published a second, different version 2. So
        flushes take their turn, and each takes the changes held when its turn comes.
        """
        async with self._flushing:
            if self.in_transaction:
                return sum(cache.flush(make_current) for cache in self.caches if cache.pending)
            writes = self.table_writes
            return sum([await writes.write(cache) for cache in self.caches if cache.pending])

    def _new_transport(self) -> Any:
        return FieldcourtTransport(self.conf.broker_consumer, self)

    def on_rebalance_start(self) -> None:
        FAULTS.reached(CrashPoint.REBALANCE)
        for cache in self.caches:  # partitions may move and be rebuilt under clean entries
            cache.clear_cache()
        super().on_rebalance_start()
