"""A Faust table read through a bounded dict of the values this worker last read or wrote.

Every read of a Faust table goes through its store's key encoding, a RocksDB lookup (two: one
for ``in``, one for the value), value decoding and sensors; the stages read far more than they
write (a surge check reads up to 193 hourly buckets), and in a profile of the worker table reads
took a fifth of its time. The stages never change a value in place (they assign fresh ones), so
the decoded value can be handed out again as it is.

Correct only while this worker alone writes the keys it caches, which holds between two
rebalances: a rebalance may hand partitions over and rebuild them from their changelogs under
the cache, so ``FieldcourtApp`` clears every cache when one starts (agents do not run during a
rebalance or a recovery).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

#: Entries per table; the oldest go first beyond it.
DEFAULT_CAPACITY = 50_000


class CachedTable(MutableMapping[str, Any]):
    """``table`` (a Faust table with ``default=None``) with its reads cached; ``None`` marks a
    key known to be absent."""

    def __init__(self, table: MutableMapping[str, Any], capacity: int = DEFAULT_CAPACITY) -> None:
        self.table = table
        self.capacity = capacity
        self._cache: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        try:
            value = self._cache[key]
        except KeyError:
            value = self.table.get(key)
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
        self.table[key] = value
        self._remember(key, value)

    def __delitem__(self, key: str) -> None:
        del self.table[key]
        self._remember(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def clear_cache(self) -> None:
        self._cache.clear()

    def _remember(self, key: str, value: Any) -> None:
        self._cache[key] = value
        if len(self._cache) > self.capacity:
            for stale in list(self._cache)[: max(1, self.capacity // 10)]:
                del self._cache[stale]
