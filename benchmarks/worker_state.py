"""The state of many subjects, written straight to a worker's changelogs, as its own process.

    python -m benchmarks.worker_state BOOTSTRAP APP_ID PARTITIONS SUBJECTS BUDGET_S MAX_RSS_MIB

Feeding a million distinct subjects through a worker would take hours at its end-to-end pace;
what a restart costs depends only on what its tables hold. So the in-memory core
(``streams.pipeline.Pipeline``, the same stages as the worker) is fed the arrests of SUBJECTS
distinct subjects (``benchmarks.core.state``, which also measures what its stores take in
memory, and stops early past BUDGET_S or MAX_RSS_MIB), and every entry of its stores is then
written to the changelog topic and partition where the worker would have written it: its
table's ``<app id>-<table>-changelog``, the partition of the record key the entry was written
under (``streams.state.keyspace``: a key's scope; the event id for ``dedupe``; partition 0 for
a single-partition table; a feed's mark under the partition it names). A worker then started
on an empty local store rebuilds exactly those tables: ``benchmarks.run``'s ``state`` stage
times that, and takes the worker's RSS once it is ready.

Progress lines go to stdout; the result is the last line, ``RESULT {json}``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from typing import Any

import orjson

from benchmarks.core import say, state
from benchmarks.kafka_io import producer
from fieldcourt.topics import TABLES
from streams.partitioning import partition_of
from streams.state.keyspace import ENTRY, FEED, scope_of

#: The in-memory pipeline's store -> the worker's table (``agents/correlate.py``, ``ingest``).
TABLE_OF_STORE = {
    "dedupe": "dedupe",
    "subject": "subject-state",
    "subject-alerts": "subject-alerts",
    "address": "address-state",
    "sector": "sector-state",
    "sector-alerts": "sector-alerts",
    "network": "network",
    "cases": "cases",
}


def changelog_partition(table: str, key: str, partitions: int) -> int:
    """Where the worker writes ``key``'s changes: the partition of the record being processed
    when it wrote them."""
    if TABLES[table] == 1:
        return 0
    if FEED.owns(key):
        # ingest's ``__feed__:<topic>:<partition>``; a stage's ``__feed__:<partition>:<feed>``
        fields = FEED.parse(key).split(":")
        number = fields[-1] if table == "dedupe" else fields[0]
        return int(number) % partitions if number.isdigit() else 0
    record_key = ENTRY.parse(key) if table == "dedupe" else scope_of(key)
    return partition_of(record_key, partitions)


def changelog_records(
    stores: dict[str, dict[str, Any]], app_id: str, partitions: int
) -> Iterator[tuple[str, int, bytes, bytes]]:
    """(topic, partition, key, value) of every stored entry, as the worker's tables write them
    (keys and values as JSON, the tables' codec)."""
    for store, entries in stores.items():
        table = TABLE_OF_STORE[store]
        topic = f"{app_id}-{table}-changelog"
        for key, value in entries.items():
            yield (
                topic,
                changelog_partition(table, key, partitions),
                orjson.dumps(key),
                orjson.dumps(value),
            )


async def write(bootstrap: str, records: Iterator[tuple[str, int, bytes, bytes]]) -> int:
    """Produce ``records`` (acknowledged by the broker); how many there were."""
    prod = producer(bootstrap)
    await prod.start()
    started = time.perf_counter()
    count = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for topic, partition, key, value in records:
            pending.append(await prod.send(topic, value, key=key, partition=partition))
            count += 1
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
            if count % 500_000 == 0:
                say(
                    f"  state: {count:,} changelog records written in "
                    f"{time.perf_counter() - started:,.0f} s"
                )
        await asyncio.gather(*pending)
    finally:
        await prod.stop()
    return count


def main() -> None:
    bootstrap, app_id, partitions, subjects, budget_s, max_rss_mib = sys.argv[1:]
    started = time.perf_counter()
    memory, pipeline = state(int(subjects), float(budget_s), float(max_rss_mib))
    built_s = time.perf_counter() - started
    entries = {name: len(store) for name, store in pipeline.stores.items()}
    say(f"  state: writing {sum(entries.values()):,} entries to the worker's changelogs")
    records = changelog_records(pipeline.stores, app_id, int(partitions))
    written = asyncio.run(write(bootstrap, records))
    result = {
        "subjects": memory["subjects"],
        "subjects_wanted": int(subjects),
        "memory": memory,
        "entries": entries,
        "changelog_records": written,
        "build_s": built_s,
        "write_s": time.perf_counter() - started - built_s,
    }
    print("RESULT " + orjson.dumps(result).decode(), flush=True)


if __name__ == "__main__":
    main()
