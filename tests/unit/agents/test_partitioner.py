"""The worker's producer: its partitioner picks the partition Kafka's default partitioner
picks, for every key, whether it remembers the key's hash or not; its batches' size."""

from __future__ import annotations

import random
from pathlib import Path

from aiokafka.partitioner import DefaultPartitioner

from agents.partitioner import RememberingPartitioner
from fieldcourt.settings import load_settings
from fieldcourt.topics import PRODUCER_BATCH_BYTES
from streams.partitioning import partition_of


def _keys(n: int) -> list[bytes]:
    rng = random.Random(7)
    return [rng.randbytes(rng.randint(1, 80)) for _ in range(n)]


def test_every_key_goes_where_the_default_partitioner_sends_it() -> None:
    ours, default = RememberingPartitioner(capacity=100), DefaultPartitioner()
    keys = _keys(300)
    for counts in (1, 3, 4, 12):
        partitions = list(range(counts))
        for key in keys + keys[::-1]:  # met again: from memory, and after it was cleared
            assert ours(key, partitions, partitions) == default(key, partitions, partitions)


def test_it_agrees_with_the_cores_own_murmur2() -> None:
    ours = RememberingPartitioner()
    for key in ["S-GBYGF2BG5XLSTZQI", "les-halles", "links", "12 RUE CURIAL 75019 PARIS"]:
        assert ours(key.encode(), [0, 1, 2, 3], [0, 1, 2, 3]) == partition_of(key, 4)


def test_a_keyless_record_goes_to_an_available_partition() -> None:
    ours = RememberingPartitioner()
    assert {ours(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}


def test_the_workers_producer_uses_it(tmp_path: Path) -> None:
    from agents.app import create_app

    app = create_app(load_settings(data_dir=tmp_path, store="memory", kafka_security="plaintext"))
    assert isinstance(app.producer.partitioner, RememberingPartitioner)


async def test_the_workers_producer_fills_batches_of_half_a_mebibyte(tmp_path: Path) -> None:
    """At aiokafka's default (16 KiB) a table flush waited for a produce round trip every ~20
    case states (``fieldcourt.topics.PRODUCER_BATCH_BYTES``)."""
    from agents.app import create_app

    app = create_app(load_settings(data_dir=tmp_path, store="memory", kafka_security="plaintext"))
    producer = app.producer._new_producer()  # type: ignore[attr-defined]
    try:
        assert producer._message_accumulator._batch_size == PRODUCER_BATCH_BYTES == 512 * 1024
    finally:
        await producer.stop()  # never started: nothing to flush
