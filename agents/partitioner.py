"""The producer's partitioner: Kafka's default (murmur2 of the key), each key's hash
remembered.

aiokafka hashes every keyed record it is not given a partition for in pure Python: 5 us for a
subject reference, 15 us for a 66-byte key, and a field event makes about 3.4 such records (its
stage records, matches, audit records and case events). Their keys repeat (subjects, sectors,
case ids, the one ``links`` key), so the hash is looked up instead; the partition is the one
``aiokafka.partitioner.DefaultPartitioner`` picks, always.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.partitioner import DefaultPartitioner, murmur2

#: Keys remembered (~100 bytes each); all are forgotten at once beyond it.
DEFAULT_CAPACITY = 65_536


class RememberingPartitioner:
    """``DefaultPartitioner`` with a bounded memory of each key's hash."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._hashes: dict[bytes, int] = {}
        self._keyless = DefaultPartitioner()

    def __call__(
        self, key: bytes | None, all_partitions: Sequence[int], available: list[int]
    ) -> int:
        if key is None:  # a random partition, as the default does
            return int(self._keyless(key, all_partitions, available))
        hashes = self._hashes
        found = hashes.get(key)
        if found is None:
            if len(hashes) >= self.capacity:
                hashes.clear()
            found = hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[found % len(all_partitions)]
