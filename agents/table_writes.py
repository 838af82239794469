"""A batch's table writes handed straight to each table's store and changelog.

A Faust table write (``table[key] = value``) goes through its managed dict, a changelog message
object, Faust's producer buffer and topic machinery, sensors, and a callback that puts the
changelog offset into RocksDB once per record; in a profile of the worker draining arrests
these took about a tenth of its time for one changelog record each. At the end of a batch
(``agents.cache``) this writes each change as Faust's table would, with what that path does for
it: the key and value encoded by the table's own serializers (their codecs resolved once,
``agents.table_codec``), the store written on the partition of the record that made the change
(Faust's current event), the same bytes sent to that partition of the changelog by the
producer's direct path (tracked by the ``ChangelogLedger``, so no offset is committed before
the broker has them), and the partition's persisted offset recorded once per batch, when its
last changelog record is acknowledged. A store and its changelog therefore hold exactly what
Faust's path would have put there, and Faust's recovery and our bulk restore read them alike.

Under exactly-once Faust sends changelog records inside the partition's transaction, so the
tables are written through Faust's own path there (``CachedTable.flush``).
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any

from faust.stores.base import SerializedStore
from faust.types import TP

from agents.batches import make_current
from agents.cache import CachedTable
from agents.io import ChangelogLedger, producer_send
from agents.table_codec import TableCodec
from fieldcourt.faults import FAULTS, CrashPoint

#: What of Faust's tables, stores and app this module reads (checked at start, with the rest,
#: by ``agents.transport.check_faust_internals``).
TABLE_INTERNALS = ("key_type", "value_type", "key_serializer", "value_serializer")
STORE_INTERNALS = ("_set", "_del", "set_persisted_offset")


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
        serialized = isinstance(store, SerializedStore)
        last: dict[int, asyncio.Future[Any]] = {}
        for key, value, event in changes:
            partition = event.message.partition
            key_bytes, value_bytes = codec.key(key), codec.value(value)
            make_current(event)  # a RocksDB store writes to the current event's partition
            if serialized:
                if value_bytes is None:
                    store._del(key_bytes)
                else:
                    store._set(key_bytes, value_bytes)
            elif value is None:  # the memory store keeps decoded keys and values
                with contextlib.suppress(KeyError):
                    del store[key]
            else:
                store[key] = value
            future = await producer_send(app, topic, key_bytes, value_bytes, partition, None)
            self.ledger.track(future)
            FAULTS.reached(CrashPoint.CHANGELOG_UNACKED)
            last[partition] = future
        for partition, future in last.items():
            future.add_done_callback(partial(_persisted, store, TP(topic, partition)))
        return len(changes)


def _persisted(store: Any, tp: TP, future: asyncio.Future[Any]) -> None:
    """Record in the store the changelog offset it now holds, as Faust does after each
    changelog write (a failed write stops the worker through the ledger instead)."""
    if not future.cancelled() and future.exception() is None:
        store.set_persisted_offset(tp, future.result().offset)
