"""A record's hand-off to the producer: aiokafka's ``send`` against ``agents.producer_append``,
on a real broker, with the worker's producer settings (batches of 512 KiB, its partitioner).

Run: ``.venv/bin/python benchmarks/bench_producer.py [--records N] [--rounds R]``. Starts a
broker of its own (plaintext, in a temporary folder) unless ``FIELDCOURT_TEST_BOOTSTRAP``
names one. Each round hands N keyed records (subject-like keys, a 200-byte value, one header)
to a 4-partition topic through each path in turn, and times the hand-off loop alone; the
deliveries are awaited after the clock stops, so both paths pay the same network work outside
it. Prints microseconds per record, best of the rounds, and how many records the direct path
had to leave to ``send``. Printed, not asserted: nothing here is a test of time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.partitioner import RememberingPartitioner
from agents.producer_append import DirectAppend
from fieldcourt.kafka_auth import ADMIN, client_options
from fieldcourt.kafka_local import LocalBroker, free_ports
from fieldcourt.settings import Settings, load_settings
from fieldcourt.topics import PRODUCER_BATCH_BYTES

PARTITIONS = 4


async def measure(settings: Settings, records: int, rounds: int) -> dict[str, Any]:
    """Best microseconds per record of each path, and the records the direct path left to
    ``send`` over all rounds."""
    topic = f"bench-producer-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**client_options(settings, ADMIN))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        **client_options(settings, ADMIN),
        partitioner=RememberingPartitioner(),
        max_batch_size=PRODUCER_BATCH_BYTES,
        linger_ms=5,
    )
    await producer.start()
    try:
        await producer.partitions_for(topic)
        append = DirectAppend(producer)
        value, headers = b"v" * 200, [("fieldcourt-origin", b"1780000000000")]
        keys = [f"S-{n % 2000:016d}".encode() for n in range(records)]

        async def through_send(key: bytes) -> asyncio.Future[Any]:
            sent: asyncio.Future[Any] = await producer.send(
                topic, value, key=key, partition=None, headers=headers
            )
            return sent

        async def direct(key: bytes) -> asyncio.Future[Any]:
            return await append.send(topic, key, value, None, headers)

        best = {"send": float("inf"), "direct": float("inf")}
        for _ in range(rounds):
            for name, hand in (("send", through_send), ("direct", direct)):
                started = time.perf_counter()
                futures = [await hand(key) for key in keys]
                elapsed = time.perf_counter() - started
                await asyncio.gather(*futures)
                best[name] = min(best[name], elapsed / records * 1e6)
        return {**best, "left_to_send": append.sent, "appended": append.appended}
    finally:
        await producer.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    bootstrap = os.environ.get("FIELDCOURT_TEST_BOOTSTRAP")
    with tempfile.TemporaryDirectory() as folder:
        broker = None
        if not bootstrap:
            port, controller = free_ports(2)
            broker = LocalBroker(
                load_settings(
                    data_dir=Path(folder),
                    kafka_port=port,
                    kafka_controller_port=controller,
                    kafka_security="plaintext",
                )
            )
            broker.up(timeout_s=120)
            bootstrap = broker.bootstrap
        try:
            settings = load_settings(broker=bootstrap, kafka_security="plaintext")
            report(asyncio.run(measure(settings, args.records, args.rounds)), args)
        finally:
            if broker is not None:
                broker.down()


def report(found: dict[str, Any], args: argparse.Namespace) -> None:
    print(
        f"{args.records:,} records a round, {args.rounds} rounds, µs per record handed to the "
        "producer (best): aiokafka send / direct append"
    )
    print(f"  hand-off {found['send']:6.2f} / {found['direct']:6.2f}")
    handed = found["appended"] + found["left_to_send"]
    print(f"  left by the direct path to send: {found['left_to_send']} of {handed}")


if __name__ == "__main__":
    main()
