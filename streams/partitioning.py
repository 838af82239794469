"""Which Kafka partition a key belongs to, and a view of a store restricted to one partition.

A Faust table writes every change to the changelog partition of the record being processed, so
a periodic purge may only touch the keys of that record's partition: a delete written to any
other partition would be undone when the table is rebuilt from its changelog. The view lets the
pure ``sweep`` methods run unchanged over just those keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from streams.state.keyspace import is_reserved, scope_of

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 hash (``Utils.murmur2`` of the Java client), as an unsigned 32-bit
    integer: written here so the pure core needs no Kafka client."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    if whole < length:
        h = ((h ^ int.from_bytes(data[whole:], "little")) * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    return h ^ (h >> 15)


def partition_of(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as in the Java client) picks."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


#: The record key a store key was written under (``streams.state.keyspace``).
routing_key = scope_of


class PartitionView(MutableMapping[str, Any]):
    """``store`` with iteration limited to the keys routed to ``partition``; reserved keys
    (``keyspace.RESERVED``, such as feed progress) are never listed."""

    def __init__(
        self,
        store: MutableMapping[str, Any],
        partition: int,
        partitions: int,
        key_of: Callable[[str], str] = routing_key,
    ) -> None:
        self._store = store
        self._partition = partition
        self._partitions = partitions
        self._key_of = key_of

    def __iter__(self) -> Iterator[str]:
        for key in list(self._store):
            if is_reserved(key):
                continue
            if self._partitions == 1 or (
                partition_of(self._key_of(key), self._partitions) == self._partition
            ):
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __getitem__(self, key: str) -> Any:
        return self._store[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._store[key] = value

    def __delitem__(self, key: str) -> None:
        del self._store[key]
