"""The producer's direct path (``agents.producer_append``) on a real broker: each record lands
where aiokafka's ``send`` puts it, in order, with its headers, and whatever the direct path
cannot take (unknown metadata, a full batch, a keyless record) goes through ``send`` behind
the records before it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.partitioner import DefaultPartitioner

from agents.partitioner import RememberingPartitioner
from agents.producer_append import DirectAppend
from fieldcourt.kafka_auth import ADMIN, client_options
from fieldcourt.settings import Settings, load_settings
from tests.kafka import consume_until, run

PARTITIONS = 4


@pytest.fixture
def settings(kafka_broker: dict[str, Any]) -> Settings:
    return load_settings(**kafka_broker)


def _new_topic(settings: Settings) -> str:
    name = f"test-append-{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = AIOKafkaAdminClient(**client_options(settings, ADMIN))
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
        finally:
            await admin.close()

    run(create())
    return name


def _with_producer(
    settings: Settings, use: Callable[[AIOKafkaProducer], Awaitable[Any]], **options: Any
) -> Any:
    async def go() -> Any:
        producer = AIOKafkaProducer(
            **client_options(settings, ADMIN), partitioner=RememberingPartitioner(), **options
        )
        await producer.start()
        try:
            return await use(producer)
        finally:
            await producer.stop()

    return run(go())


def _records(n: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    return [
        (f"S-{i % 37:04d}".encode(), f"value-{i}".encode(), [("n", str(i).encode())])
        for i in range(n)
    ]


def _read(settings: Settings, topic: str, n: int) -> list[Any]:
    records = run(consume_until(settings, [topic], lambda got: len(got) >= n, settle_s=1.0))
    assert len(records) == n  # nothing missing, nothing twice
    return list(records)


def test_direct_appends_land_where_send_puts_them_in_order(settings: Settings) -> None:
    topic, records = _new_topic(settings), _records(300)

    async def use(producer: AIOKafkaProducer) -> DirectAppend:
        await producer.partitions_for(topic)  # the metadata ``send`` would fetch first
        append = DirectAppend(producer)
        futures = [await append.send(topic, k, v, None, h) for k, v, h in records]
        futures.append(await append.send(topic, b"explicit", b"to-2", 2, None))
        await asyncio.gather(*futures)
        return append

    append = _with_producer(settings, use)
    assert append.enabled
    assert append.missing == []
    assert (append.appended, append.sent) == (301, 0)
    got = _read(settings, topic, 301)
    default, everyone = DefaultPartitioner(), list(range(PARTITIONS))
    for record in got:
        if record.key == b"explicit":
            assert (record.partition, record.value, record.headers) == (2, b"to-2", ())
            continue
        assert record.partition == default(record.key, everyone, everyone)
        i = int(dict(record.headers)["n"])
        assert (record.key, record.value) == records[i][:2]
    for partition in everyone:
        numbers = [int(dict(r.headers)["n"]) for r in got if r.partition == partition and r.headers]
        assert numbers == sorted(numbers)


def test_what_the_direct_path_cannot_take_goes_through_send_in_order(settings: Settings) -> None:
    topic, records = _new_topic(settings), _records(400)

    async def use(producer: AIOKafkaProducer) -> DirectAppend:
        append = DirectAppend(producer)
        futures = [await append.send(topic, k, v, None, h) for k, v, h in records]
        futures.append(await append.send(topic, None, b"keyless", None, None))
        await asyncio.gather(*futures)
        return append

    # batches of 1 KiB fill after a dozen records: the next one waits in ``send`` for a drain
    append = _with_producer(settings, use, max_batch_size=1024)
    assert append.appended > 0
    # the first record (no metadata yet), the keyless one, and a full batch at least (400
    # records of ~40 bytes, never yielding to the sender but when one waits for a drain)
    assert append.sent >= 3
    got = _read(settings, topic, 401)
    assert [r.value for r in got if r.key is None] == [b"keyless"]
    for partition in range(PARTITIONS):
        numbers = [int(dict(r.headers)["n"]) for r in got if r.partition == partition and r.key]
        assert numbers == sorted(numbers)
    assert sorted(int(dict(r.headers)["n"]) for r in got if r.key) == list(range(400))


def test_a_record_too_large_is_refused_as_send_refuses_it(settings: Settings) -> None:
    topic = _new_topic(settings)

    async def use(producer: AIOKafkaProducer) -> None:
        await producer.partitions_for(topic)
        append = DirectAppend(producer)
        with pytest.raises(MessageSizeTooLargeError):
            append(topic, b"k", b"x" * 4096, None, None)
        with pytest.raises(MessageSizeTooLargeError):
            await producer.send(topic, b"x" * 4096, key=b"k")

    _with_producer(settings, use, max_request_size=2048)


def test_a_producer_it_cannot_stand_for_is_left_to_send(settings: Settings) -> None:
    async def check(**options: Any) -> bool:
        producer = AIOKafkaProducer(**client_options(settings, ADMIN), **options)
        try:
            return DirectAppend(producer).enabled
        finally:
            await producer.stop()  # never started: nothing to flush

    ours = RememberingPartitioner()
    assert run(check(partitioner=ours))
    assert not run(check())  # aiokafka's own partitioner
    assert not run(check(partitioner=ours, value_serializer=bytes))
    assert not run(check(partitioner=ours, transactional_id="t"))


def test_an_aiokafka_without_what_it_reads_turns_it_off(caplog: pytest.LogCaptureFixture) -> None:
    append = DirectAppend(object())
    assert not append.enabled
    assert "AIOKafkaProducer._message_accumulator" in append.missing
    assert "every record goes through AIOKafkaProducer.send" in caplog.text
    assert append("t", b"k", b"v", None, None) is None


def test_the_hand_off_benchmark_times_both_paths(settings: Settings) -> None:
    """``benchmarks/bench_producer.py`` on this broker: both figures, every record handed on
    (no timing asserted)."""
    from benchmarks.bench_producer import measure

    found = run(measure(settings, records=300, rounds=1))
    assert found["send"] > 0
    assert found["direct"] > 0
    assert found["appended"] + found["left_to_send"] == 300
    assert found["appended"] > 0
