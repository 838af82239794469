"""End-to-end throughput on a real broker: field topics in, every stage drained.

Starts its own broker (or uses FIELDCOURT_TEST_BOOTSTRAP), applies the topics, runs one worker
process, publishes N synthetic events as fast as a producer can, and waits until the worker's
consumer group has no lag left on any topic it reads. Prints events/s, plus the in-memory
pipeline's rate on the same events for comparison. Usage:

    .venv/bin/python benchmarks/bench_e2e.py [N] [--exactly-once] [--dense] [--memory]

The worker takes ``FIELDCOURT_BATCH_MAX``, ``FIELDCOURT_BATCH_WITHIN_S``,
``FIELDCOURT_PRODUCER_LINGER_S`` and ``FIELDCOURT_CONSUMER_FETCH_BYTES`` from the environment
when they are set, to compare tunings in one run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fieldcourt.groups import consumed_topics, group_lag
from fieldcourt.kafka_auth import WORKER, client_options
from fieldcourt.kafka_local import LocalBroker, free_ports
from fieldcourt.settings import load_settings
from fieldcourt.supervise import WorkerProcess, worker_env
from fieldcourt.topics import apply_topics, catalogue
from tests.factories import (
    LES_HALLES,
    NOWHERE,
    ROSA_PARKS,
    STALINGRAD,
    raw_arrest,
    raw_person,
    raw_seizure,
)
from tests.kafka import produce
from tests.scenario import oracle

KEY = "bench-key-" + "0" * 40
#: Worker settings taken from this process's environment, to compare tunings.
TUNING = (
    "FIELDCOURT_BATCH_MAX",
    "FIELDCOURT_BATCH_WITHIN_S",
    "FIELDCOURT_PRODUCER_LINGER_S",
    "FIELDCOURT_CONSUMER_FETCH_BYTES",
)
PLACES = (LES_HALLES, ROSA_PARKS, STALINGRAD, NOWHERE)


def generate(
    n: int, run: str, seed: int = 7, dense: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """n events over 20 days ending now: arrests among 3,000 people at 2,000 addresses, one
    seizure in ten; with --dense, 500 people at 60 addresses, which links nearly everyone into
    one network (the worst case: work per event grows with the component)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    persons, addresses = (500, 60) if dense else (3000, 2000)
    records = []
    for i in range(n):
        when = (start + dt.timedelta(seconds=20 * 86400 * i / n)).isoformat()
        place = {**rng.choice(PLACES), "address": f"{rng.randint(1, addresses)} rue B {run}"}
        people = [raw_person(p, person_id=f"{run}-{p}") for p in rng.sample(range(persons), 3)]
        if i % 10 == 9:
            seizure = raw_seizure(
                event_id=f"{run}-{i}",
                occurred_at=when,
                reported_at=None,
                location=place,
                persons=people[:2],
                quantity_g=rng.choice([3.0, 12.0, 60.0]),
            )
            records.append(("field.seizures.v1", seizure))
        else:
            arrest = raw_arrest(
                event_id=f"{run}-{i}",
                occurred_at=when,
                reported_at=None,
                location=place,
                person=people[0],
                flagrant=rng.random() < 0.3,
                offense=rng.choice(["trafficking", "possession", "use"]),
            )
            records.append(("field.arrests.v1", arrest))
    return records


def main() -> None:
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "5000"))
    guarantee = "exactly_once" if "--exactly-once" in sys.argv else "at_least_once"
    tmp = Path(tempfile.mkdtemp(prefix="fc-bench-"))
    bootstrap = os.environ.get("FIELDCOURT_TEST_BOOTSTRAP")
    broker = None
    if not bootstrap:
        port, controller = free_ports(2)
        broker_settings = load_settings(
            data_dir=tmp,
            kafka_port=port,
            kafka_controller_port=controller,
            kafka_security="plaintext",  # measures processing, not TLS
        )
        broker = LocalBroker(broker_settings)
        t0 = time.monotonic()
        broker.up()
        print(f"broker started in {time.monotonic() - t0:.1f} s")
        bootstrap = broker.bootstrap
    app_id = f"fc-bench-{uuid.uuid4().hex[:6]}"
    settings = load_settings(
        broker=bootstrap,
        app_id=app_id,
        data_dir=tmp,
        pseudonym_key=KEY,
        kafka_security="plaintext",
    )
    worker = None
    try:
        asyncio.run(apply_topics(settings, catalogue(settings)))
        records = generate(n, app_id, dense="--dense" in sys.argv)
        t0 = time.perf_counter()
        pipeline = oracle(records, KEY.encode())
        memory_s = time.perf_counter() - t0
        store = "memory" if "--memory" in sys.argv else "rocksdb"
        env = worker_env(
            settings,
            FIELDCOURT_PSEUDONYM_KEY=KEY,
            FIELDCOURT_PROCESSING_GUARANTEE=guarantee,
            FIELDCOURT_STORE=store,
            **{name: os.environ[name] for name in TUNING if name in os.environ},
        )
        worker = WorkerProcess(env, tmp / "worker").start()
        worker.wait_ready()
        wire = [(t, r["event_id"].encode(), orjson.dumps(r)) for t, r in records]
        t0 = time.perf_counter()
        asyncio.run(produce(settings, wire))
        published_s = time.perf_counter() - t0
        time.sleep(1)
        shown = time.monotonic()
        while (
            left := asyncio.run(
                group_lag(client_options(settings, WORKER), app_id, consumed_topics(settings))
            )
        ) > 0:
            if time.monotonic() - shown > 10:
                print(f"  {time.perf_counter() - t0:5.0f} s: {left} records still to process")
                shown = time.monotonic()
            time.sleep(0.5)
        total_s = time.perf_counter() - t0
        print(
            f"guarantee {guarantee}, store {store}; {n} events; "
            f"{len(pipeline.case_events)} case events, "
            f"{len(pipeline.alerts)} alerts expected"
        )
        print(f"published in {published_s:.1f} s ({n / published_s:,.0f} events/s)")
        print(
            f"end to end (publish start to zero lag on every stage): {total_s:.1f} s "
            f"= {n / total_s:,.0f} events/s; left {left}"
        )
        print(f"in-memory pipeline (enrich + all stages): {n / memory_s:,.0f} events/s")
    finally:
        if worker is not None:
            worker.stop()
        if broker is not None:
            broker.down()


if __name__ == "__main__":
    main()
