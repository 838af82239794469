"""The chain and the skeleton of ``benchmarks.faust_peer`` on a consumer loop of its own over
aiokafka instead of Faust's streams: what "leaving Faust's streams for the hot path" would
leave for the rules.

Run by ``benchmarks/run.py`` as a process of its own, like a worker:

    python -m benchmarks.raw_hops VARIANT BOOTSTRAP GROUP DATA_DIR OUT_TOPIC IN_TOPIC...

The same three hops as the Faust peers (``benchmarks.hops``): the field topics to a keyed
topic of 4 partitions, to a single-partition topic, to the output. Each hop is a consumer of
its own (group ``GROUP`` for the first, whose commits the harness watches, ``GROUP-hop1`` and
``GROUP-hop2`` after), with a RocksDB store (rocksdict, one write batch per batch, as
fieldcourt's ``agents.table_writes``) and a changelog topic: each table value is a put and a
changelog record on the partition of the record that wrote it. At least once, as the Faust
peers: a batch's changelog records and sends are acknowledged by the broker before its
offsets are committed. Prints ``READY <unix time>`` once every hop has its partitions; stops
on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any

import rocksdict
from aiokafka import ConsumerRebalanceListener

from benchmarks.hops import BATCH, HOPS, Hop, Spread, hop_groups, hop_topics
from benchmarks.kafka_io import create_topics, group_consumer, producer


class Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    """Sets ``event`` once its consumer has partitions."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def on_partitions_revoked(self, revoked: object) -> None:
        return None

    async def on_partitions_assigned(self, assigned: object) -> None:
        self.event.set()


async def hop(
    bootstrap: str,
    group: str,
    inputs: list[str],
    outbound: str,
    changelog: str,
    store: rocksdict.Rdict,
    spec: Hop,
    assigned: Assigned,
    stop: asyncio.Event,
    prod: Any,
) -> None:
    """Read ``inputs``; per record, ``spec.writes`` table values (store and changelog) and
    ``spec.sends`` records to ``outbound``; commit once the broker has a batch's records."""
    consumer = group_consumer(bootstrap, group)
    consumer.subscribe(inputs, listener=assigned)
    written, sent = Spread(spec.writes), Spread(spec.sends)
    await consumer.start()
    try:
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100, max_records=BATCH)
            values: dict[bytes, tuple[int, bytes]] = {}  # a key written once a batch
            pending = []
            for tp, records in fetched.items():
                for record in records:
                    key, value = record.key or b"", record.value or b""
                    for n in range(written.take()):
                        values[key + b":%d" % n] = (tp.partition, b"%d" % len(value))
                    for _ in range(sent.take()):
                        pending.append(await prod.send(outbound, value, key=key))
            if not fetched:
                continue
            batch = rocksdict.WriteBatch(raw_mode=True)
            for key, (partition, value) in values.items():
                batch.put(key, value)
                pending.append(await prod.send(changelog, value, key=key, partition=partition))
            store.write(batch)
            await asyncio.gather(*pending)
            await consumer.commit()
    finally:
        await consumer.stop()


async def run(
    variant: str, bootstrap: str, group: str, data_dir: str, out: str, inputs: list[str]
) -> None:
    hops = HOPS.get(variant)
    if hops is None:
        raise SystemExit(f"unknown variant {variant!r}: {', '.join(HOPS)}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    keyed, one = hop_topics(group)
    await create_topics(bootstrap, [keyed, f"{group}-hop0-changelog", f"{group}-hop1-changelog"])
    await create_topics(bootstrap, [one, f"{group}-hop2-changelog"], partitions=1)
    links = [(inputs, keyed), ([keyed], one), ([one], out)]
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    stores = [
        rocksdict.Rdict(str(Path(data_dir) / f"hop{i}"), rocksdict.Options(raw_mode=True))
        for i in range(len(links))
    ]
    listeners = [Assigned() for _ in links]
    groups = hop_groups(group, len(links))
    prod = producer(bootstrap, linger_ms=0)
    await prod.start()
    tasks = [
        asyncio.ensure_future(
            hop(
                bootstrap,
                groups[i],
                inbound,
                outbound,
                f"{group}-hop{i}-changelog",
                stores[i],
                spec,
                listeners[i],
                stop,
                prod,
            )
        )
        for i, ((inbound, outbound), spec) in enumerate(zip(links, hops, strict=True))
    ]
    try:
        ready = asyncio.ensure_future(asyncio.gather(*(x.event.wait() for x in listeners)))
        watched: list[asyncio.Future[Any]] = [ready, *tasks]
        await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        if ready.done():  # otherwise a hop ended before every hop had its partitions
            print(f"READY {time.time():.6f}", flush=True)
        else:
            ready.cancel()
        await asyncio.gather(*tasks)
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await prod.stop()
        for store in stores:
            store.close()


def main() -> None:
    variant, bootstrap, group, data_dir, out, *inputs = sys.argv[1:]
    asyncio.run(run(variant, bootstrap, group, data_dir, out, inputs))


if __name__ == "__main__":
    main()
