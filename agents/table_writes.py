"""A batch's table writes handed straight to each table's store and changelog.

A Faust table write (``table[key] = value``) goes through its managed dict, a changelog message
object, Faust's producer buffer and topic machinery, sensors, and a callback that puts the
changelog offset into RocksDB once per record; in a profile of the worker draining arrests
these took about a tenth of its time for one changelog record each. At the end of a batch
(``agents.cache``) this writes each change as Faust's table would, with what that path does for
it: the key and value encoded by the table's own serializers (their codecs resolved once,
``agents.table_codec``), the store written on the partition of the record that made the change
(Faust's current event; one write batch per partition, as Faust's recovery applies a changelog
batch), the same bytes sent to that partition of the changelog straight through aiokafka's
producer (``agents.io.producer_send``, tracked by the ``ChangelogLedger``, so no offset is
committed before the broker has them), and the partition's persisted offset recorded once per
batch, when its last changelog record is acknowledged. A store and its changelog therefore hold
exactly what Faust's path would have put there, and Faust's recovery and our bulk restore read
them alike.

Under exactly-once Faust sends changelog records inside the partition's transaction, so the
tables are written through Faust's own path there (``CachedTable.flush``).
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any

import rocksdict
from faust.stores import rocksdb as faust_rocksdb
from faust.types import TP

from agents.cache import CachedTable
from agents.io import ChangelogLedger, producer_send
from agents.table_codec import TableCodec
from fieldcourt.faults import FAULTS, CrashPoint

#: What of Faust's tables, stores and app this module reads (checked at start, with the rest,
#: by ``agents.transport.check_faust_internals``).
TABLE_INTERNALS = ("key_type", "value_type", "key_serializer", "value_serializer")
STORE_INTERNALS = ("set_persisted_offset",)
#: What ``write_store`` uses of Faust's RocksDB store (methods, or attributes it annotates).
ROCKSDB_STORE_INTERNALS = ("_db_for_partition", "_key_index")


class TableWrites:
    """Writes a cached table's held-back changes to its store and changelog."""

    def __init__(self, ledger: ChangelogLedger) -> None:
        self.ledger = ledger
        #: Each table's codec, by its changelog topic.
        self._codecs: dict[str, TableCodec] = {}

    async def write(self, cached: CachedTable) -> int:
        """Write ``cached``'s held-back changes; returns how many."""
        changes = cached.take_changes()
        if not changes:
            return 0
        table: Any = cached.table
        app, store = table.app, table.data
        topic = table.changelog_topic.get_topic_name()
        codec = self._codecs.get(topic)
        if codec is None:
            codec = self._codecs[topic] = TableCodec(table)
        encoded = [
            (event.message.partition, codec.key(key), codec.value(value))
            for key, value, event in changes
        ]
        if isinstance(store, faust_rocksdb.Store):
            write_store(store, encoded)
        else:  # the memory store keeps decoded keys and values
            for key, value, _event in changes:
                if value is None:
                    with contextlib.suppress(KeyError):
                        del store[key]
                else:
                    store[key] = value
        last: dict[int, asyncio.Future[Any]] = {}
        for partition, key_bytes, value_bytes in encoded:
            future = await producer_send(app, topic, key_bytes, value_bytes, partition, None)
            self.ledger.track(future)
            FAULTS.reached(CrashPoint.CHANGELOG_UNACKED)
            last[partition] = future
        for partition, future in last.items():
            future.add_done_callback(partial(_persisted, store, TP(topic, partition)))
        return len(changes)


def write_store(store: Any, writes: list[tuple[int, bytes, bytes | None]]) -> None:
    """Write ``(partition, key, value)`` (``None``: delete) to a RocksDB store, one write batch
    per partition, as Faust's recovery applies a changelog batch (``apply_changelog_batch``):
    a delete is of the key in its own partition, where its changelog record goes. Faust's
    ``_set`` keeps a key-to-partition index for reads without a current event; it is kept
    here the same way. (A key written by ``Store._set`` cost 8.2 to 10.4 µs, in a batch 4.0 to 5.4:
    ``benchmarks/bench_table_reads.py``.)"""
    batches: dict[int, Any] = {}
    index = store._key_index
    for partition, key, value in writes:
        batch = batches.get(partition)
        if batch is None:
            batch = batches[partition] = _write_batch(store)
        if value is None:
            batch.delete(key)
        else:
            batch.put(key, value)
            index[key] = partition
    for partition, batch in batches.items():
        store._db_for_partition(partition).write(batch)


def _write_batch(store: Any) -> rocksdict.WriteBatch:
    """An empty write batch, as ``apply_changelog_batch`` makes one for rocksdict."""
    if not store.use_rocksdict:
        raise RuntimeError(
            "fieldcourt's RocksDB tables need rocksdict (python-rocksdb is not used)"
        )
    return rocksdict.WriteBatch(raw_mode=True)


def _persisted(store: Any, tp: TP, future: asyncio.Future[Any]) -> None:
    """Record in the store the changelog offset it now holds, as Faust does after each
    changelog write (a failed write stops the worker through the ledger instead)."""
    if not future.cancelled() and future.exception() is None:
        store.set_persisted_offset(tp, future.result().offset)
