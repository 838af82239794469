"""A Faust table read through a bounded dict of the values this worker last read or wrote, with
its writes held back until the end of the agent's batch.

Reads: every read of a Faust table goes through its store's key encoding, a RocksDB lookup
(two: one for ``in``, one for the value), value decoding and sensors; the stages read far more
than they write (a surge check reads up to 193 hourly buckets), and in a profile of the worker
table reads took a fifth of its time. The stages never change a value in place (they assign
fresh ones), so the decoded value can be handed out again as it is. A miss is read straight
from the store, as the table would read it (``agents.table_codec``).

Writes: a Faust table write is a RocksDB put and a changelog record. Within one batch many
writes hit the same keys (a sector's hourly count, a feed's high mark, the link graph), so the
cache keeps the last value of each key written, and at the end of the batch it is written
once (``take_changes``, written by ``agents.table_writes``; ``flush`` through the Faust table)
as if the record that last wrote it were being processed: a table writes to the store and the
changelog partition of Faust's *current event*, and a batch holds records of several
partitions. The agent flushes before its batch is acknowledged, so a committed offset never
has its state held back here (``agents.io.guarded``).

Correct only while this worker alone writes the keys it caches, which holds between two
rebalances: a rebalance may hand partitions over and rebuild them from their changelogs under
the cache, so ``FieldcourtApp`` drops every clean entry when one starts. Unflushed writes stay:
Faust waits for the batch being processed to be acknowledged before it hands any partition
over, and the batch flushes them first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from faust.streams import current_event

from agents.table_codec import direct_reads

#: Entries per table; the oldest clean ones go first beyond it.
DEFAULT_CAPACITY = 50_000

#: Makes an event Faust's current one, so that table writes go to its partition.
SetEvent = Callable[[Any], None]
#: A held-back write: key, last value (``None``: deleted), the event that made it.
Change = tuple[str, Any, Any]


class CachedTable(MutableMapping[str, Any]):
    """``table`` (a Faust table with ``default=None``) with its reads cached and its writes held
    until ``flush``; ``None`` marks a key known to be absent."""

    def __init__(self, table: MutableMapping[str, Any], capacity: int = DEFAULT_CAPACITY) -> None:
        self.table = table
        self.capacity = capacity
        self._cache: dict[str, Any] = {}
        #: key -> the event being processed when it was last written (its partition's).
        self._dirty: dict[str, Any] = {}
        #: How a miss is read (``agents.table_codec.direct_reads``), found at the first: Faust
        #: makes a table's store when it is first used.
        self._read: Callable[[str], Any] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        try:
            value = self._cache[key]
        except KeyError:
            read = self._read
            if read is None:
                read = self._read = direct_reads(self.table)
            value = read(key)
            self._remember(key, value)
        return default if value is None else value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __setitem__(self, key: str, value: Any) -> None:
        self._write(key, value)

    def __delitem__(self, key: str) -> None:
        self._write(key, None)

    def __iter__(self) -> Iterator[str]:
        """The table's keys as this batch sees them: with the keys it wrote, without those it
        deleted (a purge or an erasure walks the keys before the batch is flushed)."""
        dirty = list(self._dirty)
        cache = self._cache
        stored = set()
        for key in self.table:
            stored.add(key)
            if key not in self._dirty or cache.get(key) is not None:
                yield key
        yield from (key for key in dirty if key not in stored and cache.get(key) is not None)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def pending(self) -> int:
        """Writes held back, waiting for ``flush``."""
        return len(self._dirty)

    def flush(self, set_event: SetEvent) -> int:
        """Write each held-back key's last value through the table (Faust's own path), under
        the event that wrote it; returns how many keys were written."""
        changes = self.take_changes()
        for key, value, event in changes:
            set_event(event)
            self._apply(key, value)
        return len(changes)

    def take_changes(self) -> list[Change]:
        """The held-back writes, each key's last value (``None``: deleted) with the event that
        wrote it; the caller writes them (``flush``, or ``agents.table_writes``)."""
        dirty, self._dirty = self._dirty, {}
        cache = self._cache
        return [(key, cache[key], event) for key, event in dirty.items()]

    def clear_cache(self) -> None:
        """Forget every clean entry (writes not yet flushed are kept). Called from Faust's
        consumer thread: the dict is replaced, never changed in place."""
        self._cache = {key: self._cache[key] for key in list(self._dirty)}

    def _write(self, key: str, value: Any) -> None:
        event = current_event()
        if event is None:  # outside stream processing (a test's plain dict): write through
            self._apply(key, value)
        else:
            self._dirty[key] = event
        self._remember(key, value)

    def _apply(self, key: str, value: Any) -> None:
        if value is not None:
            self.table[key] = value
            return
        with contextlib.suppress(KeyError):  # written and deleted in one batch: never stored
            del self.table[key]

    def _remember(self, key: str, value: Any) -> None:
        self._cache[key] = value
        if len(self._cache) > self.capacity:
            oldest = list(self._cache)[: max(1, self.capacity // 10)]
            for stale in [k for k in oldest if k not in self._dirty]:
                del self._cache[stale]
