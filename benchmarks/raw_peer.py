"""The stack's ceiling: plain aiokafka, consume -> orjson loads/dumps -> produce, no state.

Run by ``benchmarks/run.py`` as a process of its own, like a worker:

    python -m benchmarks.raw_peer BOOTSTRAP GROUP OUT_TOPIC IN_TOPIC [IN_TOPIC ...]

At least once, as fieldcourt: a batch's outputs are acknowledged by the broker before its
offsets are committed. Prints ``READY <unix time>`` once partitions are assigned; stops on
SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import orjson
from aiokafka import ConsumerRebalanceListener

from benchmarks.kafka_io import group_consumer, producer


class Ready(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.said = False

    async def on_partitions_revoked(self, revoked: object) -> None:
        return None

    async def on_partitions_assigned(self, assigned: object) -> None:
        if not self.said:
            self.said = True
            print(f"READY {time.time():.6f}", flush=True)


async def passthrough(bootstrap: str, group: str, out: str, inputs: list[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    consumer = group_consumer(bootstrap, group)
    consumer.subscribe(inputs, listener=Ready())
    prod = producer(bootstrap)
    await consumer.start()
    await prod.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=10000)
            pending = [
                await prod.send(out, orjson.dumps(orjson.loads(record.value)), key=record.key)
                for records in batch.values()
                for record in records
                if record.value is not None
            ]
            if pending:
                await asyncio.gather(*pending)
                await consumer.commit()
    finally:
        await prod.stop()
        await consumer.stop()


def main() -> None:
    bootstrap, group, out, *inputs = sys.argv[1:]
    asyncio.run(passthrough(bootstrap, group, out, inputs))


if __name__ == "__main__":
    main()
